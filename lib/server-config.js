'use strict';
// WebSocketServerConfig: reading each field the way OpenHarmony reads it (S4) into
// the plain object the native layer validates and binds with. Hand-written.

const { isObject } = require('./options');

function str(value) {
  return typeof value === 'string' ? value : '';
}

/** S4.3 reads the limits as numbers; anything else means "use the default". */
function num(value) {
  return typeof value === 'number' ? value : undefined;
}

/**
 * The native options for `config` (already known to be a non-null object, S3).
 * A throwing getter propagates; the caller reports it as 401.
 */
function readServerConfig(config) {
  const ip = config.serverIP;
  const port = config.serverPort;
  const cert = config.serverCert;
  const protocol = config.protocol;
  return {
    // S4.1: absent, not a string, or '' → 0.0.0.0 (decided natively).
    serverIp: typeof ip === 'string' ? ip : undefined,
    // S4.2: ToUint32, a non-number is 0.
    serverPort: typeof port === 'number' ? port >>> 0 : 0,
    maxClients: num(config.maxConcurrentClientsNumber),
    maxPerClient: num(config.maxConnectionsForOneClient),
    // S4.4: only an object with a non-empty certPath turns TLS on.
    certPath: isObject(cert) ? str(cert.certPath) : undefined,
    keyPath: isObject(cert) ? str(cert.keyPath) : undefined,
    protocol: typeof protocol === 'string' ? protocol : undefined,
  };
}

module.exports = { readServerConfig };
