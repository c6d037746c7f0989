'use strict';
// Entry of the `ohos-ws` command: parses the command line, runs the command, and resolves
// the process exit status. The commands are loaded on demand, so `--help` works even where
// the native addon cannot be loaded.

const { parseCommandLine, UsageError, USAGE } = require('./args');
const { out, status } = require('./print');

async function main(argv) {
  let command;
  try {
    command = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    status(`ohos-ws: ${err.message}\nRun "ohos-ws --help" for the options.`);
    return 2;
  }
  switch (command.command) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
      out(require('../../package.json').version);
      return 0;
    case 'connect':
      return require('./connect').runConnect(command);
    default:
      return require('./listen').runListen(command);
  }
}

module.exports = { main };
