// proxy option (R30–R32) against a real HTTP CONNECT proxy (helpers/proxy.mjs): explicit HttpProxy
// for ws:// and wss:// (TLS inside the tunnel), Basic credentials, refusals (403/407 …), dropped
// proxy connections, exclusionList matching, `host: ''`, and — in child processes, because the
// variables belong to the process — 'system' / absent proxy through HTTP(S)_PROXY / NO_PROXY
// and 'no-proxy'. Bad shapes (401) are covered in connect.test.mjs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import webSocket from '../index.js';
import { startEchoServer, startTlsEchoServer, recordEvents, closeQuietly, delay, closedPort } from './helpers/servers.mjs';
import { E, assertBusinessError, expectResolvedTrue } from './helpers/assertions.mjs';
import { openSession, endSession } from './helpers/client.mjs';
import { makeTestPki, pem } from './helpers/certs.mjs';
import { startProxy } from './helpers/proxy.mjs';
import { runChild, describe as describeChild } from './helpers/child.mjs';

const QUIET_MS = 300;
const basic = (user, pass) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('proxy', () => {
  let pki;
  let server;
  let tlsServer;
  before(async () => {
    pki = makeTestPki();
    server = await startEchoServer();
    tlsServer = await startTlsEchoServer(pem(pki.local));
  });
  after(async () => {
    await server?.close();
    await tlsServer?.close();
    pki?.cleanup();
  });

  async function withProxy(opts, fn) {
    const proxy = await startProxy(opts);
    try {
      return await fn(proxy);
    } finally {
      await proxy.close();
    }
  }

  /** Opens, echoes one message, closes; returns the server-side request record. */
  async function echoSession(url, options, target = url.startsWith('wss') ? tlsServer : server) {
    const before = target.requests.length;
    const s = await openSession(url, options);
    try {
      await expectResolvedTrue(s.ws.send('through'));
      assert.equal((await s.rec.waitFor('message')).value, 'through');
    } finally {
      await endSession(s);
    }
    await target.waitForRequests(before + 1);
    return target.requests[before];
  }

  /** The attempt ends with only an error event whose data is `data`. */
  async function expectFailure(url, options, data) {
    const ws = webSocket.createWebSocket();
    const rec = recordEvents(ws);
    try {
      await expectResolvedTrue(ws.connect(url, options));
      const ev = await rec.waitFor('error');
      assert.equal(ev.value.data, data, `error data (detail: ${ev.value.detail})`);
      assertBusinessError(ev.value, E.EVENT, data);
      await delay(QUIET_MS);
      assert.deepEqual(rec.types(), ['error'], 'no headerReceive/open/close for a failed attempt');
      return ev.value;
    } finally {
      await closeQuietly(ws, rec);
    }
  }

  describe('explicit HttpProxy: tunnel (R32)', () => {
    it('ws://127.0.0.1:PORT goes through CONNECT 127.0.0.1:PORT; the upgrade runs in the tunnel', async () => {
      await withProxy({}, async (proxy) => {
        const req = await echoSession(server.url, { proxy: proxy.option() });
        assert.equal(proxy.connects.length, 1);
        const c = proxy.connects[0];
        assert.equal(c.line, `CONNECT 127.0.0.1:${server.port} HTTP/1.1`);
        assert.equal(c.headers.host, `127.0.0.1:${server.port}`);
        assert.equal(c.authorization, undefined, 'no credentials → no Proxy-Authorization');
        assert.equal(proxy.tunnels, 1);
        assert.equal(c.firstBytes.subarray(0, 4).toString(), 'GET ', 'the HTTP upgrade is sent inside the tunnel');
        assert.equal(req.headers.host, `127.0.0.1:${server.port}`);
      });
    });

    it('a host name only the proxy can resolve: CONNECT carries the name, path and query reach the server', async () => {
      await withProxy({}, async (proxy) => {
        const req = await echoSession(`ws://echo.test:${server.port}/p/q?x=1`, { proxy: proxy.option() });
        assert.equal(proxy.connects[0].line, `CONNECT echo.test:${server.port} HTTP/1.1`);
        assert.equal(req.url, '/p/q?x=1');
        assert.equal(req.headers.host, `echo.test:${server.port}`);
      });
    });

    it('default port: ws://echo.test/ → CONNECT echo.test:80, Host without port', async () => {
      const route = (host, port) => ({ host: '127.0.0.1', port: port === 80 ? server.port : port });
      await withProxy({ route }, async (proxy) => {
        const req = await echoSession('ws://echo.test/', { proxy: proxy.option() });
        assert.equal(proxy.connects[0].line, 'CONNECT echo.test:80 HTTP/1.1');
        assert.equal(req.headers.host, 'echo.test');
      });
    });

    it('wss://localhost:PORT: TLS runs inside the tunnel and is verified against caPath', async () => {
      await withProxy({}, async (proxy) => {
        const req = await echoSession(tlsServer.localUrl, { proxy: proxy.option(), caPath: pki.ca.cert });
        assert.equal(proxy.connects[0].line, `CONNECT localhost:${tlsServer.port} HTTP/1.1`);
        assert.equal(proxy.connects[0].firstBytes[0], 0x16, 'the first tunnelled byte starts a TLS handshake record');
        assert.ok(req.tlsVersion, 'the server saw a TLS connection');
        assert.equal(req.headers.host, `localhost:${tlsServer.port}`);
      });
    });

    it('wss:// certificate checks use the target host, not the proxy: default port 443, name not in the certificate', async () => {
      const route = (host, port) => ({ host: '127.0.0.1', port: port === 443 ? tlsServer.port : port });
      await withProxy({ route }, async (proxy) => {
        await expectFailure('wss://secure.test/', { proxy: proxy.option(), caPath: pki.ca.cert }, '0');
        assert.equal(proxy.connects[0].line, 'CONNECT secure.test:443 HTTP/1.1');
        const req = await echoSession('wss://secure.test/', { proxy: proxy.option(), skipServerCertVerification: true });
        assert.equal(proxy.connects[1].line, 'CONNECT secure.test:443 HTTP/1.1');
        assert.equal(req.headers.host, 'secure.test');
      });
    });

    it('any 2xx answer opens the tunnel: HTTP/1.0, extra header lines, split across TCP segments', async () => {
      const answers = [
        ['HTTP/1.0 200 OK\r\nProxy-Agent: test\r\nVia: 1.1 test\r\n\r\n'],
        ['HTTP/1.1 20', '0 Connection established\r\n', 'X-A: 1\r\n\r', '\n'],
        ['HTTP/1.1 299 Fine\r\n\r\n'],
      ];
      for (const okAnswer of answers) {
        await withProxy({ okAnswer }, async (proxy) => {
          await echoSession(server.url, { proxy: proxy.option() });
          await echoSession(tlsServer.localUrl, { proxy: proxy.option(), caPath: pki.ca.cert });
          assert.equal(proxy.tunnels, 2, JSON.stringify(okAnswer));
        });
      }
    });

    it('proxy host given as a name (localhost, any case) is resolved like a target (R21a)', async () => {
      await withProxy({}, async (proxy) => {
        await echoSession(server.url, { proxy: proxy.option({ host: 'localhost' }) });
        await echoSession(server.url, { proxy: proxy.option({ host: 'LocalHost' }) });
        assert.equal(proxy.tunnels, 2);
      });
    });

    it('port is read as a 32-bit integer: a fraction is truncated, a non-number becomes 0 (→ no proxy reachable)', async () => {
      await withProxy({}, async (proxy) => {
        await echoSession(server.url, { proxy: proxy.option({ port: proxy.port + 0.9 }) });
        assert.equal(proxy.tunnels, 1);
        await expectFailure(server.url, { proxy: proxy.option({ port: String(proxy.port) }) }, '0');
        await expectFailure(server.url, { proxy: { host: '127.0.0.1' } }, '0');
        assert.equal(proxy.connects.length, 1);
      });
    });

    it('an explicit proxy with nothing listening on its port → error "0"', async () => {
      const port = await closedPort();
      await expectFailure(server.url, { proxy: { host: '127.0.0.1', port, exclusionList: [] } }, '0');
    });
  });

  describe('explicit HttpProxy: credentials (R32 [NODE])', () => {
    const creds = { username: 'alice', password: 'pa:ss wörd' };

    it('username and password → Proxy-Authorization: Basic, accepted by a proxy that demands them (ws and wss)', async () => {
      await withProxy({ auth: creds }, async (proxy) => {
        await echoSession(server.url, { proxy: proxy.option(creds) });
        await echoSession(tlsServer.localUrl, { proxy: proxy.option(creds), caPath: pki.ca.cert });
        assert.equal(proxy.connects.length, 2);
        for (const c of proxy.connects) assert.equal(c.authorization, basic(creds.username, creds.password));
      });
    });

    it('only one of username/password (or a non-string one) → no Proxy-Authorization header', async () => {
      await withProxy({}, async (proxy) => {
        const variants = [
          { username: 'alice' },
          { password: 'secret' },
          { username: 'alice', password: '' },
          { username: '', password: 'secret' },
          { username: 'alice', password: 42 },
        ];
        for (const v of variants) await echoSession(server.url, { proxy: proxy.option(v) });
        assert.equal(proxy.connects.length, variants.length);
        proxy.connects.forEach((c, i) => assert.equal(c.authorization, undefined, JSON.stringify(variants[i])));
      });
    });

    it('407 without or with wrong credentials → error data "407", no open, server not reached; then reusable', async () => {
      await withProxy({ auth: creds }, async (proxy) => {
        const before = server.requests.length;
        await expectFailure(server.url, { proxy: proxy.option() }, '407');
        await expectFailure(server.url, { proxy: proxy.option({ username: 'alice' }) }, '407');
        await expectFailure(server.url, { proxy: proxy.option({ username: 'alice', password: 'wrong' }) }, '407');
        await expectFailure(tlsServer.localUrl, { proxy: proxy.option(), caPath: pki.ca.cert }, '407');
        assert.equal(proxy.connects.length, 4);
        assert.equal(proxy.connects[2].authorization, basic('alice', 'wrong'));
        assert.equal(server.requests.length, before, 'the server was never reached');
        assert.equal(proxy.tunnels, 0);
      });
    });
  });

  describe('explicit HttpProxy: refusals and drops (R21, R32, R64)', () => {
    for (const status of [403, 502, 301]) {
      it(`the proxy answers ${status} → error data "${status}", no open (ws and wss)`, async () => {
        await withProxy({ mode: 'refuse', refuseStatus: status }, async (proxy) => {
          await expectFailure(server.url, { proxy: proxy.option() }, String(status));
          await expectFailure(tlsServer.localUrl, { proxy: proxy.option(), caPath: pki.ca.cert }, String(status));
          assert.equal(proxy.connects.length, 2);
        });
      });
    }

    it('the proxy reads the CONNECT and drops the connection → error data "0" (ws and wss)', async () => {
      await withProxy({ mode: 'drop' }, async (proxy) => {
        const err = await expectFailure(server.url, { proxy: proxy.option() }, '0');
        assert.equal(typeof err.detail, 'string');
        await expectFailure(tlsServer.localUrl, { proxy: proxy.option(), caPath: pki.ca.cert }, '0');
        assert.equal(proxy.connects.length, 2);
      });
    });

    it('after a refusal the same instance connects again (R25)', async () => {
      await withProxy({ mode: 'refuse' }, async (proxy) => {
        const ws = webSocket.createWebSocket();
        const rec = recordEvents(ws);
        try {
          await expectResolvedTrue(ws.connect(server.url, { proxy: proxy.option() }));
          assert.equal((await rec.waitFor('error')).value.data, '403');
          proxy.mode = 'tunnel';
          await expectResolvedTrue(ws.connect(server.url, { proxy: proxy.option() }));
          await rec.waitFor('open');
          assert.equal(proxy.tunnels, 1);
        } finally {
          await closeQuietly(ws, rec);
        }
      });
    });
  });

  describe('explicit HttpProxy: direct connections (R32)', () => {
    it("host '' → direct connection whatever the port", async () => {
      await withProxy({}, async (proxy) => {
        await echoSession(server.url, { proxy: { host: '', port: proxy.port, exclusionList: [] } });
        await echoSession(server.url, { proxy: { port: proxy.port } });
        assert.equal(proxy.connects.length, 0);
      });
    });

    // via: 'proxy' = tunnelled (opens); 'direct' = bypassed and opens; 'bypass' = bypassed, so
    // the client resolves the name itself, which fails (.invalid never resolves) → error "0".
    const cases = [
      { list: ['127.0.0.1'], host: '127.0.0.1', via: 'direct', what: 'exact IP' },
      { list: ['LocalHost'], host: 'localhost', via: 'direct', what: 'exact name, case-insensitive' },
      { list: ['*'], host: '127.0.0.1', via: 'direct', what: '"*" alone' },
      { list: ['127.0.0.*'], host: '127.0.0.1', via: 'direct', what: 'glob' },
      { list: [42, null, 'localhost'], host: 'localhost', via: 'direct', what: 'non-string entries skipped' },
      { list: ['*.invalid'], host: 'a.b.invalid', via: 'bypass', what: 'leading-* glob' },
      { list: ['echo*.invalid'], host: 'echo-1.invalid', via: 'bypass', what: 'inner-* glob' },
      { list: ['Example.Invalid'], host: 'www.EXAMPLE.invalid', via: 'bypass', what: 'dot-suffix, case-insensitive' },
      { list: ['example.invalid'], host: 'example.invalid', via: 'bypass', what: 'exact name' },
      { list: ['example.invalid'], host: 'notexample.invalid', via: 'proxy', what: 'no dot before the suffix → miss' },
      { list: ['www.echo.invalid'], host: 'echo.invalid', via: 'proxy', what: 'a subdomain entry does not match the parent' },
      { list: ['127.0.0.2', '10.*', 'localhost'], host: '127.0.0.1', via: 'proxy', what: 'no entry matches' },
      { list: ['*.0.0.2'], host: '127.0.0.1', via: 'proxy', what: 'glob miss' },
      { list: ['127.0.0'], host: '127.0.0.1', via: 'proxy', what: 'a prefix is not a match' },
      { list: '127.0.0.1', host: '127.0.0.1', via: 'proxy', what: 'a non-array exclusionList is ignored' },
    ];
    for (const c of cases) {
      it(`exclusionList ${JSON.stringify(c.list)} with host ${c.host} → ${c.via} (${c.what})`, async () => {
        await withProxy({}, async (proxy) => {
          const url = `ws://${c.host}:${server.port}/`;
          const options = { proxy: proxy.option({ exclusionList: c.list }) };
          if (c.via === 'bypass') await expectFailure(url, options, '0');
          else await echoSession(url, options);
          assert.equal(proxy.connects.length, c.via === 'proxy' ? 1 : 0, proxy.connects.map((x) => x.line).join('; '));
          if (c.via === 'proxy') {
            assert.equal(proxy.connects[0].host.toLowerCase(), c.host.toLowerCase());
          }
        });
      });
    }

    it('exclusionList applies to wss:// too (hit → direct TLS, miss → tunnel)', async () => {
      await withProxy({}, async (proxy) => {
        await echoSession(tlsServer.localUrl, { proxy: proxy.option({ exclusionList: ['localhost'] }), caPath: pki.ca.cert });
        assert.equal(proxy.connects.length, 0);
        await echoSession(tlsServer.localUrl, { proxy: proxy.option({ exclusionList: ['127.0.0.1'] }), caPath: pki.ca.cert });
        assert.equal(proxy.connects.length, 1);
      });
    });
  });

  describe("'system' / absent proxy from the environment, and 'no-proxy' (R30/R31; child processes)", () => {
    let proxyA;
    let proxyB;
    before(async () => {
      proxyA = await startProxy();
      proxyB = await startProxy();
    });
    after(async () => {
      await proxyA?.close();
      await proxyB?.close();
    });

    /** Child: connect(url, options) — options omitted when null; echo once; report events. */
    const SCRIPT = `
const [url, optJson, lateEnv] = process.argv.slice(2);
const options = JSON.parse(optJson);
const ws = webSocket.createWebSocket();
let round = 0;
const start = () => (options ? ws.connect(url, options) : ws.connect(url)).then((v) => emit('settled', { v }));
ws.on('open', () => { emit('open'); ws.send('env'); });
ws.on('message', (e, d) => { emit('message', { d }); ws.close(); });
ws.on('close', () => {
  emit('close');
  if (lateEnv && round++ === 0) { Object.assign(process.env, JSON.parse(lateEnv)); start(); }
  else setTimeout(() => process.exit(0), 20);
});
ws.on('error', (err) => { emit('error', { data: err.data, detail: err.detail }); setTimeout(() => process.exit(0), 20); });
start();
`;
    const PROXY_VARS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'];

    /**
     * Runs the child with only the given proxy variables set (the others removed) and returns
     * how many CONNECTs each proxy received meanwhile, plus the event names.
     */
    async function runWithEnv(env, url, options = null, lateEnv) {
      const childEnv = Object.fromEntries(PROXY_VARS.map((k) => [k, undefined]));
      Object.assign(childEnv, env);
      const a = proxyA.connects.length;
      const b = proxyB.connects.length;
      const args = [url, JSON.stringify(options)];
      if (lateEnv) args.push(JSON.stringify(lateEnv));
      const r = await runChild(SCRIPT, { env: childEnv, args, timeout: 15_000 });
      assert.equal(r.timedOut, false, describeChild(r));
      return {
        r,
        names: r.events.map((e) => e.ev),
        viaA: proxyA.connects.slice(a),
        viaB: proxyB.connects.slice(b),
      };
    }
    const OPENED = ['settled', 'open', 'message', 'close'];

    const wsCases = [
      { what: 'no variable set, proxy absent → direct', env: {}, options: null, via: null },
      { what: 'HTTP_PROXY, proxy absent → through it', env: { HTTP_PROXY: 'A' }, options: null, via: 'A' },
      { what: "HTTP_PROXY, proxy: 'system' → through it", env: { HTTP_PROXY: 'A' }, options: { proxy: 'system' }, via: 'A' },
      { what: 'http_proxy (lower case) → through it', env: { http_proxy: 'A' }, options: null, via: 'A' },
      { what: "HTTP_PROXY, proxy: 'no-proxy' → direct", env: { HTTP_PROXY: 'A', HTTPS_PROXY: 'B' }, options: { proxy: 'no-proxy' }, via: null },
      { what: 'ws:// prefers HTTP_PROXY over HTTPS_PROXY', env: { HTTP_PROXY: 'A', HTTPS_PROXY: 'B' }, options: null, via: 'A' },
      { what: 'ws:// falls back to HTTPS_PROXY', env: { HTTPS_PROXY: 'B' }, options: null, via: 'B' },
      { what: 'ws:// falls back to https_proxy (lower case)', env: { https_proxy: 'B' }, options: { proxy: 'system' }, via: 'B' },
      { what: 'NO_PROXY naming the host → direct', env: { HTTP_PROXY: 'A', NO_PROXY: '127.0.0.1' }, options: null, via: null },
      { what: 'no_proxy (lower case) list with the host → direct', env: { http_proxy: 'A', no_proxy: 'other.invalid, 127.0.0.1' }, options: null, via: null },
      { what: 'NO_PROXY=* → direct', env: { HTTP_PROXY: 'A', NO_PROXY: '*' }, options: { proxy: 'system' }, via: null },
      { what: 'NO_PROXY without the host → proxy', env: { HTTP_PROXY: 'A', NO_PROXY: 'example.invalid,localhost' }, options: null, via: 'A' },
      { what: 'explicit HttpProxy wins over the environment', env: { HTTP_PROXY: 'A' }, options: { proxy: 'EXPLICIT_B' }, via: 'B' },
    ];
    const resolveEnv = (env) =>
      Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === 'A' ? proxyA.url : v === 'B' ? proxyB.url : v]));
    const resolveOptions = (options) =>
      options?.proxy === 'EXPLICIT_B' ? { proxy: proxyB.option() } : options;

    for (const c of wsCases) {
      it(`ws://: ${c.what}`, async () => {
        const out = await runWithEnv(resolveEnv(c.env), server.url, resolveOptions(c.options));
        assert.deepEqual(out.names, OPENED, describeChild(out.r));
        assert.equal(out.viaA.length, c.via === 'A' ? 1 : 0, 'CONNECTs at proxy A');
        assert.equal(out.viaB.length, c.via === 'B' ? 1 : 0, 'CONNECTs at proxy B');
        const seen = c.via === 'A' ? out.viaA : out.viaB;
        if (c.via) assert.equal(seen[0].line, `CONNECT 127.0.0.1:${server.port} HTTP/1.1`);
      });
    }

    const wssCases = [
      { what: 'wss:// prefers HTTPS_PROXY over HTTP_PROXY', env: { HTTP_PROXY: 'A', HTTPS_PROXY: 'B' }, via: 'B' },
      { what: 'wss:// uses https_proxy (lower case)', env: { https_proxy: 'B' }, via: 'B' },
      { what: 'wss:// falls back to HTTP_PROXY', env: { HTTP_PROXY: 'A' }, via: 'A' },
      { what: 'wss:// with NO_PROXY naming the host → direct', env: { HTTPS_PROXY: 'B', NO_PROXY: 'LOCALHOST' }, via: null },
    ];
    for (const c of wssCases) {
      it(c.what, async () => {
        const out = await runWithEnv(resolveEnv(c.env), tlsServer.localUrl, { proxy: 'system', caPath: pki.ca.cert });
        assert.deepEqual(out.names, OPENED, describeChild(out.r));
        assert.equal(out.viaA.length, c.via === 'A' ? 1 : 0, 'CONNECTs at proxy A');
        assert.equal(out.viaB.length, c.via === 'B' ? 1 : 0, 'CONNECTs at proxy B');
        const seen = c.via === 'A' ? out.viaA : out.viaB;
        if (c.via) assert.equal(seen[0].line, `CONNECT localhost:${tlsServer.port} HTTP/1.1`);
      });
    }

    it('a name in NO_PROXY by dot-suffix is bypassed (the client resolves it itself → error "0")', async () => {
      const out = await runWithEnv({ HTTP_PROXY: proxyA.url, NO_PROXY: 'example.invalid' }, `ws://www.example.invalid:${server.port}`);
      assert.deepEqual(out.names, ['settled', 'error'], describeChild(out.r));
      assert.equal(out.r.events[1].data, '0');
      assert.equal(out.viaA.length, 0);
    });

    for (const bad of ['socks5://127.0.0.1:PORT', 'https://127.0.0.1:PORT', '127.0.0.1:PORT', 'http://user:pw@127.0.0.1:PORT']) {
      it(`a proxy URL that is not http://host:port is ignored → direct (${bad})`, async () => {
        const value = bad.replace('PORT', String(proxyA.port));
        const out = await runWithEnv({ HTTP_PROXY: value, HTTPS_PROXY: value }, server.url);
        assert.deepEqual(out.names, OPENED, describeChild(out.r));
        assert.equal(out.viaA.length, 0, 'the proxy was not used');
      });
    }

    it('the variables are read at connect time (set after the module was loaded)', async () => {
      const out = await runWithEnv({}, server.url, { proxy: 'system' }, { HTTP_PROXY: proxyA.url });
      assert.deepEqual(out.names, [...OPENED, ...OPENED], describeChild(out.r));
      assert.equal(out.viaA.length, 1, 'only the second attempt used the proxy');
    });

    it('a refusing system proxy → error with its status', async () => {
      const refusing = await startProxy({ mode: 'refuse', refuseStatus: 403 });
      try {
        const out = await runWithEnv({ HTTP_PROXY: refusing.url }, server.url);
        assert.deepEqual(out.names, ['settled', 'error'], describeChild(out.r));
        assert.equal(out.r.events[1].data, '403');
        assert.equal(refusing.connects.length, 1);
      } finally {
        await refusing.close();
      }
    });
  });
});
