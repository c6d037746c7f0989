'use strict';
// Internal test hooks; not part of the public API and not exported from index.js.
// Usage: require('ohos-net-websocket/lib/testing.js').setHandshakeTimeoutMs(300).

const native = require('./native');
const { setSendMaxBytesForTests } = require('./payload');

/**
 * Shortens the 20 s bound on a whole connection attempt (R22), and on a server's
 * handshake with each client, for handshakes started afterwards, in this process;
 * 0 restores the spec's value.
 */
function setHandshakeTimeoutMs(ms) {
  native.setHandshakeTimeoutForTests(ms >>> 0);
}

/**
 * Raises (or with `undefined` restores) the R42 send limit of 5 242 864 bytes, as the
 * Autobahn reference drivers lift their libraries' limits: the suite's 9.1.5/9.1.6/
 * 9.2.5/9.2.6 cases expect 8 and 16 MiB echoes.
 */
function setSendMaxBytes(bytes) {
  setSendMaxBytesForTests(bytes);
}

module.exports = { setHandshakeTimeoutMs, setSendMaxBytes };
