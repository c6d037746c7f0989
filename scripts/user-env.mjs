// The environment of a user who has Node.js but no Rust, for the install checks
// (__test__/install.test.mjs, scripts/cross/install-smoke.mjs): proof that a package install
// never falls back to building from source.
import { existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Names of the Rust toolchain's commands, kept off the user's PATH. */
export const RUST_TOOLS = /^(?:cargo(?:-.*)?|rustc|rustdoc|rustup|rustfmt|rust-gdb|rust-lldb|rust-gdbgui|clippy-driver)$/;

/** Variables of a developer's or a test runner's shell that a user's has not. */
const DROPPED = new Set(['NODE_OPTIONS', 'NODE_TEST_CONTEXT', 'CARGO_HOME', 'RUSTUP_HOME', 'RUSTC', 'RUSTDOC', 'RUSTC_BOOTSTRAP', 'CARGO_TARGET_DIR']);

/**
 * process.env without npm_* and Rust variables, and a PATH without ~/.cargo/bin or any Rust
 * command: a directory such as /usr/bin that holds cargo or rustc next to everything else (a
 * distribution's Rust package) is replaced by a mirror of symlinks to all of its other
 * entries, under `tmp`. `firstOnPath` (e.g. the directory of the node to use) goes first.
 */
export function userEnvironment(tmp, firstOnPath) {
  const cargoHomes = [join(homedir(), '.cargo'), process.env.CARGO_HOME].filter(Boolean);
  const dirs = (process.env.PATH || '')
    .split(delimiter)
    .filter((d) => d && !cargoHomes.some((home) => d.startsWith(home)))
    .map((d, i) => {
      if (!['cargo', 'rustc'].some((tool) => existsSync(join(d, tool)))) return d;
      const mirror = join(tmp, `path-${i}`);
      mkdirSync(mirror, { recursive: true });
      for (const name of readdirSync(d)) if (!RUST_TOOLS.test(name)) symlinkSync(join(d, name), join(mirror, name));
      return mirror;
    });
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && !DROPPED.has(k)));
  return { ...env, PATH: [...(firstOnPath ? [firstOnPath] : []), ...dirs].join(delimiter) };
}

/** npm's own CLI script, to run with this node (so the user's PATH needs no npm). */
export function npmCli() {
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.js$/.test(execpath)) return execpath;
  for (const dir of (process.env.PATH || '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'npm'))) return realpathSync(join(dir, 'npm'));
  }
  throw new Error('npm not found on PATH');
}
