#!/usr/bin/env node
// An official socket.io-client (2.5.0 or 4.8.1) reading a Socket.IO server, for tests.
//
//   node sio_client.js [--path PATH] [--polling|--polling-only] [--until-end] VERSION URL NAMESPACE COUNT [CHANNEL]
//   (VERSION: 2 or 4)
//
// Connects to URL (http://127.0.0.1:PORT) with path /ws/socket.io (or PATH), websocket
// transport only (--polling: the client's defaults, polling then an upgrade,
// as in a browser; --polling-only: long-polling and no upgrade), to NAMESPACE; emits `channel` CHANNEL once connected when
// given; prints {"ns": .., "event": .., "args": [..]} as one JSON line per
// event received (a Buffer as {"$buffer": base64, "type": "Buffer"}, an
// ArrayBuffer likewise with "type": "ArrayBuffer"), and exits 0 after COUNT events. A connection error is one
// line {"error": ..} on stderr and exit 2. No reconnection. --until-end: the
// client's default reconnection, no exit after COUNT events, a line
// {"connect": n} per connection and {"disconnect": reason} per disconnect;
// the process exits 0 by itself once the client has nothing left to do (a
// server-side namespace disconnect: socket.io-client does not reconnect).
"use strict";

const path = require("path");

const argv = process.argv.slice(2);
let sioPath = "/ws/socket.io";
const flags = new Set();
while (argv.length && argv[0].startsWith("--")) {
  const flag = argv.shift();
  if (flag === "--path") sioPath = argv.shift();
  else flags.add(flag);
}
const polling = flags.has("--polling") || flags.has("--polling-only");
const pollingOnly = flags.has("--polling-only");
const untilEnd = flags.has("--until-end");
const [version, url, namespace, countText, channel] = argv;
const packages = { 2: "sioc2", 4: "sioc4" };
if (!packages[version] || !url || !namespace || !countText) {
  console.error("usage: sio_client.js [--polling|--polling-only] 2|4 URL NAMESPACE COUNT [CHANNEL]");
  process.exit(2);
}
const count = Number(countText);

const mod = require(path.join(__dirname, "..", "node_modules", packages[version]));
const io = typeof mod === "function" ? mod : mod.io;

const options = { path: sioPath, reconnection: untilEnd, forceNew: true };
if (!polling) options.transports = ["websocket"];
if (pollingOnly) options.transports = ["polling"];
const socket = io(url.replace(/\/+$/, "") + namespace, options);

let received = 0;

function binaries(key, value) {
  // `this[key]` is the value before Buffer's own toJSON turned it into {type, data}.
  const raw = this[key];
  if (Buffer.isBuffer(raw)) return { $buffer: raw.toString("base64"), type: "Buffer" };
  if (raw instanceof ArrayBuffer) {
    return { $buffer: Buffer.from(raw).toString("base64"), type: "ArrayBuffer" };
  }
  return value;
}

function record(event, args) {
  process.stdout.write(JSON.stringify({ ns: namespace, event, args }, binaries) + "\n");
  received += 1;
  if (received >= count && !untilEnd) {
    socket.close();
    process.exit(0);
  }
}

if (typeof socket.onAny === "function") {
  socket.onAny((event, ...args) => record(event, args)); // socket.io-client 3+
} else {
  const onevent = socket.onevent; // socket.io-client 2.x: every event passes here
  socket.onevent = function (packet) {
    const [event, ...args] = packet.data || [];
    record(event, args);
    return onevent.call(this, packet);
  };
}

let connects = 0;
socket.on("connect", () => {
  connects += 1;
  if (untilEnd) process.stdout.write(JSON.stringify({ connect: connects }) + "\n");
  if (channel !== undefined) socket.emit("channel", channel);
  if (count === 0 && !untilEnd) process.exit(0);
});
socket.on("disconnect", (reason) => {
  if (untilEnd) process.stdout.write(JSON.stringify({ disconnect: String(reason) }) + "\n");
});

function fail(what) {
  const text = what && what.message ? what.message : String(what);
  process.stderr.write(JSON.stringify({ error: text }) + "\n");
  process.exit(2);
}
socket.on("connect_error", fail);
socket.on("error", fail); // socket.io-client 2.x reports namespace refusals here
