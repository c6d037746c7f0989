// BusinessError expectations (spec R2/R3, table (d)) and settlement helpers.
import assert from 'node:assert/strict';
import { withTimeout } from './servers.mjs';

/** Every `{code, message}` pair of spec table (d) the client can produce. */
export const E = Object.freeze({
  PARAM: { code: 401, message: 'Parameter error' },
  URL: { code: 2302001, message: 'Websocket url error' },
  CERT: { code: 2302002, message: 'Websocket certificate file does not exist' },
  EXISTS: { code: 2302003, message: 'Websocket connection already exist' },
  EMPTY_HOST: { code: -1, message: 'Websocket connect failed' },
  SEND_STATE: { code: -1, message: 'Websocket Unknown Other Error' },
  OTHER: { code: 2302999, message: 'Websocket Unknown Other Error' },
  EVENT: { code: 200, message: 'Websocket connect failed' },
});

/**
 * R2: an `Error` named `BusinessError` whose own enumerable keys are exactly `code`,
 * `message` (and `data` when given), in that order, so JSON.stringify gives OH's text.
 */
export function assertBusinessError(err, { code, message }, data) {
  assert.ok(err instanceof Error, `expected an Error instance, got ${typeof err}: ${safeString(err)}`);
  assert.equal(err.name, 'BusinessError');
  assert.equal(err.code, code, `code (message: ${err.message})`);
  assert.equal(err.message, message);
  if (data === undefined) {
    assert.deepEqual(Object.keys(err), ['code', 'message']);
    assert.equal(JSON.stringify(err), JSON.stringify({ code, message }));
  } else {
    assert.equal(err.data, data);
    assert.deepEqual(Object.keys(err), ['code', 'message', 'data']);
    assert.equal(JSON.stringify(err), JSON.stringify({ code, message, data }));
  }
}

function safeString(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** The value is a Promise that rejects with the given BusinessError (bounded wait). */
export async function expectRejection(promise, expected, data) {
  assert.ok(promise instanceof Promise, `expected a Promise, got ${safeString(promise)}`);
  const outcome = await withTimeout(
    promise.then(
      (v) => ({ resolved: v }),
      (e) => ({ rejected: e }),
    ),
    undefined,
    'promise settlement',
  );
  assert.ok('rejected' in outcome, `expected a rejection with ${expected.code}, resolved with ${safeString(outcome.resolved)}`);
  assertBusinessError(outcome.rejected, expected, data);
  return outcome.rejected;
}

/** The value is a Promise that resolves with exactly `true` (bounded wait). */
export async function expectResolvedTrue(promise) {
  assert.ok(promise instanceof Promise, `expected a Promise, got ${safeString(promise)}`);
  const outcome = await withTimeout(
    promise.then(
      (v) => ({ resolved: v }),
      (e) => ({ rejected: e }),
    ),
    undefined,
    'promise settlement',
  );
  assert.ok(!('rejected' in outcome), `expected resolution, rejected with ${safeString(outcome.rejected)}`);
  assert.equal(outcome.resolved, true);
}

/**
 * Checks a callbackCall() result for callback-mode failure: the method returned undefined,
 * the callback ran asynchronously as `cb(err, undefined)` with the given BusinessError.
 */
export async function expectCallbackError(out, expected) {
  assert.equal(out.ret, undefined, 'callback mode returns undefined');
  const args = await out.args;
  assert.equal(out.syncCall, false, 'callback must not run before the method returns');
  assertBusinessError(args[0], expected);
  assert.equal(args[1], undefined);
  return args[0];
}

/** Checks a callbackCall() result for callback-mode success: `cb(undefined, true)`, async. */
export async function expectCallbackTrue(out) {
  assert.equal(out.ret, undefined, 'callback mode returns undefined');
  const args = await out.args;
  assert.equal(out.syncCall, false, 'callback must not run before the method returns');
  assert.equal(args[0], undefined, `unexpected error ${safeString(args[0])}`);
  assert.equal(args[1], true);
}

/** Asserts `fn()` throws synchronously a BusinessError 401 (on/off parameter errors, R52). */
export function assertThrows401(fn, label) {
  let thrown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown !== undefined, `${label}: expected a synchronous throw`);
  assertBusinessError(thrown, E.PARAM);
}
