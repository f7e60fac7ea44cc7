// The official Node.js Socket.IO client as a user would tail the Paymium
// public feed with it: the baseline of `live-eio3-vs-node` / `live-eio4-vs-node`.
//
//   node bench/sio_client.js --eio 3|4 --url http://127.0.0.1:PORT --count N
//
// Joins the `/public` namespace over the WebSocket transport (what wstail
// uses; bench/servers.js speaks nothing else), writes `JSON.stringify` of
// each event (`["stream", {...}]`) as one line to stdout, and leaves after N
// events. `--eio 3` uses socket.io-client 2.x (Engine.IO 3, installed as
// `socket.io-client-2`), `--eio 4` socket.io-client 4.x. Exit 1 if the
// connection fails or closes first.
'use strict';

const path = require('path');

function parseArgs(argv) {
  const args = { eio: 4, url: '', count: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args)) throw new Error(`unknown option ${argv[i]}`);
    args[key] = typeof args[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (![3, 4].includes(args.eio) || !args.url || !(args.count > 0)) {
    throw new Error('usage: sio_client.js --eio 3|4 --url URL --count N');
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const pkg = args.eio === 3 ? 'socket.io-client-2' : 'socket.io-client';
const io = require(path.join(__dirname, 'node_modules', pkg));
const socket = io(args.url.replace(/\/$/, '') + '/public', {
  transports: ['websocket'],
  reconnection: false, // like wstail --retries 0: a drop fails the run
});

let seen = 0;
let done = false;
const out = process.stdout;

function onEvent(name, ...rest) {
  if (done) return;
  out.write(JSON.stringify([name, ...rest]) + '\n');
  if (++seen >= args.count) {
    done = true;
    socket.close(); // leave the namespace and close the connection, like wstail at -n
  }
}

if (typeof socket.onAny === 'function') {
  socket.onAny(onEvent); // 4.x: every event
} else {
  // 2.x has no catch-all: the feed's two event names
  for (const name of ['stream', 'announcement']) socket.on(name, (...rest) => onEvent(name, ...rest));
}

function fail(why) {
  if (done) return;
  process.stderr.write(`sio_client: ${why} after ${seen} events\n`);
  process.exit(1);
}

socket.on('connect_error', (err) => fail(`connect_error ${err && err.message}`));
socket.on('error', (err) => fail(`error ${err && err.message}`));
socket.on('disconnect', (reason) => fail(`disconnect (${reason})`));
