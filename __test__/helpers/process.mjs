// Child processes whose output is plain text (the CLI, npm, examples run by `node`): collects
// stdout and stderr, waits for a pattern in either, and reports how the process ended.
import { spawn } from 'node:child_process';

/** Text of a handle's (or a finished run's) output, for assertion messages. */
export function transcript(h) {
  const exit = h.exitInfo ?? ('code' in h ? { code: h.code, signal: h.signal } : null);
  return `exit=${JSON.stringify(exit)}\n--- stdout\n${h.stdout}\n--- stderr\n${h.stderr}`;
}

/**
 * Starts `command args`. Returns a handle:
 * - `stdout`, `stderr`: text so far; `exitInfo`: `{code, signal}` once it exited;
 * - `waitFor(stream, pattern, timeout)`: resolves with the match once `pattern` (RegExp or
 *   string) appears in `stream` ('stdout' | 'stderr'); rejects if the process exits first or
 *   after `timeout` ms;
 * - `write(text)`, `end()`: standard input; `kill(signal)`;
 * - `exited`: promise of `{code, signal, stdout, stderr}` after both pipes ended.
 */
export function start(command, args, { cwd, env, timeout = 30_000 } = {}) {
  const proc = spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const h = { proc, stdout: '', stderr: '', exitInfo: null };
  const changed = new Set();
  const wake = () => changed.forEach((f) => f());
  for (const stream of ['stdout', 'stderr']) {
    proc[stream].setEncoding('utf8');
    proc[stream].on('data', (chunk) => {
      h[stream] += chunk;
      wake();
    });
  }
  proc.stdin.on('error', () => {}); // the child may exit before reading everything
  const killer = setTimeout(() => proc.kill('SIGKILL'), timeout);
  const pipesEnded = Promise.all(['stdout', 'stderr'].map((s) => new Promise((r) => proc[s].on('end', r))));
  h.exited = new Promise((resolve, reject) => {
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      clearTimeout(killer);
      h.exitInfo = { code, signal };
      pipesEnded.then(() => {
        wake();
        resolve({ code, signal, stdout: h.stdout, stderr: h.stderr });
      });
    });
  });
  h.waitFor = (stream, pattern, ms = 10_000) =>
    new Promise((resolve, reject) => {
      const find = () => (typeof pattern === 'string' ? (h[stream].includes(pattern) ? [pattern] : null) : pattern.exec(h[stream]));
      const done = (fn, value) => {
        clearTimeout(timer);
        changed.delete(check);
        fn(value);
      };
      const check = () => {
        const m = find();
        if (m) done(resolve, m);
        else if (h.exitInfo && proc.stdout.readableEnded && proc.stderr.readableEnded) {
          done(reject, new Error(`process exited before ${stream} showed ${pattern}\n${transcript(h)}`));
        }
      };
      const timer = setTimeout(() => done(reject, new Error(`timed out waiting for ${pattern} on ${stream}\n${transcript(h)}`)), ms);
      changed.add(check);
      check();
    });
  h.write = (text) => proc.stdin.write(text);
  h.end = () => proc.stdin.end();
  h.kill = (signal = 'SIGTERM') => proc.kill(signal);
  return h;
}

/** Runs `command args` to the end, with `input` as its whole standard input. */
export function run(command, args, { input = '', ...opts } = {}) {
  const h = start(command, args, opts);
  h.write(input);
  h.end();
  return h.exited;
}
