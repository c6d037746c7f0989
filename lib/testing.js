'use strict';
// Internal test hooks; not part of the public API and not exported from index.js.
// Usage: require('ohos-net-websocket/lib/testing.js').setHandshakeTimeoutMs(300).

const native = require('../binding.js');

/**
 * Shortens the 20 s bound on a whole connection attempt (R22) for attempts started
 * afterwards, in this process; 0 restores the spec's value.
 */
function setHandshakeTimeoutMs(ms) {
  native.setHandshakeTimeoutForTests(ms >>> 0);
}

module.exports = { setHandshakeTimeoutMs };
