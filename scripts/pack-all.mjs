#!/usr/bin/env node
// Packs what would be published: the root package plus one platform package for every
// platform whose binary exists here, and prints the tarball paths, one per line (the root's
// first). The tree stays clean: `napi artifacts` fills the platform packages in a staging copy.
//
//   node scripts/pack-all.mjs <dest-dir> [--platform P]... [--artifacts DIR]... [--no-root]
//
// Binaries (`ohos-net-websocket.<platform>.node`) are taken from, later ones winning:
//   the package root (the host's `npm run build`), target/cross/ (the cross builds of
//   scripts/cross/*), and each --artifacts DIR (searched recursively, e.g. CI downloads).
// --platform packs only the named platform packages (an error if its binary is missing);
// --no-root skips the root tarball. Also importable: `packAll({ dest, platforms, ... })`.

import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { parseTriple } from '@napi-rs/cli';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const BINARY_NAME = rootPkg.napi.binaryName;
const NAPI_CLI = join(dirname(require.resolve('@napi-rs/cli/package.json')), 'dist', 'cli.js');

/** The platform dirs under npm/ (napi create-npm-dirs), e.g. `linux-x64-gnu`. */
export function declaredPlatforms() {
  return readdirSync(join(ROOT, 'npm')).filter((d) => existsSync(join(ROOT, 'npm', d, 'package.json')));
}

/** `platform` of a file named `<binary>.<platform>.node`, else null. */
function platformOf(file) {
  const prefix = `${BINARY_NAME}.`;
  return file.startsWith(prefix) && file.endsWith('.node') ? file.slice(prefix.length, -'.node'.length) : null;
}

function nodeFiles(dir, recursive) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return recursive && entry.name !== 'node_modules' ? nodeFiles(path, true) : [];
    return platformOf(entry.name) ? [path] : [];
  });
}

/** platform → path of its binary, from the root, target/cross and `artifactDirs`, later ones winning. */
export function findBinaries(artifactDirs = []) {
  const found = new Map();
  const sources = [[ROOT, false], [join(ROOT, 'target', 'cross'), false], ...artifactDirs.map((d) => [resolve(d), true])];
  for (const [dir, recursive] of sources) {
    for (const file of nodeFiles(dir, recursive)) found.set(platformOf(file.split(/[\\/]/).pop()), file);
  }
  return found;
}

/** npm's CLI as [command, ...args]: the npm that runs this script when there is one. */
function npmCommand() {
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.js$/.test(execpath)) return [process.execPath, execpath];
  return process.platform === 'win32' ? ['npm.cmd'] : ['npm'];
}

/** `npm pack` of `dir` into `dest`; returns the tarball's path. */
function npmPack(dir, dest) {
  const [cmd, ...pre] = npmCommand();
  const out = execFileSync(cmd, [...pre, 'pack', '--json', '--pack-destination', dest], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: cmd.endsWith('.cmd'),
  });
  // Lifecycle scripts may print before the JSON report.
  const [report] = JSON.parse(out.slice(out.indexOf('[')));
  return join(dest, report.filename);
}

/**
 * Stages the root manifest (its napi.targets cut down to `binaries`' platforms), the npm/
 * dirs and the binaries, runs `napi artifacts` there and returns the staged npm/ dir.
 */
function stageWithNapiArtifacts(stage, binaries) {
  const targets = rootPkg.napi.targets.filter((triple) => binaries.has(parseTriple(triple).platformArchABI));
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ ...rootPkg, napi: { ...rootPkg.napi, targets } }, null, 2)}\n`);
  const artifacts = join(stage, 'artifacts');
  mkdirSync(artifacts);
  for (const [platform, file] of binaries) copyFileSync(file, join(artifacts, `${BINARY_NAME}.${platform}.node`));
  for (const platform of binaries.keys()) cpSync(join(ROOT, 'npm', platform), join(stage, 'npm', platform), { recursive: true });
  execFileSync(process.execPath, [NAPI_CLI, 'artifacts', '--cwd', stage, '--output-dir', 'artifacts', '--npm-dir', 'npm'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return join(stage, 'npm');
}

/**
 * Packs into `dest` the root package (unless `root` is false) and the platform packages of
 * `platforms` (default: every declared platform whose binary exists). Returns
 * `{ root, platforms: { [platform]: tarball } }`.
 */
export function packAll({ dest, platforms, artifactDirs = [], root = true }) {
  const out = resolve(dest);
  mkdirSync(out, { recursive: true });
  const declared = declaredPlatforms();
  const available = findBinaries(artifactDirs);
  for (const platform of platforms || []) {
    if (!declared.includes(platform)) throw new Error(`${platform} has no npm/${platform} (declared: ${declared.join(', ')})`);
    if (!available.has(platform)) throw new Error(`no ${BINARY_NAME}.${platform}.node in the root, target/cross or --artifacts`);
  }
  const chosen = new Map([...available].filter(([p]) => declared.includes(p) && (!platforms || platforms.includes(p))));
  const result = { root: root ? npmPack(ROOT, out) : null, platforms: {} };
  if (!chosen.size) return result;
  const stage = mkdtempSync(join(tmpdir(), 'ohos-ws-pack-'));
  try {
    const npmDir = stageWithNapiArtifacts(stage, chosen);
    for (const platform of chosen.keys()) {
      const dir = join(npmDir, platform);
      copyFileSync(join(ROOT, 'LICENSE'), join(dir, 'LICENSE'));
      const binary = join(dir, `${BINARY_NAME}.${platform}.node`);
      if (!existsSync(binary) || statSync(binary).size === 0) throw new Error(`napi artifacts left no binary in npm/${platform}`);
      result.platforms[platform] = npmPack(dir, out);
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return result;
}

function parseArgs(argv) {
  const opts = { dest: null, platforms: null, artifactDirs: [], root: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--platform') (opts.platforms ||= []).push(argv[++i]);
    else if (arg === '--artifacts') opts.artifactDirs.push(argv[++i]);
    else if (arg === '--no-root') opts.root = false;
    else if (!arg.startsWith('--') && !opts.dest) opts.dest = arg;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!opts.dest) throw new Error('usage: node scripts/pack-all.mjs <dest-dir> [--platform P]... [--artifacts DIR]... [--no-root]');
  return opts;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const result = packAll(parseArgs(process.argv.slice(2)));
    for (const tarball of [result.root, ...Object.values(result.platforms)].filter(Boolean)) console.log(tarball);
    if (!Object.keys(result.platforms).length) console.error('pack-all: no platform binary found (run `npm run build` first)');
  } catch (err) {
    console.error(`pack-all: ${err.message}`);
    process.exit(1);
  }
}
