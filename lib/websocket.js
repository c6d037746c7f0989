'use strict';
// The ArkTS `WebSocket` object: overload resolution (R13, R40, R46), the state
// machine mirror of spec A.6 that answers calls synchronously, settlement of
// callbacks and promises, and dispatch of native event batches. Hand-written.

const native = require('./native');
const { ERRORS, BusinessError, businessError } = require('./errors');
const { isObject, readOptions, OptionError } = require('./options');
const { KIND, CLIENT_EVENTS, Listeners, invoke, decodeHeaders, eventError, utf8, takeBatch, messageData } = require('./events');
const { isSendable } = require('./payload');
const { SendTick } = require('./tick');

const IDLE = 0;
const CONNECTING = 1;
const OPEN = 2;
const CLOSING = 3;

/** R39. */
const TlsProtocol = Object.freeze({ TLS_V_1_0: 0, TLS_V_1_1: 1, TLS_V_1_2: 2, TLS_V_1_3: 3 });

/**
 * Settles one call (A.3): `cb(err, undefined)` / `cb(undefined, true)` on a later tick
 * in callback mode (return undefined), otherwise a Promise.
 */
function settle(cb, err) {
  if (cb) {
    // A microtask, not process.nextTick: Deno does not drain the nextTick queue when a
    // Node-API call returns, so a callback would come after the events it precedes.
    queueMicrotask(() => cb(err, err ? undefined : true));
    return undefined;
  }
  return err ? Promise.reject(err) : Promise.resolve(true);
}

class WebSocket {
  #state = IDLE;
  /** @type {import('../binding.js').NativeConnection | null} */
  #conn = null;
  #openSuppressed = false;
  #listeners = new Listeners(CLIENT_EVENTS);
  /** Wakes the native task once per tick for all sends queued in it (see src/runtime/core/outbox.rs). */
  #tick = new SendTick(() => {
    if (this.#conn !== null) this.#conn.flush();
  });

  connect(...args) {
    const n = args.length;
    let cb = null;
    let url;
    let options;
    if (n === 2 && typeof args[1] === 'function') {
      cb = args[1];
      if (typeof args[0] !== 'string') return settle(cb, businessError(ERRORS.PARAMETER));
      url = args[0];
    } else if (n === 3 && typeof args[2] === 'function') {
      cb = args[2];
      if (typeof args[0] !== 'string' || !isObject(args[1])) return settle(cb, businessError(ERRORS.PARAMETER));
      [url, options] = args;
    } else if (n === 1 && typeof args[0] === 'string') {
      url = args[0];
    } else if (n === 2 && typeof args[0] === 'string' && isObject(args[1])) {
      [url, options] = args;
    } else {
      return settle(null, businessError(ERRORS.PARAMETER));
    }
    return settle(cb, this.#start(url, options));
  }

  /** R16 in order; returns the error, or undefined when the attempt started. */
  #start(url, options) {
    let read;
    try {
      read = readOptions(url, options);
    } catch (e) {
      // A getter that throws is a malformed options object too; nothing is thrown from
      // connect (A.3).
      return businessError(e instanceof OptionError ? e.row : ERRORS.PARAMETER);
    }
    if (this.#state !== IDLE) return businessError(ERRORS.ALREADY_EXIST);
    let result;
    try {
      // Events are announced by a call without arguments and taken from the native
      // connection, which exists by the time the first announcement runs.
      let conn = null;
      result = native.connect(read.native, () => this.#onBatch(conn));
      conn = result;
    } catch {
      // Only an internal failure (e.g. the I/O runtime could not start) gets here.
      return businessError(ERRORS.UNKNOWN);
    }
    if (!(result instanceof native.NativeConnection)) {
      const err = new BusinessError(result.code, result.message);
      if (result.code === ERRORS.CONNECT_FAILED[0]) {
        // R16 step 7 / R63: the rejection first, then the error event.
        setImmediate(() => this.#emit('error', eventError(0, 'the URL has no host'), undefined, 1));
      }
      return err;
    }
    this.#conn = result;
    this.#state = CONNECTING;
    this.#openSuppressed = false;
    return undefined;
  }

  send(...args) {
    const n = args.length;
    let cb = null;
    if (n === 2 && typeof args[1] === 'function') cb = args[1];
    else if (n === 1 && typeof args[0] === 'function') return settle(args[0], businessError(ERRORS.PARAMETER));
    else if (n !== 1) return settle(null, businessError(ERRORS.PARAMETER));
    const data = args[0];
    if (!isSendable(data)) return settle(cb, businessError(ERRORS.PARAMETER));
    if (this.#state !== OPEN && this.#state !== CONNECTING) {
      return settle(cb, businessError(ERRORS.SEND_NOT_OPEN));
    }
    const tryDirect = this.#tick.mayWriteDirect();
    const direct =
      typeof data === 'string' ? this.#conn.sendText(data, tryDirect) : this.#conn.sendBinary(data, tryDirect);
    this.#tick.sent(direct);
    return settle(cb, undefined);
  }

  close(...args) {
    const n = args.length;
    let cb = null;
    let options;
    if (n === 0) {
      // defaults
    } else if (n === 1 && typeof args[0] === 'function') {
      cb = args[0];
    } else if (n === 1 && isObject(args[0])) {
      options = args[0];
    } else if (n === 2 && typeof args[1] === 'function') {
      cb = args[1];
      if (!isObject(args[0])) return settle(cb, businessError(ERRORS.PARAMETER));
      options = args[0];
    } else {
      return settle(null, businessError(ERRORS.PARAMETER));
    }
    if (this.#state !== OPEN && this.#state !== CONNECTING) return settle(cb, businessError(ERRORS.UNKNOWN));
    // R50: closing while connecting hides open/openInfo of this attempt.
    if (this.#state === CONNECTING) this.#openSuppressed = true;
    this.#state = CLOSING;
    const code = options && typeof options.code === 'number' ? options.code : undefined;
    const reason = options && typeof options.reason === 'string' ? options.reason : undefined;
    this.#conn.close(code, reason);
    return settle(cb, undefined);
  }

  on(...args) {
    this.#listeners.on(args);
  }

  off(...args) {
    this.#listeners.off(args);
  }

  /** Calls the listener registered for `type` now, if any (R6). */
  #emit(type, a, b, argc) {
    const fn = this.#listeners.get(type);
    if (fn !== undefined) invoke(fn, a, b, argc);
  }

  #ended() {
    this.#state = IDLE;
    this.#conn = null;
  }

  /** One native batch: (kind, length, extra) triples over the payload bytes. */
  #onBatch(handle) {
    const [meta, buf] = takeBatch(handle);
    let offset = 0;
    let ackRequested = false;
    for (let i = 0; i < meta.length; i += 3) {
      const kind = meta[i];
      const end = offset + meta[i + 1];
      const extra = meta[i + 2];
      switch (kind) {
        case KIND.TEXT:
        case KIND.BINARY:
        case KIND.LARGE_TEXT:
        case KIND.LARGE_BINARY: {
          const onMessage = this.#listeners.get('message');
          const data = messageData(handle, kind, buf, offset, end, onMessage !== undefined);
          if (onMessage !== undefined) {
            invoke(onMessage, undefined, data, 2);
            // R60: dataEnd follows every delivered message.
            this.#emit('dataEnd', undefined, undefined, 1);
          }
          break;
        }
        case KIND.HEADERS:
          this.#emit('headerReceive', decodeHeaders(utf8(buf, offset, end)), undefined, 1);
          break;
        case KIND.OPEN: {
          if (this.#openSuppressed) break;
          this.#state = OPEN;
          const [message, protocol] = utf8(buf, offset, end).split('\0');
          this.#emit('open', undefined, { status: extra, message }, 2);
          const info = { status: extra, message };
          if (protocol) info.protocol = protocol;
          this.#emit('openInfo', undefined, info, 2);
          break;
        }
        case KIND.PEER_CLOSING:
          if (this.#state === OPEN) this.#state = CLOSING;
          break;
        case KIND.ERROR:
          this.#emit('error', eventError(0, utf8(buf, offset, end)), undefined, 1);
          break;
        case KIND.FAILED:
          this.#ended();
          this.#emit('error', eventError(extra, utf8(buf, offset, end)), undefined, 1);
          break;
        case KIND.CLOSE:
          this.#ended();
          this.#emit('close', undefined, { code: extra, reason: utf8(buf, offset, end) }, 2);
          break;
        case KIND.ACK_REQUEST:
          ackRequested = true;
          break;
        default:
          break;
      }
      offset = end;
    }
    // The task waits to fail a connection until the messages before the breach were
    // handled (and any answers queued): see src/runtime/driver.rs.
    if (ackRequested && this.#conn !== null) this.#conn.ack();
  }
}

/** R8: arguments are ignored. */
function createWebSocket() {
  return new WebSocket();
}

module.exports = { createWebSocket, TlsProtocol };
