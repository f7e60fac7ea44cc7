#!/usr/bin/env node
// The official npm `ws` client (8.x) reading a WebSocket server, for tests.
//
//   node ws_client.js URL COUNT [SEND]
//
// Connects to URL, sends SEND once open when given (a subscription: a replay
// ignores it), prints one JSON line per message received ({"text": ..} for a
// text frame, {"binary": base64} for a binary one) and exits 0 after COUNT
// messages. A connection error is one line {"error": ..} on stderr and exit 2.
"use strict";

const path = require("path");

const [url, countText, send] = process.argv.slice(2);
if (!url || !countText) {
  console.error("usage: ws_client.js URL COUNT [SEND]");
  process.exit(2);
}
const count = Number(countText);
const WebSocket = require(path.join(__dirname, "..", "node_modules", "ws"));

const socket = new WebSocket(url, { perMessageDeflate: false });
let received = 0;

socket.on("open", () => {
  if (send !== undefined) socket.send(send);
  if (count === 0) process.exit(0);
});
socket.on("message", (data, isBinary) => {
  const line = isBinary ? { binary: data.toString("base64") } : { text: data.toString("utf8") };
  process.stdout.write(JSON.stringify(line) + "\n");
  received += 1;
  if (received >= count) {
    socket.close();
    process.exit(0);
  }
});

function fail(what) {
  const text = what && what.message ? what.message : String(what);
  process.stderr.write(JSON.stringify({ error: text }) + "\n");
  process.exit(2);
}
socket.on("error", fail);
socket.on("close", (code) => fail(`closed (${code}) after ${received} messages`));
