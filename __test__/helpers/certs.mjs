// Test PKI generated at test time with the `openssl` CLI (ECDSA P-256, valid for 2 days).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
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
