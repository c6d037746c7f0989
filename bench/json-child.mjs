// How the bench runs a measuring process (a client of bench/client.mjs, the load
// generator): it reports one JSON line on stdout, last, and is killed at a deadline.

import { spawn } from 'node:child_process';

/** The last line of `out` parsed as JSON, or null. */
export function lastJson(out) {
  try {
    return JSON.parse(out.trim().split('\n').pop());
  } catch {
    return null;
  }
}

/** The last three lines of a process's output, on one line. */
export const tail = (s) => s.trim().split('\n').slice(-3).join(' | ');

/**
 * Runs `cmd args`; resolves with its JSON line (which may itself be `{ error }`), or
 * `{ error }` saying how it ended when it printed none or exited non-zero without one.
 * `children` holds the process while it lives, so that an interrupted runner kills it.
 * @param {{ cwd: string, env?: NodeJS.ProcessEnv, timeoutMs: number, children: Set<import('node:child_process').ChildProcess> }} o
 */
export function runJsonChild(cmd, args, { cwd, env = process.env, timeoutMs, children }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    // A process that cannot start (a missing binary) still ends with 'close'.
    child.on('error', (e) => { err += `\n${e.message}`; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      const r = lastJson(out);
      if (r && (r.error || code === 0)) return resolve(r);
      const why = signal ? `killed (${signal}${signal === 'SIGKILL' ? ', timeout' : ''})` : `exit ${code}`;
      resolve({ error: `${why}: ${tail(err || out)}` });
    });
  });
}
