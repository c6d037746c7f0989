// wss:// against local TLS servers with a test PKI generated at test time (R69–R72, R27, R28, R29,
// R36). Trust through NODE_EXTRA_CA_CERTS needs a fresh process, so those cases run in a child.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import webSocket from '../index.js';
import { startTlsEchoServer, recordEvents, closeQuietly, delay } from './helpers/servers.mjs';
import { E, assertBusinessError, expectResolvedTrue } from './helpers/assertions.mjs';
import { openSession, endSession } from './helpers/client.mjs';
import { makeTestPki, pem } from './helpers/certs.mjs';
import { runChild, describe as describeChild } from './helpers/child.mjs';

const QUIET_MS = 300;

/**
 * Child client: connects to argv[2] (options JSON in argv[3]), sends "hello tls" on open,
 * closes on the echo; reports every event; exits shortly after close or error.
 */
const CLIENT_SCRIPT = `
const url = process.argv[2];
const options = JSON.parse(process.argv[3] || 'null');
const ws = webSocket.createWebSocket();
ws.on('headerReceive', () => emit('headerReceive'));
ws.on('open', (err, value) => { emit('open', { value }); ws.send('hello tls'); });
ws.on('message', (err, data) => { emit('message', { data }); ws.close(); });
ws.on('close', (err, value) => { emit('close', { value }); setTimeout(() => process.exit(0), 50); });
ws.on('error', (err) => {
  emit('error', { code: err.code, message: err.message, data: err.data });
  setTimeout(() => process.exit(0), ${QUIET_MS});
});
(options ? ws.connect(url, options) : ws.connect(url)).then(
  (v) => emit('settled', { value: v }),
  (e) => emit('rejected', { code: e.code, message: e.message }),
);
`;

function runClient(url, { env = {}, options } = {}) {
  return runChild(CLIENT_SCRIPT, {
    env,
    args: [url, JSON.stringify(options ?? null)],
    timeout: 20_000,
  });
}

function evNames(result) {
  return result.events.map((e) => e.ev);
}

describe('tls (wss://)', () => {
  let pki;
  const servers = {};
  before(async () => {
    pki = makeTestPki();
    servers.local = await startTlsEchoServer(pem(pki.local));
    servers.untrusted = await startTlsEchoServer(pem(pki.untrusted));
    servers.example = await startTlsEchoServer(pem(pki.exampleOnly));
  });
  after(async () => {
    for (const s of Object.values(servers)) await s.close();
    pki?.cleanup();
  });

  describe('trust through NODE_EXTRA_CA_CERTS (child process)', () => {
    it('trusted CA, IP SAN: open, echo, close', async () => {
      const r = await runClient(servers.local.url, { env: { NODE_EXTRA_CA_CERTS: pki.ca.cert } });
      assert.equal(r.timedOut, false, describeChild(r));
      assert.deepEqual(evNames(r), ['settled', 'headerReceive', 'open', 'message', 'close'], describeChild(r));
      assert.equal(r.events[0].value, true);
      assert.deepEqual(r.events.find((e) => e.ev === 'open').value, { status: 101, message: 'Switching Protocols' });
      assert.equal(r.events.find((e) => e.ev === 'message').data, 'hello tls');
      assert.deepEqual(r.events.find((e) => e.ev === 'close').value, { code: 1000, reason: 'CLOSE_NORMAL' });
      assert.equal(r.code, 0);
    });

    it('wss://localhost:PORT works with the localhost SAN', async () => {
      const r = await runClient(servers.local.localUrl, { env: { NODE_EXTRA_CA_CERTS: pki.ca.cert } });
      assert.deepEqual(evNames(r), ['settled', 'headerReceive', 'open', 'message', 'close'], describeChild(r));
    });

    it('certificate from an untrusted CA → error event only', async () => {
      const r = await runClient(servers.untrusted.url, { env: { NODE_EXTRA_CA_CERTS: pki.ca.cert } });
      assert.deepEqual(evNames(r), ['settled', 'error'], describeChild(r));
      const err = r.events[1];
      assert.equal(err.code, 200);
      assert.equal(err.message, 'Websocket connect failed');
      assert.equal(err.data, '0');
    });

    it('trusted chain but the name does not match (cert only for example.test) → error', async () => {
      const r = await runClient(servers.example.url, { env: { NODE_EXTRA_CA_CERTS: pki.ca.cert } });
      assert.deepEqual(evNames(r), ['settled', 'error'], describeChild(r));
      assert.equal(r.events[1].code, 200);
    });

    it('without NODE_EXTRA_CA_CERTS the test CA is not trusted → error', async () => {
      const r = await runClient(servers.local.url, { env: { NODE_EXTRA_CA_CERTS: undefined } });
      assert.deepEqual(evNames(r), ['settled', 'error'], describeChild(r));
    });
  });

  describe('caPath / skipServerCertVerification (in process)', () => {
    async function expectFailure(url, options) {
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectResolvedTrue(ws.connect(url, options));
        const ev = await rec.waitFor('error');
        assertBusinessError(ev.value, E.EVENT, '0');
        await delay(QUIET_MS);
        assert.deepEqual(rec.types(), ['error']);
      } finally {
        await closeQuietly(ws, rec);
      }
    }

    it('caPath naming the test CA: open, echo, close', async () => {
      const s = await openSession(servers.local.url, { caPath: pki.ca.cert });
      try {
        await expectResolvedTrue(s.ws.send('over tls'));
        assert.equal((await s.rec.waitFor('message')).value, 'over tls');
      } finally {
        await endSession(s);
      }
      assert.deepEqual(s.rec.of('close')[0].value, { code: 1000, reason: 'CLOSE_NORMAL' });
    });

    it('caPath makes that file the only trust anchor: another CA → error', async () => {
      await expectFailure(servers.local.url, { caPath: pki.otherCa.cert });
    });

    it('caPath with the right CA but a name mismatch → error', async () => {
      await expectFailure(servers.example.url, { caPath: pki.ca.cert });
    });

    it('skipServerCertVerification: true accepts an untrusted chain and a name mismatch', async () => {
      await endSession(await openSession(servers.untrusted.url, { skipServerCertVerification: true }));
      await endSession(await openSession(servers.example.url, { skipServerCertVerification: true }));
    });

    it('skipServerCertVerification given as a non-boolean is ignored (verification stays on)', async () => {
      await expectFailure(servers.untrusted.url, { skipServerCertVerification: 'true' });
    });
  });

  describe('client certificates and TLS versions (in process)', () => {
    it('R28: clientCert is presented to a server that requires one (plain and encrypted key)', async () => {
      const mtls = await startTlsEchoServer({ ...pem(pki.local), requestCert: true, rejectUnauthorized: true, ca: pem(pki.ca).cert });
      try {
        const s = await openSession(mtls.url, {
          caPath: pki.ca.cert,
          clientCert: { certPath: pki.client.cert, keyPath: pki.client.key },
        });
        await endSession(s);
        const s2 = await openSession(mtls.url, {
          caPath: pki.ca.cert,
          clientCert: { certPath: pki.client.cert, keyPath: pki.client.encryptedKey, keyPassword: pki.client.password },
        });
        await endSession(s2);
        await mtls.waitForRequests(2);
        for (const req of mtls.requests) {
          assert.equal(req.authorized, true);
          assert.equal(req.peerCertificate.subject.CN, 'client');
        }
      } finally {
        await mtls.close();
      }
    });

    it('R28: without a client certificate that server refuses the connection → error, no open', async () => {
      const mtls = await startTlsEchoServer({ ...pem(pki.local), requestCert: true, rejectUnauthorized: true, ca: pem(pki.ca).cert });
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectResolvedTrue(ws.connect(mtls.url, { caPath: pki.ca.cert }));
        const ev = await rec.waitFor('error');
        assert.equal(ev.value.code, 200);
        await delay(QUIET_MS);
        assert.equal(rec.of('open').length, 0);
        assert.equal(rec.of('close').length, 0);
      } finally {
        await closeQuietly(ws, rec);
        await mtls.close();
      }
    });

    it('R36: minSupportTlsProtocol TLS_V_1_3 refuses a TLS 1.2-only server; TLS_V_1_2 accepts it', async () => {
      const tls12 = await startTlsEchoServer({ ...pem(pki.local), maxVersion: 'TLSv1.2' });
      const ws = webSocket.createWebSocket();
      const rec = recordEvents(ws);
      try {
        await expectResolvedTrue(
          ws.connect(tls12.url, { caPath: pki.ca.cert, minSupportTlsProtocol: webSocket.TlsProtocol.TLS_V_1_3 }),
        );
        await rec.waitFor('error');
        assert.equal(rec.of('open').length, 0);
        const s = await openSession(tls12.url, { caPath: pki.ca.cert, minSupportTlsProtocol: webSocket.TlsProtocol.TLS_V_1_2 });
        await endSession(s);
        assert.equal(tls12.requests.at(-1).tlsVersion, 'TLSv1.2');
      } finally {
        await closeQuietly(ws, rec);
        await tls12.close();
      }
    });
  });
});
