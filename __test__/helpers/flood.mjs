// A fast raw peer for the flow-control tests, run as its own process so that it never
// shares an event loop with the side under test:
//   node flood.mjs server N    a WebSocket server that pushes N × 1 KiB binary frames to
//                              the first client as fast as TCP allows (prints its port)
//   node flood.mjs client PORT N   a client that pushes N × 1 KiB masked frames
//   node flood.mjs sink            a server that completes the upgrade and never reads
// Frames are pre-encoded in 1 MiB chunks, so the peer is limited by TCP, not by itself.
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

const FRAMES_PER_CHUNK = 1024;
const [mode, ...args] = process.argv.slice(2);

function chunk(masked) {
  const frame = Buffer.alloc((masked ? 8 : 4) + 1024, 7);
  frame[0] = 0x82;
  frame[1] = (masked ? 0x80 : 0) | 126;
  frame.writeUInt16BE(1024, 2);
  // A zero mask key leaves the payload as it is (RFC 6455 allows any key).
  if (masked) frame.fill(0, 4, 8);
  return Buffer.concat(Array.from({ length: FRAMES_PER_CHUNK }, () => frame));
}

function pump(socket, n, data) {
  let sent = 0;
  const next = () => {
    while (sent < n) {
      sent += FRAMES_PER_CHUNK;
      if (!socket.write(data)) return void socket.once('drain', next);
    }
  };
  next();
}

function acceptOn(socket, then) {
  let head = '';
  socket.on('data', function onData(d) {
    head += d.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    socket.off('data', onData);
    const key = /sec-websocket-key: *(.*)\r\n/i.exec(head)[1].trim();
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    then();
  });
}

if (mode === 'server' || mode === 'sink') {
  const n = Number(args[0] ?? 0);
  const data = chunk(false);
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    acceptOn(socket, () => {
      if (mode === 'server') pump(socket, n, data);
      else socket.pause();
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
} else if (mode === 'client') {
  const [port, n] = args.map(Number);
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.on('connect', () => {
    socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    let head = '';
    socket.on('data', function onData(d) {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.resume();
      pump(socket, n, chunk(true));
    });
  });
} else {
  console.error('usage: node flood.mjs server N | client PORT N | sink');
  process.exit(2);
}
