// The upgrade request and its answer as seen on the wire: user headers (R26) including injection
// attempts, overrides and reserved names (R23); subprotocol offer/answer (R33, R34, R58) against a
// hand-written server; Origin with supportOriginPort (R37, R38) on default and non-default ports
// (default ports are reached through the test proxy); headerReceive details (R56); and the R22
// bound on the whole attempt (TCP, CONNECT, TLS, upgrade) through the lib/testing.js hook.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import webSocket from '../index.js';
import {
  HOST, startEchoServer, startTlsEchoServer, startRawServer, startRawWsServer, recordEvents, closeQuietly, delay, waitUntil,
} from './helpers/servers.mjs';
import { E, assertBusinessError, expectResolvedTrue } from './helpers/assertions.mjs';
import { openSession, endSession, openAndCapture } from './helpers/client.mjs';
import { makeTestPki, pem } from './helpers/certs.mjs';
import { startProxy } from './helpers/proxy.mjs';

const require = createRequire(import.meta.url);
const { setHandshakeTimeoutMs } = require('../lib/testing.js');

const QUIET_MS = 300;
const OPEN_VALUE = { status: 101, message: 'Switching Protocols' };
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `[name, value]` for every header line of a raw request head (names as sent). */
function headerLines(head) {
  return head
    .split('\r\n')
    .slice(1)
    .map((line) => {
      const i = line.indexOf(':');
      return [line.slice(0, i), line.slice(i + 1).trim()];
    });
}

/** A hand-written WebSocket server (see startRawWsServer) that answers a close frame and ends. */
function startRawPeer(extraHeaders = []) {
  return startRawWsServer({
    extraHeaders,
    onConnection(conn) {
      conn.on((frame) => {
        if (frame.opcode === 8) {
          conn.send(8, frame.payload);
          conn.socket.end();
        }
      });
    },
  });
}

/** Opens a session against `raw` (a startRawWsServer) and returns it with the raw request seen. */
async function openRaw(raw, options) {
  const before = raw.requests.length;
  const s = await openSession(raw.url, options);
  await waitUntil(() => raw.requests.length > before, { label: 'raw request' });
  return { ...s, request: raw.requests[before] };
}

/** Connects and expects only an error event; returns it. */
async function expectFailure(url, options, data) {
  const ws = webSocket.createWebSocket();
  const rec = recordEvents(ws);
  try {
    await expectResolvedTrue(ws.connect(url, options));
    const ev = await rec.waitFor('error');
    if (data !== undefined) assert.equal(ev.value.data, data, `error data (detail: ${ev.value.detail})`);
    assert.equal(ev.value.code, 200);
    await delay(QUIET_MS);
    assert.deepEqual(rec.types(), ['error'], 'no headerReceive/open/openInfo/close for a failed handshake');
    return ev.value;
  } finally {
    await closeQuietly(ws, rec);
  }
}

describe('handshake', () => {
  let raw;
  before(async () => {
    raw = await startRawPeer();
  });
  after(async () => {
    await raw.close();
  });

  describe('R26 user headers on the wire', () => {
    it('names lower-cased, last duplicate wins, token punctuation allowed, sent after the generated headers', async () => {
      const s = await openRaw(raw, {
        protocol: 'chat',
        header: { 'X-UPPER': 'v1', 'X-Dup': 'first', 'x-dup': 'second', "X-Tok!#$%&'*+.^_`|~9": 'tok', 'X-Tab': 'a\tb' },
      });
      await endSession(s);
      const lines = headerLines(s.request.head);
      assert.deepEqual(
        lines.map(([n]) => n.toLowerCase()),
        ['host', 'upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'origin', 'sec-websocket-protocol',
          'x-upper', 'x-dup', "x-tok!#$%&'*+.^_`|~9", 'x-tab'],
        s.request.head,
      );
      const user = lines.slice(7);
      for (const [name] of user) assert.equal(name, name.toLowerCase(), 'user header names are sent lower-cased');
      assert.deepEqual(Object.fromEntries(user), { 'x-upper': 'v1', 'x-dup': 'second', "x-tok!#$%&'*+.^_`|~9": 'tok', 'x-tab': 'a\tb' });
    });

    it('injection attempts are dropped: CR/LF in values, spaces/colons/CR/LF/non-ASCII in names; the rest still goes out', async () => {
      const header = {
        'X-Before': 'ok1',
        'X-Crlf': 'a\r\nX-Evil-1: injected',
        'X-Lf': 'a\nX-Evil-2: injected',
        'X-Cr': 'a\rX-Evil-3: injected',
        'X-Trailing-Crlf': 'a\r\n',
        'X-Evil-4: injected\r\nX-Name': 'v',
        'X Space': 'v',
        'X:Colon': 'v',
        'X(paren)': 'v',
        '': 'empty-name',
        'Ünïcödé': 'v',
        'X-After': 'ok2',
      };
      const s = await openRaw(raw, { header });
      await endSession(s);
      const head = s.request.head;
      assert.doesNotMatch(head, /x-evil/i, 'no injected header line arrived');
      assert.doesNotMatch(head, /injected/);
      const lines = headerLines(head);
      for (const [name] of lines) assert.match(name, TOKEN, `every header line has a token name: ${JSON.stringify(head)}`);
      const user = lines.slice(6);
      assert.deepEqual(user, [['x-before', 'ok1'], ['x-after', 'ok2']], JSON.stringify(head));
      assert.equal(head.split('\r\n')[0], 'GET / HTTP/1.1');
    });

    it('a value that is only CR/LF or a CRLF header block cannot end the head early', async () => {
      const s = await openRaw(raw, { header: { 'X-A': '\r\n\r\nGET /smuggled HTTP/1.1', 'X-B': '\n' } });
      await endSession(s);
      assert.doesNotMatch(s.request.head, /smuggled/);
      assert.equal(s.request.rest.length === 0 || s.request.rest[0] !== 0x47, true, 'no second request follows the head');
      assert.equal(raw.requests.filter((r) => r.requestLine.includes('smuggled')).length, 0);
    });

    it('a protocol option with CR/LF cannot inject lines either: it is not sent (found by fuzzing)', async () => {
      const s = await openRaw(raw, { protocol: 'chat\r\nX-Injected: 1\r\n\r\nGET /smuggled HTTP/1.1' });
      await endSession(s);
      assert.doesNotMatch(s.request.head, /x-injected|smuggled|sec-websocket-protocol/i);
      assert.equal(raw.requests.filter((r) => r.requestLine.includes('smuggled')).length, 0);
    });

    it('host, origin and sec-websocket-protocol replace the generated values (exactly one line each)', async () => {
      const s = await openRaw(raw, {
        protocol: 'chat',
        supportOriginPort: true,
        header: { HOST: 'virtual.example:8080', Origin: 'https://app.example', 'Sec-WebSocket-Protocol': 'override' },
      });
      await endSession(s);
      const lines = headerLines(s.request.head);
      const all = (n) => lines.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
      assert.deepEqual(all('host'), ['virtual.example:8080']);
      assert.deepEqual(all('origin'), ['https://app.example']);
      assert.deepEqual(all('sec-websocket-protocol'), ['override']);
      // an empty or non-string override is dropped, so the generated value stays
      const s2 = await openRaw(raw, { protocol: 'chat', header: { Host: '', origin: 42, 'sec-websocket-protocol': '' } });
      await endSession(s2);
      const lines2 = headerLines(s2.request.head);
      assert.deepEqual(lines2.filter(([k]) => k.toLowerCase() === 'host').map(([, v]) => v), [`127.0.0.1:${raw.port}`]);
      assert.deepEqual(lines2.filter(([k]) => k.toLowerCase() === 'origin').map(([, v]) => v), ['http://127.0.0.1']);
      assert.deepEqual(lines2.filter(([k]) => k.toLowerCase() === 'sec-websocket-protocol').map(([, v]) => v), ['chat']);
    });

    it('upgrade, connection, sec-websocket-key/-version/-extensions from the user are ignored; the handshake still succeeds', async () => {
      const server = await startEchoServer();
      try {
        const s = await openAndCapture(server, server.url, {
          header: {
            Upgrade: 'h2c',
            connection: 'close',
            'Sec-WebSocket-Key': 'AAAAAAAAAAAAAAAAAAAAAA==',
            'SEC-WEBSOCKET-VERSION': '8',
            'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
          },
        });
        await endSession(s);
        const h = s.request.headers;
        assert.equal(h.upgrade.toLowerCase(), 'websocket');
        assert.match(h.connection, /^upgrade$/i);
        assert.notEqual(h['sec-websocket-key'], 'AAAAAAAAAAAAAAAAAAAAAA==');
        assert.equal(h['sec-websocket-version'], '13');
        assert.equal(h['sec-websocket-extensions'], undefined);
      } finally {
        await server.close();
      }
      // one line per reserved name on the wire
      const s2 = await openRaw(raw, { header: { Upgrade: 'h2c', 'Sec-WebSocket-Version': '8', 'sec-websocket-extensions': 'x' } });
      await endSession(s2);
      const names = headerLines(s2.request.head).map(([n]) => n.toLowerCase());
      for (const n of ['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version']) {
        assert.equal(names.filter((x) => x === n).length, 1, n);
      }
      assert.equal(names.includes('sec-websocket-extensions'), false);
    });

    it('only own enumerable string keys count; header given as a non-object is ignored', async () => {
      const header = Object.create({ 'X-Inherited': 'no' });
      header['X-Own'] = 'yes';
      Object.defineProperty(header, 'X-Hidden', { value: 'no', enumerable: false });
      header[Symbol('X-Sym')] = 'no';
      const s = await openRaw(raw, { header });
      await endSession(s);
      assert.deepEqual(headerLines(s.request.head).slice(6), [['x-own', 'yes']]);
      for (const bad of ['X-A: 1', 42, true]) {
        const s3 = await openRaw(raw, { header: bad });
        await endSession(s3);
        assert.equal(headerLines(s3.request.head).length, 6, JSON.stringify(bad));
      }
    });
  });

  describe('R33/R34/R58 subprotocol against a hand-written server', () => {
    async function withAnswer(extraHeaders, fn) {
      const server = await startRawPeer(extraHeaders);
      try {
        return await fn(server);
      } finally {
        await server.close();
      }
    }

    it('the offer is sent verbatim; a selected token appears in openInfo.protocol only', async () => {
      await withAnswer(['Sec-WebSocket-Protocol: superchat'], async (server) => {
        for (const offer of ['chat, superchat', 'chat,superchat', 'superchat']) {
          const s = await openRaw(server, { protocol: offer });
          try {
            assert.equal(s.request.headers['sec-websocket-protocol'], offer);
            assert.deepEqual((await s.rec.waitFor('openInfo')).value, { ...OPEN_VALUE, protocol: 'superchat' });
            assert.deepEqual(s.rec.of('open')[0].value, OPEN_VALUE);
          } finally {
            await endSession(s);
          }
        }
      });
    });

    it('no Sec-WebSocket-Protocol in the answer → accepted, openInfo without protocol', async () => {
      const s = await openRaw(raw, { protocol: 'chat' });
      try {
        const info = (await s.rec.waitFor('openInfo')).value;
        assert.deepEqual(info, OPEN_VALUE);
        assert.ok(!('protocol' in info));
      } finally {
        await endSession(s);
      }
    });

    it('answer not among the offered tokens → error, no open (mismatch, none offered, a list answered)', async () => {
      await withAnswer(['Sec-WebSocket-Protocol: other'], async (server) => {
        await expectFailure(server.url, { protocol: 'chat, superchat' });
        await expectFailure(server.url, {}); // nothing offered
        await expectFailure(server.url, { protocol: '' });
      });
      await withAnswer(['Sec-WebSocket-Protocol: chat, superchat'], async (server) => {
        await expectFailure(server.url, { protocol: 'chat, superchat' });
      });
    });

    it(
      'a user sec-websocket-protocol header is the offer: the server may select from it',
      async () => {
        const server = await startEchoServer({ wsOptions: { handleProtocols: (set) => [...set][0] } });
        try {
          const ws = webSocket.createWebSocket();
          const rec = recordEvents(ws);
          try {
            await expectResolvedTrue(ws.connect(server.url, { protocol: 'chat', header: { 'Sec-WebSocket-Protocol': 'override' } }));
            await waitUntil(() => rec.of('openInfo').length + rec.of('error').length > 0, { label: 'openInfo or error' });
            assert.deepEqual(rec.types(), ['headerReceive', 'open', 'openInfo'], rec.of('error')[0]?.value.detail);
            assert.equal(rec.of('openInfo')[0].value.protocol, 'override');
          } finally {
            await closeQuietly(ws, rec);
          }
        } finally {
          await server.close();
        }
      },
    );
  });

  describe('R56 headerReceive from a hand-written 101', () => {
    it('single set-cookie is still an array; mixed-case names lower-cased; three repeats joined; empty value kept', async () => {
      const server = await startRawPeer(['SeT-CoOkIe: only=1; HttpOnly', 'X-Rep: 1', 'x-rep: 2', 'X-REP: 3', 'X-Empty:']);
      try {
        const s = await openSession(server.url);
        await endSession(s);
        const h = s.rec.of('headerReceive')[0].value;
        assert.deepEqual(h['set-cookie'], ['only=1; HttpOnly']);
        assert.equal(h['x-rep'], '1, 2, 3');
        assert.equal(h['x-empty'], '');
        for (const k of Object.keys(h)) assert.equal(k, k.toLowerCase());
      } finally {
        await server.close();
      }
    });
  });

  describe('R37/R38 Origin', () => {
    let pki;
    let server;
    let tlsServer;
    let proxy;
    before(async () => {
      pki = makeTestPki();
      server = await startEchoServer();
      tlsServer = await startTlsEchoServer(pem(pki.local));
      // echo.test → the ws server, secure.test → the TLS server, whatever port the URL names
      proxy = await startProxy({
        route: (host) => ({ host: HOST, port: host === 'secure.test' ? tlsServer.port : server.port }),
      });
    });
    after(async () => {
      await proxy?.close();
      await server?.close();
      await tlsServer?.close();
      pki?.cleanup();
    });

    const cases = [
      // [url, options, expected Origin, expected Host]; PORT / TLSPORT substituted
      ['ws://127.0.0.1:PORT', {}, 'http://127.0.0.1', '127.0.0.1:PORT'],
      ['ws://127.0.0.1:PORT', { supportOriginPort: true }, 'http://127.0.0.1:PORT', '127.0.0.1:PORT'],
      ['ws://127.0.0.1:PORT', { supportOriginPort: false }, 'http://127.0.0.1', '127.0.0.1:PORT'],
      ['ws://127.0.0.1:PORT', { supportOriginPort: 'true' }, 'http://127.0.0.1', '127.0.0.1:PORT'],
      ['ws://127.0.0.1:PORT', { supportOriginPort: 1 }, 'http://127.0.0.1', '127.0.0.1:PORT'],
      ['wss://localhost:TLSPORT', {}, 'http://localhost', 'localhost:TLSPORT'],
      ['wss://localhost:TLSPORT', { supportOriginPort: true }, 'http://localhost:TLSPORT', 'localhost:TLSPORT'],
      ['ws://echo.test/', { supportOriginPort: true, via: true }, 'http://echo.test', 'echo.test'],
      ['ws://echo.test:80/', { supportOriginPort: true, via: true }, 'http://echo.test', 'echo.test'],
      ['ws://echo.test:443/', { supportOriginPort: true, via: true }, 'http://echo.test:443', 'echo.test:443'],
      ['ws://echo.test:443/', { via: true }, 'http://echo.test', 'echo.test:443'],
      ['wss://secure.test/', { supportOriginPort: true, via: true }, 'http://secure.test', 'secure.test'],
      ['wss://secure.test:443/', { supportOriginPort: true, via: true }, 'http://secure.test', 'secure.test'],
      ['wss://secure.test:80/', { supportOriginPort: true, via: true }, 'http://secure.test:80', 'secure.test:80'],
    ];
    for (const [u, opts, origin, host] of cases) {
      const { via, ...rest } = opts;
      it(`${u} ${JSON.stringify(rest)}${via ? ' (through the proxy)' : ''} → Origin ${origin}`, async () => {
        const sub = (t) => t.replace('TLSPORT', String(tlsServer.port)).replace('PORT', String(server.port));
        const url = sub(u);
        const target = url.startsWith('wss') ? tlsServer : server;
        const options = { ...rest };
        if (via) options.proxy = proxy.option();
        if (url.startsWith('wss')) {
          if (via) options.skipServerCertVerification = true;
          else options.caPath = pki.ca.cert;
        }
        const s = await openAndCapture(target, url, options);
        await endSession(s);
        assert.equal(s.request.headers.origin, sub(origin));
        assert.equal(s.request.headers.host, sub(host));
      });
    }
  });

  describe('R22 bound on the whole attempt (test hook: lib/testing.js)', () => {
    const BOUND = 800;
    let pki;
    let echo;
    before(async () => {
      pki = makeTestPki();
      echo = await startEchoServer();
      setHandshakeTimeoutMs(BOUND);
    });
    after(async () => {
      setHandshakeTimeoutMs(0);
      await echo?.close();
      pki?.cleanup();
    });

    /** A net server that accepts and never writes; records the first bytes of each connection. */
    async function startSilentServer() {
      const sockets = new Set();
      const firstBytes = [];
      const srv = net.createServer((s) => {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
        s.once('data', (d) => firstBytes.push(Buffer.from(d.subarray(0, 8))));
      });
      srv.listen(0, HOST);
      await once(srv, 'listening');
      return {
        port: srv.address().port,
        sockets,
        firstBytes,
        async close() {
          for (const s of sockets) s.destroy();
          await new Promise((r) => srv.close(() => r()));
        },
      };
    }

    /** Expects the attempt to end with only error {200, "0"} about BOUND ms after connect; then reuses the instance. */
    async function expectTimeout(url, options = {}, { maxMs = BOUND + 1200, beforeWait } = {}) {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        const t0 = Date.now();
        await expectResolvedTrue(ws.connect(url, options));
        if (beforeWait) await beforeWait(ws, rec);
        const ev = await rec.waitFor('error', { timeout: BOUND + 5000 });
        const elapsed = Date.now() - t0;
        assertBusinessError(ev.value, E.EVENT, '0');
        assert.ok(elapsed >= BOUND - 50, `error after ${elapsed} ms, before the ${BOUND} ms bound (${ev.value.detail})`);
        assert.ok(elapsed <= maxMs, `error after ${elapsed} ms, expected ≤ ${maxMs} ms`);
        await delay(QUIET_MS);
        assert.deepEqual(rec.types(), ['error']);
        // R25: IDLE again, a new attempt with the same instance opens
        await expectResolvedTrue(ws.connect(echo.url));
        await rec.waitFor('open');
        return ev.value;
      } finally {
        await closeQuietly(ws, rec);
      }
    }

    it('server accepts TCP and never answers the upgrade → error, connection dropped, instance reusable', async () => {
      const srv = await startRawServer(() => {});
      try {
        await expectTimeout(`${srv.url}/hang`);
        assert.equal(srv.requests[0].url, '/hang', 'the upgrade request was sent');
        await waitUntil(() => srv.sockets.size === 0, { label: 'client dropped the socket after the timeout' });
      } finally {
        await srv.close();
      }
    });

    it('wss: server accepts TCP and never answers the ClientHello → error', async () => {
      const srv = await startSilentServer();
      try {
        await expectTimeout(`wss://127.0.0.1:${srv.port}`, { skipServerCertVerification: true });
        assert.equal(srv.firstBytes[0][0], 0x16, 'a TLS handshake record was sent');
      } finally {
        await srv.close();
      }
    });

    it('wss: TLS completes but the upgrade is never answered → error', async () => {
      const requests = [];
      const sockets = new Set();
      const srv = tls.createServer(pem(pki.local), (s) => {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
        s.once('data', (d) => requests.push(d.toString('latin1')));
      });
      srv.listen(0, HOST);
      await once(srv, 'listening');
      try {
        await expectTimeout(`wss://localhost:${srv.address().port}`, { caPath: pki.ca.cert });
        assert.match(requests[0] ?? '', /^GET \/ HTTP\/1\.1\r\n/);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise((r) => srv.close(() => r()));
      }
    });

    it('a proxy that never answers CONNECT → error (ws and wss)', async () => {
      const proxy = await startProxy({ mode: 'silent' });
      try {
        await expectTimeout(echo.url, { proxy: proxy.option() });
        await expectTimeout('wss://localhost:1', { proxy: proxy.option(), caPath: pki.ca.cert });
        assert.deepEqual(proxy.connects.map((c) => c.method), ['CONNECT', 'CONNECT']);
      } finally {
        await proxy.close();
      }
    });

    it('the bound covers the whole attempt: a slow CONNECT answer does not restart it', async () => {
      const silent = await startSilentServer();
      const proxy = await startProxy({ answerDelayMs: 0.9 * BOUND, route: () => ({ host: HOST, port: silent.port }) });
      try {
        // CONNECT answered after 720 ms, then the server never answers: a per-phase bound
        // would fail after ≥ 1520 ms.
        await expectTimeout('ws://slow.test/', { proxy: proxy.option() }, { maxMs: BOUND + 600 });
        assert.equal(proxy.tunnels, 1);
      } finally {
        await proxy.close();
        await silent.close();
      }
    });

    it('close() while the hanging attempt is CONNECTING → accepted; the failure yields only the error event (R50)', async () => {
      const srv = await startRawServer(() => {});
      try {
        await expectTimeout(srv.url, {}, {
          beforeWait: async (ws) => {
            await expectResolvedTrue(ws.close());
          },
        });
      } finally {
        await srv.close();
      }
    });
  });
});
