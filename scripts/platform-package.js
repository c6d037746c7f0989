'use strict';
// Fills a platform package (npm/<platform>/, napi-rs convention) with the binary of the
// last `npm run build` and packs it, without leaving a .node file in npm/: the package dir
// is copied to a staging dir first. `napi artifacts` does the filling step in place; this
// script exists so that packing works the same on a developer's machine and in the tests.
//
//   node scripts/platform-package.js [destination-dir]
// packs every platform whose binary has been built and prints the tarball paths.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const NPM_DIR = path.join(ROOT, 'npm');

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The platform names that have a package dir under npm/ (e.g. `linux-x64-gnu`). */
function platforms() {
  return fs.readdirSync(NPM_DIR).filter((d) => fs.existsSync(path.join(NPM_DIR, d, 'package.json')));
}

/**
 * Checks that npm/<platform> agrees with the root package (same version, listed in
 * optionalDependencies with that exact version) and returns its manifest.
 */
function checkedManifest(platform) {
  const root = readJson(path.join(ROOT, 'package.json'));
  const manifest = readJson(path.join(NPM_DIR, platform, 'package.json'));
  const problems = [];
  if (manifest.name !== `${root.name}-${platform}`) problems.push(`its name is ${manifest.name}`);
  if (manifest.version !== root.version) problems.push(`its version ${manifest.version} is not ${root.version}`);
  if ((root.optionalDependencies || {})[manifest.name] !== root.version) {
    problems.push(`the root package.json does not list it in optionalDependencies as "${root.version}"`);
  }
  if (problems.length) {
    throw new Error(`npm/${platform}: ${problems.join('; ')} (node scripts/sync-versions.js fixes versions)`);
  }
  return manifest;
}

/** Copies npm/<platform> plus the built binary and LICENSE into `outDir`; returns `outDir`. */
function stagePlatformPackage(platform, outDir) {
  const manifest = checkedManifest(platform);
  const binary = path.join(ROOT, manifest.main);
  if (!fs.existsSync(binary)) {
    throw new Error(`${manifest.main} is missing: run \`npm run build\` first (it builds for this machine only)`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  for (const file of fs.readdirSync(path.join(NPM_DIR, platform))) {
    fs.copyFileSync(path.join(NPM_DIR, platform, file), path.join(outDir, file));
  }
  fs.copyFileSync(path.join(ROOT, 'LICENSE'), path.join(outDir, 'LICENSE'));
  fs.copyFileSync(binary, path.join(outDir, manifest.main));
  return outDir;
}

function main(destination) {
  const dest = path.resolve(destination || '.');
  const built = platforms().filter((p) => fs.existsSync(path.join(ROOT, checkedManifest(p).main)));
  if (!built.length) throw new Error('no platform binary has been built: run `npm run build` first');
  for (const platform of built) {
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), `ohos-ws-${platform}-`));
    try {
      stagePlatformPackage(platform, staging);
      const [packed] = JSON.parse(
        execFileSync('npm', ['pack', '--json', '--pack-destination', dest], { cwd: staging, encoding: 'utf8' }),
      );
      console.log(path.join(dest, packed.filename));
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }
}

if (require.main === module) main(process.argv[2]);

module.exports = { platforms, stagePlatformPackage };
