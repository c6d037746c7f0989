// Module shape (R1, R8, R9, R39), the BusinessError shape (R2, R3), and the native loader telling the addon when the host is not Node.js.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import webSocket, { webSocket as named } from '../index.js';
import { startEchoServer, closedPort, recordEvents, closeQuietly, callbackCall } from './helpers/servers.mjs';
import { E, assertBusinessError, expectRejection, expectResolvedTrue, assertThrows401 } from './helpers/assertions.mjs';
import { run, transcript } from './helpers/process.mjs';

const require = createRequire(import.meta.url);

/** Static-ArkTS aliases a WebSocket MAY expose (R73). */
const OPTIONAL_ALIASES = [
  'onOpen', 'offOpen', 'onMessage', 'offMessage', 'onWebSocketClose', 'offWebSocketClose',
  'onWebSocketError', 'offWebSocketError', 'onDataEnd', 'offDataEnd', 'onHeaderReceive', 'offHeaderReceive',
];

/** Public (string-named, not `_`-prefixed) function properties along the prototype chain. */
function publicMethods(obj) {
  const names = new Set();
  for (let o = obj; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor' || name.startsWith('_')) continue;
      const desc = Object.getOwnPropertyDescriptor(o, name);
      if (typeof desc.value === 'function') names.add(name);
    }
  }
  return [...names].sort();
}

describe('module shape', () => {
  it('R1: the default export and the named export `webSocket` are the same namespace object', () => {
    assert.equal(typeof webSocket, 'object');
    assert.notEqual(webSocket, null);
    assert.equal(named, webSocket);
    assert.equal(typeof webSocket.createWebSocket, 'function');
    assert.equal(typeof webSocket.createWebSocketServer, 'function');
    assert.equal(typeof webSocket.TlsProtocol, 'object');
  });

  it('R1: CommonJS require gives the same object, also as .webSocket and .default', () => {
    const cjs = require('../index.js');
    assert.equal(cjs, webSocket);
    assert.equal(cjs.webSocket, webSocket);
    assert.equal(cjs.default, webSocket);
  });

  it('R39: TlsProtocol is a frozen plain object with the four enum values', () => {
    const tp = webSocket.TlsProtocol;
    assert.equal(Object.getPrototypeOf(tp), Object.prototype);
    assert.ok(Object.isFrozen(tp));
    assert.deepEqual({ ...tp }, { TLS_V_1_0: 0, TLS_V_1_1: 1, TLS_V_1_2: 2, TLS_V_1_3: 3 });
    assert.deepEqual(Object.keys(tp), ['TLS_V_1_0', 'TLS_V_1_1', 'TLS_V_1_2', 'TLS_V_1_3']);
    assert.throws(() => {
      tp.TLS_V_1_3 = 9; // ES modules are strict: writing a frozen property throws
    }, TypeError);
    assert.equal(tp.TLS_V_1_3, 3);
  });

  it('R8: createWebSocket ignores its arguments and returns a new object each time', () => {
    const a = webSocket.createWebSocket();
    const b = webSocket.createWebSocket(1, 'x', { header: { a: 'b' } }, () => {});
    const c = webSocket.createWebSocket(undefined, null);
    assert.equal(typeof a, 'object');
    assert.notEqual(a, null);
    assert.notEqual(a, b);
    assert.notEqual(b, c);
    for (const ws of [a, b, c]) {
      for (const m of ['connect', 'send', 'close', 'on', 'off']) assert.equal(typeof ws[m], 'function', m);
    }
  });

  it('R9: a WebSocket exposes connect/send/close/on/off (plus only the optional R73 aliases)', () => {
    const ws = webSocket.createWebSocket();
    const methods = publicMethods(ws);
    for (const m of ['connect', 'send', 'close', 'on', 'off']) assert.ok(methods.includes(m), `missing ${m}`);
    const allowed = new Set(['connect', 'send', 'close', 'on', 'off', ...OPTIONAL_ALIASES]);
    const extra = methods.filter((m) => !allowed.has(m));
    assert.deepEqual(extra, [], `unexpected public methods: ${extra.join(', ')}`);
  });

  describe('R8: instances are independent and start IDLE', () => {
    let server;
    before(async () => {
      server = await startEchoServer();
    });
    after(async () => {
      await server.close();
    });

    it('a new instance is IDLE: send → −1, close → 2302999', async () => {
      const ws = webSocket.createWebSocket('ignored');
      await expectRejection(ws.send('x'), E.SEND_STATE);
      await expectRejection(ws.close(), E.OTHER);
    });

    it('connecting one instance leaves another one IDLE', async () => {
      const a = webSocket.createWebSocket();
      const b = webSocket.createWebSocket();
      const recA = recordEvents(a);
      const recB = recordEvents(b);
      try {
        await expectResolvedTrue(a.connect(server.url));
        await recA.waitFor('open');
        await expectRejection(b.send('x'), E.SEND_STATE);
        await expectRejection(b.close(), E.OTHER);
        // and b can connect on its own while a is open
        await expectResolvedTrue(b.connect(server.url));
        await recB.waitFor('open');
        await expectResolvedTrue(b.send('from b'));
        const msg = await recB.waitFor('message');
        assert.equal(msg.value, 'from b');
        assert.equal(recA.of('message').length, 0, 'a must not see b\'s traffic');
      } finally {
        await closeQuietly(a, recA);
        await closeQuietly(b, recB);
      }
    });
  });
});

describe('R2/R3: BusinessError shape', () => {
  let server;
  before(async () => {
    server = await startEchoServer();
  });
  after(async () => {
    await server.close();
  });

  it('401 from a promise-mode connect: Error, name BusinessError, keys code,message, exact JSON', async () => {
    const ws = webSocket.createWebSocket();
    const err = await expectRejection(ws.connect(), E.PARAM);
    assert.equal(JSON.stringify(err), '{"code":401,"message":"Parameter error"}');
    assert.equal(typeof err.code, 'number');
    const desc = Object.getOwnPropertyDescriptor(err, 'code');
    assert.ok(desc && desc.enumerable, 'code is an own enumerable property');
    assert.ok(Object.getOwnPropertyDescriptor(err, 'message').enumerable, 'message is own enumerable');
  });

  it('401 from a callback-mode connect has the same shape', async () => {
    const ws = webSocket.createWebSocket();
    const out = callbackCall((cb) => ws.connect(null, cb));
    const [err, value] = await out.args;
    assertBusinessError(err, E.PARAM);
    assert.equal(value, undefined);
  });

  it('2302001 url error', async () => {
    const ws = webSocket.createWebSocket();
    const err = await expectRejection(ws.connect('hello'), E.URL);
    assert.equal(JSON.stringify(err), '{"code":2302001,"message":"Websocket url error"}');
  });

  it('2302002 certificate file does not exist', async () => {
    const ws = webSocket.createWebSocket();
    const err = await expectRejection(ws.connect(server.url, { caPath: '/nonexistent/ohos-ws/ca.pem' }), E.CERT);
    assert.equal(JSON.stringify(err), '{"code":2302002,"message":"Websocket certificate file does not exist"}');
  });

  it('2302003 connection already exist', async () => {
    const ws = webSocket.createWebSocket();
    const rec = recordEvents(ws);
    try {
      await expectResolvedTrue(ws.connect(server.url));
      const err = await expectRejection(ws.connect(server.url), E.EXISTS);
      assert.equal(JSON.stringify(err), '{"code":2302003,"message":"Websocket connection already exist"}');
      await rec.waitFor('open');
    } finally {
      await closeQuietly(ws, rec);
    }
  });

  it('−1 "Websocket connect failed" for an empty host', async () => {
    const ws = webSocket.createWebSocket();
    const err = await expectRejection(ws.connect('ws://'), E.EMPTY_HOST);
    assert.equal(JSON.stringify(err), '{"code":-1,"message":"Websocket connect failed"}');
  });

  it('−1 "Websocket Unknown Other Error" from send while IDLE', async () => {
    const ws = webSocket.createWebSocket();
    const err = await expectRejection(ws.send('x'), E.SEND_STATE);
    assert.equal(JSON.stringify(err), '{"code":-1,"message":"Websocket Unknown Other Error"}');
  });

  it('2302999 from close while IDLE', async () => {
    const ws = webSocket.createWebSocket();
    const err = await expectRejection(ws.close(), E.OTHER);
    assert.equal(JSON.stringify(err), '{"code":2302999,"message":"Websocket Unknown Other Error"}');
  });

  it('401 thrown by on/off is a BusinessError with a numeric code', () => {
    const ws = webSocket.createWebSocket();
    assertThrows401(() => ws.on(null, () => {}), 'on(null, fn)');
    assertThrows401(() => ws.off(null), 'off(null)');
    let thrown;
    try {
      ws.on('open');
    } catch (e) {
      thrown = e;
    }
    assert.equal(JSON.stringify(thrown), '{"code":401,"message":"Parameter error"}');
    assert.ok(thrown.code == '401'); // eslint-disable-line eqeqeq -- the XTS comparison (R52)
  });

  it('error event: code 200, message, data; keys code,message,data in order', async () => {
    const port = await closedPort();
    const ws = webSocket.createWebSocket();
    const rec = recordEvents(ws);
    await expectResolvedTrue(ws.connect(`ws://127.0.0.1:${port}`));
    const ev = await rec.waitFor('error');
    assertBusinessError(ev.value, E.EVENT, '0');
    assert.equal(JSON.stringify(ev.value), '{"code":200,"message":"Websocket connect failed","data":"0"}');
  });
});

describe('native loader (lib/native.js)', () => {
  // Counts calls of the addon's refuseLibuvPoll by wrapping the exports of the one .node the
  // loader dlopens, in a fresh process whose runtime markers are set as Bun's or Deno's are.
  const probe = (marker) => [
    'const dlopen = process.dlopen;',
    'let calls = 0;',
    'process.dlopen = function (module, ...rest) {',
    '  dlopen.call(this, module, ...rest);',
    '  const refuse = module.exports.refuseLibuvPoll;',
    '  module.exports.refuseLibuvPoll = () => { calls++; return refuse(); };',
    '};',
    marker,
    `require(${JSON.stringify(require.resolve('../lib/native.js'))});`,
    'console.log(calls);',
  ].join('\n');

  for (const [host, marker, expected] of [
    ['Node.js', '', '0'],
    ['Bun (process.versions.bun)', "Object.defineProperty(process.versions, 'bun', { value: '1.2.0', enumerable: true });", '1'],
    ['Deno (process.versions.deno)', "Object.defineProperty(process.versions, 'deno', { value: '2.1.0', enumerable: true });", '1'],
    ['Deno (globalThis.Deno)', 'globalThis.Deno = { version: {} };', '1'],
  ]) {
    it(`refuses the host's libuv exactly when the host is not Node.js: ${host}`, async () => {
      const r = await run(process.execPath, ['-e', probe(marker)]);
      assert.equal(r.code, 0, transcript(r));
      assert.equal(r.stdout.trim(), expected);
    });
  }
});
