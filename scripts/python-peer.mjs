#!/usr/bin/env node
// The Python `websockets` client, one of the server tests' real peers, in a virtualenv of
// its own under target/python-peer with a pinned version, so a fresh clone needs nothing but
// Python 3 (with its venv module) for `npm test`. Idempotent: a venv that already imports the
// pinned version is used as it is (one Python start, ~50 ms); anything else is rebuilt.
// The venv is built beside its final place and renamed into it, so a half-done install (an
// interrupted pip, a second run at the same time) is never taken for a finished one.
//
//   node scripts/python-peer.mjs        provisions it if needed, prints the venv's python
//   import { pythonPeer } from '…/scripts/python-peer.mjs'   the same, for the tests
//
// A missing or too old Python 3 is an error that says what to install, never a skip.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The peer's pinned version (requires Python ≥ 3.11, the python3 of Debian 12). */
export const WEBSOCKETS_VERSION = '17.4';
const MIN_PYTHON = [3, 11];
export const VENV = join(ROOT, 'target', 'python-peer');
const PIP_TIMEOUT_MS = 300_000;
const PROBE_TIMEOUT_MS = 30_000;

const INSTALL_HINT =
  `Install Python ${MIN_PYTHON.join('.')} or newer with its venv module ` +
  '(Debian/Ubuntu: `apt-get install python3 python3-venv`), or point PYTHON at such an interpreter.';

// A venv keeps its interpreter in Scripts\python.exe on Windows, bin/python elsewhere.
const venvPython = (dir) =>
  process.platform === 'win32' ? join(dir, 'Scripts', 'python.exe') : join(dir, 'bin', 'python');

function exec(command, args, timeout) {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return { ok: r.status === 0, output: r.error ? `${r.error.message}\n${output}` : output };
}

/** The websockets version `python` imports, or null. */
function websocketsVersion(python) {
  if (!existsSync(python)) return null;
  const r = exec(python, ['-c', 'import sys, websockets.version as v; sys.stdout.write(v.version)'], PROBE_TIMEOUT_MS);
  return r.ok ? r.output : null;
}

/** The base interpreter: $PYTHON or python3, checked for its version and the venv module. */
function basePython() {
  const python = process.env.PYTHON || 'python3';
  const probe = exec(
    python,
    ['-c', 'import sys, venv, ensurepip; sys.stdout.write("%d.%d" % sys.version_info[:2])'],
    PROBE_TIMEOUT_MS,
  );
  if (!probe.ok) {
    throw new Error(`the Python websockets peer needs Python 3 with venv; \`${python}\` failed:\n${probe.output}\n${INSTALL_HINT}`);
  }
  const [major, minor] = probe.output.split('.').map(Number);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    throw new Error(`websockets ${WEBSOCKETS_VERSION} needs Python ≥ ${MIN_PYTHON.join('.')}; \`${python}\` is ${probe.output}. ${INSTALL_HINT}`);
  }
  return python;
}

/** Provisions the venv if needed; returns the path of its python. Throws with what to do. */
export function pythonPeer() {
  const python = venvPython(VENV);
  if (websocketsVersion(python) === WEBSOCKETS_VERSION) return python;
  const base = basePython();
  mkdirSync(dirname(VENV), { recursive: true });
  const staging = `${VENV}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    const steps = [
      [base, ['-m', 'venv', staging]],
      [venvPython(staging), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', `websockets==${WEBSOCKETS_VERSION}`]],
    ];
    for (const [command, args] of steps) {
      const r = exec(command, args, PIP_TIMEOUT_MS);
      if (!r.ok) throw new Error(`\`${command} ${args.join(' ')}\` failed:\n${r.output}\n${INSTALL_HINT}`);
    }
    const got = websocketsVersion(venvPython(staging));
    if (got !== WEBSOCKETS_VERSION) throw new Error(`the new venv imports websockets ${got}, not ${WEBSOCKETS_VERSION}`);
    // Another run may have finished first; its venv is as good as ours.
    if (websocketsVersion(python) === WEBSOCKETS_VERSION) return python;
    rmSync(VENV, { recursive: true, force: true });
    renameSync(staging, VENV);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return python;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  try {
    process.stdout.write(`${pythonPeer()}\n`);
  } catch (err) {
    process.stderr.write(`python-peer: ${err.message}\n`);
    process.exitCode = 1;
  }
}
