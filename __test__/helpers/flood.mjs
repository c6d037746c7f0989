// A fast raw peer for the flow-control tests, run as its own process so that it never
// shares an event loop with the side under test:
//   node flood.mjs server N [SIZE]   a WebSocket server that pushes N binary frames of
//                              SIZE bytes (default 1 KiB) to the first client as fast as
//                              TCP allows (prints its port)
//   node flood.mjs client PORT N [SIZE]   a client that pushes N masked frames of SIZE
//   node flood.mjs sink            a server that completes the upgrade and never reads
// Frames are pre-encoded in chunks of about 1 MiB, so the peer is limited by TCP, not by
// itself.
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

const CHUNK_BYTES = 1024 * 1024;
const [mode, ...args] = process.argv.slice(2);

/** `{data, frames}`: a chunk of identical frames of `size` payload bytes. */
function chunk(masked, size) {
  const lengthBytes = size < 126 ? 0 : size < 65536 ? 2 : 8;
  const head = 2 + lengthBytes + (masked ? 4 : 0);
  const frame = Buffer.alloc(head + size, 7);
  frame[0] = 0x82;
  if (lengthBytes === 0) frame[1] = size;
  else if (lengthBytes === 2) {
    frame[1] = 126;
    frame.writeUInt16BE(size, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(size), 2);
  }
  if (masked) {
    frame[1] |= 0x80;
    // A zero mask key leaves the payload as it is (RFC 6455 allows any key).
    frame.fill(0, head - 4, head);
  }
  const frames = Math.max(1, Math.floor(CHUNK_BYTES / frame.length));
  return { data: Buffer.concat(Array.from({ length: frames }, () => frame)), frames };
}

/** Writes `n` frames (whole chunks, then the rest one frame at a time). */
function pump(socket, n, { data, frames }) {
  const one = data.subarray(0, data.length / frames);
  let sent = 0;
  const next = () => {
    while (sent < n) {
      const whole = n - sent >= frames;
      sent += whole ? frames : 1;
      if (!socket.write(whole ? data : one)) return void socket.once('drain', next);
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
  const data = chunk(false, Number(args[1] ?? 1024));
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    acceptOn(socket, () => {
      if (mode === 'server') pump(socket, n, data);
      else socket.pause();
    });
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
} else if (mode === 'client') {
  const [port, n, size = 1024] = args.map(Number);
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
      pump(socket, n, chunk(true, size));
    });
  });
} else {
  console.error('usage: node flood.mjs server N [SIZE] | client PORT N [SIZE] | sink');
  process.exit(2);
}
