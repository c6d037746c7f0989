'use strict';
// Loads the native addon. The napi-generated loader `binding.js` does the search: the
// `.node` of a source build next to it first, then the platform package
// (`ohos-net-websocket-<platform>`, an optional dependency). Its own failure says only
// "Cannot find native binding"; this wrapper replaces that with an error that names the
// user's platform and says how to get a binary, and keeps the original as `cause`.

const fs = require('node:fs');
const path = require('node:path');
const pkg = require('../package.json');

const ROOT = path.join(__dirname, '..');

/** napi-rs platform name of this process, e.g. `linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`. */
function platformName() {
  const { platform, arch } = process;
  if (platform === 'win32') return `${platform}-${arch}-msvc`;
  if (platform !== 'linux') return `${platform}-${arch}`;
  if (arch === 'arm') return `${platform}-${arch}-gnueabihf`;
  return `${platform}-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
}

function isMusl() {
  try {
    // A glibc runtime reports its version in the process report; musl has none.
    return !process.report.getReport().header.glibcVersionRuntime;
  } catch {
    return false;
  }
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

/** The error a user sees when no binary could be loaded; `cause` is the loader's own error. */
function missingBinaryError(cause) {
  const platform = platformName();
  const prebuilt = prebuiltPlatforms();
  const lines = [`${pkg.name}: no native binary could be loaded for ${platform} (Node.js ${process.version}).`];
  if (isMissingLoader(cause)) {
    lines.push('This is a source checkout that has not been built yet (binding.js is missing): run `npm run build`.');
  } else if (prebuilt.includes(platform)) {
    lines.push(
      `The prebuilt binary comes in the optional dependency ${pkg.name}-${platform}@${pkg.version}; it is not ` +
        'installed or failed to load (see `cause`). Reinstall without `--omit=optional` / `--no-optional`.',
      FROM_SOURCE,
    );
  } else {
    lines.push(`Prebuilt binaries exist for: ${prebuilt.join(', ') || 'none'}; ${platform} is not one of them.`, FROM_SOURCE);
  }
  const error = new Error(lines.join('\n'));
  error.code = 'ERR_OHOS_WS_NO_BINARY';
  error.platform = platform;
  error.cause = cause;
  return error;
}

function isMissingLoader(err) {
  return err && err.code === 'MODULE_NOT_FOUND' && !fs.existsSync(path.join(ROOT, 'binding.js'));
}

function load() {
  try {
    return require('../binding.js');
  } catch (err) {
    // A binding that was found but threw for another reason (e.g. a too old glibc) is also
    // reported here: the message names the platform, `cause` keeps the details.
    throw missingBinaryError(err);
  }
}

module.exports = load();
