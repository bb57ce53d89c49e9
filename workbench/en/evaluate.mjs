#!/usr/bin/env node
// Held-out perplexity of language models on each source of the `en` corpus, side by side:
//
//   node workbench/en/evaluate.mjs <corpus dir> <model dir|name> [<model dir|name> ...] [--max-words N] [--json]
//
// <corpus dir> is what workbench/en/corpus.mjs wrote (its heldout/<source>.jsonl files). Each model
// scores the text in its own vocab, so the unknown share is printed beside the perplexity: a
// smaller vocab maps more words to xxunk, which is easier to predict. Needs `npm run build`.
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { evaluateLanguageModel } = await import(join(repo, 'dist/tasks/lm-eval.js'));

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const maxWords = Number(flag('--max-words', '100000'));
const json = args.includes('--json');
const positional = args.filter((a) => a !== '--json');
const [corpus, ...models] = positional;
if (!corpus || models.length === 0) {
  console.error(
    'usage: node workbench/en/evaluate.mjs <corpus dir> <model> [<model> ...] [--max-words N] [--json]',
  );
  process.exit(2);
}

// The first maxWords words of each source's held-out documents (whole documents), so every
// source costs about the same time.
const tmp = mkdtempSync(join(tmpdir(), 'ulmfit-en-eval-'));
const heldout = join(corpus, 'heldout');
const sources = readdirSync(heldout)
  .filter((f) => f.endsWith('.jsonl'))
  .sort();
const files = {};
for (const file of sources) {
  const kept = [];
  let words = 0;
  for (const line of readFileSync(join(heldout, file), 'utf8').split('\n')) {
    if (!line || words >= maxWords) continue;
    kept.push(line);
    words += JSON.parse(line).text.split(' ').length;
  }
  const name = file.slice(0, -'.jsonl'.length);
  files[name] = join(tmp, file);
  writeFileSync(files[name], kept.join('\n') + '\n');
}

const rows = [];
for (const [source, path] of Object.entries(files)) {
  const row = { source };
  for (const model of models) {
    const r = await evaluateLanguageModel({ model, inputs: [path], noCache: true });
    row[model] = {
      tokens: r.tokens,
      perplexity: r.perplexity,
      accuracy: r.accuracy,
      unknown_rate: r.unknownRate,
      vocab: r.vocabSize,
    };
  }
  rows.push(row);
  if (!json)
    console.error(
      `${source}: ${models.map((m) => `${m} ppl ${row[m].perplexity.toFixed(1)} (unk ${(100 * row[m].unknown_rate).toFixed(1)}%)`).join(', ')}`,
    );
}
rmSync(tmp, { recursive: true, force: true });

if (json) {
  process.stdout.write(JSON.stringify({ max_words: maxWords, rows }) + '\n');
} else {
  const head = ['source', ...models.flatMap((m) => [`${m} ppl`, 'acc', 'unk'])];
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const row of rows) {
    const cells = models.flatMap((m) => [
      row[m].perplexity.toFixed(1),
      row[m].accuracy.toFixed(3),
      `${(100 * row[m].unknown_rate).toFixed(1)}%`,
    ]);
    console.log(`| ${row.source} | ${cells.join(' | ')} |`);
  }
}
