#!/usr/bin/env node
// Runs the compiled benchmarks in dist/bench/ (each a script that prints its own report and a
// final `BENCH {json}` line), one child process each so peak memory is per benchmark.
//
//   npm run bench                 # all of them
//   node bench/run.js tokenize    # some of them (after npm run build)
//   node bench/run.js few-labels [flags]   # the few-label benchmark (hours; only when named):
//                                          # workbench/few-labels/run.mjs, flags passed on
//   node bench/run.js serve [flags]        # ulmfit serve under load (autocannon; minutes; only when named):
//                                          # workbench/serve/load.mjs, flags passed on
//   node bench/run.js scale [flags]        # WT103-size pull → finetune-lm → train-classifier → classify
//                                          # (minutes; only when named): workbench/scale/wt103.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Benchmarks that run only when named (long, or a server under load): their scripts in workbench/. */
const NAMED = {
  'few-labels': 'workbench/few-labels/run.mjs',
  serve: 'workbench/serve/load.mjs',
  scale: 'workbench/scale/wt103.mjs',
};
if (process.argv[2] in NAMED) {
  const child = spawnSync(process.execPath, [join(root, NAMED[process.argv[2]]), ...process.argv.slice(3)], {
    cwd: root,
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}
const benchDir = join(root, 'dist', 'bench');
if (!existsSync(benchDir)) {
  console.error('dist/bench/ is missing: run npm run build first');
  process.exit(1);
}
const available = readdirSync(benchDir)
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')} (available: ${available.join(', ')})`);
  process.exit(2);
}
const results = [];
let failed = false;
for (const name of wanted.length > 0 ? wanted : available) {
  console.log(`== ${name}`);
  const child = spawnSync(process.execPath, [join(benchDir, `${name}.js`)], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = (child.stdout ?? '').split('\n');
  for (const line of lines) if (line && !line.startsWith('BENCH ')) console.log(`   ${line}`);
  const json = lines.reverse().find((l) => l.startsWith('BENCH '));
  if (child.status !== 0 || !json) {
    console.log(`   FAILED (exit ${child.status})`);
    failed = true;
    continue;
  }
  results.push(JSON.parse(json.slice('BENCH '.length)));
}
console.log('\n== report');
console.log(JSON.stringify({ node: process.version, results }, null, 2));
process.exitCode = failed ? 1 : 0;
