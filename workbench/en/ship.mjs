#!/usr/bin/env node
// Makes a trained model fit to ship in the package: copies a model directory (or a run
// directory's model-best/, else model-last/) with its weights stored as float16, meta.json
// rewritten to match, and checks that the result loads. The work is shipModelDir
// (src/io/ship-model.ts); this only parses the arguments.
//
//   npm run build && node workbench/en/ship.mjs <model or run dir> <out dir> [--description "…"] [--json]
//   e.g. node workbench/en/ship.mjs runs/en-fwd/model-last models/en --description "general English …"
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const usage = 'usage: node workbench/en/ship.mjs <model or run dir> <out dir> [--description "…"] [--json]';
const flags = { json: false, description: undefined };
const positional = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--json') flags.json = true;
  else if (arg === '--description' && i + 1 < args.length) flags.description = args[++i];
  else if (arg === '-h' || arg === '--help') {
    process.stdout.write(usage + '\n');
    process.exit(0);
  } else if (arg.startsWith('-')) {
    process.stderr.write(`unknown option ${arg}\n${usage}\n`);
    process.exit(2);
  } else positional.push(arg);
}
if (positional.length !== 2) {
  process.stderr.write(usage + '\n');
  process.exit(2);
}

const { shipModelDir } = await import(pathToFileURL(resolve(repo, 'dist/io/ship-model.js')).href);
const { isUlmfitError } = await import(pathToFileURL(resolve(repo, 'dist/errors.js')).href);
try {
  const result = shipModelDir(
    positional[0],
    positional[1],
    flags.description !== undefined ? { description: flags.description } : {},
  );
  if (flags.json) {
    process.stdout.write(
      JSON.stringify({
        ...result,
        meta: undefined,
        kind: result.meta.kind,
        description: result.meta.description,
      }) + '\n',
    );
  } else {
    const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
    process.stdout.write(
      `shipped ${result.from} → ${result.out} (${result.meta.kind}): weights ${mb(result.bytesBefore)} → ${mb(result.bytesAfter)} as float16, ` +
        `max relative error ${result.maxRelativeError.toExponential(2)}, max absolute error ${result.maxAbsoluteError.toExponential(2)}\n`,
    );
  }
} catch (err) {
  if (isUlmfitError(err)) {
    process.stderr.write(err.toLine() + '\n');
    process.exit(err.exitCode);
  }
  throw err;
}
