// Write-through (src/runtime/direct.rs): the first send of a tick on an idle plain-TCP
// connection is written by the JS thread itself. These tests try to break the byte
// stream: direct writes mixed with queued bursts, with the I/O thread answering the
// server's Pings at the same time, and with a full socket buffer (partial writes whose
// tail the I/O thread must write before anything else). The `ws` server validates every
// frame (masking, lengths, UTF-8), so a corrupted stream closes with 1002/1007.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { startEchoServer, waitUntil } from './helpers/servers.mjs';
import { openSession, endSession } from './helpers/client.mjs';

describe('write-through sends', () => {
  const servers = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  /** A server that records messages in order and pings the client every 1 ms. */
  async function recordingServer({ pause = false } = {}) {
    const got = [];
    const state = { socket: null, closes: [] };
    const server = await startEchoServer({
      onConnection(socket) {
        state.socket = socket;
        if (pause) socket._socket.pause();
        socket.on('message', (data, isBinary) => got.push(isBinary ? Buffer.from(data) : data.toString()));
        socket.on('close', (code) => state.closes.push(code));
        const timer = setInterval(() => socket.ping('p'), 1);
        socket.on('close', () => clearInterval(timer));
      },
    });
    servers.push(server);
    return { server, got, state };
  }

  it('one send per tick, bursts and binary frames interleave without corrupting the stream', async () => {
    const { server, got, state } = await recordingServer();
    const t = await openSession(server.url);
    try {
      const expected = [];
      for (let i = 0; i < 300; i++) {
        if (i % 10 === 0) {
          // A burst: the first frame may go direct, the rest through the I/O thread.
          for (let j = 0; j < 5; j++) {
            const m = `burst ${i}.${j} ${'é'.repeat(j * 7)}`;
            t.ws.send(m);
            expected.push(m);
          }
        } else if (i % 3 === 0) {
          const bytes = Buffer.alloc(100 + i, i & 0xff);
          t.ws.send(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
          expected.push(bytes);
        } else {
          const m = `single ${i}`;
          t.ws.send(m);
          expected.push(m);
        }
        await tick();
      }
      await waitUntil(() => got.length >= expected.length, { label: `${expected.length} messages` });
      assert.equal(got.length, expected.length);
      for (let i = 0; i < expected.length; i++) assert.deepEqual(got[i], expected[i], `message ${i}`);
      assert.deepEqual(state.closes, [], 'the server saw a valid stream throughout');
      assert.deepEqual(t.rec.of('error'), []);
    } finally {
      await endSession(t);
    }
  });

  it('a full socket buffer: partial direct writes are completed in order once the peer reads', async () => {
    const { server, got, state } = await recordingServer({ pause: true });
    const t = await openSession(server.url);
    try {
      const expected = [];
      // 16 KiB frames (the write-through maximum), one per tick, until well past what the
      // kernel buffers hold while the server does not read (~24 MiB; loopback buffers
      // took ~6 MiB here without a single short write).
      for (let i = 0; i < 1500; i++) {
        const bytes = Buffer.alloc(16 * 1024, i & 0xff);
        bytes.writeUInt32BE(i, 0);
        t.ws.send(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
        expected.push(bytes);
        await tick();
      }
      state.socket._socket.resume();
      await waitUntil(() => got.length >= expected.length, { timeout: 10_000, label: `${expected.length} frames` });
      for (let i = 0; i < expected.length; i++) {
        assert.equal(got[i].readUInt32BE(0), i, `frame ${i} in order`);
        assert.ok(got[i].equals(expected[i]), `frame ${i} intact`);
      }
      assert.deepEqual(state.closes, []);
    } finally {
      await endSession(t);
    }
  });

  it('close() right after a direct send: the message, then a clean close frame', async () => {
    const { server, got, state } = await recordingServer();
    const t = await openSession(server.url);
    try {
      t.ws.send('last words');
      t.ws.close({ code: 4001, reason: 'done' });
      const close = await t.rec.waitFor('close');
      assert.deepEqual(close.value, { code: 4001, reason: 'done' });
      await waitUntil(() => state.closes.length === 1, { label: 'server close' });
      assert.deepEqual(got, ['last words']);
      assert.deepEqual(state.closes, [4001]);
    } finally {
      await endSession(t);
    }
  });
});
