'use strict';
// Builds the addon when this checkout has no binary yet (first `npm start` on a fresh
// clone); otherwise does nothing, so `npm start` stays instant.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const { napi } = require('../package.json');
const hasBinary = fs.readdirSync(root).some((f) => f.startsWith(`${napi.binaryName}.`) && f.endsWith('.node'));
if (!hasBinary) {
  console.log('[ensure-built] building the native addon (first run takes a few minutes)...');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  process.exit(r.status ?? 1);
}
