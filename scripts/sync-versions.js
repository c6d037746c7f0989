'use strict';
// Gives every platform package (npm/*/package.json) the root package's version and lists it
// in the root's optionalDependencies with exactly that version, as the napi-rs loader
// expects. Run by the `version` lifecycle (`npm version …`); run `npm install` afterwards so
// package-lock.json records the new optionalDependencies too.

const fs = require('node:fs');
const path = require('node:path');
const { platforms } = require('./platform-package');

const ROOT = path.join(__dirname, '..');

function update(file, change) {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  change(json);
  fs.writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
}

const rootFile = path.join(ROOT, 'package.json');
const { name, version } = JSON.parse(fs.readFileSync(rootFile, 'utf8'));
const names = platforms().map((platform) => {
  update(path.join(ROOT, 'npm', platform, 'package.json'), (pkg) => {
    pkg.version = version;
  });
  return `${name}-${platform}`;
});
update(rootFile, (pkg) => {
  pkg.optionalDependencies = { ...pkg.optionalDependencies, ...Object.fromEntries(names.map((n) => [n, version])) };
});
console.log(`${names.join(', ')} → ${version}`);
