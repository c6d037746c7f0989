// Runs client scripts in child Node processes (for env such as NODE_EXTRA_CA_CERTS that must be
// set before start, and for process-lifetime checks). A script reports events as JSON lines on
// stdout; PRELUDE gives it `emit(ev, fields)` (adds `t`: Date.now()) and `webSocket`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** file:// URL of the package entry, for `import` in child scripts. */
export const INDEX_URL = pathToFileURL(resolve(here, '..', '..', 'index.js')).href;

/** Source lines every child script starts with. */
export const PRELUDE = `
import webSocket from ${JSON.stringify(INDEX_URL)};
const emit = (ev, fields = {}) => process.stdout.write(JSON.stringify({ ev, t: Date.now(), ...fields }) + '\\n');
`;

/**
 * Starts `node <script>` where the script is PRELUDE + `source`, written to a temp dir with
 * any `files` ({name: source}) next to it. `env` entries are added to process.env (an
 * `undefined` value removes the variable). Returns a handle:
 * - `events`: parsed JSON lines so far; `stderr`: text so far;
 * - `waitFor(ev, timeout)`: resolves with the first event named `ev` (rejects on timeout or exit);
 * - `exited`: promise of `{code, signal, exitAt}` (exitAt = Date.now() at 'exit');
 * - `running()`, `kill()`.
 */
export function spawnChild(source, { env = {}, files = {}, args = [], prelude = true } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ohos-ws-child-'));
  const script = join(dir, 'main.mjs');
  writeFileSync(script, (prelude ? PRELUDE : '') + source);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const proc = spawn(process.execPath, [script, ...args], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const handle = {
    proc,
    dir,
    events: [],
    stderr: '',
    exitInfo: null,
    running: () => handle.exitInfo === null,
    kill() {
      if (handle.running()) proc.kill('SIGKILL');
    },
  };
  let partial = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk) => {
    partial += chunk;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (!line.trim()) continue;
      try {
        handle.events.push(JSON.parse(line));
      } catch {
        handle.events.push({ ev: 'non-json', line });
      }
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk) => {
    handle.stderr += chunk;
  });
  handle.exited = new Promise((resolveExit) => {
    proc.on('exit', (code, signal) => {
      handle.exitInfo = { code, signal, exitAt: Date.now() };
      resolveExit(handle.exitInfo);
    });
  }).then(async (info) => {
    // let the pipes drain before the directory goes away
    await new Promise((r) => (proc.stdout.readableEnded ? r() : proc.stdout.once('end', r)));
    rmSync(dir, { recursive: true, force: true });
    return info;
  });
  handle.waitFor = (ev, timeout = 10_000) =>
    new Promise((resolveEv, rejectEv) => {
      const started = Date.now();
      const tick = () => {
        const found = handle.events.find((e) => e.ev === ev);
        if (found) return resolveEv(found);
        if (!handle.running() && proc.stdout.readableEnded) {
          return rejectEv(new Error(`child exited (${JSON.stringify(handle.exitInfo)}) without '${ev}'; ${describe(handle)}`));
        }
        if (Date.now() - started > timeout) {
          return rejectEv(new Error(`timed out after ${timeout} ms waiting for child event '${ev}'; ${describe(handle)}`));
        }
        setTimeout(tick, 10);
      };
      tick();
    });
  return handle;
}

/**
 * Runs a child script to completion: resolves `{code, signal, exitAt, events, stderr,
 * timedOut}`. After `timeout` ms the child is killed and `timedOut` is true.
 */
export async function runChild(source, { timeout = 20_000, ...opts } = {}) {
  const handle = spawnChild(source, opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    handle.kill();
  }, timeout);
  const info = await handle.exited;
  clearTimeout(timer);
  return { ...info, events: handle.events, stderr: handle.stderr, timedOut, handle };
}

/** Short text describing a child's output, for assertion messages. */
export function describe(result) {
  return `events=${JSON.stringify(result.events)} stderr=${JSON.stringify((result.stderr || '').slice(-2000))}`;
}
