// A linear probe on a fine-tuned encoder (an experiment of docs/few-labels-benchmark.md, not a part
// of ulmfit): the encoder frozen, each document's concat-pooled features [3·emb], standardized on the
// labeled set, into an L2 multinomial logistic regression whose C is picked by 5-fold
// cross-validation on the labeled set. Used by probe.mjs (one labeled set) and probe-ensemble.mjs
// (every saved run). Needs `npm run build`.
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
import { maskedConcatPool } from '../../dist/compute/concat-pool.js';
import { withTfWeights } from '../../dist/model/persist.js';

/** The regularization strengths cross-validation chooses from. */
const C_GRID = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];

/**
 * Loads an encoder (a fine-tuning run's encoder/ or a language model) for feature extraction.
 * Returns `features(texts)`: Float64Array [texts.length × dim], row-major, `dim`, and
 * `dispose()`, which frees the model's weights. `layers`: 'last' pools the last LSTM layer's
 * outputs as the classifier does (dim 3·emb); 'all' pools every layer's outputs side by side
 * (dim 3·(n_hid·(layers−1) + emb)), the lower layers being wider and closer to the words.
 */
export async function loadEncoder(encDir, { layers = 'last' } = {}) {
  await initBackend('auto');
  const enc = readModelDir(encDir);
  const tokenizer = await createTokenizer(enc.tokenizer);
  const vocab = Vocab.fromItos(enc.vocab);
  const model = new TextClassifier(enc.vocab.length, 2, enc.meta.arch);
  withTfWeights(enc.weights, (t) => model.loadEncoderWeights(t, enc.meta.kind === 'lm' ? '0.' : ''));
  model.setTraining(false);
  const arch = enc.meta.arch;
  let width = arch.emb_sz;
  if (layers === 'all') {
    // The sentence encoder pools the last element of `raw`: make it every layer side by side.
    const lstm = model.sentenceEncoder.encoder;
    const forward = lstm.forward.bind(lstm);
    lstm.forward = (ids, training, rows) => {
      const out = forward(ids, training, rows);
      return { ...out, raw: [...out.raw, tf.concat(out.raw, 2)] };
    };
    width = arch.n_hid * (arch.n_layers - 1) + arch.emb_sz;
  } else if (layers !== 'last') throw new Error(`layers: 'last' or 'all', got '${layers}'`);
  const dim = width * 3;
  function features(texts) {
    const docs = texts.map((t) => vocab.numericalize(tokenizer.tokenize(t)));
    const out = new Float64Array(docs.length * dim);
    const batches = new SortedBatches(docs, null, {
      bs: 32,
      seqLen: model.sentenceEncoder.bptt,
      padIdx: model.sentenceEncoder.padIdx,
    });
    for (const b of batches.batches()) {
      const pooled = tf.tidy(() => {
        const { output, padMask } = model.sentenceEncoder.forward(b.x, b.bs, b.seqLen, false);
        return maskedConcatPool(output, padMask);
      });
      const d = pooled.dataSync();
      pooled.dispose();
      for (let r = 0; r < b.bs; r++)
        for (let j = 0; j < dim; j++) out[b.indices[r] * dim + j] = d[r * dim + j];
    }
    return out;
  }
  return { features, dim, dispose: () => model.dispose() };
}

/** L2 logistic regression weights [K × (dim + 1)] (bias last, not penalized) on the rows `idx`. */
function fit(X, y, idx, C, dim, K) {
  const P = (dim + 1) * K;
  const objective = (w, g) => {
    g.fill(0);
    let loss = 0;
    const z = new Float64Array(K);
    for (const i of idx) {
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        let s = w[k * (dim + 1) + dim];
        for (let j = 0; j < dim; j++) s += w[k * (dim + 1) + j] * X[i * dim + j];
        z[k] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let k = 0; k < K; k++) {
        z[k] = Math.exp(z[k] - max);
        sum += z[k];
      }
      loss -= Math.log(z[y[i]] / sum);
      for (let k = 0; k < K; k++) {
        const p = z[k] / sum - (k === y[i] ? 1 : 0);
        for (let j = 0; j < dim; j++) g[k * (dim + 1) + j] += p * X[i * dim + j];
        g[k * (dim + 1) + dim] += p;
      }
    }
    // objective = C·Σ loss + ½|w|² (the bias unpenalized), scikit-learn's convention for C
    loss *= C;
    for (let q = 0; q < P; q++) g[q] *= C;
    for (let k = 0; k < K; k++)
      for (let j = 0; j < dim; j++) {
        const q = k * (dim + 1) + j;
        loss += 0.5 * w[q] * w[q];
        g[q] += w[q];
      }
    return loss;
  };
  return lbfgs(objective, new Float64Array(P), { maxIter: 300 }).x;
}

function probabilities(w, X, i, dim, K) {
  const z = [];
  let max = -Infinity;
  for (let k = 0; k < K; k++) {
    let s = w[k * (dim + 1) + dim];
    for (let j = 0; j < dim; j++) s += w[k * (dim + 1) + j] * X[i * dim + j];
    z.push(s);
    max = Math.max(max, s);
  }
  const e = z.map((s) => Math.exp(s - max));
  const total = e.reduce((a, b) => a + b);
  return e.map((v) => v / total);
}

/**
 * Fits the probe on labeled features and scores the test features. `Xtrain` [n × dim] and `Xtest`
 * [m × dim] are not modified. Returns { C, cvAccuracy, test: number[m][K] } with classes in the
 * order of `classes`.
 */
export function fitProbe(Xtrain, labels, Xtest, classes, dim) {
  const n = labels.length;
  const m = Xtest.length / dim;
  const K = classes.length;
  const mean = new Float64Array(dim);
  const sd = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += Xtrain[i * dim + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) sd[j] += (Xtrain[i * dim + j] - mean[j]) ** 2 / n;
  for (let j = 0; j < dim; j++) sd[j] = Math.sqrt(sd[j]) + 1e-6;
  const standardized = (X, rows) => {
    const out = new Float64Array(rows * dim);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < dim; j++) out[i * dim + j] = (X[i * dim + j] - mean[j]) / sd[j];
    return out;
  };
  const Xtr = standardized(Xtrain, n);
  const Xte = standardized(Xtest, m);
  const y = labels.map((label) => classes.indexOf(label));
  // a fixed shuffle (an LCG) so the folds are the same for every C
  const order = [...y.keys()];
  let state = 7;
  for (let i = order.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  let bestC = C_GRID[0];
  let bestAccuracy = -1;
  for (const C of C_GRID) {
    let correct = 0;
    for (let f = 0; f < 5; f++) {
      const train = order.filter((_, q) => q % 5 !== f);
      const held = order.filter((_, q) => q % 5 === f);
      const w = fit(Xtr, y, train, C, dim, K);
      for (const i of held) {
        const p = probabilities(w, Xtr, i, dim, K);
        if (p.indexOf(Math.max(...p)) === y[i]) correct++;
      }
    }
    if (correct / n > bestAccuracy) {
      bestAccuracy = correct / n;
      bestC = C;
    }
  }
  const w = fit(Xtr, y, [...y.keys()], bestC, dim, K);
  const test = [];
  for (let i = 0; i < m; i++) test.push(probabilities(w, Xte, i, dim, K));
  return { C: bestC, cvAccuracy: bestAccuracy, test };
}
