// WebSocketServer start / stop / address (spec section (e): S1, S3–S7, S21 in-process,
// S22) and the OpenHarmony XTS start scenarios, against real clients on 127.0.0.1.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webSocket } from './helpers/client.mjs';
import { assertBusinessError, expectRejection } from './helpers/assertions.mjs';
import { SE, localConfig, startServer, wsClient, wsClosed } from './helpers/server.mjs';
import { withTimeout } from './helpers/servers.mjs';

const dir = mkdtempSync(join(tmpdir(), 'ohos-ws-server-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function startRejects(config, expected, ...rest) {
  const server = webSocket.createWebSocketServer();
  await expectRejection(server.start(config, ...rest), expected);
  assert.equal(server.address(), null, 'not listening after a failed start');
}

async function startsAndStops(config) {
  const server = webSocket.createWebSocketServer();
  assert.equal(await server.start(config), true);
  assert.notEqual(server.address(), null);
  assert.equal(await server.stop(), true);
}

describe('S1: createWebSocketServer', () => {
  it('returns a new, independent server each time', () => {
    const a = webSocket.createWebSocketServer();
    const b = webSocket.createWebSocketServer();
    assert.notEqual(a, b);
    for (const m of ['start', 'stop', 'listAllConnections', 'send', 'close', 'on', 'off', 'address']) {
      assert.equal(typeof a[m], 'function', m);
    }
    assert.equal(a.address(), null);
    assert.deepEqual(a.listAllConnections(), []);
  });
});

describe('S3: start arguments', () => {
  it('config must be a non-null object; flag, when passed, a boolean', async () => {
    const server = webSocket.createWebSocketServer();
    for (const args of [[], [null], [undefined], ['x'], [42], [localConfig(), undefined], [localConfig(), 'yes'], [localConfig(), true, 1]]) {
      await expectRejection(server.start(...args), SE.PARAM);
    }
    assert.equal(server.address(), null);
  });

  it('a boolean flag is accepted and ignored', async () => {
    const server = webSocket.createWebSocketServer();
    assert.equal(await server.start(localConfig(), false), true);
    assert.equal(await server.stop(), true);
  });

  it('a config getter that throws is a 401, not a throw', async () => {
    const config = localConfig();
    Object.defineProperty(config, 'serverPort', {
      get() {
        throw new Error('boom');
      },
    });
    await startRejects(config, SE.PARAM);
  });
});

describe('S4: config validation, in order', () => {
  it("S4.1: serverIP that is not an IP literal → 2302004 (XTS '0.0.0.0..')", async () => {
    for (const ip of ['0.0.0.0..', 'localhost', '1.2.3', '[::1]', ' 127.0.0.1']) {
      await startRejects(localConfig({ serverIP: ip }), SE.NIC);
    }
  });

  it("S4.1: absent, non-string or '' serverIP listens on 0.0.0.0 (XTS serverIP '0.0.0.0')", async () => {
    for (const serverIP of [undefined, '', 42, '0.0.0.0']) {
      const server = webSocket.createWebSocketServer();
      const config = localConfig({ serverIP });
      if (serverIP === undefined) delete config.serverIP;
      assert.equal(await server.start(config), true);
      assert.deepEqual({ ...server.address(), port: 0 }, { address: '0.0.0.0', family: 'IPv4', port: 0 });
      assert.equal(await server.stop(), true);
    }
  });

  it('S4.1: IPv6 literals work', async () => {
    const server = webSocket.createWebSocketServer();
    assert.equal(await server.start(localConfig({ serverIP: '::1' })), true);
    assert.equal(server.address().family, 'IPv6');
    assert.equal(server.address().address, '::1');
    const ws = await wsClient(`ws://[::1]:${server.address().port}`);
    ws.close();
    await server.stop();
  });

  it('S4.2: serverPort above 65535 after ToUint32 → 2302005 (XTS 123456489764556454)', async () => {
    for (const serverPort of [123456489764556454, 65536, 70000]) {
      await startRejects(localConfig({ serverPort }), SE.PORT);
    }
    // The address is checked before the port.
    await startRejects(localConfig({ serverIP: 'nope', serverPort: 70000 }), SE.NIC);
  });

  it('S4.2: a missing or non-number port is 0 (ephemeral); fractions are truncated', async () => {
    for (const serverPort of [undefined, '8080', null]) {
      const server = webSocket.createWebSocketServer();
      assert.equal(await server.start(localConfig({ serverPort })), true);
      assert.ok(server.address().port > 0);
      await server.stop();
    }
    const probe = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => probe.once('listening', r));
    const free = probe.address().port;
    await new Promise((r) => probe.close(r));
    const server = webSocket.createWebSocketServer();
    assert.equal(await server.start(localConfig({ serverPort: free + 0.75 })), true);
    assert.equal(server.address().port, free);
    await server.stop();
  });

  it('S4.3: a limit above 10 → 2302999 (XTS maxConnectionsForOneClient 11); ≤ 0 or absent → 10', async () => {
    await startRejects(localConfig({ maxConnectionsForOneClient: 11 }), SE.OTHER);
    await startRejects(localConfig({ maxConcurrentClientsNumber: 11 }), SE.OTHER);
    await startRejects(localConfig({ maxConcurrentClientsNumber: Infinity }), SE.OTHER);
    await startsAndStops(localConfig({ maxConcurrentClientsNumber: 0, maxConnectionsForOneClient: -5 }));
    await startsAndStops({ serverIP: '127.0.0.1', serverPort: 0 });
  });

  it('S4.4: a non-empty certPath whose files are missing → 2302002 (XTS)', async () => {
    const cert = join(dir, 'exists.pem');
    writeFileSync(cert, 'not really a certificate');
    await startRejects(localConfig({ serverCert: { certPath: join(dir, 'missing.pem'), keyPath: cert } }), SE.CERT);
    await startRejects(localConfig({ serverCert: { certPath: cert, keyPath: join(dir, 'missing.key') } }), SE.CERT);
    await startRejects(localConfig({ serverCert: { certPath: cert, keyPath: '' } }), SE.CERT);
    await startRejects(localConfig({ serverCert: { certPath: cert } }), SE.CERT);
    // Limits are checked before certificates.
    await startRejects(
      localConfig({ maxConnectionsForOneClient: 11, serverCert: { certPath: join(dir, 'missing.pem'), keyPath: '' } }),
      SE.OTHER,
    );
  });

  it('S4.4: existing files that are not a usable certificate → 2302999 with a detail', async () => {
    const bogus = join(dir, 'bogus.pem');
    writeFileSync(bogus, 'nothing to see');
    const server = webSocket.createWebSocketServer();
    const err = await server.start(localConfig({ serverCert: { certPath: bogus, keyPath: bogus } })).catch((e) => e);
    assertBusinessError(err, SE.OTHER);
    assert.match(err.detail, /certificate|PEM/i);
  });

  it("S4.4: an empty serverCert, or certPath '', is plain ws (XTS)", async () => {
    for (const serverCert of [{}, { certPath: '', keyPath: '' }, { certPath: 5 }, 'not an object']) {
      const { server, url } = await startServer(localConfig({ serverCert }));
      const ws = await wsClient(url);
      ws.close();
      await server.stop();
    }
  });

  it('XTS: start with a protocol resolves true', async () => {
    await startsAndStops(localConfig({ protocol: 'my-protocol' }));
  });
});

describe('S5: start state', () => {
  it('start while started or stopping → 2302999; after stop it may start again', async () => {
    const server = webSocket.createWebSocketServer();
    assert.equal(await server.start(localConfig()), true);
    await expectRejection(server.start(localConfig()), SE.OTHER);
    const stopping = server.stop();
    await expectRejection(server.start(localConfig()), SE.OTHER);
    assert.equal(await stopping, true);
    assert.equal(await server.start(localConfig()), true);
    assert.equal(await server.stop(), true);
  });
});

describe('S6: stop', () => {
  it('any argument, or not started → 2302999', async () => {
    const server = webSocket.createWebSocketServer();
    await expectRejection(server.stop(), SE.OTHER);
    await server.start(localConfig());
    await expectRejection(server.stop(undefined), SE.OTHER);
    await expectRejection(server.stop({}), SE.OTHER);
    assert.equal(await server.stop(), true);
    await expectRejection(server.stop(), SE.OTHER);
  });

  it('closes every connection with 1001 "server is going away", then resolves with everything gone', async () => {
    const { server, rec, url, port } = await startServer();
    const clients = [await wsClient(url), await wsClient(url), await wsClient(url)];
    for (let i = 0; i < 3; i++) await rec.next('connect');
    const before = server.listAllConnections();
    assert.equal(before.length, 3);
    assert.equal(await server.stop(), true);
    // Every close event came before the promise resolved.
    const closes = rec.of('close');
    assert.equal(closes.length, 3);
    for (const c of closes) assert.deepEqual({ ...c.result }, { code: 1001, reason: 'server is going away', closeReason: 'server is going away' });
    for (const ws of clients) assert.deepEqual(await wsClosed(ws), { code: 1001, reason: 'server is going away' });
    assert.deepEqual(server.listAllConnections(), []);
    assert.equal(server.address(), null);
    await expectRejection(server.send('x', before[0]), SE.NO_CONNECTION);
    // The port is free again.
    const again = net.createServer();
    await new Promise((resolve, reject) => again.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise((r) => again.close(r));
  });

  it('sends to a connection while stopping are refused with −1', async () => {
    const { server, rec, url } = await startServer();
    await wsClient(url);
    const { conn } = await rec.next('connect');
    const stopping = server.stop();
    await expectRejection(server.send('late', conn), SE.SEND_STATE);
    await expectRejection(server.close(conn), SE.OTHER);
    assert.equal(await stopping, true);
  });
});

describe('S7: bind errors', () => {
  it('address in use → 2302007', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    try {
      await startRejects(localConfig({ serverPort: taken.address().port }), SE.OCCUPIED);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it('two servers on one port: the second → 2302007', async () => {
    const first = await startServer();
    await startRejects(localConfig({ serverPort: first.port }), SE.OCCUPIED);
    await first.stop();
  });

  it('a valid IP that is not an address of this host → 2302004', async () => {
    // TEST-NET-1 (RFC 5737): never assigned to a local interface; bind fails at once.
    await startRejects(localConfig({ serverIP: '192.0.2.1' }), SE.NIC);
  });
});

describe('S22: address()', () => {
  it('is { address, family, port } while started, null otherwise', async () => {
    const server = webSocket.createWebSocketServer();
    assert.equal(server.address(), null);
    await server.start(localConfig());
    const a = server.address();
    assert.deepEqual(Object.keys(a), ['address', 'family', 'port']);
    assert.equal(a.address, '127.0.0.1');
    assert.equal(a.family, 'IPv4');
    assert.ok(Number.isInteger(a.port) && a.port > 0);
    const stopping = server.stop();
    assert.equal(server.address(), null, 'null from the moment stop is called');
    await withTimeout(stopping, 6000, 'stop');
  });
});
