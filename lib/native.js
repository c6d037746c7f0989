'use strict';
// Loads the native addon. Hand-written rather than napi-generated so that the search is
// short and readable, musl is told from the running process (never from the host's
// /usr/bin/ldd, which belongs to glibc on a machine that runs a musl Node beside it), and a
// failure says which platform was looked for and how to get a binary. Order:
//   1. `<package root>/ohos-net-websocket.<platform>.node`: a source checkout's `npm run build`;
//   2. the platform package `ohos-net-websocket-<platform>` (an optional dependency).

const fs = require('node:fs');
const path = require('node:path');
const pkg = require('../package.json');

const ROOT = path.join(__dirname, '..');
const BINARY_NAME = pkg.napi.binaryName;

/** napi-rs platform name of this process, e.g. `linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`. */
function platformName() {
  const { platform, arch } = process;
  if (platform === 'win32') return `${platform}-${arch}-msvc`;
  if (platform !== 'linux') return `${platform}-${arch}`;
  if (arch === 'arm') return `${platform}-${arch}-${isMusl() ? 'musleabihf' : 'gnueabihf'}`;
  return `${platform}-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
}

/**
 * Whether this process runs on musl. A glibc Node puts the C library's version in its
 * diagnostic report and a musl Node does not. Runtimes without a usable report fall back to
 * the libraries mapped into this very process.
 */
function isMusl() {
  const report = process.report;
  if (report && typeof report.getReport === 'function') {
    // The network part of a report can take seconds (reverse DNS of every socket); skip it.
    const toggles = 'excludeNetwork' in report;
    const excluded = report.excludeNetwork;
    try {
      if (toggles) report.excludeNetwork = true;
      const { header } = report.getReport();
      if (header && typeof header === 'object') return !header.glibcVersionRuntime;
    } catch {
      // fall through to the memory map
    } finally {
      if (toggles) report.excludeNetwork = excluded;
    }
  }
  try {
    return /\bld-musl-|\blibc\.musl-/.test(fs.readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Whether the host runtime is Bun or Deno rather than Node.js. Both load Node-API addons, but
 * their libuv `uv_*` exports are stand-ins that fail only when used, and the addon cannot tell
 * them from Node's by calling them (src/runtime/host.rs). So it is told here, once, and then
 * reads every connection on its own I/O thread instead of on the host's event loop.
 */
function hostLacksLibuv() {
  return Boolean(process.versions.bun || process.versions.deno || globalThis.Deno);
}

/** The platforms that have a prebuilt package: the optional dependencies named `<name>-<platform>`. */
function prebuiltPlatforms() {
  const prefix = `${pkg.name}-`;
  return Object.keys(pkg.optionalDependencies || {})
    .filter((dep) => dep.startsWith(prefix))
    .map((dep) => dep.slice(prefix.length));
}

const FROM_SOURCE =
  'To build it from source: clone the repository, then run `npm install` and `npm run build` ' +
  '(needs Rust with cargo and a C compiler), and use that checkout (e.g. `npm install <path-to-clone>`).';

/** A checkout of the repository (it has the crate), as opposed to an installed package. */
const isSourceCheckout = () => fs.existsSync(path.join(ROOT, 'Cargo.toml'));

/** The error a user sees when no binary could be loaded; `cause` is the most telling failure. */
function missingBinaryError(platform, failures) {
  const prebuilt = prebuiltPlatforms();
  const packageName = `${pkg.name}-${platform}`;
  const lines = [`${pkg.name}: no native binary could be loaded for ${platform} (Node.js ${process.version}).`];
  if (isSourceCheckout() && !fs.existsSync(path.join(ROOT, `${BINARY_NAME}.${platform}.node`))) {
    lines.push(`This is a source checkout that has not been built yet (${BINARY_NAME}.${platform}.node is missing): run \`npm run build\`.`);
  } else if (prebuilt.includes(platform)) {
    lines.push(
      `The prebuilt binary comes in the optional dependency ${packageName}@${pkg.version}; it is not ` +
        'installed or failed to load (see `cause`). Reinstall without `--omit=optional` / `--no-optional`.',
      FROM_SOURCE,
    );
  } else {
    lines.push(`Prebuilt binaries exist for: ${prebuilt.join(', ') || 'none'}; ${platform} is not one of them.`, FROM_SOURCE);
  }
  const error = new Error(lines.join('\n'));
  error.code = 'ERR_OHOS_WS_NO_BINARY';
  error.platform = platform;
  // A binary that was found but refused to load (e.g. a too old glibc) explains more than
  // a package that is simply not installed.
  error.cause = failures.find((e) => e && e.code !== 'MODULE_NOT_FOUND') || failures[failures.length - 1];
  return error;
}

/** The platform package's binary, refused when it comes from another version of this package. */
function requirePlatformPackage(packageName) {
  const binding = require(packageName);
  const { version } = require(`${packageName}/package.json`);
  if (version !== pkg.version) {
    const error = new Error(`${packageName}@${version} is installed, but ${pkg.name}@${pkg.version} needs the same version`);
    error.code = 'ERR_OHOS_WS_BINARY_VERSION';
    throw error;
  }
  return binding;
}

function load() {
  const platform = platformName();
  const failures = [];
  const local = path.join(ROOT, `${BINARY_NAME}.${platform}.node`);
  if (fs.existsSync(local)) {
    try {
      return require(local);
    } catch (err) {
      failures.push(err);
    }
  }
  try {
    return requirePlatformPackage(`${pkg.name}-${platform}`);
  } catch (err) {
    failures.push(err);
  }
  throw missingBinaryError(platform, failures);
}

const native = load();
if (hostLacksLibuv()) native.refuseLibuvPoll();

module.exports = native;
