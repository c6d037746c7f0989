// The install path of a user without Rust: the root package and the platform package are
// packed as they would be published, installed with `npm install --offline` into an empty
// project under os.tmpdir() with cargo, rustc and ~/.cargo/bin removed from PATH, and used
// there: a seed's full example (imports pointed at the package), the same flow with the
// ORIGINAL ArkTS imports under `--import ohos-net-websocket/register`, `require` from
// CommonJS, the `ohos-ws` bin, and finally the error a user gets when no binary is installed.
// Uses the addon `npm test` has just built (never builds). Servers bind 127.0.0.1 only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, transcript } from './helpers/process.mjs';
import { stripTypes, pointImportsAt, startByeServer, BYE_RUNS, assertByeRun } from './helpers/seeds.mjs';
import { startEchoServer } from './helpers/servers.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { stagePlatformPackage } = require('../scripts/platform-package.js');
const rootPkg = require('../package.json');
const PLATFORM = 'linux-x64-gnu';
const PLATFORM_PKG = `${rootPkg.name}-${PLATFORM}`;
const platformPkg = JSON.parse(readFileSync(join(ROOT, 'npm', PLATFORM, 'package.json'), 'utf8'));

const isLinuxX64Gnu =
  process.platform === 'linux' && process.arch === 'x64' && Boolean(process.report.getReport().header.glibcVersionRuntime);
const skip = !isLinuxX64Gnu && `the prebuilt package is ${PLATFORM}; this machine is another platform`;

let TMP;
let env; // the user's environment: no npm_* variables, no Rust on PATH
let project;
const tarballs = {};

/** npm's own CLI script (run with this node, so PATH needs no npm). */
function npmCli() {
  if (process.env.npm_execpath && /npm-cli\.js$/.test(process.env.npm_execpath)) return process.env.npm_execpath;
  for (const dir of (process.env.PATH || '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'npm'))) return realpathSync(join(dir, 'npm'));
  }
  throw new Error('npm not found on PATH');
}

/** Names of the Rust toolchain's commands, kept off the user's PATH. */
const RUST_TOOLS = /^(?:cargo(?:-.*)?|rustc|rustdoc|rustup|rustfmt|rust-gdb|rust-lldb|rust-gdbgui|clippy-driver)$/;

/**
 * PATH without ~/.cargo/bin and without any Rust command, `node` first. A directory such
 * as /usr/bin that holds cargo or rustc next to everything else (a distribution's Rust
 * package) is replaced by a mirror of symlinks to all of its other entries, under `tmp`.
 */
function userEnvironment(binDir, tmp) {
  const cargoHome = join(homedir(), '.cargo');
  const dirs = (process.env.PATH || '')
    .split(delimiter)
    .filter((d) => d && !d.startsWith(cargoHome))
    .map((d, i) => {
      if (!['cargo', 'rustc'].some((tool) => existsSync(join(d, tool)))) return d;
      const mirror = join(tmp, `path-${i}`);
      mkdirSync(mirror, { recursive: true });
      for (const name of readdirSync(d)) if (!RUST_TOOLS.test(name)) symlinkSync(join(d, name), join(mirror, name));
      return mirror;
    });
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && !['NODE_OPTIONS', 'NODE_TEST_CONTEXT', 'CARGO_HOME', 'RUSTUP_HOME'].includes(k)),
  );
  return { ...clean, PATH: [binDir, ...dirs].join(delimiter) };
}

const npm = (args, cwd) => run(process.execPath, [npmCli(), ...args, '--cache', join(TMP, 'npm-cache'), '--no-audit', '--no-fund'], { cwd, env, timeout: 120_000 });
const node = (args) => run(process.execPath, args, { cwd: project, env });

/** `npm pack --json` in `dir` into TMP; returns npm's report of the tarball. */
async function pack(dir) {
  const r = await npm(['pack', '--json', '--pack-destination', TMP], dir);
  assert.equal(r.code, 0, transcript(r));
  const [report] = JSON.parse(r.stdout);
  return { ...report, path: join(TMP, report.filename) };
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

before(() => {
  if (skip) return;
  for (const f of ['binding.js', platformPkg.main]) {
    assert.ok(existsSync(join(ROOT, f)), `${f} is missing: run \`npm run build\` first (npm test does)`);
  }
  TMP = mkdtempSync(join(tmpdir(), 'ohos-ws-install-'));
  const bin = join(TMP, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  env = userEnvironment(bin, TMP);
  project = join(TMP, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }, null, 2)}\n`);
});
after(() => TMP && rmSync(TMP, { recursive: true, force: true }));

test('the root package declares the platform package the napi-rs way', { skip }, () => {
  assert.equal(platformPkg.name, PLATFORM_PKG);
  assert.equal(platformPkg.version, rootPkg.version);
  assert.deepEqual(rootPkg.optionalDependencies, { [PLATFORM_PKG]: rootPkg.version }); // exact version
  assert.deepEqual([platformPkg.os, platformPkg.cpu, platformPkg.libc], [['linux'], ['x64'], ['glibc']]);
  assert.deepEqual(platformPkg.files, [platformPkg.main]);
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
    assert.equal(rootPkg.scripts[script], undefined, `no ${script} script: installing must never need cargo`);
  }
  // binding.js looks next to itself first (a source build), then in the platform package
  const loader = readFileSync(join(ROOT, 'binding.js'), 'utf8');
  const local = loader.indexOf(`require('./${platformPkg.main}')`);
  const packaged = loader.indexOf(`require('${PLATFORM_PKG}')`);
  assert.ok(local > 0 && packaged > local, 'binding.js tries the local .node before the platform package');
});

test('npm pack: the main tarball ships the JS, typings, loader, register hook and CLI, and no binary', { skip }, async (t) => {
  const report = await pack(ROOT);
  tarballs.root = report.path;
  const files = report.files.map((f) => f.path).sort();
  const allowed = /^(?:index\.js|index\.d\.ts|binding\.js|register\.mjs|register\.d\.ts|package\.json|README\.md|LICENSE|doc\/api\.md|bin\/ohos-ws\.js|lib\/[\w/.-]+\.m?js)$/;
  assert.deepEqual(files.filter((f) => !allowed.test(f)), [], 'files a user needs neither at run time nor to read');
  for (const f of ['index.js', 'index.d.ts', 'binding.js', 'register.mjs', 'register.d.ts', 'package.json', 'README.md',
    'LICENSE', 'bin/ohos-ws.js', 'lib/websocket.js', 'lib/native.js', 'lib/register/hooks.mjs', 'lib/register/base.mjs',
    'lib/cli/main.js']) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  t.diagnostic(`${report.filename}: ${kib(report.size)} packed, ${kib(report.unpackedSize)} unpacked, ${files.length} files`);
});

test('the platform package, filled with the built binary in a staging copy, packs to manifest + binary', { skip }, async (t) => {
  const staged = stagePlatformPackage(PLATFORM, join(TMP, 'platform'));
  const report = await pack(staged);
  tarballs.platform = report.path;
  assert.deepEqual(report.files.map((f) => f.path).sort(), ['LICENSE', 'README.md', platformPkg.main, 'package.json']);
  assert.deepEqual(readdirSync(join(ROOT, 'npm', PLATFORM)).filter((f) => f.endsWith('.node')), [], 'npm/ stays free of binaries');
  t.diagnostic(`${report.filename}: ${kib(report.size)} packed, ${kib(report.unpackedSize)} unpacked`);
});

test('npm install --offline of both tarballs succeeds with no Rust toolchain on PATH', { skip }, async () => {
  const which = await run('/bin/sh', ['-c', 'command -v cargo; command -v rustc; true'], { env });
  assert.equal(which.stdout, '', `the user's PATH must not reach Rust: ${which.stdout}`);
  const r = await npm(['install', '--offline', tarballs.root, tarballs.platform], project);
  assert.equal(r.code, 0, transcript(r));
  const installed = join(project, 'node_modules', rootPkg.name);
  assert.deepEqual(readdirSync(installed).filter((f) => f.endsWith('.node')), [], 'the main package carries no binary');
  assert.ok(existsSync(join(project, 'node_modules', PLATFORM_PKG, platformPkg.main)));
  assert.ok(existsSync(join(project, 'node_modules', '.bin', 'ohos-ws')));
});

test('the seed full example runs in the project, imports pointed at the package (000-02)', { skip }, async (t) => {
  const server = await startByeServer();
  t.after(() => server.close());
  const file = '000-02-full-example.ts';
  writeFileSync(join(project, 'example.mjs'), pointImportsAt(stripTypes(file, { url: server.url }), rootPkg.name));
  const r = await node(['example.mjs']);
  assert.equal(r.code, 0, transcript(r));
  assertByeRun(r.stdout, BYE_RUNS[file], transcript(r));
  assert.deepEqual(await server.waitForCloses(1), { code: 1000, reason: 'CLOSE_NORMAL' });
});

test('the guide example runs with its original ArkTS imports under --import ohos-net-websocket/register (004-01)', { skip }, async (t) => {
  const server = await startByeServer();
  t.after(() => server.close());
  const file = '004-01-guide-example.ts';
  const js = stripTypes(file, { url: server.url, verbatim: true });
  assert.match(js, /from '@kit\.NetworkKit'/);
  writeFileSync(join(project, 'arkts.mjs'), js);
  const r = await node(['--import', `${rootPkg.name}/register`, 'arkts.mjs']);
  assert.equal(r.code, 0, transcript(r));
  assertByeRun(r.stdout, BYE_RUNS[file], transcript(r));
});

test('CommonJS require loads the binary from the platform package', { skip }, async () => {
  const script = [
    `const webSocket = require('${rootPkg.name}');`,
    'const binaries = Object.keys(require.cache).filter((k) => k.endsWith(".node"));',
    'console.log(JSON.stringify({ create: typeof webSocket.createWebSocket, same: webSocket.webSocket === webSocket, binaries }));',
  ].join('\n');
  const r = await node(['-e', script]);
  assert.equal(r.code, 0, transcript(r));
  const out = JSON.parse(r.stdout);
  assert.equal(out.create, 'function');
  assert.equal(out.same, true);
  assert.deepEqual(out.binaries, [realpathSync(join(project, 'node_modules', PLATFORM_PKG, platformPkg.main))]);
});

test('the ohos-ws bin of the installed package talks to a local echo server', { skip }, async (t) => {
  const server = await startEchoServer();
  t.after(() => server.close());
  const r = await run(join(project, 'node_modules', '.bin', 'ohos-ws'), ['connect', server.url, '-x', 'installed'], { cwd: project, env });
  assert.equal(r.code, 0, transcript(r));
  assert.equal(r.stdout, 'installed\n');
});

const usesNativeWrapper = readFileSync(join(ROOT, 'lib', 'websocket.js'), 'utf8').includes("require('./native')");

// Last: removes the platform package from the project.
test('without the platform package, loading fails with an error naming the platform and the source build', { skip }, async () => {
  rmSync(join(project, 'node_modules', PLATFORM_PKG), { recursive: true, force: true });
  const r = await node(['-e', `require(${JSON.stringify(join(project, 'node_modules', rootPkg.name, 'lib', 'native.js'))})`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`no native binary could be loaded for ${PLATFORM}`));
  assert.match(r.stderr, new RegExp(`${PLATFORM_PKG}@${rootPkg.version.replaceAll('.', '\\.')}`));
  assert.match(r.stderr, /npm run build/);
});

test('the package entry reports the same error', { skip: skip || (!usesNativeWrapper && 'lib/websocket.js still requires ../binding.js directly, not ./native') }, async () => {
  const r = await node(['-e', `require('${rootPkg.name}')`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`no native binary could be loaded for ${PLATFORM}`));
  assert.match(r.stderr, /npm run build/);
});
