// wss:// against local TLS servers with a test PKI generated at test time (R69–R72, R27, R28, R29,
// R36). Trust through NODE_EXTRA_CA_CERTS needs a fresh process, so those cases run in a child.
// Also: validity periods, self-signed `req -x509` leaves via caPath, unusable caPath files, every
// client key form (helpers/certs.mjs makeExtraPki), wrong key passwords, SNI/ALPN.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import webSocket from '../index.js';
import { startTlsEchoServer, startEchoServer, recordEvents, closeQuietly, delay } from './helpers/servers.mjs';
import { E, assertBusinessError, expectResolvedTrue, expectRejection } from './helpers/assertions.mjs';
import { openSession, endSession, openAndCapture } from './helpers/client.mjs';
import { makeTestPki, makeExtraPki, pem } from './helpers/certs.mjs';
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
  let extra;
  const servers = {};
  before(async () => {
    pki = makeTestPki();
    extra = makeExtraPki(pki);
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

    it('R27: a caPath replaces NODE_EXTRA_CA_CERTS as trust anchor (other CA in caPath → error)', async () => {
      const r = await runClient(servers.local.url, { env: { NODE_EXTRA_CA_CERTS: pki.ca.cert }, options: { caPath: pki.otherCa.cert } });
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

    it('caPath is read at every connect: new contents under the same path take effect, sessions or not', async () => {
      // Configurations are reused (and TLS sessions resumed) per option set and file
      // contents; the same path with other contents must be verified afresh.
      const path = join(pki.dir, 'swapped-ca.pem');
      const trust = (pair) => writeFileSync(path, readFileSync(pair.cert));
      trust(pki.ca);
      await endSession(await openSession(servers.local.url, { caPath: path }));
      await endSession(await openSession(servers.local.url, { caPath: path }));
      trust(pki.otherCa);
      await expectFailure(servers.local.url, { caPath: path });
      trust(pki.ca);
      await endSession(await openSession(servers.local.url, { caPath: path }));
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
  /** The attempt ends with only an error event {200, "0"}; returns it (its `detail` explains). */
  async function expectTlsFailure(url, options) {
    const ws = webSocket.createWebSocket();
    const rec = recordEvents(ws);
    try {
      await expectResolvedTrue(ws.connect(url, options));
      const ev = await rec.waitFor('error');
      assertBusinessError(ev.value, E.EVENT, '0');
      await delay(QUIET_MS);
      assert.deepEqual(rec.types(), ['error'], `no open/close (${ev.value.detail})`);
      return ev.value;
    } finally {
      await closeQuietly(ws, rec);
    }
  }

  /** Opens and closes a session; fails with the error event's detail if it does not open. */
  async function expectOpen(url, options) {
    const ws = webSocket.createWebSocket();
    const rec = recordEvents(ws);
    try {
      await expectResolvedTrue(ws.connect(url, options));
      await Promise.race([rec.waitFor('open'), rec.waitFor('error')]);
      const err = rec.of('error')[0];
      assert.equal(err, undefined, `expected open, got error: ${err?.value.detail}`);
    } finally {
      await closeQuietly(ws, rec);
    }
  }

  describe('validity, self-signed caPath leaves, unusable caPath files (R27, R29, R70, R72)', () => {
    const more = {};
    before(async () => {
      for (const k of ['expired', 'notYetValid', 'selfSigned', 'selfSignedLocalhost', 'selfSignedExpired']) {
        more[k] = await startTlsEchoServer(pem(extra[k]));
      }
    });
    after(async () => {
      for (const s of Object.values(more)) await s.close();
    });

    it('expired server certificate → error (caPath trusts its CA); accepted with skipServerCertVerification', async () => {
      const err = await expectTlsFailure(more.expired.url, { caPath: pki.ca.cert });
      assert.match(err.detail, /expir|valid|date|time/i);
      await expectOpen(more.expired.url, { skipServerCertVerification: true });
    });

    it('not yet valid server certificate → error; accepted with skipServerCertVerification', async () => {
      await expectTlsFailure(more.notYetValid.localUrl, { caPath: pki.ca.cert });
      await expectOpen(more.notYetValid.localUrl, { skipServerCertVerification: true });
    });

    it('skipServerCertVerification wins over a caPath that does not trust the server', async () => {
      await expectOpen(servers.untrusted.url, { caPath: pki.ca.cert, skipServerCertVerification: true });
      await expectOpen(servers.local.url, { caPath: pki.otherCa.cert, skipServerCertVerification: true });
    });

    it('self-signed `req -x509` (CA:TRUE) leaf given as caPath: accepted for localhost and 127.0.0.1', async () => {
      await expectOpen(more.selfSigned.localUrl, { caPath: extra.selfSigned.cert });
      await expectOpen(more.selfSigned.url, { caPath: extra.selfSigned.cert });
    });

    it('self-signed leaf via caPath: a name it does not carry → error; the name it carries → open', async () => {
      await expectTlsFailure(more.selfSignedLocalhost.url, { caPath: extra.selfSignedLocalhost.cert }); // 127.0.0.1 not in it
      await expectOpen(more.selfSignedLocalhost.localUrl, { caPath: extra.selfSignedLocalhost.cert });
    });

    it('self-signed leaf: another self-signed caPath, no caPath, or expired → error', async () => {
      await expectTlsFailure(more.selfSigned.url, { caPath: extra.selfSignedLocalhost.cert });
      await expectTlsFailure(more.selfSigned.url, {});
      await expectTlsFailure(more.selfSignedExpired.url, { caPath: extra.selfSignedExpired.cert });
    });

    it('a caPath bundle (CA + self-signed leaf) trusts both', async () => {
      const bundle = join(pki.dir, 'bundle.pem');
      writeFileSync(bundle, Buffer.concat([readFileSync(pki.ca.cert), readFileSync(extra.selfSigned.cert)]));
      await expectOpen(servers.local.url, { caPath: bundle });
      await expectOpen(more.selfSigned.url, { caPath: bundle });
      await expectTlsFailure(servers.untrusted.url, { caPath: bundle });
    });

    it('a relative caPath resolves against process.cwd()', async () => {
      await expectOpen(servers.local.url, { caPath: relative(process.cwd(), pki.ca.cert) });
    });

    it('a caPath that is not a PEM certificate file → error event for wss (text, key only, directory); unused for ws', async () => {
      const text = join(pki.dir, 'not-a-pem.txt');
      writeFileSync(text, 'this is not a certificate\n');
      for (const caPath of [text, pki.ca.key, pki.dir]) {
        await expectTlsFailure(servers.local.url, { caPath });
      }
      const plain = await startEchoServer();
      try {
        await expectOpen(plain.url, { caPath: text });
      } finally {
        await plain.close();
      }
    });
  });

  describe('client certificate key forms (R28)', () => {
    let mtls;
    before(async () => {
      mtls = await startTlsEchoServer({ ...pem(pki.local), requestCert: true, rejectUnauthorized: true, ca: pem(pki.ca).cert });
    });
    after(async () => {
      await mtls?.close();
    });
    const find = (name) => extra.clientKeys.find((k) => k.name === name);
    const NAMES = [
      'RSA PKCS#8', 'RSA PKCS#1', 'RSA legacy PEM aes128', 'RSA legacy PEM aes192', 'RSA legacy PEM aes256',
      'RSA legacy PEM des3', 'RSA encrypted PKCS#8 PBKDF2 AES-256-CBC', 'RSA encrypted PKCS#8 PBKDF2 AES-128-CBC hmacWithSHA1',
      'RSA encrypted PKCS#8 PBKDF2 3DES', 'RSA encrypted PKCS#8 scrypt AES-256-CBC', 'EC SEC1', 'EC legacy PEM aes128',
      'EC legacy PEM des3', 'EC PKCS#8', 'EC encrypted PKCS#8 scrypt',
    ];

    for (const name of NAMES) {
      it(`${name} key: the server requiring a client certificate accepts it`, async () => {
        const k = find(name);
        const clientCert = { certPath: k.cert, keyPath: k.key };
        if (k.password !== undefined) clientCert.keyPassword = k.password;
        const before = mtls.requests.length;
        await expectOpen(mtls.localUrl, { caPath: pki.ca.cert, clientCert });
        await mtls.waitForRequests(before + 1);
        assert.equal(mtls.requests[before].authorized, true);
        assert.equal(mtls.requests[before].peerCertificate.subject.CN, k.cn);
      });
    }

    for (const name of ['RSA legacy PEM aes256', 'RSA encrypted PKCS#8 PBKDF2 AES-256-CBC', 'EC encrypted PKCS#8 scrypt', 'EC legacy PEM des3']) {
      it(`${name}: wrong or missing keyPassword → error event whose detail names the password`, async () => {
        const k = find(name);
        const before = mtls.requests.length;
        for (const keyPassword of ['wrong password', undefined]) {
          const clientCert = { certPath: k.cert, keyPath: k.key };
          if (keyPassword !== undefined) clientCert.keyPassword = keyPassword;
          const err = await expectTlsFailure(mtls.localUrl, { caPath: pki.ca.cert, clientCert });
          assert.match(err.detail ?? '', /password/i, `detail: ${err.detail}`);
        }
        assert.equal(mtls.requests.length, before, 'the server saw no handshake');
      });
    }

    it('keyPassword given for an unencrypted key is ignored', async () => {
      const k = find('EC SEC1');
      await endSession(await openAndCapture(mtls, mtls.localUrl, {
        caPath: pki.ca.cert, clientCert: { certPath: k.cert, keyPath: k.key, keyPassword: 'unused' },
      }));
    });

    it('a key that does not belong to the certificate, a file that is no key, a certPath without certificate → error event', async () => {
      const rsa = find('RSA PKCS#8');
      const ec = find('EC SEC1');
      await expectTlsFailure(mtls.localUrl, { caPath: pki.ca.cert, clientCert: { certPath: rsa.cert, keyPath: ec.key } });
      await expectTlsFailure(mtls.localUrl, { caPath: pki.ca.cert, clientCert: { certPath: rsa.cert, keyPath: pki.ca.cert } });
      await expectTlsFailure(mtls.localUrl, { caPath: pki.ca.cert, clientCert: { certPath: ec.key, keyPath: ec.key } });
    });

    it('a client certificate from a CA the server does not trust → error event', async () => {
      await expectTlsFailure(mtls.localUrl, { caPath: pki.ca.cert, clientCert: { certPath: pki.untrusted.cert, keyPath: pki.untrusted.key } });
    });

    it('missing keyPath file with an existing certPath → 2302002, no attempt', async () => {
      const ws = webSocket.createWebSocket();
      const before = mtls.requests.length;
      await expectRejection(
        ws.connect(mtls.localUrl, { caPath: pki.ca.cert, clientCert: { certPath: find('EC SEC1').cert, keyPath: join(pki.dir, 'missing.key') } }),
        E.CERT,
      );
      await delay(50);
      assert.equal(mtls.requests.length, before);
    });
  });

  describe('TLS versions, SNI, ALPN (R36, R69)', () => {
    it('minSupportTlsProtocol TLS_V_1_3 against a TLS 1.3 server → open with TLS 1.3', async () => {
      const tls13 = await startTlsEchoServer({ ...pem(pki.local), minVersion: 'TLSv1.3' });
      try {
        const s = await openAndCapture(tls13, tls13.url, { caPath: pki.ca.cert, minSupportTlsProtocol: webSocket.TlsProtocol.TLS_V_1_3 });
        await endSession(s);
        assert.equal(s.request.tlsVersion, 'TLSv1.3');
        const d = await openAndCapture(tls13, tls13.url, { caPath: pki.ca.cert });
        await endSession(d);
        assert.equal(d.request.tlsVersion, 'TLSv1.3', 'TLS 1.3 is also allowed by default');
      } finally {
        await tls13.close();
      }
    });

    it('TLS_V_1_0, TLS_V_1_1, other numbers and a non-number "3" all allow TLS 1.2', async () => {
      const tls12 = await startTlsEchoServer({ ...pem(pki.local), maxVersion: 'TLSv1.2' });
      try {
        for (const minSupportTlsProtocol of [0, 1, 7, -1, '3', null]) {
          const s = await openAndCapture(tls12, tls12.url, { caPath: pki.ca.cert, minSupportTlsProtocol });
          await endSession(s);
          assert.equal(s.request.tlsVersion, 'TLSv1.2', String(minSupportTlsProtocol));
        }
      } finally {
        await tls12.close();
      }
    });

    it('SNI is the URL host name, absent for an IP literal; no ALPN is offered', async () => {
      const seen = [];
      const srv = await startTlsEchoServer(pem(pki.local), {
        onHeaders: (headers, req) => seen.push({ sni: req.socket.servername, alpn: req.socket.alpnProtocol }),
      });
      try {
        await endSession(await openAndCapture(srv, srv.localUrl, { caPath: pki.ca.cert }));
        await endSession(await openAndCapture(srv, srv.url, { caPath: pki.ca.cert }));
        assert.equal(seen[0].sni, 'localhost');
        assert.ok(!seen[1].sni, `no SNI for 127.0.0.1, got ${seen[1].sni}`);
        for (const x of seen) assert.equal(x.alpn, false);
      } finally {
        await srv.close();
      }
    });
  });
});
