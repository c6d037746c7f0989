'use strict';
// What `send` accepts, for the client (R41, R42) and the server (S14): a primitive
// string or an ArrayBuffer of at most 5 242 864 bytes. Hand-written.

const { isArrayBuffer } = require('node:util').types;

/** R42: largest payload `send` accepts, in bytes (5 MiB − 16). */
const SEND_MAX_BYTES = 5 * 1024 * 1024 - 16;
/** The limit in force; only lib/testing.js changes it. */
let sendMaxBytes = SEND_MAX_BYTES;

function byteLengthOver(data, limit) {
  if (typeof data !== 'string') return data.byteLength > limit;
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most strings need no counting.
  if (data.length * 3 <= limit) return false;
  return Buffer.byteLength(data, 'utf8') > limit;
}

/** R41/R42: `true` when `data` may be sent. */
function isSendable(data) {
  if (typeof data !== 'string' && !isArrayBuffer(data)) return false;
  return !byteLengthOver(data, sendMaxBytes);
}

/** Test hook behind lib/testing.js; `undefined` restores R42's limit. */
function setSendMaxBytesForTests(bytes) {
  sendMaxBytes = bytes === undefined ? SEND_MAX_BYTES : bytes;
}

module.exports = { isSendable, setSendMaxBytesForTests };
