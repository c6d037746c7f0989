#!/usr/bin/env node
'use strict';
// The `ohos-ws` command (the package's bin entry): a WebSocket client and server for the
// terminal, like wscat, built on this package's own API. The work is done in lib/cli/.

const { main } = require('../lib/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`ohos-ws: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
