// close(): overloads (R46), code mapping (R47), reason (R48), OPEN close (R49), CONNECTING close
// (R50), IDLE/CLOSING (R51), and how connections end (R61/R62).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import webSocket from '../index.js';
import {
  startEchoServer, startClosingServer, startRawWsServer, closePayload, closedPort, recordEvents, closeQuietly,
  callbackCall, delay,
} from './helpers/servers.mjs';
import {
  E, assertBusinessError, expectRejection, expectResolvedTrue, expectCallbackError, expectCallbackTrue,
} from './helpers/assertions.mjs';
import { openSession, endSession } from './helpers/client.mjs';

const QUIET_MS = 300;
const LINK_DOWN = 'The link is down';

/** Longest prefix of `s` (whole code points) that fits in `max` UTF-8 bytes. */
function utf8Prefix(s, max) {
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

describe('close', () => {
  let server;
  before(async () => {
    server = await startEchoServer();
  });
  after(async () => {
    await server.close();
  });

  /**
   * Opens a session, runs `doClose(ws)` (which must start the close and return its
   * settlement check), then waits for the client close event and the server's view.
   */
  async function closeWith(doClose) {
    await server.waitIdle();
    const n = server.closes.length;
    const t = await openSession(server.url);
    try {
      await doClose(t.ws);
      const ev = await t.rec.waitFor('close');
      const seen = await server.waitForCloses(n + 1);
      return { event: ev.value, server: seen, rec: t.rec, ws: t.ws };
    } finally {
      await endSession(t);
    }
  }

  describe('R46 overload resolution', () => {
    it('() → promise mode, true; defaults 1000 / "CLOSE_NORMAL"', async () => {
      const r = await closeWith((ws) => expectResolvedTrue(ws.close()));
      assert.deepEqual(r.server, { code: 1000, reason: 'CLOSE_NORMAL' });
      assert.deepEqual(r.event, { code: 1000, reason: 'CLOSE_NORMAL' });
    });

    it('(fn) → callback mode: returns undefined, cb(undefined, true); defaults', async () => {
      const r = await closeWith((ws) => expectCallbackTrue(callbackCall((cb) => ws.close(cb))));
      assert.deepEqual(r.server, { code: 1000, reason: 'CLOSE_NORMAL' });
    });

    it('(object) → promise mode with options; ({}) → true', async () => {
      const r = await closeWith((ws) => expectResolvedTrue(ws.close({ code: 4000, reason: 'promise bye' })));
      assert.deepEqual(r.server, { code: 4000, reason: 'promise bye' });
      assert.deepEqual(r.event, { code: 4000, reason: 'promise bye' });
      const r2 = await closeWith((ws) => expectResolvedTrue(ws.close({})));
      assert.deepEqual(r2.server, { code: 1000, reason: 'CLOSE_NORMAL' });
    });

    it('(object, fn) → callback mode with options', async () => {
      const r = await closeWith((ws) =>
        expectCallbackTrue(callbackCall((cb) => ws.close({ code: 4001, reason: 'cb bye' }, cb))),
      );
      assert.deepEqual(r.server, { code: 4001, reason: 'cb bye' });
      assert.deepEqual(r.event, { code: 4001, reason: 'cb bye' });
    });

    it('parameter errors → 401 (callback or promise per the table) and the connection stays OPEN', async () => {
      const t = await openSession(server.url);
      let calls = 0;
      const stray = () => {
        calls += 1;
      };
      try {
        for (const x of [null, undefined, 'x', 1000, true]) {
          await expectCallbackError(callbackCall((cb) => t.ws.close(x, cb)), E.PARAM);
        }
        const promiseCases = [[null], [undefined], ['x'], [1000], [{}, 'notAFunction'], [{}, null], [{}, undefined],
          [{ code: 4000 }, stray, 1]];
        for (const args of promiseCases) await expectRejection(t.ws.close(...args), E.PARAM);
        await delay(50);
        assert.equal(calls, 0, 'a callback in a non-callback position is never called');
        // still OPEN: traffic flows and no close event happened
        await expectResolvedTrue(t.ws.send('still open'));
        assert.equal((await t.rec.waitFor('message')).value, 'still open');
        assert.equal(t.rec.of('close').length, 0);
      } finally {
        await endSession(t);
      }
    });
  });

  describe('R47 close code mapping (the server sees the code; the close event reports it)', () => {
    const cases = [
      [1000, 1000], [1001, 1001], [1002, 1002], [1003, 1003], [1007, 1007], [1011, 1011], [1014, 1014],
      [3000, 3000], [4000.7, 4000], [4999, 4999],
      [0, 1000], [-100, 1000], [100, 1000], [999, 1000], [1004, 1000], [1005, 1000], [1006, 1000], [1015, 1000],
      [2999, 1000], [5000, 1000], [70000, 1000], ['x', 1000], ['3000', 1000], [NaN, 1000], [null, 1000],
    ];
    for (const [code, expected] of cases) {
      it(`${typeof code === 'string' ? JSON.stringify(code) : String(code)} → ${expected}`, async () => {
        const r = await closeWith((ws) => expectResolvedTrue(ws.close({ code, reason: 'r47' })));
        assert.deepEqual(r.server, { code: expected, reason: 'r47' });
        assert.deepEqual(r.event, { code: expected, reason: 'r47' });
      });
    }
  });

  describe('R48 close reason', () => {
    const defaults = [
      ['absent (code only)', { code: 4000 }],
      ['empty string', { code: 4000, reason: '' }],
      ['a number', { code: 4000, reason: 42 }],
      ['null', { code: 4000, reason: null }],
    ];
    for (const [label, options] of defaults) {
      it(`${label} → "CLOSE_NORMAL"`, async () => {
        const r = await closeWith((ws) => expectResolvedTrue(ws.close(options)));
        assert.deepEqual(r.server, { code: 4000, reason: 'CLOSE_NORMAL' });
        assert.deepEqual(r.event, { code: 4000, reason: 'CLOSE_NORMAL' });
      });
    }

    const long = [
      ['123 ASCII bytes (kept whole)', 'k'.repeat(123)],
      ['200 ASCII bytes', 'r'.repeat(200)],
      ['50 × "€" (3 bytes each)', '€'.repeat(50)],
      ['40 × "😀" (4 bytes each)', '😀'.repeat(40)],
      ['"a" + 40 × "😀"', `a${'😀'.repeat(40)}`],
      ['"ab" + 60 × "é"', `ab${'é'.repeat(60)}`],
    ];
    for (const [label, reason] of long) {
      it(`${label} → truncated at a character boundary to ≤ 123 bytes`, async () => {
        const expected = utf8Prefix(reason, 123);
        const r = await closeWith((ws) => expectResolvedTrue(ws.close({ code: 4000, reason })));
        assert.ok(Buffer.byteLength(r.server.reason) <= 123);
        assert.equal(r.server.reason, expected);
        assert.deepEqual(r.event, { code: 4000, reason: expected });
      });
    }
  });

  describe('R49 close while OPEN', () => {
    it('sends queued before close() are written before the close frame', async () => {
      await server.waitIdle();
      const before = server.received.length;
      const r = await closeWith(async (ws) => {
        const p1 = ws.send('first');
        const p2 = ws.send(new Uint8Array([9, 8, 7]).buffer);
        const p3 = ws.close({ code: 4005, reason: 'after sends' });
        await expectResolvedTrue(p1);
        await expectResolvedTrue(p2);
        await expectResolvedTrue(p3);
      });
      assert.deepEqual(r.server, { code: 4005, reason: 'after sends' });
      const got = server.received.slice(before);
      assert.equal(got.length, 2, 'both messages reached the server before it saw the close');
      assert.equal(got[0].data.toString(), 'first');
      assert.deepEqual([...got[1].data], [9, 8, 7]);
    });

    it('the close event carries the code/reason this side sent, not the peer\'s reply', async () => {
      const raw = await startRawWsServer({
        onConnection(conn) {
          conn.on((frame) => {
            if (frame.opcode === 0x8) {
              conn.send(0x8, closePayload(4002, 'peer reply'));
              conn.socket.end();
            }
          });
        },
      });
      try {
        const t = await openSession(raw.url);
        try {
          await expectResolvedTrue(t.ws.close({ code: 4001, reason: 'mine' }));
          const ev = await t.rec.waitFor('close');
          assert.deepEqual(ev.value, { code: 4001, reason: 'mine' });
          const frame = raw.connections[0].frames.find((f) => f.opcode === 0x8);
          assert.ok(frame.masked, 'client frames are masked');
          assert.equal(frame.payload.readUInt16BE(0), 4001);
          assert.equal(frame.payload.subarray(2).toString(), 'mine');
          assert.equal(t.rec.of('error').length, 0);
        } finally {
          await endSession(t);
        }
      } finally {
        await raw.close();
      }
    });

    it('a peer that never answers the close frame: the close event still comes (5 s bound)', async () => {
      const raw = await startRawWsServer(); // reads frames, never replies, never closes
      try {
        const t = await openSession(raw.url);
        try {
          await expectResolvedTrue(t.ws.close({ code: 4010, reason: 'silent peer' }));
          const ev = await t.rec.waitFor('close', { timeout: 9000 });
          assert.deepEqual(ev.value, { code: 4010, reason: 'silent peer' });
        } finally {
          await endSession(t);
        }
      } finally {
        await raw.close();
      }
    });
  });

  describe('R50 close while CONNECTING', () => {
    async function closeInConnectCallback(url, closeArgs, { sendFirst } = {}) {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      const closeResult = await new Promise((resolve) => {
        ws.connect(url, (err, ok) => {
          assert.equal(err, undefined);
          assert.equal(ok, true);
          const sent = sendFirst ? ws.send(sendFirst) : null;
          resolve({ closed: ws.close(...closeArgs), sent });
        });
      });
      return { ws, rec, ...closeResult };
    }

    it('close({code, reason}) → true; headerReceive but no open/openInfo; the server sees a clean close', async () => {
      await server.waitIdle();
      const n = server.closes.length;
      const { ws, rec, closed } = await closeInConnectCallback(server.url, [{ code: 4003, reason: 'early' }]);
      try {
        await expectResolvedTrue(closed);
        const ev = await rec.waitFor('close');
        assert.deepEqual(ev.value, { code: 4003, reason: 'early' });
        assert.deepEqual(rec.types(), ['headerReceive', 'close']);
        assert.deepEqual(await server.waitForCloses(n + 1), { code: 4003, reason: 'early' });
        await expectRejection(ws.close(), E.OTHER); // IDLE again
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('close() with defaults inside the connect callback → the server sees 1000 "CLOSE_NORMAL"', async () => {
      await server.waitIdle();
      const n = server.closes.length;
      const { ws, rec, closed } = await closeInConnectCallback(server.url, []);
      try {
        await expectResolvedTrue(closed);
        assert.deepEqual((await rec.waitFor('close')).value, { code: 1000, reason: 'CLOSE_NORMAL' });
        assert.deepEqual(await server.waitForCloses(n + 1), { code: 1000, reason: 'CLOSE_NORMAL' });
        assert.equal(rec.of('open').length, 0);
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('a send queued while CONNECTING is written before the close frame', async () => {
      await server.waitIdle();
      const n = server.closes.length;
      const before = server.received.length;
      const { ws, rec, closed, sent } = await closeInConnectCallback(server.url, [{ code: 4004 }], {
        sendFirst: 'queued',
      });
      try {
        await expectResolvedTrue(sent);
        await expectResolvedTrue(closed);
        await rec.waitFor('close');
        assert.deepEqual(await server.waitForCloses(n + 1), { code: 4004, reason: 'CLOSE_NORMAL' });
        assert.equal(server.received.length, before + 1);
        assert.equal(server.received[before].data.toString(), 'queued');
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('if the handshake then fails, only the error event is delivered', async () => {
      const port = await closedPort();
      const { rec, closed } = await closeInConnectCallback(`ws://127.0.0.1:${port}`, []);
      await expectResolvedTrue(closed);
      await rec.waitFor('error');
      await delay(QUIET_MS);
      assert.deepEqual(rec.types(), ['error']);
    });
  });

  describe('R51 close while IDLE or CLOSING → 2302999', () => {
    it('never connected', async () => {
      const ws = webSocket.createWebSocket();
      await expectRejection(ws.close(), E.OTHER);
      await expectCallbackError(callbackCall((cb) => ws.close(cb)), E.OTHER);
      await expectRejection(ws.close({ code: 1000 }), E.OTHER);
    });

    it('a second close while CLOSING, and another after the close event', async () => {
      const t = await openSession(server.url);
      try {
        const second = await new Promise((resolve) => {
          t.ws.close({ code: 4006 }, () => resolve({ p: t.ws.close({ code: 4007 }) }));
        });
        await expectRejection(second.p, E.OTHER);
        const ev = await t.rec.waitFor('close');
        assert.equal(ev.value.code, 4006);
        await expectRejection(t.ws.close(), E.OTHER);
        await delay(50);
        assert.equal(t.rec.of('close').length, 1, 'exactly one close event');
      } finally {
        await endSession(t);
      }
    });

    it('after a failed attempt', async () => {
      const port = await closedPort();
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      await expectResolvedTrue(ws.connect(`ws://127.0.0.1:${port}`));
      await rec.waitFor('error');
      await expectRejection(ws.close(), E.OTHER);
    });
  });

  describe('R61/R62 how a connection ends', () => {
    async function sessionAgainst(peer) {
      try {
        const t = await openSession(peer.url);
        try {
          const ev = await t.rec.waitFor('close');
          await delay(50);
          return { ev, rec: t.rec, ws: t.ws };
        } finally {
          await endSession(t);
        }
      } finally {
        await peer.close();
      }
    }

    it('peer close frame with code and reason → that code and reason; no error', async () => {
      const { ev, rec, ws } = await sessionAgainst(await startClosingServer({ code: 4001, reason: 'server bye' }));
      assert.deepEqual(ev.value, { code: 4001, reason: 'server bye' });
      assert.deepEqual(rec.types(), ['headerReceive', 'open', 'openInfo', 'close']);
      await expectRejection(ws.send('x'), E.SEND_STATE); // IDLE again
    });

    it('peer close frame with a code and an empty reason → "The link is down"', async () => {
      const { ev, rec } = await sessionAgainst(await startClosingServer({ code: 1001 }));
      assert.deepEqual(ev.value, { code: 1001, reason: LINK_DOWN });
      assert.equal(rec.of('error').length, 0);
    });

    it('peer close frame without payload → 1000 "The link is down"', async () => {
      const { ev, rec } = await sessionAgainst(await startClosingServer({ noPayload: true }));
      assert.deepEqual(ev.value, { code: 1000, reason: LINK_DOWN });
      assert.equal(rec.of('error').length, 0);
    });

    it('peer close after a message exchange → close with the peer status', async () => {
      const peer = await startClosingServer({ code: 4100, reason: 'done', afterMessage: true });
      try {
        const t = await openSession(peer.url);
        try {
          await expectResolvedTrue(t.ws.send('bye please'));
          assert.deepEqual((await t.rec.waitFor('close')).value, { code: 4100, reason: 'done' });
        } finally {
          await endSession(t);
        }
      } finally {
        await peer.close();
      }
    });

    it('abrupt TCP end → error {200, "0"} then close {1006, "The link is down"}', async () => {
      const { ev, rec, ws } = await sessionAgainst(await startClosingServer({ destroy: true }));
      assert.deepEqual(ev.value, { code: 1006, reason: LINK_DOWN });
      assert.deepEqual(rec.types(), ['headerReceive', 'open', 'openInfo', 'error', 'close']);
      assertBusinessError(rec.of('error')[0].value, E.EVENT, '0');
      await expectRejection(ws.close(), E.OTHER); // IDLE again
    });

    it('after a peer close the same object reconnects', async () => {
      const peer = await startClosingServer({ code: 4001, reason: 'again' });
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectResolvedTrue(ws.connect(peer.url));
        await rec.waitFor('close');
        await expectResolvedTrue(ws.connect(server.url));
        await rec.waitFor('open', { count: 2 });
      } finally {
        await closeQuietly(ws, rec);
        await peer.close();
      }
    });
  });
});
