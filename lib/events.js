'use strict';
// Listener slots (R4, R52–R55) and the decoding of native event batches (see
// src/runtime/events.rs for the producer side). Hand-written.

const { ERRORS, businessError, withDetail } = require('./errors');

/** Event kinds of a batch; must match `kind` in src/runtime/events.rs. */
const KIND = Object.freeze({
  HEADERS: 1,
  OPEN: 2,
  TEXT: 3,
  BINARY: 4,
  PEER_CLOSING: 5,
  ERROR: 6,
  FAILED: 7,
  CLOSE: 8,
  ACK_REQUEST: 9,
  CONN: 10,
  CONNECTED: 11,
  REFUSED: 12,
  STOPPED: 13,
  LARGE_TEXT: 14,
  LARGE_BINARY: 15,
});

/** R53: the event types a client listens to. */
const CLIENT_EVENTS = new Set(['open', 'openInfo', 'message', 'close', 'error', 'dataEnd', 'headerReceive']);

/**
 * R7: a listener that throws must not break the dispatch loop; its exception is
 * rethrown on its own tick so it still reaches `uncaughtException`.
 */
function invoke(fn, a, b, argc) {
  try {
    if (argc === 1) fn(a);
    else fn(a, b);
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}

/** One listener per type (R4). */
class Listeners {
  constructor(types) {
    this.types = types;
    this.slots = Object.create(null);
  }

  set(type, fn) {
    if (this.types.has(type)) this.slots[type] = fn;
  }

  remove(type, fn) {
    if (!this.types.has(type)) return;
    if (fn === undefined || this.slots[type] === fn) this.slots[type] = undefined;
  }

  get(type) {
    return this.slots[type];
  }

  /** `on(...args)` (R52, S2): exactly a string and a function, else a thrown 401. */
  on(args) {
    if (args.length !== 2 || typeof args[0] !== 'string' || typeof args[1] !== 'function') {
      throw businessError(ERRORS.PARAMETER);
    }
    this.set(args[0], args[1]);
  }

  /** `off(...args)` (R52, R54, S2): a string and optionally a function, else a thrown 401. */
  off(args) {
    const n = args.length;
    if (n < 1 || n > 2 || typeof args[0] !== 'string' || (n === 2 && typeof args[1] !== 'function')) {
      throw businessError(ERRORS.PARAMETER);
    }
    this.remove(args[0], args[1]);
  }
}

/** `headerReceive` value (R56): plain object, `set-cookie` as an array. */
function decodeHeaders(text) {
  const headers = {};
  if (text === '') return headers;
  const parts = text.split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const name = parts[i];
    const value = parts[i + 1];
    if (name === 'set-cookie') (headers[name] ||= []).push(value);
    else headers[name] = value;
  }
  return headers;
}

/** The `error` event value (R64, S20), with its `detail` (see withDetail). */
function eventError(status, detail) {
  return withDetail(businessError(ERRORS.EVENT, String(status)), detail);
}

/**
 * A server `error` event's error: exactly `{code: 200, message}` (S20; R64's `data` is a
 * client rule, spec table (d)), with the reason as the non-enumerable `detail`.
 */
function serverEventError(detail) {
  return withDetail(businessError(ERRORS.EVENT), detail);
}

/** Size of the receive buffer batches are copied into when it is (re)made small. */
const RX_SMALL_BYTES = 64 * 1024;
/** A receive buffer grown past this by a big batch is made small again afterwards. */
const RX_KEEP_BYTES = 2 * 1024 * 1024;
/**
 * The one buffer every batch of this thread is copied into (src/bindings/mod.rs,
 * `Delivery`). Sharing it is safe: a batch is dispatched synchronously and nothing
 * keeps a view of it (strings and ArrayBuffers handed to listeners are copies), and
 * batches are never delivered re-entrantly.
 */
let rx = null;
/** A plain Uint8Array view of `rx`: slicing one is the fast way to a fresh ArrayBuffer. */
let rxBytes = null;

function newRx(bytes) {
  rx = Buffer.allocUnsafeSlow(bytes);
  rxBytes = new Uint8Array(rx.buffer, rx.byteOffset, rx.length);
}

/**
 * Takes the batch that `handle` (a native connection or server) announced. Returns
 * `[meta, payload]`: a Uint32Array of (kind, length, extra) triples and a Buffer with
 * the payloads, both views of the shared receive buffer, valid until the next take.
 */
function takeBatch(handle) {
  if (rx === null || rx.length > RX_KEEP_BYTES) newRx(RX_SMALL_BYTES);
  let n = handle.takeEvents(rx);
  if (n < 0) {
    newRx(Math.max(-n, 2 * rx.length));
    n = handle.takeEvents(rx);
  }
  // allocUnsafeSlow gives an unpooled buffer at offset 0, so the words are aligned.
  const count = new Uint32Array(rx.buffer, rx.byteOffset, 1)[0];
  return [new Uint32Array(rx.buffer, rx.byteOffset + 4, count), rx.subarray(4 + 4 * count, n)];
}

/**
 * The value of a message event of a batch of `handle`: a string, or a fresh ArrayBuffer
 * of exactly the payload (R59, S12). TEXT and BINARY bytes are [start, end) of the
 * payload `buf` that takeBatch returned; the LARGE_* ones are taken from `handle`, in
 * order, so every one of those must be taken, listener or not
 * (src/runtime/core/events.rs). `undefined` when not `wanted` (nobody listens).
 */
function messageData(handle, kind, buf, start, end, wanted) {
  if (kind === KIND.LARGE_TEXT || kind === KIND.LARGE_BINARY) return handle.takeLarge();
  if (!wanted) return undefined;
  if (kind === KIND.TEXT) return utf8(buf, start, end);
  const base = buf.byteOffset - rx.byteOffset;
  return arrayBufferAt(rxBytes, base + start, base + end);
}

/**
 * A fresh ArrayBuffer holding bytes [start, end) of `bytes` (a plain Uint8Array view
 * of a batch): R59 wants one per binary message. A plain view's slice() is the
 * cheapest way here: ~370 ns per 64-byte message against ~1.2 µs for
 * ArrayBuffer#slice and ~500 ns for slicing the Buffer itself (its species).
 */
function arrayBufferAt(bytes, start, end) {
  return bytes.slice(start, end).buffer;
}

// Buffer#utf8Slice skips toString's argument normalisation; per small message it is
// the difference between ~90 ns and ~140 ns here (measured with 32-byte messages).
const utf8 = typeof Buffer.prototype.utf8Slice === 'function'
  ? (buf, start, end) => buf.utf8Slice(start, end)
  : (buf, start, end) => buf.toString('utf8', start, end);

module.exports = { KIND, CLIENT_EVENTS, Listeners, invoke, decodeHeaders, eventError, serverEventError, utf8, takeBatch, messageData };
