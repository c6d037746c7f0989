// connect(): overloads (R13/R14), option errors (R15/R30/R32/R33), validation order (R16/R17),
// settlement (R19/R20), failures (R21), name resolution (R21a), request line/headers (R18/R23/R26),
// reconnect (R25).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import webSocket from '../index.js';
import {
  startEchoServer, startStatusServer, startRawServer, closedPort, recordEvents, closeQuietly,
  callbackCall, delay, acceptKey,
} from './helpers/servers.mjs';
import {
  E, assertBusinessError, expectRejection, expectResolvedTrue, expectCallbackError, expectCallbackTrue,
} from './helpers/assertions.mjs';
import { openSession, endSession, openAndCapture } from './helpers/client.mjs';

const THIS_FILE = fileURLToPath(import.meta.url); // an existing file, for clientCert paths
const MISSING = '/nonexistent/ohos-net-websocket/missing.pem';
/** Window in which an event that must not come would have had ample time to arrive. */
const QUIET_MS = 300;

describe('connect', () => {
  let server;
  before(async () => {
    server = await startEchoServer();
  });
  after(async () => {
    await server.close();
  });

  /** Asserts that `ws` is IDLE and usable: a fresh connect to the echo server opens. */
  async function assertReusable(ws, rec) {
    await expectResolvedTrue(ws.connect(server.url));
    await rec.waitFor('open', { count: rec.of('open').length + 1 });
    await closeQuietly(ws, rec);
  }

  describe('R13/R14 overload resolution', () => {
    it('(string) → promise mode, resolves true, the attempt proceeds', async () => {
      const s = await openSession(server.url);
      await endSession(s);
    });

    it('(string, function) → callback mode: returns undefined, cb(undefined, true) asynchronously', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectCallbackTrue(callbackCall((cb) => ws.connect(server.url, cb)));
        await rec.waitFor('open');
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('(string, object) → promise mode, options are used', async () => {
      const s = await openAndCapture(server, server.url, { header: { 'X-Opt': 'promise' } });
      assert.equal(s.request.headers['x-opt'], 'promise');
      await endSession(s);
    });

    it('(string, object, function) → callback mode, options are used', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      const before = server.requests.length;
      try {
        await expectCallbackTrue(callbackCall((cb) => ws.connect(server.url, { header: { 'X-Opt': 'cb' } }, cb)));
        await rec.waitFor('open');
        await server.waitForRequests(before + 1);
        assert.equal(server.requests[before].headers['x-opt'], 'cb');
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('connect(url, {}) → true; arrays and Maps count as (field-less) objects', async () => {
      await endSession(await openSession(server.url, {}));
      await endSession(await openSession(server.url, []));
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectCallbackTrue(callbackCall((cb) => ws.connect(server.url, new Map([['header', 1]]), cb)));
        await rec.waitFor('open');
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('2 args, function second, first not a string → callback-mode 401', async () => {
      const ws = webSocket.createWebSocket();
      for (const first of [null, undefined, 123, {}, ['ws://127.0.0.1:1']]) {
        await expectCallbackError(callbackCall((cb) => ws.connect(first, cb)), E.PARAM);
      }
    });

    it('3 args, function third, bad first or second → callback-mode 401', async () => {
      const ws = webSocket.createWebSocket();
      const url = server.url;
      const cases = [[url, null], [url, undefined], [null, null], [null, {}], [1, {}], [url, 'x'], [url, 5], [url, true]];
      for (const [a, b] of cases) {
        await expectCallbackError(callbackCall((cb) => ws.connect(a, b, cb)), E.PARAM);
      }
    });

    it('anything else → promise-mode 401, and a trailing callback is never called', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      const url = server.url;
      const before = server.requests.length;
      let cbCalls = 0;
      const cb = () => {
        cbCalls += 1;
      };
      const cases = [
        [], [null], [123], [url, undefined], [url, null], [url, 'x'], [url, 42],
        [url, {}, 'notAFunction'], [url, {}, null], [url, {}, undefined], [url, {}, cb, 1], [url, cb, undefined],
      ];
      for (const args of cases) {
        await expectRejection(ws.connect(...args), E.PARAM);
      }
      await delay(50);
      assert.equal(cbCalls, 0, 'callback passed in a non-callback position must not be called');
      assert.equal(server.requests.length, before, 'no connection attempt for a 401');
      await assertReusable(ws, rec);
    });
  });

  describe('R15 option errors → 401 (and nothing else happens)', () => {
    it('R30: proxy null, undefined, an unknown string, a number, a boolean → 401', async () => {
      const ws = webSocket.createWebSocket();
      for (const proxy of [null, undefined, 'x', 'System', 8080, true]) {
        await expectRejection(ws.connect(server.url, { proxy }), E.PARAM);
      }
      await expectCallbackError(callbackCall((cb) => ws.connect(server.url, { proxy: null }, cb)), E.PARAM);
    });

    it('R32: HttpProxy port −1 or 70000 → 401', async () => {
      const ws = webSocket.createWebSocket();
      for (const port of [-1, 70000]) {
        await expectRejection(ws.connect(server.url, { proxy: { host: '127.0.0.1', port, exclusionList: [] } }), E.PARAM);
      }
    });

    it('R33: protocol undefined, null, a number, an object → 401', async () => {
      const ws = webSocket.createWebSocket();
      for (const protocol of [undefined, null, 42, {}]) {
        await expectRejection(ws.connect(server.url, { protocol }), E.PARAM);
      }
      await expectCallbackError(callbackCall((cb) => ws.connect(server.url, { protocol: undefined }, cb)), E.PARAM);
    });

    it('[NODE] an options getter that throws → 401 through the selected mode, never a synchronous throw', async () => {
      const ws = webSocket.createWebSocket();
      const options = {
        get header() {
          throw new Error('boom');
        },
      };
      let promise;
      assert.doesNotThrow(() => {
        promise = ws.connect(server.url, options);
      });
      await expectRejection(promise, E.PARAM);
      await expectCallbackError(callbackCall((cb) => ws.connect(server.url, options, cb)), E.PARAM);
    });

    it('a parse error wins over a missing caPath and a bad URL (R16 step 1)', async () => {
      const ws = webSocket.createWebSocket();
      await expectRejection(ws.connect('hello', { caPath: MISSING, protocol: null }), E.PARAM);
    });

    it('valid proxy/protocol values and unknown fields connect normally', async () => {
      const ok = [
        { foo: 1, bar: null, header: null },
        { proxy: 'no-proxy' },
        { proxy: { host: '', port: 0, exclusionList: [] } },
        { protocol: '' },
      ];
      for (const options of ok) {
        const s = await openAndCapture(server, server.url, options);
        assert.equal(s.request.headers['sec-websocket-protocol'], undefined, JSON.stringify(options));
        await endSession(s);
      }
    });
  });

  describe('R16/R17 validation order and immediate errors', () => {
    it('caPath that does not exist → 2302002, even for ws://, and no attempt is made', async () => {
      const ws = webSocket.createWebSocket();
      const before = server.requests.length;
      await expectRejection(ws.connect(server.url, { caPath: MISSING }), E.CERT);
      await expectCallbackError(callbackCall((cb) => ws.connect(server.url, { caPath: MISSING }, cb)), E.CERT);
      await delay(50);
      assert.equal(server.requests.length, before);
    });

    it('clientCert with a missing certPath or keyPath → 2302002; empty certPath → ignored', async () => {
      const ws = webSocket.createWebSocket();
      await expectRejection(ws.connect(server.url, { clientCert: { certPath: MISSING, keyPath: THIS_FILE } }), E.CERT);
      await expectRejection(ws.connect(server.url, { clientCert: { certPath: THIS_FILE, keyPath: MISSING } }), E.CERT);
      await endSession(await openSession(server.url, { clientCert: { certPath: '', keyPath: MISSING } }));
      await endSession(await openSession(server.url, { caPath: '' }));
    });

    it('a missing caPath is reported before a bad URL (step 3 before step 6)', async () => {
      const ws = webSocket.createWebSocket();
      await expectRejection(ws.connect('hello', { caPath: MISSING }), E.CERT);
    });

    it('connect while CONNECTING or OPEN → 2302003, checked before the URL; caPath still first', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        const first = ws.connect(server.url);
        const second = ws.connect(server.url); // synchronously after the first was accepted
        await expectResolvedTrue(first);
        await expectRejection(second, E.EXISTS);
        // still CONNECTING (or OPEN): a bad URL is not even looked at
        await expectCallbackError(callbackCall((cb) => ws.connect('hello', cb)), E.EXISTS);
        await rec.waitFor('open');
        await expectRejection(ws.connect(server.url), E.EXISTS);
        await expectRejection(ws.connect('not a url'), E.EXISTS);
        await expectRejection(ws.connect(server.url, { caPath: MISSING }), E.CERT);
        assert.equal(rec.of('open').length, 1, 'only one connection was made');
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('2302003 inside the connect callback (instance is CONNECTING)', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        const inner = await new Promise((resolve) => {
          ws.connect(server.url, (err, ok) => {
            assert.equal(err, undefined);
            assert.equal(ok, true);
            resolve({ inner: ws.connect(server.url) });
          });
        });
        await expectRejection(inner.inner, E.EXISTS);
        await rec.waitFor('open');
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('invalid URLs → 2302001; the instance stays IDLE', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      const p = server.port;
      const bad = [
        '', 'hello', '123', '192.168.1.111', '127.0.0.1:80', 'http://x', 'WS://x', 'http://127.0.0.1', 'https://127.0.0.1',
        'WS://127.0.0.1', 'Ws://127.0.0.1', 'WSS://127.0.0.1', 'ws:/127.0.0.1', 'ws//127.0.0.1',
        `ws://user@127.0.0.1:${p}`, `ws://user:pw@127.0.0.1:${p}/`,
        'ws://127.0.0.1:0', 'ws://127.0.0.1:65536', 'ws://127.0.0.1:abc', 'ws://127.0.0.1:-1', 'ws://127.0.0.1:8x',
        'ws://exa mple.com/', 'ws://[::1', 'ws://-bad-.example/',
        `ws://127.0.0.1:${p}/${'a'.repeat(2049 - `ws://127.0.0.1:${p}/`.length)}`,
      ];
      for (const url of bad) {
        const err = await expectRejection(ws.connect(url), E.URL).catch((e) => {
          throw new Error(`${JSON.stringify(url.length > 60 ? `${url.slice(0, 60)}…` : url)}: ${e.message}`);
        });
        assert.ok(err);
      }
      await expectCallbackError(callbackCall((cb) => ws.connect('http://127.0.0.1', cb)), E.URL);
      await delay(50);
      assert.deepEqual(rec.types(), [], 'a URL error produces no event');
      await assertReusable(ws, rec);
    });

    it('a URL of exactly 2048 characters is accepted and its path is sent', async () => {
      const prefix = `${server.url}/`;
      const url = prefix + 'b'.repeat(2048 - prefix.length);
      assert.equal(url.length, 2048);
      const s = await openAndCapture(server, url);
      assert.equal(s.request.url, `/${'b'.repeat(2048 - prefix.length)}`);
      await endSession(s);
    });

    for (const url of ['ws://', 'ws:///x', 'ws://:80', 'wss://']) {
      it(`empty host ${JSON.stringify(url)} → rejects −1 "Websocket connect failed", then error {200, "0"}`, async () => {
        const ws = webSocket.createWebSocket();
        const rec = recordEvents(ws);
        const p = ws.connect(url);
        p.catch(() => rec.mark('rejected'));
        await expectRejection(p, E.EMPTY_HOST);
        const ev = await rec.waitFor('error');
        assertBusinessError(ev.value, E.EVENT, '0');
        await delay(QUIET_MS);
        assert.deepEqual(rec.types(), ['rejected', 'error']);
      });
    }

    it('empty host in callback mode: cb(−1) first, then the error event; then reusable', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      const out = callbackCall((cb) =>
        ws.connect('ws://', (...args) => {
          rec.mark('callback');
          cb(...args);
        }),
      );
      await expectCallbackError(out, E.EMPTY_HOST);
      await rec.waitFor('error');
      assert.deepEqual(rec.types(), ['callback', 'error']);
      await assertReusable(ws, rec);
    });

    it('R25: after an empty-host rejection the instance is already IDLE (connect in the handler is accepted)', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        const again = await ws.connect('ws:///x').then(
          () => assert.fail('must reject'),
          (err) => {
            assertBusinessError(err, E.EMPTY_HOST);
            return ws.connect(server.url);
          },
        );
        assert.equal(again, true);
        await rec.waitFor('open');
        await rec.waitFor('error');
      } finally {
        await closeQuietly(ws, rec);
      }
    });
  });

  describe('R19/R20 settlement', () => {
    it('callback mode: cb runs after connect returns and before headerReceive/open/openInfo', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        let returned = false;
        const ret = ws.connect(server.url, (err, ok) => {
          rec.mark('settled', { returned, err, ok });
        });
        returned = true;
        assert.equal(ret, undefined);
        await rec.waitFor('openInfo');
        assert.deepEqual(rec.types(), ['settled', 'headerReceive', 'open', 'openInfo']);
        assert.deepEqual(rec.log[0].value, { returned: true, err: undefined, ok: true });
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('promise mode: settles (true, never false) before any event of the attempt', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        const p = ws.connect(server.url);
        assert.ok(p instanceof Promise);
        p.then((v) => rec.mark('settled', v));
        await rec.waitFor('openInfo');
        assert.deepEqual(rec.types(), ['settled', 'headerReceive', 'open', 'openInfo']);
        assert.equal(rec.log[0].value, true);
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('failed attempt: settlement (true) comes before the error event', async () => {
      const port = await closedPort();
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      ws.connect(`ws://127.0.0.1:${port}`, (err, ok) => rec.mark('settled', ok));
      await rec.waitFor('error');
      assert.deepEqual(rec.types(), ['settled', 'error']);
      assert.equal(rec.log[0].value, true);
    });
  });

  describe('R21 failures after the attempt started', () => {
    it('closed port → only an error event {200, "0"}, no close; the instance is reusable', async () => {
      const port = await closedPort();
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      await expectResolvedTrue(ws.connect(`ws://127.0.0.1:${port}`));
      const ev = await rec.waitFor('error');
      assertBusinessError(ev.value, E.EVENT, '0');
      await delay(QUIET_MS);
      assert.deepEqual(rec.types(), ['error']);
      await expectRejection(ws.send('x'), E.SEND_STATE); // IDLE again
      await assertReusable(ws, rec);
    });

    it('a plain HTTP server answering 404 → error with data "404", no headerReceive/open/close', async () => {
      const http404 = await startStatusServer(404);
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectResolvedTrue(ws.connect(`${http404.url}/nothing-here`));
        const ev = await rec.waitFor('error');
        assertBusinessError(ev.value, E.EVENT, '404');
        await delay(QUIET_MS);
        assert.deepEqual(rec.types(), ['error']);
        assert.equal(http404.requests[0].url, '/nothing-here');
        await assertReusable(ws, rec);
      } finally {
        await http404.close();
      }
    });

    it('a 101 response with a wrong Sec-WebSocket-Accept → error, no open', async () => {
      const raw = await startRawServer((socket, req) => {
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Accept: ${acceptKey(`${req.headers['sec-websocket-key']}x`)}\r\n\r\n`,
        );
      });
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectResolvedTrue(ws.connect(raw.url));
        const ev = await rec.waitFor('error');
        assert.equal(ev.value.code, 200);
        await delay(QUIET_MS);
        assert.deepEqual(rec.types(), ['error']);
      } finally {
        await raw.close();
      }
    });
  });

  it('R21a: ws://localhost:PORT reaches a server bound to 127.0.0.1 only', async () => {
    const s = await openAndCapture(server, `ws://localhost:${server.port}/via-localhost`);
    assert.equal(s.request.url, '/via-localhost');
    assert.equal(s.request.headers.host, `localhost:${server.port}`);
    await endSession(s);
  });

  describe('R18 request target', () => {
    const cases = [
      ['', '/'],
      ['/', '/'],
      ['/path/x', '/path/x'],
      ['/path/x?y=1&z=2', '/path/x?y=1&z=2'],
      ['?a=1', '/?a=1'],
      ['/p#frag', '/p'],
      ['/p?q=1#frag', '/p?q=1'],
      ['#only-fragment', '/'],
    ];
    for (const [suffix, target] of cases) {
      it(`${JSON.stringify(suffix)} → GET ${target}`, async () => {
        const s = await openAndCapture(server, server.url + suffix);
        assert.equal(s.request.url, target);
        await endSession(s);
      });
    }
  });

  describe('R23/R26/R38 handshake request headers', () => {
    it('Host with the non-default port, Origin http://host without port, version 13, no extensions', async () => {
      const s = await openAndCapture(server);
      const h = s.request.headers;
      assert.equal(h.host, `127.0.0.1:${server.port}`);
      assert.equal(h.origin, 'http://127.0.0.1');
      assert.equal(h['sec-websocket-version'], '13');
      assert.equal(h['sec-websocket-extensions'], undefined);
      assert.equal(h['sec-websocket-protocol'], undefined);
      assert.equal(h.upgrade.toLowerCase(), 'websocket');
      assert.match(h.connection, /upgrade/i);
      assert.equal(Buffer.from(h['sec-websocket-key'], 'base64').length, 16);
      await endSession(s);
    });

    it('supportOriginPort: true appends the non-default port to Origin', async () => {
      const s = await openAndCapture(server, server.url, { supportOriginPort: true });
      assert.equal(s.request.headers.origin, `http://127.0.0.1:${server.port}`);
      await endSession(s);
    });

    it('protocol "chat" is sent as Sec-WebSocket-Protocol', async () => {
      const s = await openAndCapture(server, server.url, { protocol: 'chat' });
      assert.equal(s.request.headers['sec-websocket-protocol'], 'chat');
      await endSession(s);
    });

    it('user headers: string values sent, non-string/empty values dropped', async () => {
      const s = await openAndCapture(server, server.url, {
        header: { 'X-Custom': 'v1', 'Content-Type': 30, 'X-Empty': '', 'X-Obj': { a: 1 } },
      });
      const h = s.request.headers;
      assert.equal(h['x-custom'], 'v1');
      assert.equal(h['content-type'], undefined);
      assert.equal(h['x-empty'], undefined);
      assert.equal(h['x-obj'], undefined);
      await endSession(s);
    });
  });

  describe('R25 reconnect on the same object', () => {
    it('after close: connect again (other URL), listeners stay registered', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectResolvedTrue(ws.connect(server.url));
        await rec.waitFor('open');
        await expectResolvedTrue(ws.close());
        await rec.waitFor('close');
        const before = server.requests.length;
        await expectResolvedTrue(ws.connect(`${server.url}/second`));
        await rec.waitFor('open', { count: 2 });
        await expectResolvedTrue(ws.send('again'));
        assert.equal((await rec.waitFor('message')).value, 'again');
        await server.waitForRequests(before + 1);
        assert.equal(server.requests[before].url, '/second');
      } finally {
        await closeQuietly(ws, rec);
      }
    });

    it('right inside the close listener (the instance is IDLE when close is delivered)', async () => {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectResolvedTrue(ws.connect(server.url));
        await rec.waitFor('open');
        const again = new Promise((resolve) => {
          ws.on('close', (...args) => {
            rec.listeners.close(...args);
            resolve({ p: ws.connect(server.url) });
          });
        });
        await expectResolvedTrue(ws.close());
        await expectResolvedTrue((await again).p);
        await rec.waitFor('open', { count: 2 });
      } finally {
        ws.on('close', rec.listeners.close);
        await closeQuietly(ws, rec);
      }
    });

    it('after a failed attempt (closed port), also inside the error listener', async () => {
      const port = await closedPort();
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        const again = new Promise((resolve) => {
          ws.on('error', (err) => {
            rec.listeners.error(err);
            resolve({ p: ws.connect(server.url) });
          });
        });
        await expectResolvedTrue(ws.connect(`ws://127.0.0.1:${port}`));
        await expectResolvedTrue((await again).p);
        await rec.waitFor('open');
        assert.deepEqual(rec.types(), ['error', 'headerReceive', 'open', 'openInfo']);
      } finally {
        ws.on('error', rec.listeners.error);
        await closeQuietly(ws, rec);
      }
    });
  });
});
