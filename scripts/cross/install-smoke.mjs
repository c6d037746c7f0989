#!/usr/bin/env node
// Installs the packed package the way a user without Rust would, for one platform, and runs a
// client + server echo with that platform's real Node.js.
//
//   node scripts/cross/install-smoke.mjs --platform P --node "<command prefix>"
//        [--tarballs DIR] [--timeout-seconds N] [--keep]
//
//   --platform P     an npm/<P> platform package, e.g. linux-arm64-gnu, linux-x64-musl, win32-x64-msvc
//   --node "..."     how to start that platform's node, split on whitespace (or a JSON array), e.g.
//                    "qemu-aarch64 -L /usr/aarch64-linux-gnu /opt/node-arm64/bin/node",
//                    "wine /opt/node-win/node.exe", "/opt/node-musl/bin/node"; default: this node
//   --tarballs DIR   take ohos-net-websocket-<v>.tgz and ohos-net-websocket-P-<v>.tgz from DIR;
//                    default: pack them now (scripts/pack-all.mjs: the root, the binary from
//                    the root or target/cross/)
//   --timeout-seconds N   bound of the install and of the echo run each (default 300)
//   --keep           keep the temporary project (its path is printed)
//
// Steps: an empty project under os.tmpdir() that depends on the root tarball and has the
// platform tarball as an optional dependency; `npm install --offline --os/--cpu[/--libc]` (npm
// installs a foreign optional package only when told the platform) with no cargo, rustc or
// ~/.cargo/bin on PATH; then `<node> echo.cjs result.json` in the project,
// cwd = the project, every stdio a file (wine's node.exe fails on pipes). echo.cjs requires the
// package, starts its server on 127.0.0.1, connects its client, echoes a text and a binary
// message, closes with 1000 and writes what it saw to result.json. Checked: the runtime's
// process.platform/arch are P's, the one .node loaded is the platform package's, both echoes
// and the close code. Prints `install-smoke P: ok (...)` and exits 0, or explains and exits 1.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packAll } from '../pack-all.mjs';
import { npmCli, userEnvironment } from '../user-env.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const DEFAULT_TIMEOUT_SECONDS = 300;

function parseArgs(argv) {
  const opts = { platform: null, node: [process.execPath], tarballs: null, timeoutSeconds: DEFAULT_TIMEOUT_SECONDS, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--platform') opts.platform = value();
    else if (arg === '--node') {
      const v = value().trim();
      opts.node = v.startsWith('[') ? JSON.parse(v) : v.split(/\s+/);
    } else if (arg === '--tarballs') opts.tarballs = resolve(value());
    else if (arg === '--timeout-seconds') opts.timeoutSeconds = Number(value());
    else if (arg === '--keep') opts.keep = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!opts.platform) throw new Error('--platform is required (see the top of scripts/cross/install-smoke.mjs)');
  if (!existsSync(join(ROOT, 'npm', opts.platform, 'package.json'))) throw new Error(`no npm/${opts.platform}`);
  if (!(opts.timeoutSeconds > 0)) throw new Error('--timeout-seconds must be a positive number');
  return opts;
}

/** Runs a command with stdin closed and stdout/stderr in files under `dir`; bounded by `timeoutMs`. */
function runToFiles(cmd, args, { cwd, env, dir, name, timeoutMs }) {
  const outPath = join(dir, `${name}.stdout`);
  const errPath = join(dir, `${name}.stderr`);
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', out, err] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const done = (code, signal, spawnError) => {
      clearTimeout(timer);
      closeSync(out);
      closeSync(err);
      resolvePromise({
        code, signal, timedOut, spawnError,
        stdout: readFileSync(outPath, 'utf8'),
        stderr: readFileSync(errPath, 'utf8'),
      });
    };
    child.on('error', (e) => done(null, null, e));
    child.on('exit', (code, signal) => done(code, signal, null));
  });
}

function transcript(label, r) {
  const why = r.spawnError ? `could not start: ${r.spawnError.message}` : r.timedOut ? 'timed out' : `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}`;
  return `${label}: ${why}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

// What runs under the target's node. CommonJS and Node 18 syntax only.
const ECHO_SCRIPT = `'use strict';
const fs = require('fs');
const out = process.argv[2];
const result = { platform: process.platform, arch: process.arch, node: process.version, messages: [], serverGot: [] };
let written = false;
function finish(error) {
  if (written) return;
  written = true;
  if (error) result.error = String((error && error.stack) || (typeof error === 'object' ? JSON.stringify(error) : error));
  result.binaries = Object.keys(require.cache).filter((k) => k.endsWith('.node'));
  fs.writeFileSync(out, JSON.stringify(result));
}
process.on('exit', () => finish('the process ended before the echo finished'));
const guard = setTimeout(() => { finish('echo timed out'); process.exit(1); }, ${DEFAULT_TIMEOUT_SECONDS * 1000});
const show = (v) => (typeof v === 'string' ? v : 'binary:' + Buffer.from(v).toString('hex'));
(async () => {
  const { webSocket } = require(${JSON.stringify(rootPkg.name)});
  const server = webSocket.createWebSocketServer();
  server.on('messageReceive', async ({ data, clientConnection }) => {
    result.serverGot.push(show(data));
    await server.send(data, clientConnection);
  });
  await server.start({ serverIP: '127.0.0.1', serverPort: 0, maxConcurrentClientsNumber: 1, maxConnectionsForOneClient: 1 });
  const ws = webSocket.createWebSocket();
  ws.on('open', async () => {
    await ws.send('hello from ' + process.platform + '-' + process.arch);
    await ws.send(new Uint8Array([1, 2, 3, 255]).buffer);
  });
  ws.on('message', (err, value) => {
    result.messages.push(show(value));
    if (result.messages.length === 2) ws.close({ code: 1000, reason: 'done' });
  });
  ws.on('close', async (err, value) => {
    result.close = value;
    await server.stop();
    clearTimeout(guard);
    finish();
  });
  ws.on('error', (err) => { finish(err); process.exit(1); });
  await ws.connect('ws://127.0.0.1:' + server.address().port);
})().catch((e) => { finish(e); process.exit(1); });
`;

/** The tarballs to install: taken from `dir`, or packed now into `tmp`. */
function tarballsFor(platform, dir, tmp) {
  if (!dir) {
    const packed = packAll({ dest: join(tmp, 'tarballs'), platforms: [platform] });
    return [packed.root, packed.platforms[platform]];
  }
  const wanted = [`${rootPkg.name}-${rootPkg.version}.tgz`, `${rootPkg.name}-${platform}-${rootPkg.version}.tgz`];
  const missing = wanted.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) throw new Error(`${dir} lacks ${missing.join(', ')}`);
  return wanted.map((f) => join(dir, f));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { platform } = opts;
  const manifest = JSON.parse(readFileSync(join(ROOT, 'npm', platform, 'package.json'), 'utf8'));
  const timeoutMs = opts.timeoutSeconds * 1000;
  const tmp = mkdtempSync(join(tmpdir(), `ohos-ws-smoke-${platform}-`));
  const failures = [];
  const started = Date.now();
  try {
    const tarballs = tarballsFor(platform, opts.tarballs, tmp);
    const env = userEnvironment(tmp);
    const project = join(tmp, 'project');
    mkdirSync(project);
    // The platform package is an optional dependency of the project, as it is of the root
    // package: npm checks a required package against the real host, but an optional one
    // against --os/--cpu/--libc.
    const [rootTarball, platformTarball] = tarballs;
    const projectManifest = {
      name: 'smoke-project',
      version: '1.0.0',
      private: true,
      dependencies: { [rootPkg.name]: `file:${rootTarball}` },
      optionalDependencies: { [manifest.name]: `file:${platformTarball}` },
    };
    writeFileSync(join(project, 'package.json'), `${JSON.stringify(projectManifest, null, 2)}\n`);

    const which = await runToFiles('/bin/sh', ['-c', 'command -v cargo; command -v rustc; true'], { cwd: project, env, dir: tmp, name: 'which', timeoutMs });
    if (which.stdout.trim()) throw new Error(`Rust is still on the user's PATH: ${which.stdout.trim()}`);

    const platformFlags = [`--os=${manifest.os[0]}`, `--cpu=${manifest.cpu[0]}`, ...(manifest.libc ? [`--libc=${manifest.libc[0]}`] : [])];
    const installArgs = [npmCli(), 'install', '--offline', '--no-audit', '--no-fund', '--cache', join(tmp, 'npm-cache'), ...platformFlags];
    const install = await runToFiles(process.execPath, installArgs, { cwd: project, env, dir: tmp, name: 'npm-install', timeoutMs });
    if (install.code !== 0) throw new Error(transcript(`npm install ${platformFlags.join(' ')}`, install));
    const installedBinary = join(project, 'node_modules', manifest.name, manifest.main);
    if (!existsSync(installedBinary)) throw new Error(`npm install left no ${manifest.name}/${manifest.main}`);
    const rootFiles = readdirSync(join(project, 'node_modules', rootPkg.name));
    if (rootFiles.some((f) => f.endsWith('.node'))) failures.push('the root package carries a .node binary');

    writeFileSync(join(project, 'echo.cjs'), ECHO_SCRIPT);
    const [cmd, ...pre] = opts.node;
    const echoStarted = Date.now();
    const echo = await runToFiles(cmd, [...pre, 'echo.cjs', 'result.json'], { cwd: project, env, dir: tmp, name: 'echo', timeoutMs });
    const echoSeconds = ((Date.now() - echoStarted) / 1000).toFixed(1);
    const resultPath = join(project, 'result.json');
    if (!existsSync(resultPath)) throw new Error(transcript(`${opts.node.join(' ')} echo.cjs (no result.json)`, echo));
    const result = JSON.parse(readFileSync(resultPath, 'utf8'));
    const expectText = `hello from ${manifest.os[0]}-${manifest.cpu[0]}`;
    const expected = [expectText, 'binary:010203ff'];
    if (result.error) failures.push(`echo.cjs failed: ${result.error}`);
    if (result.platform !== manifest.os[0] || result.arch !== manifest.cpu[0]) {
      failures.push(`the node that ran is ${result.platform}-${result.arch}, not ${manifest.os[0]}-${manifest.cpu[0]}`);
    }
    if (JSON.stringify(result.messages) !== JSON.stringify(expected)) failures.push(`client got ${JSON.stringify(result.messages)}, expected ${JSON.stringify(expected)}`);
    if (JSON.stringify(result.serverGot) !== JSON.stringify(expected)) failures.push(`server got ${JSON.stringify(result.serverGot)}`);
    if (!result.close || result.close.code !== 1000) failures.push(`close was ${JSON.stringify(result.close)}, expected code 1000`);
    const binaries = result.binaries || [];
    const fromPackage = (b) => b.replaceAll('\\', '/').endsWith(`node_modules/${manifest.name}/${manifest.main}`);
    if (binaries.length !== 1 || !fromPackage(binaries[0])) failures.push(`loaded binaries ${JSON.stringify(binaries)}, expected only ${manifest.name}/${manifest.main}`);
    if (echo.code !== 0) failures.push(transcript('echo run', echo));
    if (failures.length) throw new Error(failures.join('\n'));
    const total = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`install-smoke ${platform}: ok (${result.node} ${result.platform}-${result.arch}, binary ${binaries[0]}, echo ${echoSeconds} s, total ${total} s)`);
  } finally {
    if (opts.keep) console.log(`install-smoke: kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`install-smoke: FAILED\n${err.message}`);
  process.exit(1);
});
