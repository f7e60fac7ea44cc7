#!/usr/bin/env node
// A Paymium-like Socket.IO server on an official socket.io release, for tests.
//
//   node paymium_server.js VERSION [SCENARIO.json]     (VERSION: 1, 2 or 4)
//
// Listens on 127.0.0.1, port 0 (or the scenario's "port"), path /ws/socket.io,
// namespaces /public and /user; prints the port as the first stdout line,
// then one JSON line per thing that happened
// ({"ev": "connect"|"channel"|"pong"|"disconnect"|"sent"|"drop"|"end"|"done", ...}).
// The scenario (a file, or stdin when no file is given) is a list of steps,
// or {"steps": [...], "refuse": {"/user": "Not authorized"}, "allowEIO3": true,
// "pingInterval": ms, "pingTimeout": ms, "port": n, "transports": ["polling"],
// "forbid": true (every request refused: HTTP 403)}. Steps, played once, in order:
//   {"ns": "/public", "event": "stream", "data": {...}}    emit through socket.io
//   {"ns": "/public", "raw": "[\"stream\",{...}]"}          write this event array text as is
//                                                           (numbers JS cannot hold)
//   {"ns": "/public", "event": "stream", "data": {"f": {"$buffer": "3q2+7w=="}}}
//                                                           a Buffer wherever {"$buffer": base64}
//                                                           stands: a binary event
//   {"ns": "/user", ..., "after_channels": 2}              wait for a socket that sent 2 channels
//   {"ns": "/public", ..., "after_connects": 2}            wait for the namespace's 2nd connection
//   {"drop": true}                                          close every client connection
//                                                           (Engine.IO: clients reconnect)
//   {"end": true}                                           disconnect every client's namespace
//                                                           (Socket.IO: clients stop)
//   {"sleep": ms}
// A step waits until a client is connected to its namespace, so a client
// gets the steps only once it is there; after a drop the next steps go to
// the client that reconnects (nothing is played twice). Ends when stdin closes.
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");

const version = process.argv[2];
const packages = { 1: "sio1", 2: "sio2", 4: "sio4" };
if (!packages[version]) {
  console.error("usage: paymium_server.js 1|2|4 [SCENARIO.json]");
  process.exit(2);
}
const scenarioText = process.argv[3]
  ? fs.readFileSync(process.argv[3], "utf8")
  : fs.readFileSync(0, "utf8");
const parsed = JSON.parse(scenarioText);
const scenario = Array.isArray(parsed) ? { steps: parsed } : parsed;
const steps = scenario.steps || [];

const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const options = { path: "/ws/socket.io", serveClient: false };
for (const key of ["pingInterval", "pingTimeout", "allowEIO3", "transports"]) {
  if (scenario[key] !== undefined) options[key] = scenario[key];
}
if (scenario.forbid) {
  // refused before the upgrade: engine.io answers HTTP 403
  options.allowRequest = (req, callback) => callback("forbidden", false);
}

const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const sio = require(path.join(__dirname, "..", "node_modules", packages[version]));
const io = typeof sio.Server === "function" ? new sio.Server(server, options) : sio(server, options);

const sockets = new Set(); // {socket, ns, conn, channels, number}
const connects = {}; // namespace -> connections so far
const refuse = scenario.refuse || {};

for (const ns of ["/public", "/user"]) {
  const nsp = io.of(ns);
  if (refuse[ns]) {
    nsp.use((socket, next) => next(new Error(refuse[ns])));
  }
  nsp.on("connection", (socket) => {
    connects[ns] = (connects[ns] || 0) + 1;
    const entry = { socket, ns, conn: socket.conn.id, channels: [], number: connects[ns] };
    sockets.add(entry);
    log({ ev: "connect", ns, conn: entry.conn });
    socket.conn.on("packet", (packet) => {
      // the client's answers to our heartbeat (Engine.IO 4: the server pings)
      if (packet.type === "pong") log({ ev: "pong", ns, conn: entry.conn });
    });
    socket.on("channel", (channel) => {
      entry.channels.push(channel);
      log({ ev: "channel", ns, conn: entry.conn, channel });
    });
    socket.on("disconnect", (reason) => {
      sockets.delete(entry);
      log({ ev: "disconnect", ns, conn: entry.conn, reason: String(reason) });
    });
  });
}

function targets(ns, channels, connection) {
  return [...sockets].filter(
    (e) => e.ns === ns && e.channels.length >= channels && e.number >= connection,
  );
}

async function waitFor(found) {
  for (;;) {
    const result = found();
    if (result.length > 0) return result;
    await sleep(5);
  }
}

function revive(value) {
  // {"$buffer": base64} becomes a Buffer: socket.io sends the event as a binary event.
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === "object") {
    if (typeof value.$buffer === "string") return Buffer.from(value.$buffer, "base64");
    const out = {};
    for (const key of Object.keys(value)) out[key] = revive(value[key]);
    return out;
  }
  return value;
}

function writeRaw(entry, text) {
  // An EVENT packet written straight to the Engine.IO socket: "2/public,[...]".
  const nsp = entry.ns === "/" ? "" : entry.ns + ",";
  entry.socket.conn.write("2" + nsp + text);
}

async function play() {
  for (let index = 0; index < steps.length; index++) {
    const step = steps[index];
    if (step.sleep !== undefined) {
      await sleep(step.sleep);
      continue;
    }
    if (step.drop || step.end) {
      const all = await waitFor(() => [...sockets]);
      const conns = new Set();
      for (const entry of all) {
        conns.add(entry.conn);
        sockets.delete(entry); // at once: engine.io 1.x closes only once its buffer drained
        // a drop closes the Engine.IO connection, without the namespace's disconnect
        // packet (socket.disconnect(true) sends it first): clients reconnect after it
        if (step.drop) entry.socket.conn.close();
        else entry.socket.disconnect();
      }
      log({ ev: step.drop ? "drop" : "end", step: index, conns: [...conns] });
      continue;
    }
    const ns = step.ns || "/public";
    const chosen = await waitFor(() =>
      targets(ns, step.after_channels || 0, step.after_connects || 0),
    );
    for (const entry of chosen) {
      if (step.raw !== undefined) {
        writeRaw(entry, step.raw);
      } else {
        const args = revive(step.args !== undefined ? step.args : [step.data]);
        entry.socket.emit(step.event || "stream", ...args);
      }
    }
    log({ ev: "sent", step: index, conns: chosen.map((e) => e.conn) });
  }
  log({ ev: "done" });
}

server.listen(scenario.port || 0, "127.0.0.1", () => {
  process.stdout.write(server.address().port + "\n");
  play().catch((error) => {
    log({ ev: "error", message: String(error) });
  });
});

// The test holds our stdin: when it goes away, so do we.
if (process.argv[3]) {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
  process.stdin.resume();
}
