#!/usr/bin/env node
// Nested samples of the `en` training corpus for pilot runs that compare model sizes at equal CPU
// time: every training document of every source in one seeded order, and the first N words of it
// written as one JSONL file per requested size. A smaller sample is a prefix of a larger one, so
// the pilots see the same mix of sources, only more or less of it.
//
//   node workbench/en/pilot-subset.mjs <corpus dir> <out dir> <words> [<words> ...] [--seed 1] [--rest]
//
// Writes <out dir>/train-<words>.jsonl ({"text"} per line) and prints each file's documents and
// words per source; with --rest also <out dir>/rest.jsonl, every training document outside the
// largest sample, in the corpus's order (so that the sample, then the rest, is one pass over the
// corpus). <corpus dir> is what workbench/en/corpus.mjs wrote.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededUniform } from './seeded-random.mjs';

const args = process.argv.slice(2);
const seedAt = args.indexOf('--seed');
const seed = seedAt >= 0 ? Number(args.splice(seedAt, 2)[1]) : 1;
const restAt = args.indexOf('--rest');
const writeRest = restAt >= 0;
if (writeRest) args.splice(restAt, 1);
const [corpus, out, ...sizes] = args;
const budgets = sizes.map(Number);
if (!corpus || !out || budgets.length === 0 || budgets.some((n) => !(n > 0))) {
  process.stderr.write(
    'usage: pilot-subset.mjs <corpus dir> <out dir> <words> [<words> ...] [--seed 1] [--rest]\n',
  );
  process.exit(2);
}

const docs = [];
const trainDir = join(corpus, 'train');
for (const file of readdirSync(trainDir)
  .filter((f) => f.endsWith('.jsonl'))
  .sort()) {
  const source = file.replace(/\.jsonl$/, '');
  for (const line of readFileSync(join(trainDir, file), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const { text } = JSON.parse(line);
    docs.push({ source, line, words: text.split(/\s+/).filter(Boolean).length, order: docs.length });
  }
}
const random = seededUniform(seed);
for (let i = docs.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [docs[i], docs[j]] = [docs[j], docs[i]];
}

mkdirSync(out, { recursive: true });
const write = (path, lines) => {
  writeFileSync(`${path}.tmp`, lines.join('\n') + '\n');
  renameSync(`${path}.tmp`, path);
};
let largest = 0;
for (const budget of budgets) {
  const lines = [];
  const perSource = {};
  let words = 0;
  for (const doc of docs) {
    if (words >= budget) break;
    lines.push(doc.line);
    words += doc.words;
    perSource[doc.source] = (perSource[doc.source] ?? 0) + doc.words;
  }
  const path = join(out, `train-${budget}.jsonl`);
  write(path, lines);
  largest = Math.max(largest, lines.length);
  console.log(`${path}: ${lines.length} documents, ${words} words`);
  for (const [source, n] of Object.entries(perSource).sort())
    console.log(`  ${source.padEnd(12)} ${String(n).padStart(9)} (${((100 * n) / words).toFixed(1)}%)`);
}
if (writeRest) {
  const rest = docs.slice(largest).sort((a, b) => a.order - b.order);
  const path = join(out, 'rest.jsonl');
  write(
    path,
    rest.map((doc) => doc.line),
  );
  const words = rest.reduce((n, doc) => n + doc.words, 0);
  console.log(`${path}: ${rest.length} documents, ${words} words`);
}
