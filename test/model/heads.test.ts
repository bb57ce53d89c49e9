import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import type { ClasBatch } from '../../src/data/batches.js';
import {
  AWD_LSTM_CLAS_CONFIG,
  type AwdLstmConfig,
  AwdLstm,
  LanguageModel,
  withDropMult,
} from '../../src/model/awd-lstm.js';
import { maskedConcatPool } from '../../src/compute/concat-pool.js';
import {
  BatchNorm1d,
  pooledWidth,
  SentenceEncoder,
  smoothedLoss,
  TextClassifier,
} from '../../src/model/heads.js';
import { gatherEmbeddingRows } from '../../src/model/dropout.js';
import { timeMajorIds } from '../../src/model/ops.js';
import { Rng } from '../../src/random.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const TINY: AwdLstmConfig = { ...withDropMult(AWD_LSTM_CLAS_CONFIG, 0.5), emb_sz: 4, n_hid: 5, n_layers: 2 };
const VOCAB = 24;
const PAD = 1;

const owned: { dispose(): void }[] = [];
afterEach(() => {
  for (const m of owned.splice(0)) m.dispose();
});

function values(t: tf.Tensor): number[] {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}

function expectClose(a: number[], b: number[], tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  expect(a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0)).toBeLessThan(tol);
}

/** fastai pad_chunk for a batch (pad_first, whole chunks first, remainder at the end). */
function padChunk(docs: number[][], bptt: number): { ids: Int32Array; seqLen: number } {
  const seqLen = Math.max(...docs.map((d) => d.length));
  const ids = new Int32Array(docs.length * seqLen);
  docs.forEach((doc, r) => {
    const l = seqLen - doc.length;
    const row = [
      ...new Array(Math.floor(l / bptt) * bptt).fill(PAD),
      ...doc,
      ...new Array(l % bptt).fill(PAD),
    ];
    ids.set(row, r * seqLen);
  });
  return { ids, seqLen };
}

/** [last, max, mean] of the encoder's last-layer output on one unpadded document, eval mode. */
function pooledAlone(encoder: AwdLstm, doc: number[]): number[] {
  encoder.reset();
  return tf.tidy(() => {
    const { raw } = encoder.forward(timeMajorIds(Int32Array.from(doc), 1, doc.length), false);
    const out = raw[raw.length - 1]!.reshape([doc.length, -1]);
    const last = out.slice([doc.length - 1, 0], [1, -1]).reshape([-1]);
    return Array.from(tf.concat([last, tf.max(out, 0), tf.mean(out, 0)]).dataSync());
  });
}

describe('maskedConcatPool', () => {
  it("pools [last, max, mean] over non-pad positions (spec §4.4's example)", () => {
    // output[bs=2, T=4, E=1] row-major values, mask [[T,T,F,F],[F,F,F,T]]
    const rows = [
      [10, 20, 3, 5],
      [1, 7, 2, 30],
    ];
    const output = tf.tensor3d(rows.map((r) => r.map((v) => [v]))).transpose([1, 0, 2]) as tf.Tensor3D;
    const padMask = Uint8Array.from([1, 0, 1, 0, 0, 0, 0, 1]); // time-major [T=4, bs=2]
    const pooled = maskedConcatPool(output, padMask);
    expect(pooled.arraySync()).toEqual(
      [
        [5, 5, 4],
        [2, 7, 10 / 3],
      ].map((r) => r.map((v) => Math.fround(v))),
    );
    tf.dispose([output, pooled]);
  });
});

describe('SentenceEncoder', () => {
  it('pools a short padded row exactly like the row alone (fixes fastai quirk 1: last lands in leading pads)', () => {
    const encoder = new AwdLstm(VOCAB, TINY, new Rng(1));
    owned.push(encoder);
    const bptt = 4;
    // lengths [10, 2]: row 1 = 8 pads, 2 tokens ... fastai's last index would be inside the pads.
    const docs = [
      [2, 5, 6, 7, 8, 9, 10, 11, 12, 13],
      [2, 14],
    ];
    const { ids, seqLen } = padChunk(docs, bptt);
    expect(Array.from(ids.slice(seqLen))).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 2, 14]);
    const sentence = new SentenceEncoder(encoder, bptt, 100, PAD);
    const pooled = tf.tidy(() => {
      const { output, padMask } = sentence.forward(ids, 2, seqLen, false);
      return maskedConcatPool(output, padMask);
    });
    const both = pooled.arraySync() as number[][];
    pooled.dispose();
    expectClose(both[0]!, pooledAlone(encoder, docs[0]!));
    expectClose(both[1]!, pooledAlone(encoder, docs[1]!));
  });

  it('runs rows whose text is not a prefix (fixes fastai quirk 2: lengths 5, 2, 1)', () => {
    const encoder = new AwdLstm(VOCAB, TINY, new Rng(2));
    owned.push(encoder);
    const docs = [[2, 5, 6, 7, 8], [2, 9], [15]];
    const { ids, seqLen } = padChunk(docs, 4);
    // row 2 = 4 pads then its token: active in chunk 1 while row 1 is not
    expect(Array.from(ids.slice(2 * seqLen))).toEqual([1, 1, 1, 1, 15]);
    const sentence = new SentenceEncoder(encoder, 4, 100, PAD);
    const pooled = tf.tidy(() => {
      const { output, padMask } = sentence.forward(ids, 3, seqLen, false);
      return maskedConcatPool(output, padMask);
    });
    const rows = pooled.arraySync() as number[][];
    pooled.dispose();
    docs.forEach((doc, r) => expectClose(rows[r]!, pooledAlone(encoder, doc)));
  });

  it('keeps only the chunks within the last max_len tokens, and cuts gradients at chunk boundaries', () => {
    const model = new TextClassifier(VOCAB, 2, TINY, { seed: 3, bptt: 4, maxLen: 4, alpha: 0, beta: 0 });
    owned.push(model);
    const ids = Int32Array.from([10, 11, 12, 13, 14, 15, 16, 17]);
    const steps = tf.tidy(() => model.sentenceEncoder.forward(ids, 1, 8, true).steps);
    expect(steps).toBe(4);
    const batch: ClasBatch = {
      x: ids,
      y: Int32Array.from([1]),
      bs: 1,
      seqLen: 8,
      indices: Int32Array.from([0]),
    };
    const embedding = model.encoder.embedding;
    const { grads, value } = tf.variableGrads(() => model.trainLoss(batch).loss, [embedding]);
    const rowNorms = tf.tidy(() => tf.sum(tf.abs(grads[embedding.name]!), 1).arraySync() as number[]);
    // tokens 10-13 were only in the dropped first chunk: they reach the loss through the carried
    // (detached) state only, so they get no gradient; tokens 14-17 do.
    expect(rowNorms.slice(10, 14)).toEqual([0, 0, 0, 0]);
    expect(rowNorms.slice(14, 18).every((v) => v > 0)).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
  });
});

describe('the pooled features (pool: last, emb+last, all)', () => {
  it('puts the embedded words, then every LSTM layer or the last, beside each other at every position', () => {
    const encoder = new AwdLstm(VOCAB, TINY, new Rng(3));
    owned.push(encoder);
    const bptt = 4;
    const docs = [
      [2, 5, 6, 7, 8, 9, 10],
      [2, 14, 15],
    ];
    const { ids, seqLen } = padChunk(docs, bptt);
    const emb = TINY.emb_sz;
    expect(pooledWidth(TINY, 'last')).toBe(emb);
    expect(pooledWidth(TINY, 'emb+last')).toBe(2 * emb);
    expect(pooledWidth(TINY, 'all')).toBe(emb + TINY.n_hid + emb);
    const table = encoder.embedding.arraySync() as number[][];
    for (const pool of ['emb+last', 'all'] as const) {
      const sentence = new SentenceEncoder(encoder, bptt, 100, PAD, pool);
      const [features, output, padMask] = tf.tidy(() => {
        const e = sentence.forward(ids, 2, seqLen, false);
        return [e.features.arraySync(), e.output.arraySync(), e.padMask] as const;
      });
      const width = pooledWidth(TINY, pool);
      features.forEach((step, t) =>
        step.forEach((row, r) => {
          expect(row).toHaveLength(width);
          if (padMask[t * 2 + r] === 1) return;
          // eval mode: no dropout, so the first columns are the token's embedding row
          expectClose(row.slice(0, emb), table[ids[r * seqLen + t]!]!);
          expectClose(row.slice(width - emb), output[t]![r]!);
        }),
      );
    }
    // `last` reads the output itself, fastai's pooling
    const plain = new SentenceEncoder(encoder, bptt, 100, PAD);
    const same = tf.tidy(() => {
      const e = plain.forward(ids, 2, seqLen, false);
      return e.features === e.output;
    });
    expect(same).toBe(true);
  });

  it("sizes the head's first layer for what it pools", () => {
    const model = new TextClassifier(VOCAB, 3, TINY, { seed: 1, pool: 'all' });
    owned.push(model);
    const width = 3 * (2 * TINY.emb_sz + TINY.n_hid);
    expect(model.namedWeights().get('1.layers.0.2.weight')!.shape).toEqual([50, width]);
    const { ids, seqLen } = padChunk(
      [
        [2, 5, 6, 7, 8],
        [2, 9],
      ],
      4,
    );
    const probabilities = model.predictProbabilities(ids, 2, seqLen);
    expect(probabilities.shape).toEqual([2, 3]);
    probabilities.dispose();
  });
});

describe('the embedding rows gathered once per batch (dropout.ts gatherEmbeddingRows)', () => {
  it('gives every weight the gradient of one dense embedding gradient per chunk, to the bit', () => {
    // Three 4-token chunks of one batch, as SentenceEncoder runs them in training; a probe
    // weights each chunk's output. Two encoders of one seed draw the same dropout masks.
    const bs = 3;
    const chunks = [0, 1, 2].map((c) =>
      Int32Array.from({ length: 4 * bs }, (_, i) => (i * 7 + c * 5) % VOCAB),
    );
    const run = (gathered: boolean): Map<string, Float32Array> => {
      const encoder = new AwdLstm(VOCAB, TINY, new Rng(3));
      owned.push(encoder);
      const variables = [encoder.embedding, ...encoder.layers.flatMap((_, l) => encoder.layerVariables(l))];
      const all = new Int32Array(chunks.flatMap((c) => Array.from(c)));
      const { value, grads } = tf.variableGrads(() => {
        const rows = gathered ? gatherEmbeddingRows(encoder.embedding, all) : undefined;
        const losses = chunks.map((ids, c) => {
          const { raw } = encoder.forward(tf.tensor2d(ids, [4, bs], 'int32'), true, rows);
          return tf.sum(tf.mul(raw[raw.length - 1]!, c + 1));
        });
        return tf.addN(losses) as tf.Scalar;
      }, variables);
      value.dispose();
      const out = new Map(
        variables.map((v) => [v.name.replace(/^[^/]*\//, ''), grads[v.name]!.dataSync() as Float32Array]),
      );
      tf.dispose(Object.values(grads));
      return out;
    };
    const dense = run(false);
    const gathered = run(true);
    expect([...gathered.keys()]).toEqual([...dense.keys()]);
    for (const [name, g] of gathered) {
      const reference = dense.get(name)!;
      expect(g.length, name).toBe(reference.length);
      g.forEach((v, i) => expect(v === reference[i], `${name}[${i}]: ${v} vs ${reference[i]}`).toBe(true));
    }
  });
});

describe('BatchNorm1d', () => {
  it('normalises with batch statistics in training, updates running stats like PyTorch, uses them in eval', () => {
    const bn = new BatchNorm1d(2, 'test-bn-1/');
    owned.push({ dispose: () => tf.dispose(bn.all) });
    const x = tf.tensor2d([
      [1, 10],
      [3, 10],
      [5, 16],
    ]);
    const y = tf.tidy(() => bn.forward(x, true));
    const mean0 = 3;
    const var0 = 8 / 3; // biased
    expectClose(
      values(y.slice([0, 0], [3, 1])),
      [1, 3, 5].map((v) => (v - mean0) / Math.sqrt(var0 + 1e-5) + 1e-3),
    );
    y.dispose();
    expectClose(Array.from(bn.runningMean.dataSync()), [0.3, 1.2]);
    expectClose(Array.from(bn.runningVar.dataSync()), [0.9 + 0.1 * 4, 0.9 + 0.1 * 12]);
    expect(bn.numBatchesTracked.dataSync()[0]).toBe(1);
    const evalOut = values(tf.tidy(() => bn.forward(x, false)));
    expectClose(evalOut.slice(0, 2), [
      (1 - 0.3) / Math.sqrt(1.3 + 1e-5) + 1e-3,
      (10 - 1.2) / Math.sqrt(2.1 + 1e-5) + 1e-3,
    ]);
    x.dispose();
  });
});

/** Two documents of 4 tokens (one padded) with labels 1 and 0: a batch for the loss tests. */
function twoDocBatch(): ClasBatch {
  return {
    x: Int32Array.from([2, 5, 7, 9, 2, 6, 8, 1]),
    y: Int32Array.from([1, 0]),
    bs: 2,
    seqLen: 4,
    indices: Int32Array.from([0, 1]),
  };
}

describe('TextClassifier', () => {
  it("names its weights like fastai's classifier and splits them into 5 groups", () => {
    const model = new TextClassifier(VOCAB, 3, TINY, { seed: 1 });
    owned.push(model);
    const names = [...model.namedWeights()].map(([n, v]) => `${n} ${v.shape.join('x')}`);
    expect(names).toEqual([
      '0.module.encoder.weight 24x4',
      '0.module.encoder_dp.emb.weight 24x4',
      '0.module.rnns.0.weight_hh_l0_raw 20x5',
      '0.module.rnns.0.module.weight_ih_l0 20x4',
      '0.module.rnns.0.module.bias_ih_l0 20',
      '0.module.rnns.0.module.bias_hh_l0 20',
      '0.module.rnns.1.weight_hh_l0_raw 16x4',
      '0.module.rnns.1.module.weight_ih_l0 16x5',
      '0.module.rnns.1.module.bias_ih_l0 16',
      '0.module.rnns.1.module.bias_hh_l0 16',
      '1.layers.0.0.weight 12',
      '1.layers.0.0.bias 12',
      '1.layers.0.0.running_mean 12',
      '1.layers.0.0.running_var 12',
      '1.layers.0.0.num_batches_tracked ',
      '1.layers.0.2.weight 50x12',
      '1.layers.1.0.weight 50',
      '1.layers.1.0.bias 50',
      '1.layers.1.0.running_mean 50',
      '1.layers.1.0.running_var 50',
      '1.layers.1.0.num_batches_tracked ',
      '1.layers.1.2.weight 3x50',
    ]);
    expect(model.paramGroups().map((g) => g.variables.length)).toEqual([1, 4, 4, 6]);
    // what --l2sp anchors: every group but the head's
    expect(model.encoderVariables()).toEqual(
      model
        .paramGroups()
        .slice(0, -1)
        .flatMap((g) => g.variables),
    );
    expect(model.noWeightDecay().size).toBe(4);
    expect(model.head.layers[0]!.dropoutP).toBeCloseTo(0.2, 12); // clas output_p 0.4 x drop_mult 0.5
    const bias = model.namedWeights().get('1.layers.0.0.bias')!;
    expect(Array.from(bias.dataSync()).every((v) => Math.abs(v - 1e-3) < 1e-9)).toBe(true);
  });

  it('loads the encoder from a language model state dict', () => {
    const lm = new LanguageModel(VOCAB, { ...TINY, tie_weights: true }, { seed: 5 });
    const model = new TextClassifier(VOCAB, 2, TINY, { seed: 6 });
    owned.push(lm, model);
    model.loadEncoderWeights(lm.namedWeights(), '0.');
    expect(values(model.encoder.embedding.clone())).toEqual(values(lm.encoder.embedding.clone()));
    expect(values(model.encoder.layers[1]!.weightHhRaw.clone())).toEqual(
      values(lm.encoder.layers[1]!.weightHhRaw.clone()),
    );
  });

  it('reports the plain cross-entropy as the train loss, and optimizes it plus AR/TAR (fastai train_loss)', () => {
    const batch = twoDocBatch();
    const regularized = new TextClassifier(VOCAB, 2, TINY, { seed: 5, bptt: 4, alpha: 2, beta: 1 });
    const plain = new TextClassifier(VOCAB, 2, TINY, { seed: 5, bptt: 4, alpha: 0, beta: 0 });
    owned.push(regularized, plain);
    const [loss, reported, plainLoss] = tf.tidy(() => {
      const a = regularized.trainLoss(batch);
      const b = plain.trainLoss(batch);
      return [a.loss, a.reported, b.loss].map((t) => t.dataSync()[0]!);
    });
    expect(reported).toBeCloseTo(plainLoss!, 6); // same seed: same weights and dropout masks
    expect(loss!).toBeGreaterThan(reported! + 1e-6);
  });

  it('optimizes the cross-entropy towards smoothed targets with labelSmoothing, and still reports the plain one', () => {
    const logits = tf.tensor2d([
      [2, -1, 0.5],
      [0, 3, -2],
    ]);
    const targets = [0, 2];
    const eps = 0.1;
    // By hand: the target (1 − ε)·onehot + ε/3 against log softmax.
    const logp = logits.arraySync().map((row) => {
      const lse = Math.log(row.reduce((s, z) => s + Math.exp(z), 0));
      return row.map((z) => z - lse);
    });
    const expected =
      logp
        .map((row, i) => -row.reduce((s, lp, c) => s + ((c === targets[i] ? 1 - eps : 0) + eps / 3) * lp, 0))
        .reduce((a, b) => a + b, 0) / 2;
    const plainMean = -(logp[0]![0]! + logp[1]![2]!) / 2;
    expect(values(smoothedLoss(logits, tf.scalar(plainMean), eps))).toEqual([expect.closeTo(expected, 5)]);
    logits.dispose();

    const batch = twoDocBatch();
    const options = { seed: 5, bptt: 4, alpha: 0, beta: 0 };
    const smoothed = new TextClassifier(VOCAB, 2, TINY, { ...options, labelSmoothing: 0.2 });
    const plain = new TextClassifier(VOCAB, 2, TINY, options);
    owned.push(smoothed, plain);
    const [loss, reported, plainLoss] = tf.tidy(() => {
      const a = smoothed.trainLoss(batch);
      return [a.loss, a.reported, plain.trainLoss(batch).loss].map((t) => t.dataSync()[0]!);
    });
    expect(reported).toBeCloseTo(plainLoss!, 6);
    expect(Math.abs(loss! - reported!)).toBeGreaterThan(1e-4);
  });
  it('learns a tiny task without leaking tensors, and reports predictions', () => {
    const model = new TextClassifier(VOCAB, 2, TINY, { seed: 7, bptt: 4 });
    owned.push(model);
    const rng = new Rng(8);
    const makeBatch = (): ClasBatch => {
      const docs: number[][] = [];
      const y: number[] = [];
      for (let i = 0; i < 8; i++) {
        const label = i % 2;
        const len = 6 - Math.floor(i / 2);
        docs.push([2, ...Array.from({ length: len - 1 }, () => (label === 1 ? 5 : 6) + 2 * rng.int(3))]);
        y.push(label);
      }
      const { ids, seqLen } = padChunk(docs, 4);
      return { x: ids, y: Int32Array.from(y), bs: 8, seqLen, indices: Int32Array.from(y.keys()) };
    };
    const batch = makeBatch();
    const optimizer = tf.train.adam(0.03);
    const vars = model.paramGroups().flatMap((g) => g.variables);
    const losses: number[] = [];
    let tensorsAfterWarmup = 0;
    for (let i = 0; i < 25; i++) {
      const loss = optimizer.minimize(() => model.trainLoss(batch).loss, true, vars)!;
      losses.push(values(loss)[0]!);
      if (i === 2) tensorsAfterWarmup = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(tensorsAfterWarmup);
    optimizer.dispose();
    expect(losses[24]!, losses.map((l) => l.toFixed(2)).join(' ')).toBeLessThan(losses[0]! * 0.5);
    const stats = model.evalBatch(makeBatch());
    expect(stats.count).toBe(8);
    expect(stats.predictions!.length).toBe(8);
    expect(stats.correct).toBeGreaterThanOrEqual(7);
    const probabilities = model.predictProbabilities(batch.x, batch.bs, batch.seqLen);
    const sums = tf.tidy(() => Array.from(tf.sum(probabilities, 1).dataSync()));
    probabilities.dispose();
    expectClose(sums, new Array(8).fill(1));
  });
});
