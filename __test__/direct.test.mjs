// The write paths (src/runtime/core/direct.rs, link.rs, engine/frame.rs): the first send
// of a tick on an idle plain-TCP connection is written by the JS thread itself; every
// other data frame is encoded (masked) at send() and written by the I/O thread from the
// link's queue with vectored writes, while tungstenite writes the control frames. These
// tests try to break the byte stream: direct writes mixed with queued bursts and large
// frames, with the I/O thread answering the peer's Pings at the same time, with a full
// socket buffer (partial writes whose tail must go out before anything else), close()
// during a large send, over TLS and from the server role. The `ws` peer validates every
// frame (masking, lengths, UTF-8), so a corrupted stream closes with 1002/1007.
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import { startEchoServer, startTlsEchoServer, waitUntil, delay } from './helpers/servers.mjs';
import { openSession, endSession } from './helpers/client.mjs';
import { makeTestPki, pem } from './helpers/certs.mjs';
import { startServer, wsClient } from './helpers/server.mjs';

describe('write-through sends', () => {
  const servers = [];
  after(async () => {
    for (const s of servers) await s.close();
  });

  /** A server that records messages in order and pings the client every 1 ms. */
  async function recordingServer({ pause = false, tls = null } = {}) {
    const got = [];
    const state = { socket: null, closes: [] };
    const start = tls ? (o) => startTlsEchoServer(tls, o) : startEchoServer;
    const server = await start({
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

  let pki;
  before(() => {
    pki = makeTestPki();
  });
  after(() => pki?.cleanup());

  /**
   * Sends a mix of what takes each write path, tick by tick: single small frames (direct),
   * bursts (queued, coalesced), 300 KiB and 2 MiB binary frames and 100 KiB text frames
   * (queued whole, partly written while the socket is full). Returns what the peer should
   * receive, in order.
   */
  async function sendMix(send, rounds) {
    const expected = [];
    for (let i = 0; i < rounds; i++) {
      const kind = i % 7;
      if (kind === 0) {
        for (let j = 0; j < 20; j++) {
          const m = `burst ${i}.${j}`;
          send(m);
          expected.push(m);
        }
      } else if (kind === 1 || kind === 4) {
        const bytes = Buffer.alloc(kind === 1 ? 300 * 1024 : 2 * 1024 * 1024, i & 0xff);
        bytes.writeUInt32BE(i, 0);
        send(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
        expected.push(bytes);
      } else if (kind === 2) {
        const m = `${i} ${'é'.repeat(50 * 1024)}`;
        send(m);
        expected.push(m);
      } else {
        const m = `single ${i}`;
        send(m);
        expected.push(m);
      }
      await tick();
    }
    return expected;
  }

  function assertSameMessages(got, expected) {
    assert.equal(got.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      if (typeof expected[i] === 'string') assert.ok(got[i] === expected[i], `message ${i} (text) intact and in order`);
      else assert.ok(Buffer.isBuffer(got[i]) && got[i].equals(expected[i]), `message ${i} (binary) intact and in order`);
    }
  }

  for (const tls of [false, true]) {
    const scheme = tls ? 'wss' : 'ws';
    it(`${scheme}: large encoded frames, bursts and direct sends stay in order through a full socket and Pings`, async () => {
      const { server, got, state } = await recordingServer({ pause: true, tls: tls ? pem(pki.local) : null });
      const t = await openSession(server.url, tls ? { caPath: pki.ca.cert } : undefined);
      try {
        const sending = sendMix((m) => t.ws.send(m), 70);
        // The peer reads nothing for a while: writes go partial and the queue backs up.
        await delay(300);
        state.socket._socket.resume();
        const expected = await sending;
        await waitUntil(() => got.length >= expected.length, { timeout: 20_000, label: `${expected.length} messages` });
        assertSameMessages(got, expected);
        assert.deepEqual(state.closes, [], 'the server saw a valid stream throughout');
        assert.deepEqual(t.rec.of('error'), []);
      } finally {
        await endSession(t);
      }
    });
  }

  it('close() during a large send: the whole message, then the close frame', async () => {
    const { server, got, state } = await recordingServer({ pause: true });
    const t = await openSession(server.url);
    try {
      // Just under the R42 send limit (5 242 864 B), far past what the socket buffers take.
      const bytes = Buffer.alloc(5_000_000, 0x5a);
      bytes.writeUInt32BE(0xdeadbeef, bytes.length - 4);
      t.ws.send(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      await delay(50);
      t.ws.close({ code: 4002, reason: 'after the big one' });
      await delay(200);
      state.socket._socket.resume();
      const close = await t.rec.waitFor('close', { timeout: 10_000 });
      assert.deepEqual(close.value, { code: 4002, reason: 'after the big one' });
      await waitUntil(() => state.closes.length === 1, { label: 'server close' });
      assert.equal(got.length, 1);
      assert.ok(got[0].equals(bytes), 'the 5 MB message arrived whole before the close frame');
      assert.deepEqual(state.closes, [4002]);
    } finally {
      await endSession(t);
    }
  });

  it('server role: unmasked frames of every size stay in order while the client pings and pauses', async () => {
    const s = await startServer();
    const client = await wsClient(s.url);
    const timer = setInterval(() => client.ping('p'), 1);
    try {
      const { conn } = await s.rec.next('connect');
      client._socket.pause();
      const sending = sendMix((m) => s.server.send(m, conn), 70);
      await delay(300);
      client._socket.resume();
      const expected = await sending;
      await waitUntil(() => client.received.length >= expected.length, { timeout: 20_000, label: 'messages' });
      assertSameMessages(client.received, expected);
      assert.equal(client.closedWith, undefined, 'the client saw a valid stream');
      assert.deepEqual(s.rec.of('error'), []);
    } finally {
      clearInterval(timer);
      client.close();
      await once(client, 'close');
      await s.stop();
    }
  });
});
