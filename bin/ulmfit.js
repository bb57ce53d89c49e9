#!/usr/bin/env node
import { main } from '../dist/cli/main.js';
import { outputError, reportError } from '../dist/cli/fatal.js';

// A reader that stops early (`ulmfit tokenize big.txt | head`) closes the pipe: stop quietly,
// as Unix filters do, instead of crashing on EPIPE. Any other failed write (`> /dev/full`: ENOSPC,
// EIO) is one line on stderr and exit 1; the exit handlers release the run locks, and every
// directory ulmfit writes is replaced atomically, so stopping here leaves nothing half-written.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  reportError(outputError(err, 'stdout'));
  process.exit(1);
});
process.stderr.on('error', () => process.exit(1));
// Errors thrown outside the command's promise (an event handler, a timer) end the same way.
process.on('uncaughtException', (err) => {
  process.exitCode = reportError(err);
  process.exit();
});

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportError(err);
  },
);
