'use strict';
// WebSocketRequestOptions: shape checks (401, R15) and reading of every field
// (R26–R38) into the plain object the native layer takes. Hand-written.

const fs = require('node:fs');
const path = require('node:path');
const { ERRORS } = require('./errors');

/** "object" in the OH sense: typeof object and not null (R13). */
function isObject(value) {
  return typeof value === 'object' && value !== null;
}

/** Thrown inside this module only; turned into a BusinessError by the caller. */
class OptionError {
  constructor(row) {
    this.row = row;
  }
}

function str(value) {
  return typeof value === 'string' ? value : '';
}

/** R26: own enumerable string keys whose value is a non-empty string, as name/value pairs. */
function readHeaders(header) {
  const flat = [];
  if (!isObject(header)) return flat;
  for (const name of Object.keys(header)) {
    const value = header[name];
    if (typeof value === 'string' && value !== '') flat.push(name, value);
  }
  return flat;
}

/**
 * One environment variable, or undefined where reading it is refused (Deno without
 * `--allow-env` throws): a proxy nobody may see is no proxy, not a failed connect.
 */
function envVar(name) {
  try {
    return process.env[name] || undefined;
  } catch {
    return undefined;
  }
}

/** R31: the environment's proxy variables, upper case first. */
function systemProxy() {
  return {
    mode: 'system',
    httpProxy: envVar('HTTP_PROXY') || envVar('http_proxy'),
    httpsProxy: envVar('HTTPS_PROXY') || envVar('https_proxy'),
    noProxy: envVar('NO_PROXY') || envVar('no_proxy'),
  };
}

/** R30–R32: the proxy choice; any bad shape is a 401. */
function readProxy(options) {
  if (!('proxy' in options)) return systemProxy();
  const proxy = options.proxy;
  if (proxy === 'system') return systemProxy();
  if (proxy === 'no-proxy') return { mode: 'no-proxy' };
  if (!isObject(proxy)) throw new OptionError(ERRORS.PARAMETER);
  const port = typeof proxy.port === 'number' ? proxy.port | 0 : 0;
  if (port < 0 || port > 65535) throw new OptionError(ERRORS.PARAMETER);
  const exclusionList = Array.isArray(proxy.exclusionList)
    ? proxy.exclusionList.filter((e) => typeof e === 'string')
    : [];
  return {
    mode: 'http',
    host: str(proxy.host),
    port,
    exclusionList,
    username: str(proxy.username),
    password: str(proxy.password),
  };
}

/**
 * Reads `options` (already known to be an object or undefined) into the native
 * shape. Throws OptionError for R15 parse failures and for missing files (R16 steps 3–4).
 */
function readOptions(url, options) {
  const o = isObject(options) ? options : {};
  if ('protocol' in o && typeof o.protocol !== 'string') throw new OptionError(ERRORS.PARAMETER);
  const proxy = readProxy(o);
  const caPath = str(o.caPath);
  const cert = isObject(o.clientCert) ? o.clientCert : null;
  const certPath = cert ? str(cert.certPath) : '';
  const keyPath = cert ? str(cert.keyPath) : '';
  const keyPassword = cert ? str(cert.keyPassword) : '';
  // R16 steps 3–4, checked even for ws:// (R27). Relative paths resolve against cwd.
  if (caPath !== '' && !fs.existsSync(path.resolve(caPath))) {
    throw new OptionError(ERRORS.CERT_FILE);
  }
  if (certPath !== '' && (!fs.existsSync(path.resolve(certPath)) || !fs.existsSync(path.resolve(keyPath)))) {
    throw new OptionError(ERRORS.CERT_FILE);
  }
  return {
    native: {
      url,
      headers: readHeaders(o.header),
      protocol: typeof o.protocol === 'string' ? o.protocol : undefined,
      caPath: caPath === '' ? undefined : path.resolve(caPath),
      certPath: certPath === '' ? undefined : path.resolve(certPath),
      keyPath: certPath === '' ? undefined : path.resolve(keyPath),
      keyPassword: certPath === '' ? undefined : keyPassword,
      skipServerCertVerification: o.skipServerCertVerification === true,
      // R35: ToUint32, so -1 becomes 4294967295.
      pingInterval: typeof o.pingInterval === 'number' ? o.pingInterval >>> 0 : undefined,
      pongTimeout: typeof o.pongTimeout === 'number' ? o.pongTimeout >>> 0 : undefined,
      tls13Only: o.minSupportTlsProtocol === 3,
      supportOriginPort: o.supportOriginPort === true,
      proxy,
    },
  };
}

module.exports = { isObject, readOptions, OptionError };
