'use strict';
// BusinessError objects and the error table of the spec, section (d). Hand-written.

/** Codes and exact runtime messages (R3). */
const ERRORS = Object.freeze({
  PARAMETER: [401, 'Parameter error'],
  CONNECT_FAILED: [-1, 'Websocket connect failed'],
  SEND_NOT_OPEN: [-1, 'Websocket Unknown Other Error'],
  EVENT: [200, 'Websocket connect failed'],
  URL: [2302001, 'Websocket url error'],
  CERT_FILE: [2302002, 'Websocket certificate file does not exist'],
  ALREADY_EXIST: [2302003, 'Websocket connection already exist'],
  UNKNOWN: [2302999, 'Websocket Unknown Other Error'],
  NIC: [2302004, "Can't listen to the given NIC"],
  PORT: [2302005, "Can't listen to the given Port"],
  NO_CONNECTION: [2302006, 'websocket connection does not exist'],
  PORT_OCCUPIED: [2302007, 'Websocket port already occupied'],
});

/**
 * R2: an Error whose own enumerable properties are `code`, then `message`, then
 * `data` when given, so JSON.stringify prints exactly what OpenHarmony prints.
 */
class BusinessError extends Error {
  constructor(code, message, data) {
    super();
    this.code = code;
    this.message = message;
    if (data !== undefined) this.data = data;
  }
}
Object.defineProperty(BusinessError.prototype, 'name', {
  value: 'BusinessError',
  writable: true,
  configurable: true,
});

/** A BusinessError for one row of ERRORS. */
function businessError([code, message], data) {
  return new BusinessError(code, message, data);
}

/**
 * Attaches `detail` (why, in words) as a non-enumerable property, so the error still
 * prints and serialises exactly as OpenHarmony's does.
 */
function withDetail(err, detail) {
  if (detail) Object.defineProperty(err, 'detail', { value: detail, writable: true, configurable: true });
  return err;
}

module.exports = { ERRORS, BusinessError, businessError, withDetail };
