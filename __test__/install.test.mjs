// The install path of a user without Rust: the root package and the platform package are
// packed as they would be published, installed with `npm install --offline` into an empty
// project under os.tmpdir() with cargo, rustc and ~/.cargo/bin removed from PATH, and used
// there: a seed's full example (imports pointed at the package), the same flow with the
// ORIGINAL ArkTS imports under `--import ohos-net-websocket/register`, `require` from
// CommonJS, the `ohos-ws` bin, the loader's order (a source build's binary first) and its
// refusal of another version's binary, and finally the error a user gets when no binary is
// installed. Packs with scripts/pack-all.mjs (`napi artifacts` in a staging copy). Uses the
// addon `npm test` has just built (never builds). Servers bind 127.0.0.1 only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, transcript } from './helpers/process.mjs';
import { stripTypes, pointImportsAt, startByeServer, BYE_RUNS, assertByeRun } from './helpers/seeds.mjs';
import { startEchoServer } from './helpers/servers.mjs';
import { packAll, declaredPlatforms } from '../scripts/pack-all.mjs';
import { parseTriple } from '@napi-rs/cli';
import { npmCli, userEnvironment } from '../scripts/user-env.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
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
  assert.ok(existsSync(join(ROOT, platformPkg.main)), `${platformPkg.main} is missing: run \`npm run build\` first (npm test does)`);
  TMP = mkdtempSync(join(tmpdir(), 'ohos-ws-install-'));
  const bin = join(TMP, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  env = userEnvironment(TMP, bin);
  project = join(TMP, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }, null, 2)}\n`);
});
after(() => TMP && rmSync(TMP, { recursive: true, force: true }));

test('the root package declares every platform package of napi.targets the napi-rs way', () => {
  const platforms = rootPkg.napi.targets.map((triple) => parseTriple(triple));
  assert.deepEqual(declaredPlatforms().sort(), platforms.map((t) => t.platformArchABI).sort(), 'one npm/ dir per target');
  for (const need of ['linux-x64-gnu', 'linux-x64-musl', 'linux-arm64-gnu', 'win32-x64-msvc', 'darwin-arm64', 'darwin-x64']) {
    assert.ok(declaredPlatforms().includes(need), `${need} is declared`);
  }
  const optional = {};
  for (const target of platforms) {
    const dir = target.platformArchABI;
    const manifest = JSON.parse(readFileSync(join(ROOT, 'npm', dir, 'package.json'), 'utf8'));
    assert.equal(manifest.name, `${rootPkg.name}-${dir}`);
    assert.equal(manifest.version, rootPkg.version, `npm/${dir} has the root's version`);
    assert.equal(manifest.main, `${rootPkg.napi.binaryName}.${dir}.node`);
    assert.deepEqual(manifest.files, [manifest.main]);
    assert.deepEqual(manifest.os, [target.platform]);
    assert.deepEqual(manifest.cpu, [target.arch]);
    assert.deepEqual(manifest.libc, { gnu: ['glibc'], musl: ['musl'] }[target.abi], `npm/${dir} libc`);
    assert.ok(existsSync(join(ROOT, 'npm', dir, 'README.md')));
    optional[manifest.name] = rootPkg.version; // exact version
  }
  assert.deepEqual(rootPkg.optionalDependencies, optional);
  assert.deepEqual([platformPkg.os, platformPkg.cpu, platformPkg.libc], [['linux'], ['x64'], ['glibc']]);
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
    assert.equal(rootPkg.scripts[script], undefined, `no ${script} script: installing must never need cargo`);
  }
  // musl is told from the running process, never from the host's ldd or a child process
  const code = readFileSync(join(ROOT, 'lib', 'native.js'), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  assert.match(code, /glibcVersionRuntime/);
  assert.doesNotMatch(code, /\bldd\b|child_process|\bexecSync\b|\bspawn/);
});

test('npm pack: the main tarball ships the JS, typings, loader, register hook and CLI, and no binary', { skip }, async (t) => {
  const report = await pack(ROOT);
  tarballs.root = report.path;
  const files = report.files.map((f) => f.path).sort();
  const allowed = /^(?:index\.js|index\.d\.ts|register\.mjs|register\.d\.ts|package\.json|README\.md|LICENSE|doc\/api\.md|bin\/ohos-ws\.js|lib\/[\w/.-]+\.m?js)$/;
  assert.deepEqual(files.filter((f) => !allowed.test(f)), [], 'files a user needs neither at run time nor to read');
  for (const f of ['index.js', 'index.d.ts', 'register.mjs', 'register.d.ts', 'package.json', 'README.md',
    'LICENSE', 'bin/ohos-ws.js', 'lib/websocket.js', 'lib/native.js', 'lib/register/hooks.mjs', 'lib/register/base.mjs',
    'lib/cli/main.js']) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  t.diagnostic(`${report.filename}: ${kib(report.size)} packed, ${kib(report.unpackedSize)} unpacked, ${files.length} files`);
});

test('pack-all: the platform package, filled by napi artifacts in a staging copy, packs to manifest + binary', { skip }, async (t) => {
  const dest = join(TMP, 'platform');
  const packed = packAll({ dest, platforms: [PLATFORM], root: false });
  assert.equal(packed.root, null);
  assert.deepEqual(Object.keys(packed.platforms), [PLATFORM]);
  tarballs.platform = packed.platforms[PLATFORM];
  assert.equal(tarballs.platform, join(dest, `${PLATFORM_PKG}-${rootPkg.version}.tgz`));
  const listing = await run('tar', ['-tzvf', tarballs.platform], { env: process.env });
  assert.equal(listing.code, 0, transcript(listing));
  const entries = listing.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/));
  const files = entries.map((cols) => cols[cols.length - 1].replace(/^package\//, '')).sort();
  assert.deepEqual(files, ['LICENSE', 'README.md', platformPkg.main, 'package.json'].sort());
  const size = Number(entries.find((cols) => cols[cols.length - 1] === `package/${platformPkg.main}`)[2]);
  assert.equal(size, readFileSync(join(ROOT, platformPkg.main)).length, 'the binary is the one `npm run build` made');
  for (const dir of declaredPlatforms()) {
    assert.deepEqual(readdirSync(join(ROOT, 'npm', dir)).filter((f) => f.endsWith('.node')), [], `npm/${dir} stays free of binaries`);
  }
  t.diagnostic(`${PLATFORM_PKG}: ${kib(readFileSync(tarballs.platform).length)} packed`);
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

test('a binary at the package root (a source build) is loaded before the platform package', { skip }, async () => {
  const installedRoot = join(project, 'node_modules', rootPkg.name);
  const local = join(installedRoot, platformPkg.main);
  copyFileSync(join(project, 'node_modules', PLATFORM_PKG, platformPkg.main), local);
  try {
    const r = await node(['-e', `require('${rootPkg.name}'); console.log(JSON.stringify(Object.keys(require.cache).filter((k) => k.endsWith('.node'))))`]);
    assert.equal(r.code, 0, transcript(r));
    assert.deepEqual(JSON.parse(r.stdout), [realpathSync(local)]);
  } finally {
    rmSync(local, { force: true });
  }
});

test('a platform package of another version is refused, with the reason as `cause`', { skip }, async () => {
  const manifestPath = join(project, 'node_modules', PLATFORM_PKG, 'package.json');
  const original = readFileSync(manifestPath, 'utf8');
  writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(original), version: '0.0.0-other' }));
  try {
    const native = JSON.stringify(join(project, 'node_modules', rootPkg.name, 'lib', 'native.js'));
    const script = `try { require(${native}) } catch (e) { console.log(JSON.stringify({ code: e.code, cause: e.cause && e.cause.code, message: e.cause && e.cause.message })) }`;
    const r = await node(['-e', script]);
    assert.equal(r.code, 0, transcript(r));
    const out = JSON.parse(r.stdout);
    assert.equal(out.code, 'ERR_OHOS_WS_NO_BINARY');
    assert.equal(out.cause, 'ERR_OHOS_WS_BINARY_VERSION');
    assert.match(out.message, /0\.0\.0-other/);
  } finally {
    writeFileSync(manifestPath, original);
  }
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
