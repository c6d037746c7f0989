// Type-level tests of the hand-written index.d.ts.
//  * every seed example under __test__/seeds/ that is valid TypeScript compiles under --strict;
//  * the exclusion list of __test__/seeds/tsconfig.json is honest (each excluded file fails, no other does);
//  * the check can fail at all (a wrong call is rejected);
//  * the documented import styles (R1) type-check under the usual module settings.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const SEEDS = join(ROOT, '__test__', 'seeds');
const SEEDS_TSCONFIG = join(SEEDS, 'tsconfig.json');
const INDEX_DTS = join(ROOT, 'index.d.ts');
const SHIMS = ['kit-networkkit', 'ohos-net-websocket', 'kit-basicserviceskit', 'ohos-base', 'console'].map((n) =>
  join(SEEDS, 'shims', `${n}.d.ts`),
);

const TMP = mkdtempSync(join(tmpdir(), 'ohos-ws-typings-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

/** Runs tsc with the given arguments; returns {status, output}. */
function tsc(args) {
  const r = spawnSync(TSC, [...args, '--pretty', 'false'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Writes a tsconfig plus the given source files into a fresh directory under TMP and returns that directory. */
function project(name, compilerOptions, files) {
  const dir = join(TMP, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  const config = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: 'es2020',
      lib: ['es2020'],
      types: [],
      paths: { 'ohos-net-websocket': [INDEX_DTS] },
      ...compilerOptions,
    },
    files: Object.keys(files),
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
  return dir;
}

/** Writes `config` as TMP/<name>/tsconfig.json and returns its path. */
function rawConfig(name, config) {
  const dir = join(TMP, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
  return join(dir, 'tsconfig.json');
}

/** Files that have at least one `error TSxxxx` in tsc output (base names). */
function filesWithErrors(output) {
  const set = new Set();
  for (const m of output.matchAll(/^(.+?\.[cm]?ts)\(\d+,\d+\): error TS\d+/gm)) set.add(basename(m[1]));
  return set;
}

test('every seed example outside the exclusion list type-checks with tsc --strict', () => {
  const { status, output } = tsc(['-p', SEEDS_TSCONFIG, '--noEmit', '--strict']);
  assert.equal(status, 0, `tsc -p __test__/seeds/tsconfig.json failed:\n${output}`);
});

test('the exclusion list is exact: each excluded example fails, every other one passes', () => {
  const excluded = JSON.parse(readFileSync(SEEDS_TSCONFIG, 'utf8')).exclude;
  assert.ok(Array.isArray(excluded) && excluded.length > 0, 'tsconfig.json has an exclude list');
  const readme = readFileSync(join(SEEDS, 'README.md'), 'utf8');
  for (const f of excluded) assert.ok(readme.includes(`| ${f} |`), `${f} is excluded but not explained in README.md`);

  // A syntax error stops tsc before the semantic check, so the unparsable example is checked on its own.
  const syntaxOnly = '002-02-full-example.ts';
  assert.ok(excluded.includes(syntaxOnly));
  const s = tsc(['-p', rawConfig('syntax', { extends: SEEDS_TSCONFIG, include: [join(SEEDS, syntaxOnly), ...SHIMS], exclude: [] })]);
  assert.notEqual(s.status, 0, `${syntaxOnly} was expected to fail:\n${s.output}`);
  assert.match(s.output, /002-02-full-example\.ts\(\d+,\d+\): error TS1005/);

  const allConfig = { extends: SEEDS_TSCONFIG, include: [join(SEEDS, '*.ts'), ...SHIMS], exclude: [join(SEEDS, syntaxOnly)] };
  const all = tsc(['-p', rawConfig('all', allConfig)]);
  const failing = filesWithErrors(all.output);
  const expected = new Set(excluded.filter((f) => f !== syntaxOnly));
  assert.deepEqual([...failing].sort(), [...expected].sort(), `files failing tsc differ from the exclude list:\n${all.output}`);
});

test('the check can fail: a wrong call into the typings is a tsc error', () => {
  const dir = project('negative', { module: 'esnext', moduleResolution: 'bundler' }, {
    'neg.ts': [
      "import { webSocket } from 'ohos-net-websocket';",
      'const ws = webSocket.createWebSocket();',
      'ws.connect(123);',
      '',
    ].join('\n'),
  });
  const { status, output } = tsc(['-p', join(dir, 'tsconfig.json')]);
  assert.notEqual(status, 0, 'tsc accepted ws.connect(123)');
  assert.match(output, /neg\.ts\(3,\d+\): error TS\d+: Argument of type 'number'/, output);
});

// Mistakes the typings must reject (each line carries @ts-expect-error, so an accepted mistake fails tsc)
// and correct usages they must accept, compiled under several module settings.
const CONSUMER_TS = `
import webSocket from 'ohos-net-websocket';
import { webSocket as named, createWebSocket, TlsProtocol } from 'ohos-net-websocket';
import type { BusinessError, AsyncCallback, Callback, ErrorCallback, CloseResult } from 'ohos-net-websocket';

const ws: webSocket.WebSocket = webSocket.createWebSocket();
const ws2: named.WebSocket = named.createWebSocket();
const ws3 = createWebSocket();
const tls: webSocket.TlsProtocol = webSocket.TlsProtocol.TLS_V_1_3;
const tls2: TlsProtocol = TlsProtocol.TLS_V_1_2;
const opts: webSocket.WebSocketRequestOptions = {
  header: { 'X-A': 'b' }, caPath: '', clientCert: { certPath: 'c.pem', keyPath: 'k.pem', keyPassword: 'p' },
  proxy: { host: '127.0.0.1', port: 8080, exclusionList: ['*.local'], username: 'u', password: 'p' },
  protocol: 'chat', skipServerCertVerification: false, pingInterval: 30, pongTimeout: 30,
  minSupportTlsProtocol: tls, supportOriginPort: true,
};
const viaSystem: webSocket.WebSocketRequestOptions = { proxy: 'system' };
const direct: webSocket.WebSocketRequestOptions = { proxy: 'no-proxy' };
const cb: AsyncCallback<boolean> = (err: BusinessError, ok: boolean) => { void err.code; void ok; };
ws.connect('ws://127.0.0.1:1', cb);
ws.connect('ws://127.0.0.1:1', opts, cb);
const p1: Promise<boolean> = ws.connect('ws://127.0.0.1:1');
const p2: Promise<boolean> = ws.connect('ws://127.0.0.1:1', viaSystem);
ws.send('text', cb);
const p3: Promise<boolean> = ws.send(new ArrayBuffer(4));
ws.close(cb);
ws.close({ code: 1000, reason: 'bye' }, cb);
const p4: Promise<boolean> = ws.close();
ws.on('open', (err, value) => { void value.status; void value.message; });
ws.on('open', (err: BusinessError, value: Object) => { void value; });
ws.on('openInfo', (err, info) => { void info.protocol?.length; void info.status; });
ws.on('message', (err, data) => { if (typeof data !== 'string') void data.byteLength; });
ws.on('close', (err, res: CloseResult) => { void res.code; void res.reason; });
ws.on('error', (err) => { void err.code; void err.message; });
const onErr: ErrorCallback = (e) => { void e; };
ws.on('error', onErr);
ws.on('dataEnd', () => {});
const onEnd: Callback<void> = (data?: void) => { void data; };
ws.on('dataEnd', onEnd);
ws.on('headerReceive', (h: webSocket.ResponseHeaders) => { void h['set-cookie']; });
ws.off('open'); ws.off('openInfo'); ws.off('message'); ws.off('close'); ws.off('error'); ws.off('dataEnd', onEnd);
ws.off('headerReceive'); ws.off('error', onErr);

// @ts-expect-error the URL must be a string
ws.connect(123);
// @ts-expect-error data must be a string or an ArrayBuffer (R41)
ws.send(new Uint8Array(4));
// @ts-expect-error unknown event type
ws.on('bogus', () => {});
// @ts-expect-error message listener must accept ArrayBuffer too (R59)
ws.on('message', (err: BusinessError, value: string) => { void value; });
// @ts-expect-error proxy strings other than 'system' / 'no-proxy' are 401 (R30)
const badProxy: webSocket.WebSocketRequestOptions = { proxy: 'http://proxy:8080' };
// @ts-expect-error TlsProtocol values are 0..3
const badTls: webSocket.TlsProtocol = 4;

export { ws2, ws3, tls2, direct, p1, p2, p3, p4, badProxy, badTls };
`;

for (const [module, moduleResolution, esModuleInterop] of [
  ['commonjs', 'node10', false],
  ['commonjs', 'node10', true],
  ['esnext', 'bundler', false],
  ['preserve', 'bundler', true],
]) {
  test(`import styles and call shapes type-check (module ${module}, esModuleInterop ${esModuleInterop})`, () => {
    const dir = project(`consumer-${module}-${esModuleInterop}`, { module, moduleResolution, esModuleInterop }, {
      'consumer.ts': CONSUMER_TS,
    });
    const { status, output } = tsc(['-p', join(dir, 'tsconfig.json')]);
    assert.equal(status, 0, output);
  });
}

test('import styles type-check under module nodenext (ESM importer and CommonJS importer)', () => {
  const dir = project('consumer-nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }, {
    'esm.mts': [
      "import webSocket from 'ohos-net-websocket';",
      "import { webSocket as named, createWebSocket, TlsProtocol } from 'ohos-net-websocket';",
      'const a: webSocket.WebSocket = webSocket.createWebSocket();',
      'const b: named.WebSocket = named.createWebSocket();',
      'const c = createWebSocket();',
      'const t: webSocket.TlsProtocol = webSocket.TlsProtocol.TLS_V_1_3;',
      'const t2: TlsProtocol = TlsProtocol.TLS_V_1_0;',
      "a.on('close', (err, v: webSocket.CloseResult) => { void v.code; });",
      'export { a, b, c, t, t2 };',
      '',
    ].join('\n'),
    'cjs.cts': [
      'declare function require(id: string): unknown;',
      "import whole = require('ohos-net-websocket');",
      "const { webSocket } = require('ohos-net-websocket') as typeof import('ohos-net-websocket');",
      'const x: whole.WebSocket = whole.createWebSocket();',
      'const y: whole.webSocket.CloseResult = { code: 1000, reason: "" };',
      'const z = whole.default.createWebSocket();',
      'const w = webSocket.createWebSocket();',
      'export { x, y, z, w };',
      '',
    ].join('\n'),
  });
  const { status, output } = tsc(['-p', join(dir, 'tsconfig.json')]);
  assert.equal(status, 0, output);
});

// The WebSocketServer usage of the OpenHarmony API 19+ reference (no seed carries it),
// written the way those docs write it, plus the Node extension address().
const SERVER_TS = `
import { webSocket } from 'ohos-net-websocket';
import type { BusinessError } from 'ohos-net-websocket';

let localServer: webSocket.WebSocketServer;
let config: webSocket.WebSocketServerConfig = {
  serverIP: '0.0.0.0',
  serverPort: 8080,
  maxConcurrentClientsNumber: 10,
  maxConnectionsForOneClient: 10,
};
const secure: webSocket.WebSocketServerConfig = {
  serverPort: 0,
  serverCert: { certPath: '/tmp/cert.pem', keyPath: '/tmp/key.pem' },
  protocol: 'chat',
  maxConcurrentClientsNumber: 1,
  maxConnectionsForOneClient: 1,
};
localServer = webSocket.createWebSocketServer();
localServer.start(config).then((success: boolean) => {
  console.info('start ' + success);
}).catch((error: BusinessError) => {
  console.error('start failed ' + JSON.stringify(error));
});
localServer.on('connect', async (connection: webSocket.WebSocketConnection) => {
  console.info(connection.clientIP + ':' + connection.clientPort);
  const all: webSocket.WebSocketConnection[] = await localServer.listAllConnections();
  const first: webSocket.WebSocketConnection = localServer.listAllConnections()[0];
  void all; void first;
});
localServer.on('messageReceive', (message: webSocket.WebSocketMessage) => {
  const connection: webSocket.WebSocketConnection = message.clientConnection;
  localServer.send(message.data, connection).then((ok: boolean) => void ok);
});
localServer.on('close', (clientConnection: webSocket.WebSocketConnection, closeReason: webSocket.CloseResult) => {
  console.info(closeReason.code + ' ' + closeReason.reason);
});
localServer.on('error', (error: BusinessError) => console.error(JSON.stringify(error)));
localServer.close({ clientIP: '127.0.0.1', clientPort: 1 }, { code: 1000, reason: 'bye' });
localServer.off('connect');
localServer.off('close');
const addr = localServer.address();
const port: number | undefined = addr?.port;
localServer.stop().then((ok: boolean) => void ok);

// @ts-expect-error serverPort is required
const noPort: webSocket.WebSocketServerConfig = { maxConcurrentClientsNumber: 1, maxConnectionsForOneClient: 1 };
// @ts-expect-error the server's methods are promise-only (S2)
localServer.send('x', { clientIP: '', clientPort: 0 }, () => {});
// @ts-expect-error unknown server event
localServer.on('message', () => {});

export { secure, port, noPort };
`;

test('the API 19+ server usage type-checks, and wrong server calls are tsc errors', () => {
  const dir = project('server-usage', { module: 'esnext', moduleResolution: 'bundler' }, {
    'server.ts': SERVER_TS,
    'console.d.ts': 'declare const console: { info(...a: unknown[]): void; error(...a: unknown[]): void };\n',
  });
  const { status, output } = tsc(['-p', join(dir, 'tsconfig.json')]);
  assert.equal(status, 0, output);
});
