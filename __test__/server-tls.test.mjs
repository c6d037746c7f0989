// A `wss` server (S4.4): serverCert with PKCS#8, PKCS#1 and SEC1 keys made at test time
// with the openssl CLI, reached by this package's client (verifying against the test
// CA) and by the npm `ws` client; unusable material is refused at start.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { webSocket } from './helpers/client.mjs';
import { makeTestPki } from './helpers/certs.mjs';
import { assertBusinessError } from './helpers/assertions.mjs';
import { SE, localConfig, startServer, wsClient, wsClosed } from './helpers/server.mjs';
import { withTimeout } from './helpers/servers.mjs';
import testing from '../lib/testing.js';
import net from 'node:net';

let pki;
before(() => {
  pki = makeTestPki();
});
after(() => pki.cleanup());

function openssl(args) {
  execFileSync('openssl', args, { cwd: pki.dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed certificate for 127.0.0.1 over `keyFile` (already in pki.dir). */
function selfSigned(keyFile, name) {
  openssl(['req', '-x509', '-key', keyFile, '-out', `${name}.pem`, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1']);
  return join(pki.dir, `${name}.pem`);
}

/** Our client against `url`, trusting `caPath`: resolves with the echoed text. */
async function ohosEcho(url, caPath) {
  const ws = webSocket.createWebSocket();
  const result = new Promise((resolve, reject) => {
    ws.on('open', () => ws.send('over tls'));
    ws.on('message', (err, v) => {
      ws.close();
      resolve(v);
    });
    ws.on('error', (err) => reject(new Error(`error event: ${err.detail}`)));
  });
  const closed = new Promise((r) => ws.on('close', r));
  await ws.connect(url, { caPath });
  const got = await withTimeout(result, 5000, 'echo over TLS');
  await withTimeout(closed, 5000, 'close');
  return got;
}

async function echoServer(certPath, keyPath) {
  const started = await startServer(localConfig({ serverCert: { certPath, keyPath } }));
  started.server.on('messageReceive', ({ data, clientConnection }) => started.server.send(data, clientConnection));
  return { ...started, wss: `wss://127.0.0.1:${started.port}` };
}

describe('wss server', () => {
  it('PKCS#8 key, CA-signed chain: this package\'s client verifies it and echoes', async () => {
    const { server, wss } = await echoServer(pki.local.cert, pki.local.key);
    assert.equal(await ohosEcho(wss, pki.ca.cert), 'over tls');
    await server.stop();
  });

  it('the npm ws client over TLS, with localhost as the host name', async () => {
    const { server, port } = await echoServer(pki.local.cert, pki.local.key);
    const ws = await wsClient(`wss://localhost:${port}`, { ca: readFileSync(pki.ca.cert) });
    ws.send('hi');
    await new Promise((r) => ws.once('message', r));
    assert.deepEqual(ws.received, ['hi']);
    ws.close(1000, 'done');
    assert.deepEqual(await wsClosed(ws), { code: 1000, reason: 'done' });
    await server.stop();
  });

  it('PKCS#1 (RSA) and SEC1 (EC) keys', async () => {
    openssl(['genrsa', '-traditional', '-out', 'rsa.pkcs1.key', '2048']);
    assert.match(readFileSync(join(pki.dir, 'rsa.pkcs1.key'), 'utf8'), /BEGIN RSA PRIVATE KEY/);
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.sec1.key']);
    assert.match(readFileSync(join(pki.dir, 'ec.sec1.key'), 'utf8'), /BEGIN EC PRIVATE KEY/);
    for (const [key, name] of [['rsa.pkcs1.key', 'rsa'], ['ec.sec1.key', 'ec']]) {
      const cert = selfSigned(key, name);
      const { server, wss } = await echoServer(cert, join(pki.dir, key));
      assert.equal(await ohosEcho(wss, cert), 'over tls', name);
      await server.stop();
    }
  });

  it('a plain ws:// client against a wss server fails its handshake; the server goes on', async (t) => {
    const { server, url, wss } = await echoServer(pki.local.cert, pki.local.key);
    t.after(() => server.stop());
    const ws = webSocket.createWebSocket();
    const failed = new Promise((r) => ws.on('error', r));
    await ws.connect(url);
    // A client's error event carries R64's `data`; a server's does not (S20).
    assertBusinessError(await withTimeout(failed, 5000, 'error event'), SE.EVENT, '0');
    assert.equal(await ohosEcho(wss, pki.ca.cert), 'over tls');
  });

  it('a TLS client that stalls in its handshake is cut off by the handshake bound', async () => {
    testing.setHandshakeTimeoutMs(300);
    try {
      const { server, port } = await echoServer(pki.local.cert, pki.local.key);
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      const closed = new Promise((r) => socket.once('close', r));
      socket.write(Buffer.from([0x16, 0x03, 0x01])); // the start of a ClientHello, then nothing
      await withTimeout(closed, 5000, 'stalled TLS client cut off');
      await server.stop();
    } finally {
      testing.setHandshakeTimeoutMs(0);
    }
  });

  it('a certificate that does not match its key, or a key that is not PEM, is refused at start with 2302999', async () => {
    const junk = join(pki.dir, 'junk.key');
    writeFileSync(junk, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    for (const keyPath of [pki.client.key, junk]) {
      const server = webSocket.createWebSocketServer();
      const err = await server.start(localConfig({ serverCert: { certPath: pki.local.cert, keyPath } })).catch((e) => e);
      assertBusinessError(err, SE.OTHER);
      assert.ok(err.detail.length > 0);
      assert.equal(server.address(), null);
    }
  });
});
