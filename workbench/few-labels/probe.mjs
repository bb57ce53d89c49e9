#!/usr/bin/env node
// A linear probe on a fine-tuned encoder (an experiment of docs/few-labels-benchmark.md, not a
// part of ulmfit): the encoder frozen, its concat-pooled features [3*emb] per document,
// standardized on the labeled set, into an L2 multinomial logistic regression whose C is picked by
// 5-fold cross-validation; printed beside NB-SVM on the same labels and the two averaged.
//
//   node workbench/few-labels/probe.mjs <encoder dir> <train.csv> <test.csv>
//   (PROBS_OUT=<file> also writes the test set's probabilities)
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  readModelDir,
  SortedBatches,
  TextClassifier,
  Vocab,
  createTokenizer,
} from '../../dist/index.js';
import { lbfgs } from '../../dist/baseline/lbfgs.js';
import { trainNbsvm } from '../../dist/baseline/nbsvm.js';
import { maskedConcatPool } from '../../dist/model/heads.js';
import { withTfWeights } from '../../dist/model/persist.js';
import { csvRows } from './runners.mjs';

const [encDir, trainCsv, testCsv] = process.argv.slice(2);
if (!testCsv) {
  process.stderr.write('usage: probe.mjs <encoder dir> <train.csv> <test.csv>\n');
  process.exit(2);
}
await initBackend('auto');
const enc = readModelDir(encDir);
const tokenizer = await createTokenizer(enc.tokenizer);
const vocab = Vocab.fromItos(enc.vocab);
const model = new TextClassifier(enc.vocab.length, 2, enc.meta.arch);
withTfWeights(enc.weights, (t) => model.loadEncoderWeights(t, enc.meta.kind === 'lm' ? '0.' : ''));
model.setTraining(false);
const E = enc.meta.arch.emb_sz * 3;
function features(texts) {
  const docs = texts.map((t) => vocab.numericalize(tokenizer.tokenize(t)));
  const out = new Float64Array(docs.length * E);
  const batches = new SortedBatches(docs, null, {
    bs: 32,
    seqLen: model.sentenceEncoder.bptt,
    padIdx: model.sentenceEncoder.padIdx,
  });
  for (const b of batches.batches()) {
    const v = tf.tidy(() => {
      const { output, padMask } = model.sentenceEncoder.forward(b.x, b.bs, b.seqLen, false);
      return maskedConcatPool(output, padMask);
    });
    const d = v.dataSync();
    v.dispose();
    for (let r = 0; r < b.bs; r++) for (let j = 0; j < E; j++) out[b.indices[r] * E + j] = d[r * E + j];
  }
  return out;
}
const train = csvRows(trainCsv),
  test = csvRows(testCsv);
const classes = [...new Set(train.map((r) => r.label))].sort();
const K = classes.length;
const t0 = Date.now();
const Xtr = features(train.map((r) => r.text)),
  Xte = features(test.map((r) => r.text));
console.error(`features ${((Date.now() - t0) / 1000).toFixed(1)} s`);
// standardize on train
const mean = new Float64Array(E),
  sd = new Float64Array(E);
for (let i = 0; i < train.length; i++) for (let j = 0; j < E; j++) mean[j] += Xtr[i * E + j] / train.length;
for (let i = 0; i < train.length; i++)
  for (let j = 0; j < E; j++) sd[j] += (Xtr[i * E + j] - mean[j]) ** 2 / train.length;
for (let j = 0; j < E; j++) sd[j] = Math.sqrt(sd[j]) + 1e-6;
const norm = (X, n) => {
  for (let i = 0; i < n; i++) for (let j = 0; j < E; j++) X[i * E + j] = (X[i * E + j] - mean[j]) / sd[j];
};
norm(Xtr, train.length);
norm(Xte, test.length);
const ytr = train.map((r) => classes.indexOf(r.label)),
  yte = test.map((r) => classes.indexOf(r.label));
function fit(X, y, idx, C) {
  const n = idx.length,
    P = (E + 1) * K;
  const fg = (w, g) => {
    g.fill(0);
    let loss = 0;
    const z = new Float64Array(K);
    for (const i of idx) {
      let mx = -Infinity;
      for (let k = 0; k < K; k++) {
        let s = w[k * (E + 1) + E];
        for (let j = 0; j < E; j++) s += w[k * (E + 1) + j] * X[i * E + j];
        z[k] = s;
        if (s > mx) mx = s;
      }
      let se = 0;
      for (let k = 0; k < K; k++) {
        z[k] = Math.exp(z[k] - mx);
        se += z[k];
      }
      loss -= Math.log(z[y[i]] / se);
      for (let k = 0; k < K; k++) {
        const p = z[k] / se - (k === y[i] ? 1 : 0);
        for (let j = 0; j < E; j++) g[k * (E + 1) + j] += p * X[i * E + j];
        g[k * (E + 1) + E] += p;
      }
    }
    // L2 (not on bias): objective = C*sum loss + 0.5|w|^2
    loss *= C;
    for (let q = 0; q < P; q++) g[q] *= C;
    for (let k = 0; k < K; k++)
      for (let j = 0; j < E; j++) {
        const q = k * (E + 1) + j;
        loss += 0.5 * w[q] * w[q];
        g[q] += w[q];
      }
    return loss;
  };
  return lbfgs(fg, new Float64Array(P), { maxIter: 300 }).x;
}
function proba(w, X, i) {
  const z = [];
  let mx = -Infinity;
  for (let k = 0; k < K; k++) {
    let s = w[k * (E + 1) + E];
    for (let j = 0; j < E; j++) s += w[k * (E + 1) + j] * X[i * E + j];
    z.push(s);
    mx = Math.max(mx, s);
  }
  const e = z.map((s) => Math.exp(s - mx));
  const t = e.reduce((a, b) => a + b);
  return e.map((v) => v / t);
}
// C by 5-fold CV
const Cs = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
const order = [...ytr.keys()];
let seed = 7;
for (let i = order.length - 1; i > 0; i--) {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  const j = seed % (i + 1);
  [order[i], order[j]] = [order[j], order[i]];
}
let best = Cs[0],
  bestAcc = -1;
for (const C of Cs) {
  let correct = 0;
  for (let f = 0; f < 5; f++) {
    const tr = order.filter((_, q) => q % 5 !== f),
      va = order.filter((_, q) => q % 5 === f);
    const w = fit(Xtr, ytr, tr, C);
    for (const i of va) {
      const p = proba(w, Xtr, i);
      if (p.indexOf(Math.max(...p)) === ytr[i]) correct++;
    }
  }
  console.error(`C ${C}: cv acc ${(correct / order.length).toFixed(3)}`);
  if (correct / order.length > bestAcc) {
    bestAcc = correct / order.length;
    best = C;
  }
}
const w = fit(Xtr, ytr, [...ytr.keys()], best);
const nb = trainNbsvm(
  train.map((r) => r.text),
  train.map((r) => r.label),
);
let accF = 0,
  accE = 0,
  accN = 0;
const nbP = nb.predictProbabilities(test.map((r) => r.text));
const nbIdx = classes.map((c) => nb.labels.indexOf(c));
const am = (a) => a.indexOf(Math.max(...a));
for (let i = 0; i < test.length; i++) {
  const p = proba(w, Xte, i);
  const q = nbIdx.map((k) => nbP[i * K + k]);
  if (am(p) === yte[i]) accF++;
  if (am(q) === yte[i]) accN++;
  if (am(p.map((v, k) => (v + q[k]) / 2)) === yte[i]) accE++;
}
if (process.env.PROBS_OUT) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    process.env.PROBS_OUT,
    JSON.stringify({
      classes,
      probe: test.map((_, i) => proba(w, Xte, i)),
      nbsvm: test.map((_, i) => nbIdx.map((k) => nbP[i * K + k])),
      gold: yte,
    }),
  );
}
console.log(
  JSON.stringify({
    C: best,
    cv: +bestAcc.toFixed(3),
    frozenLR: +(accF / test.length).toFixed(4),
    nbsvm: +(accN / test.length).toFixed(4),
    ens: +(accE / test.length).toFixed(4),
  }),
);
