'use strict';
// The ArkTS `WebSocketServer` (spec section (e), API 19+): argument checks with the
// exact BusinessErrors of S3–S15, the connection table that answers
// listAllConnections/send/close synchronously, and dispatch of the server-level event
// batches of src/runtime/core/events.rs. Hand-written.

const native = require('./native');
const { ERRORS, BusinessError, businessError, withDetail } = require('./errors');
const { isObject } = require('./options');
const { readServerConfig } = require('./server-config');
const { KIND, Listeners, invoke, serverEventError, utf8, takeBatch, messageData } = require('./events');
const { isSendable } = require('./payload');
const { SendTick } = require('./tick');

/** S2: the event types a server listens to. */
const SERVER_EVENTS = new Set(['connect', 'messageReceive', 'close', 'error']);

const STOPPED = 0;
const STARTED = 1;
const STOPPING = 2;

function reject(row) {
  return Promise.reject(businessError(row));
}

/** S14/S15: a WebSocketConnection argument: a string clientIP and a number clientPort. */
function isConnection(value) {
  return isObject(value) && typeof value.clientIP === 'string' && typeof value.clientPort === 'number';
}

function keyOf(clientIP, clientPort) {
  return `${clientIP}:${clientPort}`;
}

/** One open connection as JS tracks it. */
class Connection {
  constructor(id, clientIP, clientPort) {
    this.id = id;
    this.key = keyOf(clientIP, clientPort);
    /** The value handed to listeners (S10); the same object for all of its events. */
    this.value = { clientIP, clientPort };
    /** A close was requested or the client's close frame arrived (S14, S15). */
    this.closing = false;
  }
}

class WebSocketServer {
  #state = STOPPED;
  /** @type {import('../binding.js').NativeServer | null} */
  #native = null;
  /** @type {Map<string, Connection>} by "ip:port" */
  #byKey = new Map();
  /** @type {Map<number, Connection>} by native id */
  #byId = new Map();
  #resolveStop = null;
  #listeners = new Listeners(SERVER_EVENTS);
  #tick = new SendTick(() => {
    if (this.#native !== null) this.#native.flush();
  });

  start(...args) {
    const n = args.length;
    // S3: (config) or (config, flag: boolean); an explicit undefined flag is a 401 too.
    if ((n !== 1 && n !== 2) || !isObject(args[0]) || (n === 2 && typeof args[1] !== 'boolean')) {
      return reject(ERRORS.PARAMETER);
    }
    let options;
    try {
      options = readServerConfig(args[0]);
    } catch {
      return reject(ERRORS.PARAMETER);
    }
    // S5 [NODE]: a second start, or one while a stop is under way.
    if (this.#state !== STOPPED) return reject(ERRORS.UNKNOWN);
    let result;
    try {
      // Announced without arguments; taken from the native server (see websocket.js).
      let handle = null;
      result = native.startServer(options, () => this.#onBatch(handle));
      handle = result;
    } catch {
      return reject(ERRORS.UNKNOWN);
    }
    if (!(result instanceof native.NativeServer)) {
      return Promise.reject(withDetail(new BusinessError(result.code, result.message), result.detail));
    }
    this.#native = result;
    this.#state = STARTED;
    return Promise.resolve(true);
  }

  stop(...args) {
    // S6: OH reports even argument errors of stop as 2302999.
    if (args.length !== 0 || this.#state !== STARTED) return reject(ERRORS.UNKNOWN);
    this.#state = STOPPING;
    for (const conn of this.#byId.values()) conn.closing = true;
    this.#native.stop();
    return new Promise((resolve) => {
      this.#resolveStop = resolve;
    });
  }

  /** S13: synchronous, a fresh array of fresh objects, sorted by "ip:port". */
  listAllConnections() {
    const keys = [...this.#byKey.keys()].sort();
    return keys.map((key) => {
      const { clientIP, clientPort } = this.#byKey.get(key).value;
      return { clientIP, clientPort };
    });
  }

  /** S22 [NODE extension]: `{ address, family, port }` while started, else null. */
  address() {
    return this.#state === STARTED ? this.#native.address() : null;
  }

  send(...args) {
    if (args.length !== 2) return reject(ERRORS.PARAMETER);
    const [data, connection] = args;
    if (!isSendable(data) || !isConnection(connection)) return reject(ERRORS.PARAMETER);
    if (connection.clientIP === '') return reject(ERRORS.SEND_NOT_OPEN);
    const conn = this.#byKey.get(keyOf(connection.clientIP, connection.clientPort));
    if (conn === undefined) return reject(ERRORS.NO_CONNECTION);
    if (conn.closing) return reject(ERRORS.SEND_NOT_OPEN);
    const tryDirect = this.#tick.mayWriteDirect();
    const direct =
      typeof data === 'string'
        ? this.#native.sendText(conn.id, data, tryDirect)
        : this.#native.sendBinary(conn.id, data, tryDirect);
    this.#tick.sent(direct);
    return Promise.resolve(true);
  }

  close(...args) {
    const n = args.length;
    const [connection, options] = args;
    if ((n !== 1 && n !== 2) || !isConnection(connection) || (n === 2 && !isObject(options))) {
      // S2 [OH]: a function among the first two arguments gets the error instead.
      const cb = [args[0], args[1]].find((a) => typeof a === 'function');
      if (cb === undefined) return reject(ERRORS.PARAMETER);
      const err = businessError(ERRORS.PARAMETER);
      queueMicrotask(() => invoke(cb, err, undefined, 1)); // as settle() in websocket.js
      return undefined;
    }
    if (connection.clientIP === '') return reject(ERRORS.UNKNOWN);
    const conn = this.#byKey.get(keyOf(connection.clientIP, connection.clientPort));
    if (conn === undefined) return reject(ERRORS.NO_CONNECTION);
    if (conn.closing) return reject(ERRORS.UNKNOWN);
    conn.closing = true;
    const code = options && typeof options.code === 'number' ? options.code : undefined;
    const reason = options && typeof options.reason === 'string' ? options.reason : undefined;
    this.#native.close(conn.id, code, reason);
    return Promise.resolve(true);
  }

  on(...args) {
    this.#listeners.on(args);
  }

  off(...args) {
    this.#listeners.off(args);
  }

  #emit(type, value) {
    const fn = this.#listeners.get(type);
    if (fn !== undefined) invoke(fn, value, undefined, 1);
  }

  #stopped() {
    this.#state = STOPPED;
    this.#native = null;
    this.#byKey.clear();
    this.#byId.clear();
    const resolve = this.#resolveStop;
    this.#resolveStop = null;
    if (resolve !== null) resolve(true);
  }

  /** One server-level batch: runs of (kind, length, extra) triples, each run led by a CONN marker. */
  #onBatch(handle) {
    const [meta, buf] = takeBatch(handle);
    let offset = 0;
    let id = 0;
    /** @type {Connection | undefined} */
    let conn;
    let acks = null;
    for (let i = 0; i < meta.length; i += 3) {
      const kind = meta[i];
      const end = offset + meta[i + 1];
      const extra = meta[i + 2];
      switch (kind) {
        case KIND.CONN:
          id = extra;
          conn = this.#byId.get(id);
          break;
        case KIND.CONNECTED:
          conn = new Connection(id, utf8(buf, offset, end), extra);
          if (this.#state === STOPPING) conn.closing = true;
          this.#byId.set(id, conn);
          this.#byKey.set(conn.key, conn);
          this.#emit('connect', conn.value);
          break;
        case KIND.TEXT:
        case KIND.BINARY:
        case KIND.LARGE_TEXT:
        case KIND.LARGE_BINARY: {
          const onMessage = this.#listeners.get('messageReceive');
          const wanted = onMessage !== undefined && conn !== undefined;
          const data = messageData(handle, kind, buf, offset, end, wanted);
          if (wanted) {
            invoke(onMessage, { data, clientConnection: conn.value }, undefined, 1);
          }
          break;
        }
        case KIND.PEER_CLOSING:
          if (conn !== undefined) conn.closing = true;
          break;
        case KIND.ERROR:
        case KIND.REFUSED:
          this.#emit('error', serverEventError(utf8(buf, offset, end)));
          break;
        case KIND.CLOSE:
          if (conn !== undefined) {
            // S19: gone from listAllConnections before its close event.
            this.#byId.delete(id);
            this.#byKey.delete(conn.key);
            const reason = utf8(buf, offset, end);
            // S18 [NODE]: OH's runtime object names the field closeReason; d.ts says reason.
            const onClose = this.#listeners.get('close');
            if (onClose !== undefined) invoke(onClose, conn.value, { code: extra, reason, closeReason: reason }, 2);
            conn = undefined;
          }
          break;
        case KIND.ACK_REQUEST:
          (acks ??= []).push(id);
          break;
        case KIND.STOPPED:
          this.#stopped();
          break;
        default:
          break;
      }
      offset = end;
    }
    // A failing connection waits until the messages before its breach were handled
    // (see src/runtime/core/driver.rs).
    if (acks !== null && this.#native !== null) for (const a of acks) this.#native.ack(a);
  }
}

/** S1: a new, independent server. */
function createWebSocketServer() {
  return new WebSocketServer();
}

module.exports = { createWebSocketServer };
