// Runs every example extracted from the seed documents (__test__/seeds/*.ts) against the real package.
// Each example is type-stripped (`typescript.transpileModule`, CommonJS); `@kit.NetworkKit` / `@ohos.net.webSocket`
// imports become `require(<abs path of index.js>)` (the namespace, or its default for `import webSocket from`),
// `@kit.BasicServicesKit` / `@ohos.base` imports are dropped, `"ws://"` becomes a local server URL (or is kept, to
// check what the doc's own URL does), and the code runs in a `node:vm` context whose `console` records each line.
// Listener-only examples get `export const __probe = ws;` appended so the test can drive that very instance.
// Waits are bounded and event-driven (console lines and server events wake them). Rxx = rule in doc/spec.md.
// Loopback only: every server binds 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import vm from 'node:vm';
import http from 'node:http';
import net from 'node:net';
import { format } from 'node:util';
import { EventEmitter, once } from 'node:events';
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { startEchoServer } from './helpers/servers.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const INDEX_JS = join(ROOT, 'index.js');
const SEEDS = join(ROOT, '__test__', 'seeds');
const require = createRequire(import.meta.url);
const TIMEOUT_MS = 5000;

const OK101 = 'on open, status:101, message:Switching Protocols';
const ERR_M1 = '{"code":-1,"message":"Websocket connect failed"}'; // R16 step 7 ("ws://": empty host)
const ERR_401 = '{"code":401,"message":"Parameter error"}'; // R13–R15, R46
const ERR_2302999 = '{"code":2302999,"message":"Websocket Unknown Other Error"}'; // R51
const EVT_200 = (data) => `{"code":200,"message":"Websocket connect failed","data":"${data}"}`; // R64
const CLOSE_NORMAL = 'on close, code is 1000, reason is CLOSE_NORMAL'; // R48, R49

// ---------------------------------------------------------------------------------------------------------
// Harness

const bus = new EventEmitter(); // 'change' whenever a console line or a server event was recorded
bus.setMaxListeners(0);

/** Resolves once `cond()` is true, re-checking on every recorded event; rejects after TIMEOUT_MS. */
function until(cond, what, logs) {
  if (cond()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      bus.off('change', check);
      reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}\nconsole so far: ${JSON.stringify(logs)}`));
    }, TIMEOUT_MS);
    const check = () => cond() && (clearTimeout(timer), bus.off('change', check), resolve());
    bus.on('change', check);
  });
}

/** Type-strips one example and points its imports at index.js. Throws SyntaxError on TS syntax errors. */
function compile(file, { url, replace = [], probe, esModuleInterop = true } = {}) {
  let src = readFileSync(join(SEEDS, file), 'utf8');
  if (url !== undefined) {
    assert.ok(src.includes('"ws://"'), `${file} has no "ws://" placeholder`);
    src = src.replaceAll('"ws://"', JSON.stringify(url));
  }
  for (const [from, to] of replace) {
    assert.ok(src.includes(from), `${file} does not contain ${from}`);
    src = src.replaceAll(from, to);
  }
  if (probe) src += `\nexport const __probe = ${probe};\n`;
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop };
  const out = ts.transpileModule(src, { fileName: file, reportDiagnostics: true, compilerOptions });
  if (out.diagnostics.length) {
    const text = out.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ');
    throw new SyntaxError(`${file}: ${text}`);
  }
  const js = out.outputText
    .replace(/require\("(?:@kit\.NetworkKit|@ohos\.net\.webSocket)"\)/g, `require(${JSON.stringify(INDEX_JS)})`)
    .replace(/require\("(?:@kit\.BasicServicesKit|@ohos\.base)"\)/g, '({})');
  assert.doesNotMatch(js, /require\("@/, `${file}: an import was left unmapped`);
  return js;
}

/** Runs compiled code in a vm context with a recording console. Returns {logs, thrown, exports}. */
function execute(js, file) {
  const logs = [];
  const record = (...args) => (logs.push(format(...args)), bus.emit('change'));
  const fakeConsole = { log: record, error: record, warn: record, info: record, debug: record };
  const timers = { setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate, queueMicrotask };
  const context = vm.createContext({ console: fakeConsole, ...timers });
  const fn = vm.runInContext(`(function (exports, require, module) {${js}\n})`, context, { filename: `${file}.js` });
  const module = { exports: {} };
  let thrown;
  try {
    fn.call(module.exports, module.exports, require, module);
  } catch (err) {
    thrown = err; // a synchronous top-level throw of the example
  }
  return { logs, thrown, exports: module.exports };
}

/** The package under test (fails the test with MODULE_NOT_FOUND until index.js exists). */
const api = () => require(INDEX_JS);

/** Echo server (helpers/servers.mjs) that wakes waiters on every connection, message and close. */
async function echoServer(opts) {
  const s = await startEchoServer(opts);
  const wake = () => bus.emit('change');
  s.wss.on('connection', (sock) => (wake(), sock.on('message', wake), sock.on('close', wake)));
  return s;
}

/** Echo server that follows the echo of the text "Hello, server!" with "bye" (the seeds' close trigger). */
async function byeServer() {
  const s = await echoServer();
  s.wss.on('connection', (sock) =>
    sock.on('message', (data, isBinary) => !isBinary && `${data}` === 'Hello, server!' && sock.send('bye')),
  );
  return s;
}

/** Listens on an ephemeral loopback port; resolves the port. */
async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server.address().port;
}

/** Minimal HTTP CONNECT proxy on 127.0.0.1 that only tunnels to 127.0.0.1; records the CONNECT targets. */
async function connectProxy() {
  const targets = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => res.writeHead(405).end());
  server.on('connect', (req, client, head) => {
    targets.push(req.url);
    sockets.add(client);
    bus.emit('change');
    const [host, port] = req.url.split(':');
    if (host !== '127.0.0.1') return client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  return {
    port: await listen(server),
    targets,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Plain HTTP server that answers everything (including the upgrade request) with 404. */
async function http404() {
  const server = http.createServer((req, res) => res.writeHead(404, { connection: 'close' }).end());
  const port = await listen(server);
  return { url: `ws://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

/** A loopback port with nothing listening (bound once, then released). */
async function refusedUrl() {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((r) => server.close(r));
  return `ws://127.0.0.1:${port}`;
}

/** Waits until every line is logged; checks `ordered` appear in order and (if `exact`) nothing else was logged. */
async function expectLogs(logs, { ordered = [], unordered = [], exact = true }) {
  const all = [...ordered, ...unordered];
  await until(() => all.every((l) => logs.includes(l)), `console lines ${JSON.stringify(all)}`, logs);
  let last = -1;
  for (const line of ordered) {
    const i = logs.indexOf(line);
    assert.ok(i > last, `"${line}" is out of order in ${JSON.stringify(logs)}`);
    last = i;
  }
  if (exact) assert.deepEqual([...logs].sort(), [...all].sort(), 'unexpected console output');
}

const tick = () => new Promise((r) => setImmediate(r));
const texts = (server) => server.received.filter((m) => !m.isBinary).map((m) => m.data.toString());

/**
 * Declares one test. `spec` fields:
 *  server  'echo' | 'bye' | options for startEchoServer — the local server that replaces "ws://"
 *  original  true → keep the doc's own "ws://" URL
 *  probe   expression appended as `export const __probe = <expr>`
 *  throws  RegExp the synchronous top-level exception must match
 *  run     async (ctx) => assertions; ctx = {logs, probe, server, exports, thrown, proxy, cleanups}
 */
function example(file, note, spec) {
  covered.add(file);
  test(`${file}: ${note}`, { timeout: 20_000 }, async (t) => {
    const cleanups = [];
    t.after(async () => { for (const c of cleanups.reverse()) await c(); });
    let server;
    if (spec.server) {
      server = spec.server === 'bye' ? await byeServer() : await echoServer(spec.server === 'echo' ? {} : spec.server);
      cleanups.push(() => server.close());
    }
    const proxy = spec.proxy ? await connectProxy() : undefined;
    if (proxy) cleanups.push(() => proxy.close());
    api(); // load the package first, so a missing build fails here and not inside the example
    // Examples driven through a probe contain no URL; the others get the local server instead of "ws://".
    const url = spec.original || spec.probe ? undefined : server?.url;
    const replace = typeof spec.replace === 'function' ? spec.replace({ proxy }) : spec.replace;
    const js = compile(file, { url, replace, probe: spec.probe });
    const { logs, thrown, exports } = execute(js, file);
    if (spec.throws) {
      assert.ok(thrown, `${file} was expected to throw ${spec.throws}`);
      assert.match(`${thrown.name}: ${thrown.message}`, spec.throws);
    } else if (thrown) {
      throw thrown;
    }
    const ctx = { logs, thrown, exports, probe: exports.__probe, server, proxy, cleanups };
    if (spec.run) return spec.run(ctx);
    await tick();
    assert.deepEqual(logs, [], 'the example was expected to stay silent');
  });
}

/** Connects the example's instance (probe) to `url`, resolving `true` (R19). */
async function driveConnect(ctx, url = ctx.server.url) {
  assert.equal(typeof ctx.probe?.connect, 'function', 'the probe is a WebSocket');
  assert.equal(await ctx.probe.connect(url), true);
}

/** Closes the example's instance from the test and waits for the server to see the close (R49/R50). */
async function driveClose(ctx) {
  const before = ctx.server.closes.length;
  assert.equal(await ctx.probe.close(), true);
  await until(() => ctx.server.closes.length > before, 'the server to see the close', ctx.logs);
  assert.deepEqual(ctx.server.closes.at(-1), { code: 1000, reason: 'CLOSE_NORMAL' });
}

/** Registers the test's own `message` listener on the probe (a type the example does not use). */
function listenMessages(ws) {
  const got = [];
  ws.on('message', (err, data) => (got.push(data), bus.emit('change')));
  return got;
}

const files = readdirSync(SEEDS).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
const byTopic = (topic) => files.filter((f) => f.endsWith(`-${topic}.ts`)).sort();
const covered = new Set();
const each = (list, note, spec) => list.forEach((f) => example(f, note, spec));

// ---------------------------------------------------------------------------------------------------------
// "Modules to Import": the import alone does nothing; it must resolve to the namespace object (R1), both with
// and without esModuleInterop (`import webSocket from` then reads `module.exports.default`).
for (const f of byTopic('import')) {
  covered.add(f);
  for (const esModuleInterop of [true, false]) {
    test(`${f}: import resolves to the webSocket namespace (R1, esModuleInterop ${esModuleInterop})`, () => {
      const ns = api();
      const { logs, thrown, exports } = execute(compile(f, { probe: 'webSocket', esModuleInterop }), f);
      assert.equal(thrown, undefined);
      assert.deepEqual(logs, []);
      assert.equal(ns.webSocket, ns); // module.exports IS the namespace, also as .webSocket and .default
      assert.equal(ns.default, ns);
      assert.equal(exports.__probe, ns);
      assert.equal(typeof exports.__probe.createWebSocket, 'function');
      assert.equal(exports.__probe.TlsProtocol.TLS_V_1_3, 3); // R39
    });
  }
}

// createWebSocket fragments (import prepended at extraction). 000/002/003 annotate `ws: webSocket` (a tsc error
// only); after type stripping every one creates an IDLE WebSocket with connect/send/close/on/off (R8, R9).
each(byTopic('create'), 'creates a WebSocket with the five methods (R8, R9)', {
  probe: 'ws',
  async run({ probe, logs }) {
    for (const m of ['connect', 'send', 'close', 'on', 'off']) assert.equal(typeof probe[m], 'function', m);
    await tick();
    assert.deepEqual(logs, []);
  },
});

// ---------------------------------------------------------------------------------------------------------
// Canonical examples ("Examples" / guide), first against local servers, then with the doc's own URL.
// 000-02: open → send "Hello, server!"; "bye" from the server → close(); close event 1000 / CLOSE_NORMAL.
example('000-02-full-example.ts', 'full flow against an echo server that says "bye" (R19, R24, R44, R49, R59, R61)', {
  server: 'bye',
  async run({ logs, server }) {
    await expectLogs(logs, {
      ordered: ['connect success', 'on message, message:Hello, server!', 'on message, message:bye', 'close success', CLOSE_NORMAL],
      unordered: ['send success'],
    });
    assert.ok(logs.indexOf('connect success') < logs.indexOf('send success'), 'connect settles before open (R19)');
    await until(() => server.closes.length === 1, 'server close', logs);
    assert.deepEqual(texts(server), ['Hello, server!']);
    assert.deepEqual(server.closes, [{ code: 1000, reason: 'CLOSE_NORMAL' }]);
  },
});

// 001-02: options with header/proxy/protocol, and close() inside the connect callback. The proxy is pointed at a
// local CONNECT proxy (R32). R50: the handshake completes through the proxy, no `open` is delivered (so nothing
// is sent), and the server sees a clean close 1000 "CLOSE_NORMAL"; the close event reports the same.
const proxyReplace = ({ proxy }) => [
  ["'192.168.0.150'", "'127.0.0.1'"],
  ['port: 8888', `port: ${proxy.port}`],
];
example('001-02-full-example.ts', 'options + close in connect callback, via a local proxy (R26, R32, R33, R50)', {
  server: 'echo',
  proxy: true,
  replace: proxyReplace,
  async run({ logs, server, proxy }) {
    await expectLogs(logs, { ordered: ['connect success', 'close success', CLOSE_NORMAL] });
    await until(() => server.closes.length === 1, 'server close', logs);
    assert.deepEqual(proxy.targets, [`127.0.0.1:${server.port}`]);
    const { headers } = server.requests[0];
    assert.deepEqual([headers.name1, headers.name2, headers.name3], ['value1', 'value2', 'value3']);
    assert.equal(headers['sec-websocket-protocol'], 'my-protocol');
    assert.deepEqual(server.received, []);
    assert.deepEqual(server.closes, [{ code: 1000, reason: 'CLOSE_NORMAL' }]);
  },
});

// 002-02: `(BusinessError<void>, value: ...) =>` is a syntax error; the example cannot be compiled or run.
covered.add('002-02-full-example.ts');
test('002-02-full-example.ts: does not parse (doc error, see seeds/README.md)', () => {
  assert.throws(() => compile('002-02-full-example.ts'), SyntaxError);
});

// 003-02: like 001-02 without options: close() inside the connect callback (R50) → no open, no send,
// server sees close 1000 "CLOSE_NORMAL", close event 1000 / CLOSE_NORMAL.
example('003-02-full-example.ts', 'close inside the connect callback gives a clean close (R50)', {
  server: 'echo',
  async run({ logs, server }) {
    await expectLogs(logs, { ordered: ['connect success', 'close success', CLOSE_NORMAL] });
    await until(() => server.closes.length === 1, 'server close', logs);
    assert.equal(server.requests.length, 1);
    assert.deepEqual(server.received, []);
    assert.deepEqual(server.closes, [{ code: 1000, reason: 'CLOSE_NORMAL' }]);
  },
});

// 004-01 (guide): open logs JSON.stringify(value) = {"status":101,"message":"Switching Protocols"} (R57).
example('004-01-guide-example.ts', 'guide flow against a "bye" server (R57, R59, R49, R61)', {
  server: 'bye',
  async run({ logs, server }) {
    await expectLogs(logs, {
      ordered: [
        'Connected successfully',
        'on open, status:{"status":101,"message":"Switching Protocols"}',
        'on message, message:Hello, server!',
        'on message, message:bye',
        'Connection closed successfully',
        CLOSE_NORMAL,
      ],
      unordered: ['Message send successfully'],
    });
    await until(() => server.closes.length === 1, 'server close', logs);
    assert.deepEqual(texts(server), ['Hello, server!']);
    assert.deepEqual(server.closes, [{ code: 1000, reason: 'CLOSE_NORMAL' }]);
  },
});

// The doc's own URL "ws://" kept (empty host): connect fails at once with −1 "Websocket connect failed"; an
// `error` event {code 200, data "0"} follows if a listener is set (R16 step 7, R63, R64); no open, no close.
// 001-02 and 003-02 then close() the IDLE instance → 2302999 (R51). 001-02's proxy is redirected to a local
// proxy so that nothing can leave loopback; it must not be contacted.
const ON_ERROR_0 = `on error, error:${EVT_200('0')}`;
for (const [file, ordered, unordered = []] of [
  ['000-02-full-example.ts', [`connect fail, err:${ERR_M1}`, ON_ERROR_0]],
  ['001-02-full-example.ts', [`connect fail, err:${ERR_M1}`, ON_ERROR_0], [`close fail, err is ${ERR_2302999}`]],
  ['003-02-full-example.ts', [`connect fail, err:${ERR_M1}`, ON_ERROR_0], [`close fail, err is ${ERR_2302999}`]],
  ['004-01-guide-example.ts', [`Connection failed. Err:${ERR_M1}`, ON_ERROR_0]],
  ...byTopic('connect-callback').map((f) => [f, [`connect fail, err:${ERR_M1}`]]),
  ...byTopic('connect-promise').map((f) => [f, [`connect fail, error:${ERR_M1}`]]),
]) {
  const viaProxy = file === '001-02-full-example.ts';
  example(file, 'doc URL "ws://": −1 "Websocket connect failed" (R16 step 7, R63, R64)', {
    original: true,
    proxy: viaProxy,
    replace: viaProxy ? proxyReplace : undefined,
    async run({ logs, proxy }) {
      await expectLogs(logs, { ordered, unordered });
      if (proxy) assert.deepEqual(proxy.targets, []);
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// connect

// connect(url, cb) / connect(url) promise: "connect success" only (true = attempt started, R19); the server
// sees one handshake. The connection stays open until the test's server is closed.
each([...byTopic('connect-callback'), ...byTopic('connect-promise')], 'connect succeeds with true (R13, R19)', {
  server: 'echo',
  async run({ logs, server }) {
    await expectLogs(logs, { ordered: ['connect success'] });
    await until(() => server.requests.length === 1, 'the handshake', logs);
  },
});

// 000-05 / 003-05: `let header: Map` is never assigned; `header.set(...)` throws before connect is called.
each(['000-05-connect-options.ts', '003-05-connect-options.ts'], 'throws TypeError before connecting (doc error)', {
  server: 'echo',
  throws: /TypeError: .*'set'/,
  async run({ logs, server }) {
    await tick();
    assert.deepEqual(logs, []);
    assert.equal(server.requests.length, 0);
  },
});
// 001-05 / 002-05: the options variable is always undefined → connect(url, undefined, cb) → 401 (R14).
each(['001-05-connect-options.ts', '002-05-connect-options.ts'], 'undefined options → 401 (R13, R14)', {
  server: 'echo',
  async run({ logs, server }) {
    await expectLogs(logs, { ordered: [`connect fail, err:${ERR_401}`] });
    assert.equal(server.requests.length, 0);
  },
});

// ---------------------------------------------------------------------------------------------------------
// send. 000/002/003 send inside the connect callback, i.e. while CONNECTING: queued, succeeds with true, and
// written right after the handshake (R44). 001 sends from the open listener (R24, R57).
const sendOld = (f) => !f.startsWith('001-');
each([...byTopic('send-callback'), ...byTopic('send-promise')].filter(sendOld), 'send while CONNECTING is queued (R44)', {
  server: 'echo',
  async run({ logs, server }) {
    await expectLogs(logs, { ordered: ['send success'] });
    await until(() => server.received.length === 1, 'the server to receive the text', logs);
    assert.deepEqual(texts(server), ['Hello, server!']);
  },
});
each(['001-07-send-callback.ts', '001-08-send-promise.ts'], 'connect → open 101 → send (R19, R57, R43)', {
  server: 'echo',
  async run({ logs, server }) {
    await expectLogs(logs, { ordered: ['connect success', OK101, 'send success'] });
    await until(() => server.received.length === 1, 'the server to receive the text', logs);
    assert.deepEqual(texts(server), ['Hello, server!']);
  },
});

// ---------------------------------------------------------------------------------------------------------
// close. A fresh instance is IDLE: close → 2302999 (R51); close(undefined, cb) → 401 (R46).
const idleClose = [...byTopic('close-callback'), '001-11-close-promise.ts', '002-11-close-promise.ts'];
each(idleClose, 'close on an idle instance → 2302999 (R51)', {
  async run({ logs }) {
    await expectLogs(logs, { ordered: [`close fail, err is ${ERR_2302999}`] });
  },
});
// 000/003 -10 and -11 assign to a never-assigned `options` variable: TypeError before close is called.
const unassigned = ['000-10-close-options.ts', '003-10-close-options.ts', '000-11-close-promise.ts', '003-11-close-promise.ts'];
each(unassigned, 'throws TypeError (unassigned options, doc error)', { throws: /TypeError: .*'code'/ });
each(['001-10-close-options.ts', '002-10-close-options.ts'], 'close(undefined, cb) → 401 (R46)', {
  async run({ logs }) {
    await expectLogs(logs, { ordered: [`close fail, err is ${ERR_401}`] });
  },
});

// ---------------------------------------------------------------------------------------------------------
// Listener examples: the example registers (or removes) a listener; the test drives the same instance.

// on('open'): after connecting, the listener logs status 101 and the reason phrase (R57).
each(byTopic('on-open'), 'open listener gets {status: 101, message} (R5, R57)', {
  server: 'echo',
  probe: 'ws',
  async run(ctx) {
    await driveConnect(ctx);
    await expectLogs(ctx.logs, { ordered: [OK101] });
    await driveClose(ctx);
  },
});
// off('open', callback1) right after on(): the listener is gone (R54). The test listens for `message` (which
// the example does not use); once the echo arrives, `open` would already have been delivered (R63).
each(byTopic('off-open'), 'removed open listener is not called (R54)', {
  server: 'echo',
  probe: 'ws',
  async run(ctx) {
    const got = listenMessages(ctx.probe);
    await driveConnect(ctx);
    await ctx.probe.send('ping');
    await until(() => got.length === 1, 'the echo', ctx.logs);
    assert.deepEqual(got, ['ping']);
    assert.deepEqual(ctx.logs, []);
    await driveClose(ctx);
  },
});
// on('message'): one call per message, text as string, binary as ArrayBuffer, in order (R43, R59).
each(byTopic('on-message'), 'message listener gets text and binary messages in order (R43, R59)', {
  server: 'echo',
  probe: 'ws',
  async run(ctx) {
    await driveConnect(ctx);
    await ctx.probe.send('hello');
    await ctx.probe.send(new Uint8Array([1, 2, 3]).buffer);
    await expectLogs(ctx.logs, {
      ordered: ['on message, message:hello', 'on message, message:[object ArrayBuffer]'],
    });
    await driveClose(ctx);
  },
});
// on('close'): 000/003 — the test closes while CONNECTING → close event 1000 / CLOSE_NORMAL (R48, R50).
each(['000-16-on-close.ts', '003-16-on-close.ts'], 'close event after a local close: 1000 CLOSE_NORMAL (R49, R50)', {
  server: 'echo',
  probe: 'ws',
  async run(ctx) {
    await driveConnect(ctx);
    await driveClose(ctx);
    await expectLogs(ctx.logs, { ordered: [CLOSE_NORMAL] });
  },
});
// 001: the server closes with 4000 "server says bye" → the close event carries the peer's status/reason (R61).
// 002: the server closes with 1001 and no reason → reason "The link is down" (R61).
for (const [f, code, reason, shown] of [
  ['001-16-on-close.ts', 4000, 'server says bye', 'server says bye'],
  ['002-16-on-close.ts', 1001, '', 'The link is down'],
]) {
  example(f, `peer close ${code} "${reason}" → close event "${shown}" (R61)`, {
    server: { onConnection: (sock) => sock.close(code, reason) },
    probe: 'ws',
    async run(ctx) {
      await driveConnect(ctx);
      await expectLogs(ctx.logs, { ordered: [`on close, code is ${code}, reason is ${shown}`] });
    },
  });
}
// on('error'): a refused connection → error event 200 with data "0"; a 404 answer → data "404" (R21, R64).
each(byTopic('on-error').filter((f) => f !== '001-18-on-error.ts'), 'error event for a refused port (R21, R64)', {
  probe: 'ws',
  async run(ctx) {
    await driveConnect(ctx, await refusedUrl());
    await expectLogs(ctx.logs, { ordered: [`on error, error:${EVT_200('0')}`] });
  },
});
each(['001-18-on-error.ts'], 'error event carries the HTTP status of a failed handshake (R21, R64)', {
  probe: 'ws',
  async run(ctx) {
    const s = await http404();
    ctx.cleanups.push(() => s.close());
    await driveConnect(ctx, s.url);
    await expectLogs(ctx.logs, { ordered: [`on error, error:${EVT_200('404')}`] });
  },
});
// on('dataEnd'): called once right after each `message` delivery, only when a message listener exists (R60);
// the test provides that message listener. 003-20's listener takes an `err` argument: it gets undefined.
for (const [f, line] of [
  ['001-20-on-dataend.ts', 'on dataEnd'],
  ['002-20-on-dataend.ts', 'on dataEnd'],
  ['003-20-on-dataend.ts', 'on dataEnd, error:undefined'],
]) {
  example(f, 'dataEnd follows every message (R5, R60)', {
    server: 'echo',
    probe: 'ws',
    async run(ctx) {
      const got = listenMessages(ctx.probe);
      await driveConnect(ctx);
      await ctx.probe.send('a');
      await ctx.probe.send('b');
      await until(() => got.length === 2 && ctx.logs.length === 2, 'two messages and two dataEnd calls', ctx.logs);
      assert.deepEqual(got, ['a', 'b']);
      assert.deepEqual(ctx.logs, [line, line]);
      await driveClose(ctx);
    },
  });
}
// on('headerReceive'): the 101 response headers, lower-case names, before open (R56).
each(['001-22-on-headerreceive.ts'], 'headerReceive gets the 101 response headers (R56)', {
  server: 'echo',
  probe: 'ws',
  async run(ctx) {
    await driveConnect(ctx);
    await until(() => ctx.logs.length === 1, 'the headerReceive log line', ctx.logs);
    const m = /^on headerReceive (.*)$/.exec(ctx.logs[0]);
    assert.ok(m, ctx.logs[0]);
    const headers = JSON.parse(m[1]);
    for (const k of Object.keys(headers)) assert.equal(k, k.toLowerCase());
    assert.equal(headers.upgrade, 'websocket');
    assert.match(headers.connection, /^upgrade$/i);
    assert.equal(typeof headers['sec-websocket-accept'], 'string');
    await driveClose(ctx);
  },
});

// off(type) without a listener registered: a silent no-op (R54); nothing is logged, nothing throws.
each(
  [...byTopic('off-message'), ...byTopic('off-close'), ...byTopic('off-error'), ...byTopic('off-dataend'), ...byTopic('off-headerreceive')],
  'off() of an unregistered type is a silent no-op (R54)',
  {},
);

test('every extracted example is exercised by this file', () => {
  assert.deepEqual(files.filter((f) => !covered.has(f)), []);
  assert.equal(files.length, 85);
});
