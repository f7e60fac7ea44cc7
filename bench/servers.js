// Fast local servers for the wstail benchmark: they send recorded frames as
// fast as the client reads them (or at a fixed rate), with backpressure.
//
//   node bench/servers.js --mode node|eio3|eio4 --capture FILE --count N [--rate R] [--ping MS]
//                         [--deflate 1]
//
// - node: a plain WebSocket (any path), like an OpenBazaar node: the capture's
//   `text` frames, verbatim. Closes the connection (1000) after N frames.
// - eio3: Socket.IO 1.x/2.x over Engine.IO 3, WebSocket transport (any path):
//   open packet, `40`, then on `40/public` the ack and N `42/public,<event>`
//   packets; answers pings `2` with `3`.
// - eio4: Socket.IO 4 over Engine.IO 4: open packet with maxPayload, on
//   `40/public,` the ack with a sid, then N events. Never pings during a run.
// The capture's `sio` frames are the events (their recorded text, verbatim).
// --deflate 1: offer permessage-deflate and compress as engine.io does
// (socket.io 1.x, Paymium's generation, enables it by default): only
// messages of 1024 bytes or more.
// Frames are sent in order, cycling through the capture when N is larger.
//
// Prints `{"port": P}` once listening, then one JSON line per connection:
// {"conn", "sent", "bytes", "open_ms", "done_ms", "closed_ms"} (ms since the
// process started, from performance.now()). Exits on SIGTERM/SIGINT.
'use strict';

const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');
const { WebSocketServer } = require(path.join(__dirname, 'node_modules', 'ws'));

function parseArgs(argv) {
  const args = { mode: 'node', capture: '', count: 0, rate: 0, host: '127.0.0.1', port: 0, ping: 25000, deflate: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args)) throw new Error(`unknown option ${argv[i]}`);
    args[key] = typeof args[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!['node', 'eio3', 'eio4'].includes(args.mode)) throw new Error(`bad --mode ${args.mode}`);
  return args;
}

function loadFrames(file, mode) {
  const frames = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (let i = 1; i < lines.length; i++) { // line 1 is the capture header
    if (!lines[i]) continue;
    const row = JSON.parse(lines[i]);
    if (mode === 'node' && row[1] === 'text') frames.push(row[2]);
    if (mode !== 'node' && row[1] === 'sio' && row[2] === '/public') frames.push('42/public,' + row[3]);
  }
  if (!frames.length) throw new Error(`no frames for mode ${args.mode} in ${file}`);
  return frames;
}

const args = parseArgs(process.argv.slice(2));
const frames = loadFrames(args.capture, args.mode);
const HIGH_WATER = 1 << 20; // bytes queued in the socket before waiting for 'drain'
const THRESHOLD = 1024; // engine.io's perMessageDeflate threshold
let connections = 0;

function report(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function stream(ws, stats, onDone) {
  const count = args.count;
  const started = performance.now();
  let sent = 0;
  const pump = () => {
    if (ws.readyState !== ws.OPEN) return;
    let allowed = count;
    if (args.rate > 0) allowed = Math.min(count, Math.floor(((performance.now() - started) / 1000) * args.rate));
    while (sent < allowed) {
      if (ws.bufferedAmount > HIGH_WATER) {
        // with deflate, bytes may wait in the compressor with none in the socket: look again
        if (ws._socket.writableLength > 0) ws._socket.once('drain', pump);
        else setTimeout(pump, 1);
        return;
      }
      const frame = frames[sent % frames.length];
      ws.send(frame, { compress: args.deflate > 0 && Buffer.byteLength(frame) >= THRESHOLD });
      stats.bytes += frame.length;
      sent++;
      stats.sent = sent;
    }
    if (sent >= count) {
      stats.done_ms = performance.now();
      onDone();
      return;
    }
    setTimeout(pump, 2); // paced: wait for the next slice
  };
  pump();
}

const wss = new WebSocketServer({ host: args.host, port: args.port, perMessageDeflate: args.deflate > 0 ? { threshold: THRESHOLD } : false, maxPayload: 1 << 20 });

wss.on('listening', () => report({ port: wss.address().port, frames: frames.length }));

wss.on('connection', (ws) => {
  const stats = { conn: ++connections, sent: 0, bytes: 0, open_ms: performance.now(), done_ms: null, closed_ms: null };
  ws.on('close', () => {
    stats.closed_ms = performance.now();
    report(stats);
  });
  ws.on('error', () => {});
  if (args.mode === 'node') {
    ws.on('message', () => {}); // a replay never echoes
    stream(ws, stats, () => ws.close(1000, 'done'));
    return;
  }
  const eio4 = args.mode === 'eio4';
  const open = { sid: 'bench' + stats.conn, upgrades: [], pingInterval: args.ping, pingTimeout: eio4 ? 20000 : 60000 };
  if (eio4) open.maxPayload = 1000000;
  ws.send('0' + JSON.stringify(open));
  if (!eio4) ws.send('40'); // socket.io 1.x/2.x join "/" at once
  let started = false;
  if (eio4) { // in Engine.IO 4 the server pings; python-engineio gives up after ~30 s without one
    const pinger = setInterval(() => ws.send('2'), open.pingInterval);
    ws.on('close', () => clearInterval(pinger));
  }
  ws.on('message', (data) => {
    const text = data.toString();
    if (text === '2' || text.startsWith('2probe')) { ws.send('3' + text.slice(1)); return; }
    if (text === '3') return; // an EIO4 pong
    if (text.startsWith('40/public')) {
      ws.send(eio4 ? '40/public,{"sid":"bench-public-' + stats.conn + '"}' : '40/public');
      if (!started) {
        started = true;
        stream(ws, stats, () => {}); // stay open like a live server: the client leaves at -n
      }
    } else if (text.startsWith('40')) {
      ws.send(eio4 ? '40{"sid":"bench-root-' + stats.conn + '"}' : '40');
    } else if (text.startsWith('41')) {
      ws.close(1000);
    }
  });
});

const stop = () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// A parent that dies without killing us: stdin closes, we go.
process.stdin.on('end', stop);
process.stdin.resume();
