// Test PKI generated at test time with the `openssl` CLI (ECDSA P-256, valid for 2 days), plus
// makeExtraPki: certificates with past/future validity, self-signed `req -x509` leaves and client
// keys in every supported PEM form.
//
// Where no `openssl` can run (node.exe under wine), OHOS_WS_TEST_CERTS names a directory that
// writePremadePki() filled beforehand on a machine that has one: makeTestPki() then copies it,
// and every openssl step below is skipped — the same code names the same files, so a premade
// set and a generated one are laid out alike. Being generated shortly before the run matters:
// the validity periods are relative to that moment.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The directory of premade certificates, if the environment names one. */
const premade = process.env.OHOS_WS_TEST_CERTS || '';

function openssl(args, cwd) {
  if (premade) return;
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    // A machine without the CLI gets told what to install, not a bare ENOENT.
    if (err.code === 'ENOENT') {
      throw new Error('the TLS tests make their certificates with the `openssl` command, which is not on PATH: install OpenSSL (Debian/Ubuntu: `apt-get install openssl`)');
    }
    throw err;
  }
}

function makeCa(dir, name) {
  openssl(
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-sha256',
      '-subj', `/CN=ohos-net-websocket test ${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

let serial = 1000;

/**
 * A leaf certificate for `sans` (e.g. ['DNS:localhost', 'IP:127.0.0.1']) signed by `ca`.
 * `usage` 'server' or 'client' selects the extended key usage.
 */
function makeLeaf(dir, name, ca, sans, usage = 'server') {
  const eku = usage === 'client' ? 'clientAuth' : 'serverAuth';
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    `extendedKeyUsage=${eku}`,
    sans.length ? `subjectAltName=${sans.join(',')}` : '',
  ].join('\n');
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  openssl(
    [
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`,
    ],
    dir,
  );
  serial += 1;
  openssl(
    [
      'x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(serial),
      '-out', `${name}.pem`, '-days', '2', '-sha256', '-extfile', `${name}.ext`,
    ],
    dir,
  );
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

/** Reads the PEM files of a `{cert, key}` pair. */
export function pem(pair) {
  return { cert: readFileSync(pair.cert), key: readFileSync(pair.key) };
}

/**
 * Generates into a fresh temp dir:
 * - `ca`: the trusted test CA; `otherCa`: an unrelated CA nobody trusts;
 * - `local`: leaf for DNS:localhost + IP:127.0.0.1 signed by `ca`;
 * - `exampleOnly`: leaf for DNS:example.test only, signed by `ca`;
 * - `untrusted`: leaf for DNS:localhost + IP:127.0.0.1 signed by `otherCa`;
 * - `client`: client-auth leaf signed by `ca`, plus `encryptedKey` (same key, encrypted PKCS#8)
 *   and its `password`.
 * Each entry is `{cert, key}` (file paths). `cleanup()` removes the directory.
 */
export function makeTestPki() {
  const dir = mkdtempSync(join(tmpdir(), 'ohos-ws-pki-'));
  try {
    if (premade) cpSync(resolve(premade), dir, { recursive: true });
    const ca = makeCa(dir, 'ca');
    const otherCa = makeCa(dir, 'other-ca');
    const local = makeLeaf(dir, 'local', ca, ['DNS:localhost', 'IP:127.0.0.1']);
    const exampleOnly = makeLeaf(dir, 'example', ca, ['DNS:example.test']);
    const untrusted = makeLeaf(dir, 'untrusted', otherCa, ['DNS:localhost', 'IP:127.0.0.1']);
    const client = makeLeaf(dir, 'client', ca, [], 'client');
    // the client key again, as encrypted PKCS#8 (PBES2: PBKDF2 + AES-256-CBC), password "secret"
    openssl(
      ['pkcs8', '-topk8', '-in', 'client.key', '-out', 'client-enc.key', '-v2', 'aes-256-cbc', '-passout', 'pass:secret'],
      dir,
    );
    client.encryptedKey = join(dir, 'client-enc.key');
    client.password = 'secret';
    return {
      dir,
      ca,
      otherCa,
      local,
      exampleOnly,
      untrusted,
      client,
      cleanup() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** `YYYYMMDDHHMMSSZ` for now + `days` (negative = past), as `openssl ca -startdate` takes it. */
function caDate(days) {
  return `${new Date(Date.now() + days * 86_400_000).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** Minimal `openssl ca` setup in `dir/ca-db` (needed for explicit validity dates). */
function caConfig(dir) {
  const db = join(dir, 'ca-db');
  mkdirSync(db, { recursive: true });
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'serial'), '2000\n');
  const cnf = join(db, 'ca.cnf');
  writeFileSync(
    cnf,
    [
      '[ca]', 'default_ca = tca', '[tca]', `database = ${join(db, 'index.txt')}`, `serial = ${join(db, 'serial')}`,
      `new_certs_dir = ${db}`, 'default_md = sha256', 'policy = pol', 'unique_subject = no', 'copy_extensions = none',
      '[pol]', 'commonName = supplied', '',
    ].join('\n'),
  );
  return cnf;
}

/**
 * Signs a new EC key for `sans` with explicit validity `[fromDays, toDays]` relative to now.
 * `ca` null = self-signed (CA:TRUE, like `req -x509`).
 */
function makeDated(dir, cnf, name, ca, sans, fromDays, toDays) {
  const ext = ca
    ? ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth']
    : ['basicConstraints=critical,CA:TRUE'];
  writeFileSync(join(dir, `${name}.ext`), `${[...ext, `subjectAltName=${sans.join(',')}`].join('\n')}\n`);
  openssl(
    [
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`,
    ],
    dir,
  );
  const signer = ca ? ['-cert', ca.cert, '-keyfile', ca.key] : ['-selfsign', '-keyfile', `${name}.key`];
  openssl(
    [
      'ca', '-batch', '-config', cnf, ...signer, '-in', `${name}.csr`, '-out', `${name}.pem`, '-notext',
      '-startdate', caDate(fromDays), '-enddate', caDate(toDays), '-extfile', `${name}.ext`,
    ],
    dir,
  );
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

/** The common `openssl req -x509` self-signed recipe (CA:TRUE) for `sans`. */
function makeSelfSigned(dir, name, sans) {
  openssl(
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-sha256', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', `subjectAltName=${sans.join(',')}`,
    ],
    dir,
  );
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

/** A client-auth certificate signed by `ca` for an existing key file `keyFile` (in `dir`). */
function makeClientCertFor(dir, name, ca, keyFile) {
  writeFileSync(
    join(dir, `${name}.ext`),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
  );
  openssl(['req', '-new', '-key', keyFile, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  serial += 1;
  openssl(
    [
      'x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(serial),
      '-out', `${name}.pem`, '-days', '2', '-sha256', '-extfile', `${name}.ext`,
    ],
    dir,
  );
  return join(dir, `${name}.pem`);
}

/** Password of every encrypted client key made by makeExtraPki. */
export const KEY_PASSWORD = 'pa55 wörd';

/**
 * Adds to a makeTestPki() result (same directory, removed by its cleanup()):
 * - `expired` / `notYetValid`: leaves for DNS:localhost + IP:127.0.0.1 signed by `ca`, outside
 *   their validity period;
 * - `selfSigned`: `openssl req -x509` leaf (CA:TRUE) for DNS:localhost + IP:127.0.0.1;
 *   `selfSignedLocalhost`: same recipe for DNS:localhost only; `selfSignedExpired`: self-signed
 *   CA:TRUE for both names, expired;
 * - `clientKeys`: `[{name, cert, key, password?, cn}]`, one client-auth certificate per key
 *   type (RSA `client-rsa`, EC `client-ec`) and that key in every PEM form: PKCS#8, PKCS#1,
 *   SEC1, encrypted PKCS#8 (PBKDF2 AES-256/AES-128-SHA1/3DES, scrypt) and legacy OpenSSL
 *   encryption (AES-128/192/256-CBC, DES-EDE3-CBC); encrypted ones use KEY_PASSWORD.
 */
export function makeExtraPki(pki) {
  const dir = pki.dir;
  const cnf = caConfig(dir);
  const both = ['DNS:localhost', 'IP:127.0.0.1'];
  const extra = {
    expired: makeDated(dir, cnf, 'expired', pki.ca, both, -3, -1),
    notYetValid: makeDated(dir, cnf, 'future', pki.ca, both, 1, 3),
    selfSigned: makeSelfSigned(dir, 'self-signed', both),
    selfSignedLocalhost: makeSelfSigned(dir, 'self-signed-localhost', ['DNS:localhost']),
    selfSignedExpired: makeDated(dir, cnf, 'self-signed-expired', null, both, -3, -1),
  };
  const pass = `pass:${KEY_PASSWORD}`;
  const keys = [];
  const add = (name, cert, cn, file, password) => keys.push({ name, cert, cn, key: join(dir, file), password });
  // RSA: genrsa writes PKCS#8 in OpenSSL 3
  openssl(['genrsa', '-out', 'rsa.p8.key', '2048'], dir);
  const rsaCert = makeClientCertFor(dir, 'client-rsa', pki.ca, 'rsa.p8.key');
  add('RSA PKCS#8', rsaCert, 'client-rsa', 'rsa.p8.key');
  openssl(['rsa', '-in', 'rsa.p8.key', '-traditional', '-out', 'rsa.p1.key'], dir);
  add('RSA PKCS#1', rsaCert, 'client-rsa', 'rsa.p1.key');
  for (const cipher of ['aes128', 'aes192', 'aes256', 'des3']) {
    openssl(['rsa', '-in', 'rsa.p8.key', '-traditional', `-${cipher}`, '-passout', pass, '-out', `rsa.legacy-${cipher}.key`], dir);
    add(`RSA legacy PEM ${cipher}`, rsaCert, 'client-rsa', `rsa.legacy-${cipher}.key`, KEY_PASSWORD);
  }
  const pkcs8Variants = [
    ['PBKDF2 AES-256-CBC', ['-v2', 'aes-256-cbc']],
    ['PBKDF2 AES-128-CBC hmacWithSHA1', ['-v2', 'aes-128-cbc', '-v2prf', 'hmacWithSHA1']],
    ['PBKDF2 3DES', ['-v2', 'des3']],
    ['scrypt AES-256-CBC', ['-scrypt', '-v2', 'aes-256-cbc']],
  ];
  pkcs8Variants.forEach(([label, args], i) => {
    openssl(['pkcs8', '-topk8', '-in', 'rsa.p8.key', ...args, '-passout', pass, '-out', `rsa.enc${i}.key`], dir);
    add(`RSA encrypted PKCS#8 ${label}`, rsaCert, 'client-rsa', `rsa.enc${i}.key`, KEY_PASSWORD);
  });
  // EC P-256: SEC1 plain and legacy-encrypted, PKCS#8 plain and encrypted
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.sec1.key'], dir);
  const ecCert = makeClientCertFor(dir, 'client-ec', pki.ca, 'ec.sec1.key');
  add('EC SEC1', ecCert, 'client-ec', 'ec.sec1.key');
  for (const cipher of ['aes128', 'des3']) {
    openssl(['ec', '-in', 'ec.sec1.key', `-${cipher}`, '-passout', pass, '-out', `ec.legacy-${cipher}.key`], dir);
    add(`EC legacy PEM ${cipher}`, ecCert, 'client-ec', `ec.legacy-${cipher}.key`, KEY_PASSWORD);
  }
  openssl(['pkcs8', '-topk8', '-nocrypt', '-in', 'ec.sec1.key', '-out', 'ec.p8.key'], dir);
  add('EC PKCS#8', ecCert, 'client-ec', 'ec.p8.key');
  openssl(['pkcs8', '-topk8', '-in', 'ec.sec1.key', '-scrypt', '-passout', pass, '-out', 'ec.scrypt.key'], dir);
  add('EC encrypted PKCS#8 scrypt', ecCert, 'client-ec', 'ec.scrypt.key', KEY_PASSWORD);
  extra.clientKeys = keys;
  return extra;
}

/**
 * Generates the whole PKI of makeTestPki() and makeExtraPki() with the `openssl` CLI into `dest`
 * (replacing what was there), for a later run with OHOS_WS_TEST_CERTS=`dest`.
 */
export function writePremadePki(dest) {
  if (premade) throw new Error('writePremadePki generates with openssl: unset OHOS_WS_TEST_CERTS');
  const pki = makeTestPki();
  try {
    makeExtraPki(pki);
    rmSync(dest, { recursive: true, force: true });
    cpSync(pki.dir, dest, { recursive: true });
  } finally {
    pki.cleanup();
  }
}
