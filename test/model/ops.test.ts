import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { columnSum, crossEntropy, linear, timeMajorIds } from '../../src/model/ops.js';

beforeAll(async () => {
  await initBackend('wasm');
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('crossEntropy', () => {
  it('equals -log softmax at the target, even for large and very negative logits', () => {
    tf.tidy(() => {
      const logits = tf.tensor2d([
        [1, 2, 3, 4],
        [100, -100, 0, 50],
        [-3000, 0, 1, 2], // target's probability underflows float32
      ]);
      const targets = tf.tensor1d([2, 0, 0], 'int32');
      const losses = Array.from(crossEntropy(logits, targets).dataSync());
      const lse = (r: number[]) => {
        const m = Math.max(...r);
        return m + Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0));
      };
      const expected = [lse([1, 2, 3, 4]) - 3, lse([100, -100, 0, 50]) - 100, lse([-3000, 0, 1, 2]) + 3000];
      losses.forEach((l, i) => expect(Math.abs(l - expected[i]!) / Math.max(1, expected[i]!)).toBeLessThan(1e-5));
    });
  });

  it('has the gradient softmax - onehot (matches autodiff of the log-softmax formula)', () => {
    tf.tidy(() => {
      const logits = tf.randomNormal([5, 7], 0, 3, 'float32', 1);
      const targets = tf.tensor1d([0, 6, 3, 3, 1], 'int32');
      const weights = tf.tensor1d([1, 2, 3, 4, 5]);
      const ours = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(crossEntropy(z as tf.Tensor2D, targets), weights)))(logits);
      const reference = tf.grad((z: tf.Tensor) =>
        tf.sum(tf.mul(tf.neg(tf.sum(tf.mul(tf.logSoftmax(z), tf.oneHot(targets, 7)), 1)), weights)),
      )(logits);
      expect(maxAbsDiff(ours, reference)).toBeLessThan(1e-5);
    });
  });
});

describe('linear', () => {
  it('computes x·Wᵀ + b with the same gradients as autodiff, for small and large output sizes', () => {
    for (const [n, nIn, nOut] of [
      [4, 6, 3],
      [3, 2, 50],
    ] as const) {
      tf.tidy(() => {
        const x = tf.randomNormal([n, nIn], 0, 1, 'float32', 2) as tf.Tensor2D;
        const w = tf.randomNormal([nOut, nIn], 0, 1, 'float32', 3) as tf.Tensor2D;
        const b = tf.randomNormal([nOut], 0, 1, 'float32', 4) as tf.Tensor1D;
        const probe = tf.randomNormal([n, nOut], 0, 1, 'float32', 5);
        const ours = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
          tf.sum(tf.mul(linear(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D), probe)),
        )([x, w, b]);
        const reference = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
          tf.sum(tf.mul(tf.add(tf.matMul(xi, tf.transpose(wi)), bi), probe)),
        )([x, w, b]);
        for (let i = 0; i < 3; i++) expect(maxAbsDiff(ours[i]!, reference[i]!)).toBeLessThan(1e-4);
        const noBias = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.mul(linear(xi as tf.Tensor2D, wi as tf.Tensor2D), probe)))([x, w]);
        expect(maxAbsDiff(noBias[1]!, reference[1]!)).toBeLessThan(1e-4);
      });
    }
  });
});

describe('columnSum', () => {
  it('sums over rows like tf.sum(x, 0)', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([37, 13], 0, 1, 'float32', 6) as tf.Tensor2D;
      const ours = columnSum(x);
      expect(ours.shape).toEqual([13]);
      expect(maxAbsDiff(ours, tf.sum(x, 0))).toBeLessThan(1e-5);
    });
  });
});

describe('timeMajorIds', () => {
  it('transposes row-major [bs, T] ids to [T, bs]', () => {
    const t = timeMajorIds(Int32Array.from([1, 2, 3, 4, 5, 6]), 2, 3);
    expect(t.arraySync()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    t.dispose();
  });
});
