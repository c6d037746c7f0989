// Event model: on/off (R4, R52–R55), call shapes (R5), delivery-time lookup (R6), throwing
// listeners (R7), headerReceive (R56), open (R57), openInfo (R58, R34), dataEnd (R60), order (R63).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import webSocket from '../index.js';
import {
  startEchoServer, closedPort, recordEvents, closeQuietly, nextEvent, delay, acceptKey, waitUntil,
} from './helpers/servers.mjs';
import { E, assertBusinessError, expectResolvedTrue, assertThrows401 } from './helpers/assertions.mjs';
import { openSession, endSession } from './helpers/client.mjs';

const OPEN_VALUE = { status: 101, message: 'Switching Protocols' };
const QUIET_MS = 300;

/** A spy function: `spy.calls` holds the argument lists. */
function spy(impl) {
  const fn = (...args) => {
    fn.calls.push(args);
    return impl ? impl(...args) : undefined;
  };
  fn.calls = [];
  return fn;
}

/**
 * Echo server with commands: text "burst:N" → the server sends m1..mN back-to-back;
 * text "bye" → the server closes with 4000 "bye"; anything else is echoed.
 */
function startCommandServer(opts = {}) {
  return startEchoServer({
    ...opts,
    onConnection(sock) {
      sock.on('message', (data, isBinary) => {
        const text = isBinary ? null : data.toString();
        if (text && text.startsWith('burst:')) {
          for (let i = 1; i <= Number(text.slice(6)); i++) sock.send(`m${i}`);
        } else if (text === 'bye') {
          sock.close(4000, 'bye');
        } else {
          sock.send(data, { binary: isBinary });
        }
      });
    },
  });
}

/** Runs `fn(caught)` with every uncaught exception collected in `caught` instead of failing the run. */
async function collectingUncaught(fn) {
  const saved = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const caught = [];
  const handler = (err) => caught.push(err);
  process.on('uncaughtException', handler);
  try {
    return await fn(caught);
  } finally {
    process.removeListener('uncaughtException', handler);
    for (const l of saved) process.on('uncaughtException', l);
  }
}

describe('events', () => {
  let server;
  before(async () => {
    server = await startCommandServer();
  });
  after(async () => {
    await server.close();
  });

  /**
   * Connects `ws` (other listeners already set by the caller) and waits for its openInfo,
   * through a temporary openInfo listener that is removed afterwards.
   */
  async function connectAndWaitOpenInfo(ws) {
    const info = nextEvent(ws, 'openInfo');
    await expectResolvedTrue(ws.connect(server.url));
    return info;
  }

  describe('R52 parameter errors throw 401 synchronously', () => {
    const fn = () => {};
    const onCases = [
      ['on()', (ws) => ws.on()],
      ["on('open')", (ws) => ws.on('open')],
      ["on('open', fn, extra)", (ws) => ws.on('open', fn, 1)],
      ['on(null, fn)', (ws) => ws.on(null, fn)],
      ['on(undefined, fn)', (ws) => ws.on(undefined, fn)],
      ['on(1, fn)', (ws) => ws.on(1, fn)],
      ["on(new String('open'), fn)", (ws) => ws.on(new String('open'), fn)], // eslint-disable-line no-new-wrappers
      ["on('open', null)", (ws) => ws.on('open', null)],
      ["on('open', 'x')", (ws) => ws.on('open', 'x')],
      ["on('open', {})", (ws) => ws.on('open', {})],
      ["on('unknownType', 42)", (ws) => ws.on('unknownType', 42)],
      ['off()', (ws) => ws.off()],
      ['off(null)', (ws) => ws.off(null)],
      ['off(1)', (ws) => ws.off(1)],
      ["off('open', 'x')", (ws) => ws.off('open', 'x')],
      ["off('open', null)", (ws) => ws.off('open', null)],
      ["off('open', fn, extra)", (ws) => ws.off('open', fn, 1)],
    ];
    for (const [label, call] of onCases) {
      it(label, () => {
        assertThrows401(() => call(webSocket.createWebSocket()), label);
      });
    }

    it('a throwing on/off call leaves the registered listener in place', async () => {
      const ws = webSocket.createWebSocket();
      const open = spy();
      ws.on('open', open);
      assertThrows401(() => ws.on('open', null), "on('open', null)");
      assertThrows401(() => ws.off('open', 'x'), "off('open', 'x')");
      try {
        await connectAndWaitOpenInfo(ws);
        assert.equal(open.calls.length, 1);
      } finally {
        await closeQuietly(ws);
      }
    });
  });

  describe('R4/R53/R54 registration semantics', () => {
    it('on/off return undefined; unknown type strings are silently ignored', async () => {
      const ws = webSocket.createWebSocket();
      const stray = spy();
      for (const type of ['foo', 'OPEN', 'Open', 'onopen', 'messages', '', 'connect', 'messageReceive']) {
        assert.equal(ws.on(type, stray), undefined, type);
        assert.equal(ws.off(type, stray), undefined, type);
        assert.equal(ws.on(type, stray), undefined, type);
        assert.equal(ws.off(type), undefined, type);
        assert.equal(ws.on(type, stray), undefined, type);
      }
      const open = spy();
      assert.equal(ws.on('open', open), undefined);
      try {
        await connectAndWaitOpenInfo(ws);
        await expectResolvedTrue(ws.send('x'));
        await delay(50);
        assert.equal(open.calls.length, 1);
        assert.equal(stray.calls.length, 0, 'listeners for unknown types are never called');
      } finally {
        await closeQuietly(ws);
      }
    });

    it('on() replaces the listener of the type, even with a different function', async () => {
      const ws = webSocket.createWebSocket();
      const f1 = spy();
      const f2 = spy();
      ws.on('open', f1);
      ws.on('open', f2);
      const m1 = spy();
      const m2 = spy();
      ws.on('message', m1);
      ws.on('message', m2);
      try {
        await connectAndWaitOpenInfo(ws);
        const dataEnd = nextEvent(ws, 'dataEnd');
        await expectResolvedTrue(ws.send('hello'));
        await dataEnd;
        assert.equal(f1.calls.length, 0);
        assert.equal(f2.calls.length, 1);
        assert.equal(m1.calls.length, 0);
        assert.deepEqual(m2.calls, [[undefined, 'hello']]);
      } finally {
        await closeQuietly(ws);
      }
    });

    it('registering the same function twice is a no-op (one call per event)', async () => {
      const ws = webSocket.createWebSocket();
      const f = spy();
      ws.on('open', f);
      ws.on('open', f);
      try {
        await connectAndWaitOpenInfo(ws);
        assert.equal(f.calls.length, 1);
      } finally {
        await closeQuietly(ws);
      }
    });

    const offCases = [
      ['off(type) removes the listener', (ws, f) => ws.off('open'), 0],
      ['off(type, sameFn) removes it', (ws, f) => ws.off('open', f), 0],
      ['off(type, otherFn) is a no-op', (ws) => ws.off('open', () => {}), 1],
      ['off of another type is a no-op', (ws) => ws.off('message'), 1],
      ['off twice, then on again: registered once', (ws, f) => {
        ws.off('open');
        ws.off('open');
        ws.off('open', f);
        ws.on('open', f);
      }, 1],
    ];
    for (const [label, act, expected] of offCases) {
      it(label, async () => {
        const ws = webSocket.createWebSocket();
        const f = spy();
        ws.on('open', f);
        assert.equal(act(ws, f), undefined);
        try {
          await connectAndWaitOpenInfo(ws);
          assert.equal(f.calls.length, expected);
        } finally {
          await closeQuietly(ws);
        }
      });
    }
  });

  describe('R5 listener call shapes', () => {
    it('open/openInfo/message/close get (undefined, value); headerReceive/dataEnd get (value)', async () => {
      const s = await openSession(server.url);
      await expectResolvedTrue(s.ws.send('shape'));
      await s.rec.waitFor('dataEnd');
      await expectResolvedTrue(s.ws.close());
      await s.rec.waitFor('close');
      for (const type of ['open', 'openInfo', 'message', 'close']) {
        const { args } = s.rec.of(type)[0];
        assert.equal(args.length, 2, `${type}: two arguments`);
        assert.equal(args[0], undefined, `${type}: first argument undefined`);
      }
      assert.equal(s.rec.of('headerReceive')[0].args.length, 1);
      assert.equal(typeof s.rec.of('headerReceive')[0].args[0], 'object');
      const de = s.rec.of('dataEnd')[0].args;
      assert.ok(de.length <= 1 && de[0] === undefined, `dataEnd called as cb(undefined), got ${de.length} args`);
    });

    it('error gets (err) only', async () => {
      const port = await closedPort();
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      await expectResolvedTrue(ws.connect(`ws://127.0.0.1:${port}`));
      const ev = await rec.waitFor('error');
      assert.equal(ev.args.length, 1);
      assertBusinessError(ev.args[0], E.EVENT, '0');
    });
  });

  describe('R6 delivery to the listener registered at delivery time', () => {
    it('listeners registered after their event are not called for it (no buffering), but are on reconnect', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws, ['message', 'close', 'dataEnd']);
      const lateOpen = spy();
      const lateHeaders = spy();
      const lateInfo = spy();
      ws.on('open', () => {
        ws.on('headerReceive', lateHeaders);
      });
      try {
        await connectAndWaitOpenInfo(ws);
        ws.on('open', lateOpen);
        ws.on('openInfo', lateInfo);
        await expectResolvedTrue(ws.send('sync'));
        await rec.waitFor('dataEnd');
        await delay(50);
        assert.equal(lateOpen.calls.length, 0);
        assert.equal(lateHeaders.calls.length, 0);
        assert.equal(lateInfo.calls.length, 0);
        await expectResolvedTrue(ws.close());
        await rec.waitFor('close');
        // the listeners persist across reconnects and get the next connection's events
        await expectResolvedTrue(ws.connect(server.url));
        await waitUntil(() => lateInfo.calls.length === 1, { label: 'openInfo on reconnect' });
        assert.equal(lateOpen.calls.length, 1);
        assert.equal(lateHeaders.calls.length, 1);
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('a listener switched inside an earlier listener receives the later event', async () => {
      const ws = webSocket.createWebSocket();
      const openA = spy();
      const openB = spy();
      ws.on('open', openA);
      ws.on('headerReceive', () => ws.on('open', openB));
      try {
        await connectAndWaitOpenInfo(ws);
        assert.equal(openB.calls.length, 1, 'open went to the listener registered in headerReceive');
        assert.equal(openA.calls.length, 0);
      } finally {
        await closeQuietly(ws);
      }
    });

    it('off() inside open suppresses the pending openInfo', async () => {
      const ws = webSocket.createWebSocket();
      const info = spy();
      ws.on('openInfo', info);
      ws.on('open', () => ws.off('openInfo'));
      const rec = recordEvents(ws, ['message', 'dataEnd', 'close']);
      try {
        await expectResolvedTrue(ws.connect(server.url));
        await expectResolvedTrue(ws.send('after-open'));
        await rec.waitFor('dataEnd'); // the echo comes after open (and openInfo, had it been delivered)
        assert.equal(info.calls.length, 0);
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('a message listener replaced while handling m1 gets m2 and m3 (back-to-back messages)', async () => {
      const ws = webSocket.createWebSocket();
      const first = spy();
      const second = spy();
      const firstFn = (...args) => {
        first(...args);
        ws.on('message', second);
      };
      ws.on('message', firstFn);
      try {
        await connectAndWaitOpenInfo(ws);
        await expectResolvedTrue(ws.send('burst:3'));
        await waitUntil(() => second.calls.length === 2, { label: 'm2 and m3 on the new listener' });
        assert.deepEqual(first.calls, [[undefined, 'm1']]);
        assert.deepEqual(second.calls, [[undefined, 'm2'], [undefined, 'm3']]);
      } finally {
        await closeQuietly(ws);
      }
    });
  });

  describe('R7 a throwing listener or callback does not break the connection', () => {
    it('a message listener that throws on every message: all messages, then close, are still delivered', async () => {
      await collectingUncaught(async (caught) => {
        const ws = webSocket.createWebSocket();
        const rec = recordEvents(ws, ['close', 'openInfo']);
        const seen = [];
        ws.on('message', (_, data) => {
          seen.push(data);
          throw new Error(`listener boom ${data}`);
        });
        try {
          await expectResolvedTrue(ws.connect(server.url));
          await rec.waitFor('openInfo');
          await expectResolvedTrue(ws.send('burst:3'));
          await waitUntil(() => seen.length === 3, { label: `3 messages, got ${JSON.stringify(seen)}` });
          assert.deepEqual(seen, ['m1', 'm2', 'm3']);
          await waitUntil(() => caught.length >= 3, { label: 'three uncaught exceptions' });
          assert.ok(caught.some((e) => e instanceof Error && e.message === 'listener boom m1'));
          await expectResolvedTrue(ws.close({ code: 4000, reason: 'done' }));
          assert.deepEqual((await rec.waitFor('close')).value, { code: 4000, reason: 'done' });
        } finally {
          await closeQuietly(ws, rec);
        }
      });
    });

    it('throwing open listener and throwing connect callback: later events still arrive', async () => {
      await collectingUncaught(async (caught) => {
        const ws = webSocket.createWebSocket();
        const rec = recordEvents(ws, ['openInfo', 'message', 'close']);
        ws.on('open', () => {
          throw new Error('open boom');
        });
        try {
          ws.connect(server.url, () => {
            throw new Error('callback boom');
          });
          await rec.waitFor('openInfo');
          await expectResolvedTrue(ws.send('still works'));
          assert.equal((await rec.waitFor('message')).value, 'still works');
          await waitUntil(() => caught.length >= 2, { label: 'two uncaught exceptions' });
          const messages = caught.map((e) => e && e.message).sort();
          assert.deepEqual(messages, ['callback boom', 'open boom']);
        } finally {
          await closeQuietly(ws, rec);
        }
      });
    });
  });

  describe('R56/R57/R58 handshake events', () => {
    it('headerReceive: lower-case names, upgrade headers, custom, repeated joined, set-cookie array', async () => {
      const hs = await startEchoServer({
        onHeaders(headers) {
          headers.push('X-Custom: hello', 'X-Rep: a', 'X-Rep: b', 'Set-Cookie: a=1', 'Set-Cookie: b=2; Path=/',
            'X-MiXeD-Case: KeepValueCase');
        },
      });
      try {
        const s = await openSession(hs.url);
        try {
          const evs = s.rec.of('headerReceive');
          assert.equal(evs.length, 1);
          const h = evs[0].value;
          const proto = Object.getPrototypeOf(h);
          assert.ok(proto === Object.prototype || proto === null, 'a plain object');
          for (const k of Object.keys(h)) assert.equal(k, k.toLowerCase(), `header name ${k} is lower-case`);
          assert.equal(h.upgrade.toLowerCase(), 'websocket');
          assert.equal(h.connection.toLowerCase(), 'upgrade');
          await hs.waitForRequests(1);
          assert.equal(h['sec-websocket-accept'], acceptKey(hs.requests[0].headers['sec-websocket-key']));
          assert.equal(h['x-custom'], 'hello');
          assert.equal(h['x-rep'], 'a, b');
          assert.deepEqual(h['set-cookie'], ['a=1', 'b=2; Path=/']);
          assert.equal(h['x-mixed-case'], 'KeepValueCase');
        } finally {
          await endSession(s);
        }
      } finally {
        await hs.close();
      }
    });

    it('open value is {status: 101, message: "Switching Protocols"}; openInfo without protocol', async () => {
      const s = await openSession(server.url);
      try {
        await s.rec.waitFor('openInfo');
        assert.deepEqual(s.rec.of('open')[0].value, OPEN_VALUE);
        const info = s.rec.of('openInfo')[0].value;
        assert.deepEqual(info, OPEN_VALUE);
        assert.ok(!('protocol' in info), 'protocol absent when none was negotiated');
      } finally {
        await endSession(s);
      }
    });

    it('openInfo.protocol is the subprotocol the server selected among the offered ones', async () => {
      const ps = await startEchoServer({ wsOptions: { handleProtocols: (set) => (set.has('superchat') ? 'superchat' : false) } });
      try {
        const s = await openSession(ps.url, { protocol: 'chat, superchat' });
        try {
          await s.rec.waitFor('openInfo');
          assert.deepEqual(s.rec.of('openInfo')[0].value, { ...OPEN_VALUE, protocol: 'superchat' });
          assert.deepEqual(s.rec.of('open')[0].value, OPEN_VALUE);
          assert.equal(s.rec.of('headerReceive')[0].value['sec-websocket-protocol'], 'superchat');
        } finally {
          await endSession(s);
        }
      } finally {
        await ps.close();
      }
    });

    it('R34: offered protocol, server selects none → accepted, openInfo has no protocol', async () => {
      const ps = await startEchoServer({ wsOptions: { handleProtocols: () => false } });
      try {
        const s = await openSession(ps.url, { protocol: 'chat' });
        try {
          const info = (await s.rec.waitFor('openInfo')).value;
          assert.ok(!('protocol' in info));
        } finally {
          await endSession(s);
        }
      } finally {
        await ps.close();
      }
    });

    it('R34: server selects a protocol that was not offered → error, no open', async () => {
      const ps = await startEchoServer({ wsOptions: { handleProtocols: () => 'other' } });
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectResolvedTrue(ws.connect(ps.url, { protocol: 'chat' }));
        const ev = await rec.waitFor('error');
        assert.equal(ev.value.code, 200);
        await delay(QUIET_MS);
        assert.deepEqual(rec.types(), ['error']);
      } finally {
        await closeQuietly(ws, rec);
        await ps.close();
      }
    });
  });

  describe('R60 dataEnd', () => {
    it('fires once after each message, before a macrotask queued by the message listener', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws, ['openInfo', 'dataEnd', 'close']);
      ws.on('message', (...args) => {
        rec.log.push({ type: 'message', args, value: args[1] });
        setImmediate(() => rec.mark('immediate'));
      });
      try {
        await expectResolvedTrue(ws.connect(server.url));
        await rec.waitFor('openInfo');
        await expectResolvedTrue(ws.send('burst:2'));
        await rec.waitFor('immediate', { count: 2 });
        const seq = rec.types().filter((t) => t !== 'openInfo');
        assert.equal(seq.filter((t) => t === 'dataEnd').length, 2);
        assert.equal(seq.indexOf('dataEnd'), seq.indexOf('message') + 1, 'dataEnd right after its message');
        assert.equal(seq.lastIndexOf('dataEnd'), seq.lastIndexOf('message') + 1);
        assert.ok(seq.indexOf('dataEnd') < seq.indexOf('immediate'), 'dataEnd in the same macrotask');
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('does not fire for messages delivered without a message listener', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws, ['openInfo', 'message', 'dataEnd', 'close']);
      try {
        await expectResolvedTrue(ws.connect(server.url));
        await rec.waitFor('openInfo');
        await expectResolvedTrue(ws.send('with listener'));
        await rec.waitFor('dataEnd'); // positive control
        ws.off('message');
        await expectResolvedTrue(ws.send('dropped 1'));
        await expectResolvedTrue(ws.send('burst:2'));
        await expectResolvedTrue(ws.send('bye')); // the server closes after the echoes/burst
        await rec.waitFor('close');
        assert.equal(rec.of('message').length, 1);
        assert.equal(rec.of('dataEnd').length, 1);
      } finally {
        await closeQuietly(ws, rec);
      }
    });
  });

  it('R63 event order of a normal session', async () => {
    const ws = webSocket.createWebSocket();
    const rec = recordEvents(ws);
    try {
      ws.connect(server.url, (err, ok) => rec.mark('connect-callback', ok));
      await rec.waitFor('openInfo');
      await expectResolvedTrue(ws.send('burst:2'));
      await rec.waitFor('dataEnd', { count: 2 });
      await expectResolvedTrue(ws.close());
      await rec.waitFor('close');
      await delay(50);
      assert.deepEqual(rec.types(), [
        'connect-callback', 'headerReceive', 'open', 'openInfo', 'message', 'dataEnd', 'message', 'dataEnd', 'close',
      ]);
      assert.deepEqual(rec.of('message').map((m) => m.value), ['m1', 'm2']);
    } finally {
      await closeQuietly(ws, rec);
    }
  });
});
