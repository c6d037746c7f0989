// Hostile peers (issue #4 item 6): hand-written handshake responses and frame bytes from a raw
// `net` server. Each case must end with the documented events (R21/R24/R34, R59, R61–R62,
// R64, R66–R67, R49) — never a crash or a hang. Every wait is bounded, every server closed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import webSocket from '../index.js';
import {
  startEchoServer, startRawServer, startRawWsServer, encodeFrame, closePayload, acceptKey,
  recordEvents, closeQuietly, waitUntil, delay,
} from './helpers/servers.mjs';
import { E, assertBusinessError, expectRejection, expectResolvedTrue } from './helpers/assertions.mjs';
import { openSession, endSession } from './helpers/client.mjs';

/** Window in which an event that must not come would have had ample time to arrive. */
const QUIET_MS = 300;
const LINK_DOWN = 'The link is down';
const OPENED = ['headerReceive', 'open', 'openInfo'];
const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };
const MAX_INCOMING = 100 * 1024 * 1024; // R59

/** Event types of a recorder, without the `dataEnd` that follows each message (R60). */
const kinds = (rec) => rec.types().filter((x) => x !== 'dataEnd');

/** Closes the peer first (so a client waiting on it ends at once), then the client. */
async function cleanup(t, peer) {
  await peer.close();
  await endSession(t);
}

/** A frame header (no payload) announcing `len` bytes; `len` may be a BigInt. */
function header(opcode, len, { fin = true } = {}) {
  const b = Buffer.alloc(10);
  b[0] = (fin ? 0x80 : 0) | opcode;
  b[1] = 127;
  b.writeBigUInt64BE(BigInt(len), 2);
  return b;
}

/** A server frame with the MASK bit set (forbidden for servers, RFC 6455 §5.1). */
function maskedFrame(opcode, payload) {
  const data = Buffer.from(payload);
  const key = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  const masked = Buffer.from(data.map((byte, i) => byte ^ key[i & 3]));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | data.length]), key, masked]);
}

/** `encodeFrame` with RSV bits (`rsv` = 0x40 / 0x20 / 0x10) set. */
function withRsv(frame, rsv) {
  const b = Buffer.from(frame);
  b[0] |= rsv;
  return b;
}

/**
 * The raw WebSocket server of helpers/servers.mjs (real RFC 6455 handshake, client frames
 * parsed and unmasked), plus, per connection, every byte the client sent (`bytes()`) and
 * whether the client ended the TCP connection (`ended`).
 */
async function startPeer(onConnection = () => {}) {
  return startRawWsServer({
    onConnection(conn) {
      const chunks = [Buffer.from(conn.request.rest)];
      conn.bytes = () => Buffer.concat(chunks);
      conn.ended = false;
      conn.socket.on('data', (c) => chunks.push(Buffer.from(c)));
      conn.socket.on('close', () => {
        conn.ended = true;
      });
      onConnection(conn);
    },
  });
}

/** The client's close frames seen by `conn`, as `{code, reason, masked}`. */
function closeFrames(conn) {
  return conn.frames
    .filter((f) => f.opcode === OP.CLOSE)
    .map((f) => ({
      code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined,
      reason: f.payload.subarray(2).toString(),
      masked: f.masked,
    }));
}

/** Waits (bounded) for the first close frame from the client and returns it. */
async function clientCloseFrame(conn, timeout = 3000) {
  await waitUntil(() => closeFrames(conn).length > 0, { timeout, label: 'a close frame from the client' });
  return closeFrames(conn)[0];
}

/** The JS side of an abnormal end: `error` {200, "0"} then `close` {code, "The link is down"}. */
async function assertAbnormalEnd(t, code = 1006) {
  const ev = await t.rec.waitFor('close', { timeout: 5000 });
  await delay(QUIET_MS);
  // Messages delivered before the end (if any) are checked by the caller.
  assert.deepEqual(kinds(t.rec).filter((x) => x !== 'message'), [...OPENED, 'error', 'close']);
  assertBusinessError(t.rec.of('error')[0].value, E.EVENT, '0');
  assert.deepEqual(ev.value, { code, reason: LINK_DOWN });
  await expectRejection(t.ws.send('after the end'), E.SEND_STATE); // IDLE again
}

/**
 * Opens a session against a fresh raw peer, lets `act(conn, t)` misbehave, then checks the
 * client answered with a close frame carrying `sentCode`, dropped TCP, and reported an
 * abnormal end (close event code `eventCode`). Returns `{conn, t, frame}` for extra checks.
 */
async function expectFailed(act, { sentCode = 1002, eventCode = 1006, options, onConnection } = {}) {
  const peer = await startPeer(onConnection);
  let t;
  try {
    t = await openSession(peer.url, options);
    const conn = peer.connections[0];
    await act(conn, t);
    await assertAbnormalEnd(t, eventCode);
    const frame = await clientCloseFrame(conn);
    assert.equal(frame.code, sentCode, `client close frame code (reason ${JSON.stringify(frame.reason)})`);
    assert.ok(frame.masked, 'client frames are masked');
    assert.equal(closeFrames(conn).length, 1, 'exactly one close frame');
    assert.equal(conn.frames.at(-1).opcode, OP.CLOSE, 'nothing after the close frame');
    await waitUntil(() => conn.ended, { timeout: 3000, label: 'client dropping the TCP connection' });
    // On the wire: the last bytes the client sent are exactly that close frame (FIN, masked).
    const all = conn.bytes();
    const len = conn.frames.at(-1).payload.length;
    assert.deepEqual([...all.subarray(all.length - len - 6, all.length - len - 4)], [0x88, 0x80 | len]);
    return { conn, t, frame };
  } finally {
    await cleanup(t, peer);
  }
}

describe('hostile peers', () => {
  let good;
  before(async () => {
    good = await startEchoServer();
  });
  after(async () => {
    await good.close();
  });

  /** R25: the instance is IDLE and usable: a fresh connect to a good server opens and echoes. */
  async function assertReusable(ws, rec) {
    await expectResolvedTrue(ws.connect(good.url));
    await rec.waitFor('open', { count: rec.of('open').length + 1 });
    await expectResolvedTrue(ws.send('still fine'));
    await rec.waitFor('message', { count: rec.of('message').length + 1 });
    await closeQuietly(ws, rec);
  }

  /** R21/R64: a raw server answering the upgrade with `respond(socket, req)` → only `error` {200, data}. */
  async function expectHandshakeFailure(respond, data) {
    const raw = await startRawServer(respond);
    const ws = webSocket.createWebSocket();
    const rec = recordEvents(ws);
    try {
      await expectResolvedTrue(ws.connect(raw.url));
      const ev = await rec.waitFor('error');
      assertBusinessError(ev.value, E.EVENT, data);
      await delay(QUIET_MS);
      assert.deepEqual(kinds(rec), ['error'], 'no headerReceive/open/close for a failed handshake');
      await expectRejection(ws.send('x'), E.SEND_STATE);
      await assertReusable(ws, rec);
    } finally {
      await closeQuietly(ws, rec);
      await raw.close();
    }
  }

  const switching = (key, extra = '') =>
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n${extra}\r\n`;

  describe('R21/R24/R64 handshake failures → error only, data = status or "0"', () => {
    it('101 with a wrong Sec-WebSocket-Accept → error data "101"; reusable', async () => {
      await expectHandshakeFailure((s, req) => s.write(switching(`${req.headers['sec-websocket-key']}x`)), '101');
    });

    it('101 without Sec-WebSocket-Accept → error data "101"', async () => {
      await expectHandshakeFailure(
        (s) => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
        '101',
      );
    });

    it('101 with Upgrade: h2c (not websocket) → error data "101"', async () => {
      await expectHandshakeFailure(
        (s, req) =>
          s.write(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n' +
              `Sec-WebSocket-Accept: ${acceptKey(req.headers['sec-websocket-key'])}\r\n\r\n`,
          ),
        '101',
      );
    });

    it('R34: 101 selecting a subprotocol that was never offered → error data "101"', async () => {
      await expectHandshakeFailure(
        (s, req) => s.write(switching(req.headers['sec-websocket-key'], 'Sec-WebSocket-Protocol: evil\r\n')),
        '101',
      );
    });

    for (const [status, text, extra] of [
      [403, 'Forbidden', ''],
      [500, 'Internal Server Error', ''],
      [302, 'Found', 'Location: ws://127.0.0.1:1/elsewhere\r\n'],
      [200, 'OK', ''],
    ]) {
      it(`status ${status} → error data "${status}"`, async () => {
        await expectHandshakeFailure(
          (s) => s.end(`HTTP/1.1 ${status} ${text}\r\n${extra}Content-Length: 4\r\nConnection: close\r\n\r\nnope`),
          String(status),
        );
      });
    }

    it('a non-101 status while the server keeps the connection open → error data "418" (no hang)', async () => {
      await expectHandshakeFailure((s) => s.write("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n"), '418');
    });

    for (const [label, respond] of [
      ['not HTTP at all (an SSH banner, then EOF)', (s) => s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n')],
      ['binary garbage, then EOF', (s) => s.end(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]))],
      ['EOF without a single byte', (s) => s.end()],
      ['closed inside the status line', (s) => s.end('HTTP/1.1 10')],
      ['closed inside the headers of a 101', (s) => s.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs')],
      ['reset (RST) before any byte', (s) => s.resetAndDestroy()],
    ]) {
      it(`${label} → error data "0"`, async () => {
        await expectHandshakeFailure(respond, '0');
      });
    }
  });

  describe('R61/R62 protocol violations after a good handshake → close 1002/1007 to the peer, error, close 1006', () => {
    const cases = [
      ['garbage bytes', Buffer.from('GARBAGE GARBAGE GARBAGE!')],
      ['0xff 0xff …', Buffer.alloc(16, 0xff)],
      ['a text frame with RSV1 set (no extension negotiated)', withRsv(encodeFrame(OP.TEXT, 'x'), 0x40)],
      ['a binary frame with RSV2 set', withRsv(encodeFrame(OP.BINARY, [1]), 0x20)],
      ['a ping with RSV3 set', withRsv(encodeFrame(OP.PING, 'p'), 0x10)],
      ['reserved data opcode 3', encodeFrame(0x3, 'x')],
      ['reserved data opcode 7', encodeFrame(0x7)],
      ['reserved control opcode 0xB', encodeFrame(0xb, 'x')],
      ['reserved control opcode 0xF', encodeFrame(0xf)],
      ['a masked text frame from the server', maskedFrame(OP.TEXT, 'masked')],
      ['a masked ping from the server', maskedFrame(OP.PING, 'p')],
      ['a fragmented ping (FIN clear)', encodeFrame(OP.PING, 'p', false)],
      ['a fragmented close (FIN clear)', encodeFrame(OP.CLOSE, closePayload(1000), false)],
      ['a continuation frame without a start', encodeFrame(OP.CONT, 'orphan')],
      [
        'a new text frame while a fragmented message is open',
        Buffer.concat([encodeFrame(OP.TEXT, 'part 1', false), encodeFrame(OP.TEXT, 'part 2')]),
      ],
      ['a ping with a 126-byte payload (16-bit length)', encodeFrame(OP.PING, Buffer.alloc(126, 0x61))],
      ['a close frame with a 1-byte payload', encodeFrame(OP.CLOSE, Buffer.from([0x03]))],
    ];
    for (const [label, bytes] of cases) {
      it(`${label} → 1002`, async () => {
        await expectFailed((conn) => conn.socket.write(bytes));
      });
    }

    // The peer behaves like a server otherwise: it drops TCP once the client's close frame arrives.
    const dropOnClose = (conn) => conn.on((f) => f.opcode === OP.CLOSE && conn.socket.end());
    for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000]) {
      it(`a close frame with code ${code} on the wire → 1002, error, close 1006`, async () => {
        await expectFailed((conn) => conn.socket.write(encodeFrame(OP.CLOSE, closePayload(code, 'bad code'))), {
          onConnection: dropOnClose,
        });
      });
    }

    it('a close frame whose reason is invalid UTF-8 → 1007, error, close 1006', async () => {
      const payload = Buffer.concat([closePayload(1000), Buffer.from([0xc3, 0x28])]);
      await expectFailed((conn) => conn.socket.write(encodeFrame(OP.CLOSE, payload)), { sentCode: 1007 });
    });

    for (const [label, bytes] of [
      ['a text frame with invalid UTF-8', encodeFrame(OP.TEXT, Buffer.from([0x68, 0x69, 0xc3, 0x28]))],
      ['a text frame with a UTF-16 surrogate encoded (ED A0 80)', encodeFrame(OP.TEXT, Buffer.from([0xed, 0xa0, 0x80]))],
      [
        'a fragmented text message, invalid UTF-8 in the last fragment',
        Buffer.concat([encodeFrame(OP.TEXT, 'ok so far', false), encodeFrame(OP.CONT, Buffer.from([0xff]))]),
      ],
    ]) {
      it(`${label} → 1007`, async () => {
        const { t } = await expectFailed((conn) => conn.socket.write(bytes), { sentCode: 1007 });
        assert.equal(t.rec.of('message').length, 0, 'the invalid message is never delivered');
      });
    }

    it('frames glued to the 101 response in the same TCP write are parsed as frames (violation → 1002)', async () => {
      const raw = await startRawServer((s, req) =>
        s.write(Buffer.concat([Buffer.from(switching(req.headers['sec-websocket-key'])), encodeFrame(OP.TEXT, 'early'), encodeFrame(0x3)])),
      );
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectResolvedTrue(ws.connect(raw.url));
        await rec.waitFor('close');
        await delay(QUIET_MS);
        assert.deepEqual(kinds(rec), [...OPENED, 'message', 'error', 'close']);
        assert.equal(rec.of('message')[0].value, 'early');
        assert.deepEqual(rec.of('close')[0].value, { code: 1006, reason: LINK_DOWN });
      } finally {
        await closeQuietly(ws, rec);
        await raw.close();
      }
    });

    it('messages in the same write before a violation are delivered first; their echo precedes the 1002', async () => {
      const { conn, t } = await expectFailed(async (c, session) => {
        session.ws.on('message', (...args) => {
          session.rec.log.push({ type: 'message', args, value: args[1] });
          session.ws.send(typeof args[1] === 'string' ? `echo:${args[1]}` : args[1]);
        });
        c.socket.write(
          Buffer.concat([
            encodeFrame(OP.TEXT, 'first'),
            encodeFrame(OP.BINARY, [1, 2, 3]),
            encodeFrame(OP.TEXT, 'frag', false),
            encodeFrame(OP.CONT, 'mented'),
            encodeFrame(0xb, 'boom'),
          ]),
        );
      });
      assert.deepEqual(kinds(t.rec), [...OPENED, 'message', 'message', 'message', 'error', 'close']);
      assert.equal(t.rec.of('message')[0].value, 'first');
      assert.deepEqual([...new Uint8Array(t.rec.of('message')[1].value)], [1, 2, 3]);
      assert.equal(t.rec.of('message')[2].value, 'fragmented');
      const seen = conn.frames.map((f) => (f.opcode === OP.CLOSE ? 'close' : f.payload.toString('latin1')));
      assert.deepEqual(seen, ['echo:first', '\x01\x02\x03', 'echo:fragmented', 'close']);
    });
  });

  describe('R59 incoming size limit (100 MiB) → close 1009 to the peer, error, close 1009', () => {
    for (const [label, bytes] of [
      ['a binary frame header announcing 2^63-1 bytes', header(OP.BINARY, (1n << 63n) - 1n)],
      ['a text frame header announcing 100 MiB + 1 bytes', header(OP.TEXT, MAX_INCOMING + 1)],
      ['a first fragment header announcing 2^63-1 bytes', header(OP.BINARY, (1n << 63n) - 1n, { fin: false })],
    ]) {
      it(`${label} (no payload follows) → 1009 at once, no buffering`, async () => {
        const started = Date.now();
        const rssBefore = process.memoryUsage().rss;
        await expectFailed((conn) => conn.socket.write(Buffer.concat([bytes, Buffer.alloc(64)])), {
          sentCode: 1009,
          eventCode: 1009,
        });
        assert.ok(Date.now() - started < 3000, 'failed without waiting for the payload');
        assert.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'no allocation for the announced size');
      });
    }

    it('a header announcing exactly 2^63 bytes (MSB set, RFC 6455 §5.2 forbids it) → 1002 or 1009, error, close', async () => {
      const peer = await startPeer();
      let t;
      try {
        t = await openSession(peer.url);
        peer.connections[0].socket.write(header(OP.BINARY, 1n << 63n));
        const ev = await t.rec.waitFor('close');
        assert.deepEqual(kinds(t.rec), [...OPENED, 'error', 'close']);
        const frame = await clientCloseFrame(peer.connections[0]);
        assert.ok([1002, 1009].includes(frame.code), `close frame code ${frame.code}`);
        assert.ok([1006, 1009].includes(ev.value.code), `close event code ${ev.value.code}`);
      } finally {
        await cleanup(t, peer);
      }
    });
  });

  describe('stalled and vanishing peers', () => {
    for (const [label, half] of [
      ['half a frame header', Buffer.from([0x82, 126, 0x01])],
      ['a header and half of the payload', encodeFrame(OP.BINARY, Buffer.alloc(200, 7)).subarray(0, 100)],
    ]) {
      it(`R66: ${label}, then silence; pingInterval 1 / pongTimeout 1 → Ping sent, error, close 1006 in a few s`, async () => {
        const peer = await startPeer();
        let t;
        try {
          t = await openSession(peer.url, { pingInterval: 1, pongTimeout: 1 });
          const started = Date.now();
          const conn = peer.connections[0];
          conn.socket.write(half);
          const ev = await t.rec.waitFor('close', { timeout: 6000 });
          const elapsed = Date.now() - started;
          assert.ok(elapsed < 4500, `ended after ${elapsed} ms`);
          assert.ok(elapsed > 1500, `ended after ${elapsed} ms, before the Ping could time out`);
          assert.deepEqual(ev.value, { code: 1006, reason: LINK_DOWN });
          await delay(QUIET_MS);
          assert.deepEqual(kinds(t.rec), [...OPENED, 'error', 'close']);
          assertBusinessError(t.rec.of('error')[0].value, E.EVENT, '0');
          const ping = conn.frames.find((f) => f.opcode === OP.PING);
          assert.ok(ping, `a Ping frame (opcode 0x9) was sent; got opcodes [${conn.frames.map((f) => f.opcode)}]`);
          assert.ok(ping.masked && ping.fin, 'masked, unfragmented Ping');
          await waitUntil(() => conn.ended, { timeout: 3000, label: 'client dropping the TCP connection' });
        } finally {
          await cleanup(t, peer);
        }
      });
    }

    it('R49: close({code: 4000}) on a peer stalled mid-frame that never answers → close {4000, "CLOSE_NORMAL"} within the 5 s bound', async () => {
      const peer = await startPeer();
      let t;
      try {
        t = await openSession(peer.url);
        const conn = peer.connections[0];
        conn.socket.write(encodeFrame(OP.TEXT, 'never finished').subarray(0, 5));
        await delay(50);
        const started = Date.now();
        await expectResolvedTrue(t.ws.close({ code: 4000 }));
        const ev = await t.rec.waitFor('close', { timeout: 7500 });
        const elapsed = Date.now() - started;
        assert.ok(elapsed < 6500, `close event after ${elapsed} ms`);
        assert.deepEqual(ev.value, { code: 4000, reason: 'CLOSE_NORMAL' });
        await delay(QUIET_MS);
        assert.deepEqual(kinds(t.rec), [...OPENED, 'close'], 'a local close reports no error');
        const frame = await clientCloseFrame(conn);
        assert.deepEqual(frame, { code: 4000, reason: 'CLOSE_NORMAL', masked: true });
        await waitUntil(() => conn.ended, { timeout: 3000, label: 'client dropping the TCP connection' });
      } finally {
        await cleanup(t, peer);
      }
    });

    it(
      'a peer close frame, then the peer keeps TCP open forever → close event within the 5 s bound (no hang)',
      async () => {
        const peer = await startPeer();
        let t;
        try {
          t = await openSession(peer.url);
          const conn = peer.connections[0];
          conn.socket.write(encodeFrame(OP.CLOSE, closePayload(1000, 'bye')));
          const echoed = await clientCloseFrame(conn);
          assert.equal(echoed.code, 1000, 'the client echoes the status code');
          const ev = await t.rec.waitFor('close', { timeout: 7000 });
          assert.deepEqual(ev.value, { code: 1000, reason: 'bye' });
          assert.deepEqual(kinds(t.rec), [...OPENED, 'close']);
          await waitUntil(() => conn.ended, { timeout: 3000, label: 'client dropping the TCP connection' });
        } finally {
          await cleanup(t, peer);
        }
      },
    );

    for (const [label, end] of [
      ['FIN', (s) => s.end()],
      ['RST', (s) => s.resetAndDestroy()],
    ]) {
      it(`TCP ${label} right after the 101 without a close frame → error {200, "0"}, close 1006`, async () => {
        const peer = await startPeer((conn) => end(conn.socket));
        let t;
        try {
          t = await openSession(peer.url);
          await assertAbnormalEnd(t, 1006);
        } finally {
          await cleanup(t, peer);
        }
      });
    }

    it('TCP FIN in the middle of a frame → error, close 1006; the partial message is not delivered', async () => {
      const peer = await startPeer();
      let t;
      try {
        t = await openSession(peer.url);
        peer.connections[0].socket.end(encodeFrame(OP.TEXT, 'cut short').subarray(0, 6));
        await assertAbnormalEnd(t, 1006);
        assert.equal(t.rec.of('message').length, 0);
      } finally {
        await cleanup(t, peer);
      }
    });
  });

  describe('R67 server pings', () => {
    it('every server Ping is answered with a Pong carrying the same payload; the link stays open', async () => {
      const peer = await startPeer();
      let t;
      try {
        t = await openSession(peer.url);
        const conn = peer.connections[0];
        const payloads = [Buffer.from('hello'), Buffer.alloc(0), Buffer.from([0, 255, 1, 254]), Buffer.alloc(125, 0x5a)];
        conn.socket.write(Buffer.concat(payloads.map((p) => encodeFrame(OP.PING, p))));
        // A ping between the fragments of a message is answered too, and the message stays whole.
        conn.socket.write(
          Buffer.concat([encodeFrame(OP.TEXT, 'be', false), encodeFrame(OP.PING, 'mid'), encodeFrame(OP.CONT, 'tween')]),
        );
        const pongs = () => conn.frames.filter((f) => f.opcode === OP.PONG);
        await waitUntil(() => pongs().length >= payloads.length + 1, { timeout: 3000, label: 'pongs' });
        assert.deepEqual(pongs().map((f) => f.payload.toString('hex')), [...payloads, Buffer.from('mid')].map((p) => p.toString('hex')));
        assert.ok(pongs().every((f) => f.masked && f.fin));
        assert.equal((await t.rec.waitFor('message')).value, 'between');
        await expectResolvedTrue(t.ws.send('still open'));
        await waitUntil(() => conn.frames.some((f) => f.opcode === OP.TEXT), { label: 'text frame at the peer' });
        assert.equal(conn.frames.find((f) => f.opcode === OP.TEXT).payload.toString(), 'still open');
        assert.deepEqual(kinds(t.rec), [...OPENED, 'message']);
      } finally {
        await cleanup(t, peer);
      }
    });

    it('an unsolicited Pong from the server is ignored', async () => {
      const peer = await startPeer();
      let t;
      try {
        t = await openSession(peer.url);
        const conn = peer.connections[0];
        conn.socket.write(Buffer.concat([encodeFrame(OP.PONG, 'unasked'), encodeFrame(OP.TEXT, 'after pong')]));
        assert.equal((await t.rec.waitFor('message')).value, 'after pong');
        await delay(QUIET_MS);
        assert.deepEqual(kinds(t.rec), [...OPENED, 'message']);
      } finally {
        await cleanup(t, peer);
      }
    });
  });
});
