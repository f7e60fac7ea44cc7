#!/usr/bin/env node
// Any feed, for the tests of `wstail tail ws URL` and `tail sio URL`: the npm `ws`
// server or an official socket.io server (2.x or 4.x) playing a script per connection.
//
//   node generic_server.js ws|sio2|sio4 SCENARIO.json
//
// Listens on 127.0.0.1, port 0; prints the port as the first stdout line, then
// one JSON line per thing that happened:
//   {"ev": "connect", "n": N, "url": "/path?query", "headers": {...}}
//   {"ev": "received", "n": N, "text": "..."}       ws: a text message, as received
//   {"ev": "received", "n": N, "binary": "<base64>"} ws: a binary message
//   {"ev": "received", "n": N, "text": "42/ns,[...]"} sio: a Socket.IO packet as received
//   {"ev": "sent", "n": N, "step": I}, {"ev": "done", "n": N}
//   {"ev": "closed", "n": N, "how": ...}            ws: the close code; sio: the reason
// N counts connections (sio: connections to the scenario's namespace) from 1.
//
// The scenario: {"path": "/feed" (ws: the only path served; sio: the Socket.IO
// path, default /socket.io), "namespace": "/chat" (sio, default /),
// "allowEIO3": true (sio4), "connections": [[steps of the 1st], [of the 2nd], ...],
// "then": [steps of every later connection]}. Steps, played in order:
//   {"wait": K}            until the connection has received K messages (sio: events):
//                          nothing is sent before a subscription arrives
//   {"text": "..."}        ws: a text frame, as is
//   {"binary": "<base64>"} ws: a binary frame
//   {"big": K}             ws: the text {"big":"xxx..."} with K x's
//   {"event": E, "args": [...]}  sio: emit E with these arguments; {"$buffer": base64}
//                          anywhere is a Buffer (a binary event)
//   {"raw": "[...]"}       sio: an EVENT packet with this event array text, as is
//   {"drop": true}         the transport dies (ws: TCP reset; sio: the Engine.IO socket closed)
//   {"close": CODE}        ws: a close frame with CODE
//   {"disconnect": true}   sio: the server disconnects the namespace on purpose
//   {"sleep": ms}
// Ends when stdin closes.
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");

const kind = process.argv[2];
const packages = { sio2: "sio2", sio3: "sio3", sio4: "sio4" };
if (kind !== "ws" && !packages[kind]) {
  console.error("usage: generic_server.js ws|sio2|sio3|sio4 SCENARIO.json");
  process.exit(2);
}
const scenario = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const modules = path.join(__dirname, "..", "node_modules");

const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function stepsOf(n) {
  const connections = scenario.connections || [];
  return n <= connections.length ? connections[n - 1] : scenario.then || [];
}

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === "object") {
    if (typeof value.$buffer === "string") return Buffer.from(value.$buffer, "base64");
    const out = {};
    for (const key of Object.keys(value)) out[key] = revive(value[key]);
    return out;
  }
  return value;
}

// One connection: what it received, and its script played against it.
class Connection {
  constructor(n, act) {
    this.n = n;
    this.act = act; // step -> true when the step was the connection's to play
    this.received = 0;
    this.open = true;
    this.wake = null;
  }

  got() {
    this.received += 1;
    if (this.wake) this.wake();
  }

  closed(how) {
    this.open = false;
    log(how === undefined ? { ev: "closed", n: this.n } : { ev: "closed", n: this.n, how });
    if (this.wake) this.wake();
  }

  async play(steps) {
    for (let index = 0; index < steps.length && this.open; index++) {
      const step = steps[index];
      if (step.wait !== undefined) {
        while (this.open && this.received < step.wait) {
          await new Promise((resolve) => (this.wake = resolve));
          this.wake = null;
        }
        continue;
      }
      if (step.sleep !== undefined) {
        await sleep(step.sleep);
        continue;
      }
      this.act(step);
      log({ ev: "sent", n: this.n, step: index });
    }
    log({ ev: "done", n: this.n });
  }
}

const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
let count = 0;

if (kind === "ws") {
  const { WebSocketServer } = require(path.join(modules, "ws"));
  const options = { server };
  if (scenario.path) options.path = scenario.path;
  const wss = new WebSocketServer(options);
  wss.on("connection", (socket, req) => {
    const connection = new Connection(++count, (step) => {
      if (step.text !== undefined) socket.send(step.text);
      else if (step.binary !== undefined) socket.send(Buffer.from(step.binary, "base64"));
      else if (step.big !== undefined) socket.send('{"big":"' + "x".repeat(step.big) + '"}');
      else if (step.drop) socket.terminate();
      else if (step.close !== undefined) socket.close(step.close);
      else throw new Error("no such ws step: " + JSON.stringify(step));
    });
    log({ ev: "connect", n: connection.n, url: req.url, headers: req.headers });
    socket.on("message", (data, isBinary) => {
      if (isBinary) log({ ev: "received", n: connection.n, binary: data.toString("base64") });
      else log({ ev: "received", n: connection.n, text: data.toString("utf8") });
      connection.got();
    });
    // the close code the client sent (1005: none; 1006: no close frame, the TCP connection lost)
    socket.on("close", (code) => connection.closed(code));
    socket.on("error", () => {});
    connection.play(stepsOf(connection.n));
  });
} else {
  const sio = require(path.join(modules, packages[kind]));
  const options = { path: scenario.path || "/socket.io", serveClient: false };
  if (scenario.allowEIO3 !== undefined) options.allowEIO3 = scenario.allowEIO3;
  const io = typeof sio.Server === "function" ? new sio.Server(server, options) : sio(server, options);
  const ns = scenario.namespace || "/";
  io.of(ns).on("connection", (socket) => {
    const prefix = ns === "/" ? "" : ns + ",";
    const connection = new Connection(++count, (step) => {
      if (step.event !== undefined) socket.emit(step.event, ...revive(step.args || []));
      else if (step.raw !== undefined) socket.conn.write("2" + prefix + step.raw);
      else if (step.drop) socket.conn.close();
      else if (step.disconnect) socket.disconnect();
      else throw new Error("no such sio step: " + JSON.stringify(step));
    });
    const req = socket.request;
    log({ ev: "connect", n: connection.n, url: req.url, headers: req.headers });
    socket.conn.on("packet", (packet) => {
      // Every Socket.IO packet as it came; events (2, binary 5) of this namespace are counted.
      if (packet.type !== "message") return;
      const text = String(packet.data);
      log({ ev: "received", n: connection.n, text });
      const found = /^[25](?:\d+-)?(\/[^,]*)?/.exec(text);
      if (found && (found[1] || "/") === ns) connection.got();
    });
    socket.on("disconnect", (reason) => connection.closed(reason));
    connection.play(stepsOf(connection.n));
  });
}

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(server.address().port + "\n");
});

// The test holds our stdin: when it goes away, so do we.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
