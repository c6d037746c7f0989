'use strict';
// Second half of the `version` lifecycle (`npm version …`), after `napi version` has given
// every npm/<platform>/package.json the root's version: lists each platform package in the
// root's optionalDependencies with exactly that version, which the loader and npm expect.
// napi-rs itself writes optionalDependencies only in `napi pre-publish`, i.e. at publish time
// and only with every platform's binary at hand; this repository keeps them checked in so that
// `npm pack` of a checkout is already complete. Run `npm install --package-lock-only` after.

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const rootFile = path.join(ROOT, 'package.json');
const root = JSON.parse(fs.readFileSync(rootFile, 'utf8'));
const names = fs
  .readdirSync(path.join(ROOT, 'npm'))
  .filter((dir) => fs.existsSync(path.join(ROOT, 'npm', dir, 'package.json')))
  .map((dir) => `${root.name}-${dir}`);
root.optionalDependencies = {
  ...root.optionalDependencies,
  ...Object.fromEntries(names.map((name) => [name, root.version])),
};
fs.writeFileSync(rootFile, `${JSON.stringify(root, null, 2)}\n`);
console.log(`${names.join(', ')} → ${root.version}`);
