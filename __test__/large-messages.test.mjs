// Large received messages (src/runtime/core/events.rs, `Large`): from 32 KiB up, a
// message reaches JS out of band, as an external ArrayBuffer over the received bytes or a
// string made from them, instead of through the event batch. What must not change: one
// fresh ArrayBuffer of exactly the payload per binary message (R59, S12), the order of
// events (R63) with small and large messages mixed, dataEnd after each message (R60),
// and the right data for each message however listeners come and go mid-batch.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEchoServer, startRawServer, acceptKey, encodeFrame, waitUntil } from './helpers/servers.mjs';
import { openSession, endSession } from './helpers/client.mjs';
import { startServer, wsClient } from './helpers/server.mjs';

const KIB = 1024;
/** Around the out-of-band threshold and well past it. */
const SIZES = [32 * KIB - 1, 32 * KIB, 32 * KIB + 1, 200 * KIB, 3 * 1024 * KIB];

/** `size` bytes whose content says which message they are. */
function payload(size, seed) {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4093) b[i] = (seed + i) & 0xff;
  b.writeUInt32BE(seed, 0);
  b.writeUInt32BE(seed, size - 4);
  return b;
}

describe('large received messages', () => {
  const servers = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  /** A server that pushes `messages` (Buffers or strings) in one go when the client says 'go'. */
  async function pushingServer(messages) {
    const server = await startEchoServer({
      onConnection(socket) {
        socket.on('message', () => {
          for (const m of messages) socket.send(m, { binary: typeof m !== 'string' });
        });
      },
    });
    servers.push(server);
    return server;
  }

  it('client: small and large, text and binary, arrive intact, in order, each with its dataEnd', async () => {
    const messages = [];
    SIZES.forEach((size, i) => {
      messages.push(payload(size, i));
      messages.push(`small ${i}`);
      messages.push(`${i}:${'ü'.repeat(size >> 1)}`);
    });
    const server = await pushingServer(messages);
    const t = await openSession(server.url);
    try {
      const seen = [];
      t.ws.on('message', (_err, data) => seen.push(data));
      t.ws.on('dataEnd', () => seen.push('<dataEnd>'));
      t.ws.send('go');
      await waitUntil(() => seen.length >= 2 * messages.length, { timeout: 20_000, label: 'all messages' });
      const buffers = new Set();
      messages.forEach((m, i) => {
        const got = seen[2 * i];
        assert.equal(seen[2 * i + 1], '<dataEnd>', `dataEnd after message ${i}`);
        if (typeof m === 'string') {
          assert.equal(typeof got, 'string');
          assert.ok(got === m, `text message ${i} (${m.length} chars)`);
        } else {
          assert.ok(got instanceof ArrayBuffer, `message ${i} is an ArrayBuffer`);
          assert.equal(got.byteLength, m.length);
          assert.ok(Buffer.from(got).equals(m), `binary message ${i} (${m.length} B) intact`);
          buffers.add(got);
        }
      });
      assert.equal(buffers.size, SIZES.length, 'one ArrayBuffer per message');
      // Each is the listener's own: writing to one changes no other.
      const [a, b] = [...buffers].slice(-2);
      new Uint8Array(a).fill(1);
      assert.notEqual(new Uint8Array(b)[1], 1);
    } finally {
      await endSession(t);
    }
  });

  it('client: a listener added or removed mid-batch still gets the right message each time', async () => {
    const messages = [payload(64 * KIB, 1), 'switch', payload(64 * KIB, 2), payload(100, 3), payload(64 * KIB, 4), 'off', payload(64 * KIB, 5), 'on', payload(64 * KIB, 6)];
    const server = await pushingServer(messages);
    const t = await openSession(server.url);
    try {
      const seen = [];
      const record = (_err, data) => {
        seen.push(data);
        if (data === 'off') {
          // No listener for a while: whatever arrives meanwhile is dropped, and what comes
          // after must still be its own message.
          t.ws.off('message', record);
          setTimeout(() => t.ws.on('message', record), 0);
        }
      };
      // Until 'switch' arrives, a listener that ignores everything; then `record` (R4).
      t.ws.on('message', (_err, data) => {
        if (data === 'switch') t.ws.on('message', record);
      });
      t.ws.send('go');
      await waitUntil(() => seen.includes('off'), { timeout: 10_000, label: "'off'" });
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(seen[0] instanceof ArrayBuffer && Buffer.from(seen[0]).equals(messages[2]), 'the first large message after the switch');
      assert.ok(Buffer.from(seen[1]).equals(messages[3]));
      assert.ok(Buffer.from(seen[2]).equals(messages[4]));
      assert.equal(seen[3], 'off');
      const rest = messages.slice(6);
      const tail = seen.slice(4);
      assert.ok(tail.length <= rest.length);
      tail.forEach((d, i) => {
        const want = rest[rest.length - tail.length + i];
        if (typeof want === 'string') assert.equal(d, want);
        else assert.ok(d instanceof ArrayBuffer && Buffer.from(d).equals(want), `message ${i} after the gap is its own`);
      });
    } finally {
      await endSession(t);
    }
  });

  it('client: a large frame that starts in the same packet as the 101 answer arrives whole', async () => {
    // Autobahn 9.2.4 sends this way: the handshake reads the frame's first bytes along with
    // the answer, so frame boundaries must be counted from the end of the head.
    const big = payload(4 * 1024 * KIB, 7);
    const frame = encodeFrame(0x2, big);
    const server = await startRawServer((socket, request) => {
      const answer = Buffer.from(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptKey(request.headers['sec-websocket-key'])}\r\n\r\n`,
        'latin1',
      );
      socket.write(Buffer.concat([answer, frame.subarray(0, 3000)]));
      setTimeout(() => socket.write(frame.subarray(3000)), 50);
    });
    servers.push(server);
    const t = await openSession(server.url);
    try {
      const msg = await t.rec.waitFor('message', { timeout: 10_000 });
      assert.ok(Buffer.from(msg.value).equals(big), 'the 4 MiB message, whole');
    } finally {
      await endSession(t);
    }
  });

  it('server: large messages from a client arrive intact, in order, one ArrayBuffer each', async () => {
    const s = await startServer();
    const client = await wsClient(s.url);
    try {
      const messages = SIZES.flatMap((size, i) => [payload(size, 10 + i), `${i}:${'x'.repeat(size)}`]);
      for (const m of messages) client.send(m);
      const got = [];
      for (let i = 0; i < messages.length; i++) got.push((await s.rec.next('messageReceive', 20_000)).msg.data);
      messages.forEach((m, i) => {
        if (typeof m === 'string') assert.ok(got[i] === m, `text ${i}`);
        else {
          assert.ok(got[i] instanceof ArrayBuffer);
          assert.ok(Buffer.from(got[i]).equals(m), `binary ${i} (${m.length} B)`);
        }
      });
    } finally {
      client.close();
      await s.stop();
    }
  });
});
