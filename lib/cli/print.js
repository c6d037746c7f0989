'use strict';
// Terminal side of `ohos-ws`: what goes to stdout (messages, so they can be piped) and to
// stderr (status lines and errors), how messages are shown, and standard input as lines.

const readline = require('node:readline');

/** A received message as one line: text as it is, binary (or everything with --binary) as hex. */
function showMessage(data, binary) {
  if (typeof data !== 'string') return Buffer.from(data).toString('hex');
  return binary ? Buffer.from(data, 'utf8').toString('hex') : data;
}

/** A line of input as a message: a string, or its UTF-8 bytes as an ArrayBuffer with --binary. */
function toMessage(line, binary) {
  if (!binary) return line;
  const bytes = Buffer.from(line, 'utf8');
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

function out(line) {
  process.stdout.write(`${line}\n`);
}

function status(line) {
  process.stderr.write(`${line}\n`);
}

/**
 * An error as the device would print it (`JSON.stringify` gives the BusinessError's code,
 * message and data) followed by its non-enumerable `detail`, which says what went wrong.
 */
function printError(err) {
  if (err === null || typeof err !== 'object' || typeof err.code !== 'number') {
    status(`error: ${err && err.stack ? err.stack : String(err)}`);
    return;
  }
  status(`error: ${JSON.stringify(err)}`);
  if (err.detail) status(`detail: ${err.detail}`);
}

/** Calls `onLine` for each line of standard input and `onEnd` once it ends; returns a stop(). */
function readLines(onLine, onEnd) {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  let stopped = false;
  rl.on('line', (line) => stopped || onLine(line));
  rl.on('close', () => stopped || onEnd());
  return () => {
    stopped = true;
    rl.close();
    // readline's close only pauses a pipe; let go of it so the process can exit.
    process.stdin.destroy();
  };
}

module.exports = { showMessage, toMessage, out, status, printError, readLines };
