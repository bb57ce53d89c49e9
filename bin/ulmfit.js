#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// A reader that stops early (`ulmfit tokenize big.txt | head`) closes the pipe: stop quietly,
// as Unix filters do, instead of crashing on EPIPE.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 1; },
);
