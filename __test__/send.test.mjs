// send(): overloads (R40), data types (R41), size limit (R42), framing and order (R43),
// state handling (R44), and messages of various sizes both ways (R59).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import webSocket from '../index.js';
import { startEchoServer, recordEvents, closeQuietly, callbackCall, delay } from './helpers/servers.mjs';
import {
  E, expectRejection, expectResolvedTrue, expectCallbackError, expectCallbackTrue,
} from './helpers/assertions.mjs';
import { openSession, endSession } from './helpers/client.mjs';

const LIMIT = 5_242_864; // R42: 5 MiB − 16

/** An ArrayBuffer of `n` bytes with a recognisable pattern. */
function patternBuffer(n, seed = 7) {
  const ab = new ArrayBuffer(n);
  const u8 = new Uint8Array(ab);
  for (let i = 0; i < n; i++) u8[i] = (i * 31 + seed) & 0xff;
  return ab;
}

function assertIsArrayBuffer(v, length) {
  assert.equal(Object.prototype.toString.call(v), '[object ArrayBuffer]');
  assert.ok(v instanceof ArrayBuffer, 'instanceof ArrayBuffer (same realm)');
  assert.ok(!ArrayBuffer.isView(v), 'not a view (Buffer / Uint8Array)');
  assert.ok(!Buffer.isBuffer(v));
  assert.equal(v.byteLength, length);
}

const INVALID_DATA = [
  ['null', null],
  ['undefined', undefined],
  ['a number', 42],
  ['a boolean', true],
  ['a bigint', 10n],
  ['a String object', new String('x')], // eslint-disable-line no-new-wrappers
  ['an object', { data: 'x' }],
  ['an array', ['x']],
  ['an Int8Array', new Int8Array(0)],
  ['a Uint8Array', new Uint8Array([1, 2])],
  ['a DataView', new DataView(new ArrayBuffer(2))],
  ['a Buffer', Buffer.from('x')],
  ['a SharedArrayBuffer', new SharedArrayBuffer(4)],
];

describe('send', () => {
  let server;
  /** one OPEN session shared by the parameter tests (a 401 does not change the state) */
  let s;
  before(async () => {
    server = await startEchoServer();
    s = await openSession(server.url);
  });
  after(async () => {
    await endSession(s);
    await server.close();
  });

  /** Sends `sentinel` and checks it is the next thing the server receives (nothing slipped in). */
  async function assertNothingElseSent(receivedBefore) {
    const sentinel = `sentinel-${Math.random()}`;
    const n = s.rec.of('message').length;
    await expectResolvedTrue(s.ws.send(sentinel));
    await server.waitForReceived(receivedBefore + 1);
    assert.equal(server.received[receivedBefore].data.toString(), sentinel, 'a rejected send reached the server');
    assert.equal((await s.rec.waitFor('message', { count: n + 1 })).value, sentinel);
  }

  describe('R40 overload resolution', () => {
    it('(string) and (ArrayBuffer) → promise mode, resolve true', async () => {
      const n = s.rec.of('message').length;
      await expectResolvedTrue(s.ws.send('promise text'));
      await expectResolvedTrue(s.ws.send(patternBuffer(3)));
      const m1 = await s.rec.waitFor('message', { count: n + 1 });
      const m2 = await s.rec.waitFor('message', { count: n + 2 });
      assert.equal(m1.value, 'promise text');
      assertIsArrayBuffer(m2.value, 3);
    });

    it('(string, fn) and (ArrayBuffer, fn) → callback mode: returns undefined, cb(undefined, true)', async () => {
      const n = s.rec.of('message').length;
      await expectCallbackTrue(callbackCall((cb) => s.ws.send('cb text', cb)));
      await expectCallbackTrue(callbackCall((cb) => s.ws.send(patternBuffer(5), cb)));
      assert.equal((await s.rec.waitFor('message', { count: n + 1 })).value, 'cb text');
      assertIsArrayBuffer((await s.rec.waitFor('message', { count: n + 2 })).value, 5);
    });

    it('(fn) → callback-mode 401', async () => {
      const before = server.received.length;
      await expectCallbackError(callbackCall((cb) => s.ws.send(cb)), E.PARAM);
      await assertNothingElseSent(before);
    });

    it('anything else → promise-mode 401, a misplaced callback is never called', async () => {
      const before = server.received.length;
      let calls = 0;
      const cb = () => {
        calls += 1;
      };
      const cases = [[], [null], [42], ['a', 'notAFunction'], ['a', null], ['a', undefined], ['a', cb, 1],
        [patternBuffer(1), cb, undefined], ['a', {}], [undefined, cb, cb]];
      for (const args of cases) await expectRejection(s.ws.send(...args), E.PARAM);
      await delay(50);
      assert.equal(calls, 0);
      await assertNothingElseSent(before);
    });
  });

  describe('R41 invalid data → 401 in both modes', () => {
    for (const [label, value] of INVALID_DATA) {
      it(label, async () => {
        const before = server.received.length;
        await expectRejection(s.ws.send(value), E.PARAM);
        await expectCallbackError(callbackCall((cb) => s.ws.send(value, cb)), E.PARAM);
        await assertNothingElseSent(before);
      });
    }
  });

  describe('R42 size limit (5 242 864 bytes)', () => {
    it(`a string of exactly ${LIMIT} ASCII bytes is sent; one more byte → 401`, async () => {
      const before = server.received.length;
      await expectRejection(s.ws.send('a'.repeat(LIMIT + 1)), E.PARAM);
      await expectCallbackError(callbackCall((cb) => s.ws.send('a'.repeat(LIMIT + 1), cb)), E.PARAM);
      const n = s.rec.of('message').length;
      await expectResolvedTrue(s.ws.send('a'.repeat(LIMIT)));
      await server.waitForReceived(before + 1, 15_000);
      assert.equal(server.received[before].data.length, LIMIT);
      assert.equal(server.received[before].isBinary, false);
      const echo = await s.rec.waitFor('message', { count: n + 1, timeout: 15_000 });
      assert.equal(echo.value.length, LIMIT);
    });

    it(`an ArrayBuffer of exactly ${LIMIT} bytes is sent; one more → 401`, async () => {
      const before = server.received.length;
      await expectRejection(s.ws.send(new ArrayBuffer(LIMIT + 1)), E.PARAM);
      const n = s.rec.of('message').length;
      await expectResolvedTrue(s.ws.send(new ArrayBuffer(LIMIT)));
      await server.waitForReceived(before + 1, 15_000);
      assert.equal(server.received[before].data.length, LIMIT);
      assert.equal(server.received[before].isBinary, true);
      assertIsArrayBuffer((await s.rec.waitFor('message', { count: n + 1, timeout: 15_000 })).value, LIMIT);
    });

    it('non-ASCII strings count UTF-8 bytes, not characters', async () => {
      const before = server.received.length;
      const twoByte = 'é'.repeat(LIMIT / 2); // LIMIT bytes, LIMIT/2 chars
      assert.equal(Buffer.byteLength(twoByte), LIMIT);
      await expectRejection(s.ws.send(`${twoByte}a`), E.PARAM); // LIMIT + 1 bytes, far fewer chars
      await expectRejection(s.ws.send('€'.repeat(1_747_622)), E.PARAM); // 5 242 866 bytes, 1.7 M chars
      await expectRejection(s.ws.send('😀'.repeat(LIMIT / 4 + 1)), E.PARAM); // LIMIT + 4 bytes
      const n = s.rec.of('message').length;
      await expectResolvedTrue(s.ws.send(twoByte));
      await server.waitForReceived(before + 1, 15_000);
      assert.equal(server.received[before].data.length, LIMIT);
      const echo = await s.rec.waitFor('message', { count: n + 1, timeout: 15_000 });
      assert.equal(echo.value, twoByte);
    });

    it('empty string and empty ArrayBuffer are valid and sent as empty frames', async () => {
      const before = server.received.length;
      const n = s.rec.of('message').length;
      await expectResolvedTrue(s.ws.send(''));
      await expectResolvedTrue(s.ws.send(new ArrayBuffer(0)));
      await server.waitForReceived(before + 2);
      assert.deepEqual(
        server.received.slice(before).map((r) => [r.data.length, r.isBinary]),
        [[0, false], [0, true]],
      );
      assert.equal((await s.rec.waitFor('message', { count: n + 1 })).value, '');
      assertIsArrayBuffer((await s.rec.waitFor('message', { count: n + 2 })).value, 0);
    });
  });

  describe('R43 framing and order', () => {
    it('strings go as text frames, ArrayBuffers as binary frames, in call order', async () => {
      const before = server.received.length;
      const n = s.rec.of('message').length;
      const sends = ['one', patternBuffer(4, 1), 'two', patternBuffer(2, 2), 'three'];
      const results = sends.map((d) => s.ws.send(d));
      for (const r of results) await expectResolvedTrue(r);
      await server.waitForReceived(before + sends.length);
      const seen = server.received.slice(before, before + sends.length);
      assert.deepEqual(seen.map((r) => r.isBinary), [false, true, false, true, false]);
      sends.forEach((d, i) => {
        const expected = Buffer.from(d);
        assert.deepEqual(seen[i].data, expected, `message ${i}`);
      });
      await s.rec.waitFor('message', { count: n + sends.length });
    });

    it('the bytes of an ArrayBuffer are copied at call time', async () => {
      const before = server.received.length;
      const n = s.rec.of('message').length;
      const ab = patternBuffer(64, 3);
      const original = Buffer.from(new Uint8Array(ab));
      const p = s.ws.send(ab);
      new Uint8Array(ab).fill(0);
      await expectResolvedTrue(p);
      await server.waitForReceived(before + 1);
      assert.deepEqual(server.received[before].data, original);
      assert.ok(Buffer.from((await s.rec.waitFor('message', { count: n + 1 })).value).equals(original));
    });
  });

  describe('R44 state handling', () => {
    it('IDLE (never connected) → −1 "Websocket Unknown Other Error" in both modes', async () => {
      const ws = webSocket.createWebSocket();
      await expectRejection(ws.send('x'), E.SEND_STATE);
      await expectRejection(ws.send(new ArrayBuffer(1)), E.SEND_STATE);
      await expectCallbackError(callbackCall((cb) => ws.send('x', cb)), E.SEND_STATE);
    });

    it('CLOSING (after close() was accepted) → −1; IDLE after the close event → −1', async () => {
      const t = await openSession(server.url);
      try {
        const inClosing = await new Promise((resolve) => {
          t.ws.close((err, ok) => {
            assert.equal(err, undefined);
            assert.equal(ok, true);
            resolve({ sent: t.ws.send('too late') });
          });
        });
        await expectRejection(inClosing.sent, E.SEND_STATE);
        await t.rec.waitFor('close');
        await expectRejection(t.ws.send('after close'), E.SEND_STATE);
        await expectCallbackError(callbackCall((cb) => t.ws.send(new ArrayBuffer(1), cb)), E.SEND_STATE);
      } finally {
        await endSession(t);
      }
    });

    it('CONNECTING → true; queued frames are written in order right after the handshake', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      const before = server.received.length;
      try {
        const queued = await new Promise((resolve) => {
          ws.connect(server.url, (err, ok) => {
            assert.equal(err, undefined);
            assert.equal(ok, true);
            // CONNECTING: no open event yet
            resolve([ws.send('q1'), ws.send(patternBuffer(3, 9)), ws.send('q3'), rec.of('open').length]);
          });
        });
        assert.equal(queued[3], 0, 'still CONNECTING when the sends were made');
        for (const p of queued.slice(0, 3)) await expectResolvedTrue(p);
        // no further send: the queue must be flushed by the handshake alone
        await server.waitForReceived(before + 3);
        const seen = server.received.slice(before, before + 3);
        assert.deepEqual(seen.map((r) => r.isBinary), [false, true, false]);
        assert.equal(seen[0].data.toString(), 'q1');
        assert.deepEqual(seen[1].data, Buffer.from(patternBuffer(3, 9)));
        assert.equal(seen[2].data.toString(), 'q3');
        await rec.waitFor('open');
        await expectResolvedTrue(ws.send('after-open'));
        await server.waitForReceived(before + 4);
        assert.equal(server.received[before + 3].data.toString(), 'after-open');
        const msgs = await rec.waitFor('message', { count: 4 });
        assert.ok(msgs);
        assert.deepEqual(rec.of('message').map((m) => (typeof m.value === 'string' ? m.value : 'binary')), [
          'q1', 'binary', 'q3', 'after-open',
        ]);
      } finally {
        await closeQuietly(ws, rec);
      }
    });
  });

  describe('R59 messages both ways', () => {
    const TEXTS = [
      ['empty', ''],
      ['4 KiB', 'k'.repeat(4096)],
      ['1 MiB', 'm'.repeat(1 << 20)],
      ['emoji + CJK + accents', '😀 👍🏽 你好，世界 — ąčė 日本語 🇫🇮 €'],
      ['1 MiB of non-ASCII', '漢😀'.repeat(1 << 17)],
    ];
    for (const [label, text] of TEXTS) {
      it(`text, ${label}: the server gets the UTF-8 bytes, the echo arrives as the same JS string`, async () => {
        const before = server.received.length;
        const n = s.rec.of('message').length;
        await expectResolvedTrue(s.ws.send(text));
        await server.waitForReceived(before + 1);
        assert.equal(server.received[before].isBinary, false);
        assert.ok(server.received[before].data.equals(Buffer.from(text, 'utf8')));
        const m = await s.rec.waitFor('message', { count: n + 1 });
        assert.equal(typeof m.value, 'string');
        assert.equal(m.value, text);
      });
    }

    for (const [label, size] of [['empty', 0], ['4 KiB', 4096], ['1 MiB', 1 << 20]]) {
      it(`binary, ${label}: arrives as an ArrayBuffer of exactly the payload length`, async () => {
        const before = server.received.length;
        const n = s.rec.of('message').length;
        const ab = patternBuffer(size, size & 0xff);
        await expectResolvedTrue(s.ws.send(ab));
        await server.waitForReceived(before + 1);
        assert.equal(server.received[before].isBinary, true);
        const m = await s.rec.waitFor('message', { count: n + 1 });
        assertIsArrayBuffer(m.value, size);
        assert.ok(Buffer.from(m.value).equals(Buffer.from(ab)));
      });
    }

    it('a fresh ArrayBuffer per message', async () => {
      const n = s.rec.of('message').length;
      await expectResolvedTrue(s.ws.send(patternBuffer(16, 1)));
      await expectResolvedTrue(s.ws.send(patternBuffer(16, 1)));
      const a = (await s.rec.waitFor('message', { count: n + 1 })).value;
      const b = (await s.rec.waitFor('message', { count: n + 2 })).value;
      assert.notEqual(a, b);
      new Uint8Array(a).fill(0);
      assert.ok(Buffer.from(b).equals(Buffer.from(patternBuffer(16, 1))), 'messages do not share memory');
    });

    it('server-originated text/binary, including a fragmented message, arrive whole and typed', async () => {
      const frag = await startEchoServer({
        onConnection(sock) {
          sock.send('hello 你好 😀');
          sock.send(Buffer.from([1, 2, 3]), { binary: true });
          sock.send('part1-', { fin: false });
          sock.send('part2-', { fin: false });
          sock.send('part3', { fin: true });
        },
      });
      const t = await openSession(frag.url);
      try {
        await t.rec.waitFor('message', { count: 3 });
        const values = t.rec.of('message').map((m) => m.value);
        assert.equal(values[0], 'hello 你好 😀');
        assertIsArrayBuffer(values[1], 3);
        assert.deepEqual([...new Uint8Array(values[1])], [1, 2, 3]);
        assert.equal(values[2], 'part1-part2-part3');
        await delay(100);
        assert.equal(t.rec.of('message').length, 3, 'fragments are never surfaced separately');
      } finally {
        await endSession(t);
        await frag.close();
      }
    });
  });
});
