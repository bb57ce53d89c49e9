/**
 * The chunked decoder + loss (src/compute/linear-cross-entropy.ts) against the unfused
 * composition it replaces, `mean(crossEntropy(linear(x, W, b), targets))`: the loss and every
 * gradient, on the operation (every implementation of linear and crossEntropy it composes, chunk
 * sizes from one row to all of them, with and without a bias, upstream gradient 1 and not) and
 * on a tiny language model's training loss (every weight's gradient, the same dropout masks).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import { crossEntropyOp } from '../../src/compute/cross-entropy.js';
import { linearOp } from '../../src/compute/linear.js';
import {
  chunkRowsFor,
  linearCrossEntropy,
  linearCrossEntropyOp,
  setLinearCrossEntropyChunkBytes,
} from '../../src/compute/linear-cross-entropy.js';
import type { LmBatch } from '../../src/data/batches.js';
import { AWD_LSTM_LM_CONFIG, LanguageModel, type AwdLstmConfig } from '../../src/model/awd-lstm.js';
import type { EvalStats } from '../../src/model/trainable.js';
import { Rng } from '../../src/random.js';
import { nativeExpected } from '../support/native-expected.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

function expectNear(ours: number[], reference: number[], tolerance: number, what: string): void {
  expect(ours.length, what).toBe(reference.length);
  ours.forEach((v, i) =>
    expect(Math.abs(v - reference[i]!), `${what} [${i}]`).toBeLessThan(
      tolerance * Math.max(1, Math.abs(reference[i]!)),
    ),
  );
}

describe('chunkRowsFor', () => {
  it('fills a chunk with at most the byte budget of logits, spread evenly, one row at least', () => {
    expect(chunkRowsFor(1152, 60008, 64 * 2 ** 20)).toBe(231); // 279 rows fit: 5 chunks of ≤ 231
    expect(chunkRowsFor(2304, 10000, 64 * 2 ** 20)).toBe(1152); // 1677 fit: 2 chunks
    expect(chunkRowsFor(100, 50, 64 * 2 ** 20)).toBe(100); // one chunk
    expect(chunkRowsFor(10, 1000, 1)).toBe(1);
    expect(chunkRowsFor(0, 1000)).toBe(1);
  });
});

describe('the weight gradient summed over chunks', () => {
  it("as the native matmul's addend gives the bits of the product plus a separate add", () => {
    // the flags path runs only with the native kernels
    expect(linearOp.available().some((impl) => impl.name === 'native')).toBe(nativeExpected);
    if (!nativeExpected) return;
    tf.tidy(() => {
      const g = tf.randomNormal([13, 70], 0, 1, 'float32', 5) as tf.Tensor2D;
      const x = tf.randomNormal([13, 9], 0, 1, 'float32', 6) as tf.Tensor2D;
      const sum = tf.randomNormal([70, 9], 0, 1, 'float32', 7) as tf.Tensor2D;
      const fused = tf.fused.matMul({ a: g, b: x, transposeA: true, bias: sum });
      const separate = tf.add(sum, tf.matMul(g, x, true, false));
      expect(Array.from(fused.dataSync())).toEqual(Array.from(separate.dataSync()));
    });
  });
});

describe.each(['wasm', 'cpu'])('linearCrossEntropy on the %s backend', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  const [n, nIn, classes] = [11, 6, 37];
  const make = () => ({
    x: tf.randomNormal([n, nIn], 0, 1, 'float32', 1) as tf.Tensor2D,
    w: tf.randomNormal([classes, nIn], 0, 1, 'float32', 2) as tf.Tensor2D,
    b: tf.randomNormal([classes], 0, 1, 'float32', 3) as tf.Tensor1D,
    targets: tf.tensor1d(
      Array.from({ length: n }, (_, i) => (i * 13) % classes),
      'int32',
    ),
  });

  /** Loss and gradients (x, W, b) of `upstream · loss + x·probe` (a second path into x, as AR is). */
  function run(chunkRows: number | undefined, withBias: boolean, upstream: number): number[][] {
    const { x, w, b, targets } = make();
    const probe = tf.randomNormal([n, nIn], 0, 1, 'float32', 4);
    const f = (xi: tf.Tensor, wi: tf.Tensor, bi?: tf.Tensor) => {
      const loss = linearCrossEntropy(
        xi as tf.Tensor2D,
        wi as tf.Tensor2D,
        bi as tf.Tensor1D | undefined,
        targets,
        chunkRows,
      );
      return tf.add(tf.mul(loss, upstream), tf.sum(tf.mul(xi, probe))) as tf.Scalar;
    };
    const { value, grads } = withBias
      ? tf.valueAndGrads(f)([x, w, b])
      : tf.valueAndGrads((xi: tf.Tensor, wi: tf.Tensor) => f(xi, wi))([x, w]);
    const out = [value, ...grads].map(values);
    tf.dispose([value, ...grads, x, w, b, targets, probe]);
    return out;
  }

  const combinations = () => {
    const out: [string, string][] = [];
    for (const lin of linearOp.available().map((impl) => impl.name)) {
      for (const ce of crossEntropyOp.available().map((impl) => impl.name)) out.push([lin, ce]);
    }
    return out;
  };

  it('gives the unfused loss and gradients for every chunk size and every linear × crossEntropy implementation', () => {
    for (const [lin, ce] of combinations()) {
      linearOp.using(lin, () =>
        crossEntropyOp.using(ce, () => {
          for (const withBias of [true, false]) {
            for (const upstream of [1, 2.5]) {
              const reference = linearCrossEntropyOp.using('unfused', () =>
                run(undefined, withBias, upstream),
              );
              for (const rows of [1, 3, 4, n - 1, n, 100, undefined]) {
                const ours = run(rows, withBias, upstream);
                const what = `${lin}/${ce} rows ${rows} bias ${withBias} upstream ${upstream}`;
                // the loss and dx are the same numbers per row; dW and db are summed chunk by chunk
                expect(ours.length, what).toBe(withBias ? 4 : 3);
                ours.forEach((o, i) => expectNear(o, reference[i]!, 1e-5, `${what} #${i}`));
              }
            }
          }
        }),
      );
    }
  });

  it('in one chunk gives the unfused loss to the bit', () => {
    for (const [lin, ce] of combinations()) {
      linearOp.using(lin, () =>
        crossEntropyOp.using(ce, () => {
          const reference = linearCrossEntropyOp.using('unfused', () => run(undefined, true, 1));
          const ours = run(n, true, 1);
          expect(ours[0], `${lin}/${ce}`).toEqual(reference[0]);
        }),
      );
    }
  });

  it('without a gradient tape computes the loss alone, the same as the unfused one, and leaks nothing', () => {
    const { x, w, b, targets } = make();
    const before = tf.memory().numTensors;
    const reference = linearCrossEntropyOp.using('unfused', () => linearCrossEntropy(x, w, b, targets));
    for (const rows of [1, 4, undefined]) {
      const ours = linearCrossEntropy(x, w, b, targets, rows);
      expectNear(values(ours), values(reference), 1e-6, `rows ${rows}`);
      ours.dispose();
    }
    reference.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b, targets]);
  });

  it('leaves no tensors behind with a tape, but the gradients', () => {
    const { x, w, b, targets } = make();
    const before = tf.memory().numTensors;
    const { value, grads } = tf.valueAndGrads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
      linearCrossEntropy(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D, targets, 4),
    )([x, w, b]);
    expect(tf.memory().numTensors).toBe(before + 4);
    tf.dispose([value, ...grads]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b, targets]);
  });
});

describe('the language model with the chunked decoder loss', () => {
  const VOCAB = 53;
  const CONFIG: AwdLstmConfig = { ...AWD_LSTM_LM_CONFIG, emb_sz: 5, n_hid: 7, n_layers: 2 };
  const models: LanguageModel[] = [];
  let previousBytes = 0;
  beforeAll(() => {
    // 3 rows of 53 logits a chunk: a batch of 4 × 6 positions is 8 chunks
    previousBytes = setLinearCrossEntropyChunkBytes(3 * VOCAB * 4);
  });
  afterAll(() => {
    setLinearCrossEntropyChunkBytes(previousBytes);
  });
  afterEach(() => {
    for (const m of models.splice(0)) m.dispose();
  });

  function batchOf(seed: number, bs: number, seqLen: number): LmBatch {
    const rng = new Rng(seed);
    const x = Int32Array.from({ length: bs * seqLen }, () => rng.int(VOCAB));
    const y = Int32Array.from({ length: bs * seqLen }, () => rng.int(VOCAB));
    return { x, y, bs, seqLen };
  }

  /** Loss, reported loss and every weight's gradient (by fastai name) over two batches (state carried). */
  function step(
    model: LanguageModel,
    batches: LmBatch[],
  ): { loss: number[]; reported: number[]; grads: Map<string, number[]> } {
    const names = [...model.namedWeights().entries()].filter(
      ([name]) => !name.includes('encoder_dp') && name !== '1.decoder.weight',
    );
    const loss: number[] = [];
    const reported: number[] = [];
    const grads = new Map<string, number[]>();
    for (const batch of batches) {
      let kept: tf.Scalar | undefined;
      const { value, grads: g } = tf.variableGrads(
        () => {
          const out = model.trainLoss(batch);
          if (out instanceof tf.Tensor) return out;
          kept = tf.keep(out.reported);
          return out.loss;
        },
        names.map(([, v]) => v),
      );
      loss.push(value.dataSync()[0]!);
      reported.push(kept!.dataSync()[0]!);
      for (const [name, v] of names) grads.set(`${name} @${loss.length}`, values(g[v.name]!));
      tf.dispose([value, kept!, ...Object.values(g)]);
    }
    return { loss, reported, grads };
  }

  it('trains on the unfused loss and gradients (every weight, AR and TAR on, dropout masks the same)', () => {
    const batches = [batchOf(1, 4, 6), batchOf(2, 4, 6)];
    const make = () => {
      const model = new LanguageModel(VOCAB, CONFIG, { seed: 9 });
      models.push(model);
      return model;
    };
    const reference = linearCrossEntropyOp.using('unfused', () => step(make(), batches));
    const ours = step(make(), batches);
    expectNear(ours.loss, reference.loss, 1e-6, 'loss');
    expectNear(ours.reported, reference.reported, 1e-6, 'reported');
    expect([...ours.grads.keys()]).toEqual([...reference.grads.keys()]);
    expect(ours.grads.size).toBe(2 * (1 + 4 * CONFIG.n_layers + 1)); // embedding, LSTM weights, decoder bias; two batches
    for (const [name, g] of ours.grads) expectNear(g, reference.grads.get(name)!, 1e-5, name);
  });

  it('evaluates to the same loss sum and hit count as over the whole batch at once', () => {
    const model = new LanguageModel(VOCAB, CONFIG, { seed: 9 });
    models.push(model);
    model.setTraining(false);
    const batch = batchOf(3, 4, 6);
    const evaluate = (): EvalStats => {
      let stats: EvalStats | undefined;
      tf.tidy(() => {
        stats = model.evalBatch(batch);
      });
      model.reset();
      return stats!;
    };
    evaluate(); // fills the model's inference caches (transposed weights), kept on purpose
    const before = tf.memory().numTensors;
    const chunked = evaluate();
    const previous = setLinearCrossEntropyChunkBytes(2 ** 30);
    const whole = evaluate();
    setLinearCrossEntropyChunkBytes(previous);
    expect(chunked).toEqual(whole);
    expect(chunked.count).toBe(24);
    expect(tf.memory().numTensors).toBe(before);
  });
});
