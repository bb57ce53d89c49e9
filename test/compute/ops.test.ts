/**
 * The compute layer's operations (src/compute/registry.ts): on every backend the tests can start
 * (wasm and cpu), each operation's every implementation that runs there gives the value and the
 * gradient of the reference (autodiff of the plain formula), within float32 tolerance. The LSTM's
 * own comparisons are in lstm.test.ts; bit-for-bit comparisons of the kernels in
 * wasm-kernels.test.ts and native.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adamwStep, adamwStepOp, type AdamWScalars } from '../../src/compute/adamw.js';
import { initBackend } from '../../src/compute/backend.js';
import { crossEntropy, crossEntropyOp } from '../../src/compute/cross-entropy.js';
import { columnSum, columnSumOp, linear, linearOp } from '../../src/compute/linear.js';
import { lstmLayerOp } from '../../src/compute/lstm.js';
import { maskedConcatPool, maskedConcatPoolOp } from '../../src/compute/concat-pool.js';
import type { Operation } from '../../src/compute/registry.js';
import { nativeExpected } from '../support/native-expected.js';

beforeAll(async () => {
  await initBackend('wasm');
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('crossEntropy (the default implementation)', () => {
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
      losses.forEach((l, i) =>
        expect(Math.abs(l - expected[i]!) / Math.max(1, expected[i]!)).toBeLessThan(1e-5),
      );
    });
  });

  it('has the gradient softmax - onehot (matches autodiff of the log-softmax formula)', () => {
    tf.tidy(() => {
      const logits = tf.randomNormal([5, 7], 0, 3, 'float32', 1);
      const targets = tf.tensor1d([0, 6, 3, 3, 1], 'int32');
      const weights = tf.tensor1d([1, 2, 3, 4, 5]);
      const ours = tf.grad((z: tf.Tensor) =>
        tf.sum(tf.mul(crossEntropy(z as tf.Tensor2D, targets), weights)),
      )(logits);
      const reference = tf.grad((z: tf.Tensor) =>
        tf.sum(tf.mul(tf.neg(tf.sum(tf.mul(tf.logSoftmax(z), tf.oneHot(targets, 7)), 1)), weights)),
      )(logits);
      expect(maxAbsDiff(ours, reference)).toBeLessThan(1e-5);
    });
  });
});

describe('linear (the default implementation)', () => {
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
        const noBias = tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
          tf.sum(tf.mul(linear(xi as tf.Tensor2D, wi as tf.Tensor2D), probe)),
        )([x, w]);
        expect(maxAbsDiff(noBias[1]!, reference[1]!)).toBeLessThan(1e-4);
      });
    }
  });
});

describe('columnSum (the default implementation)', () => {
  it('sums over rows like tf.sum(x, 0)', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([37, 13], 0, 1, 'float32', 6) as tf.Tensor2D;
      const ours = columnSum(x);
      expect(ours.shape).toEqual([13]);
      expect(maxAbsDiff(ours, tf.sum(x, 0))).toBeLessThan(1e-5);
    });
  });
});

/** Names of the implementations that run now on the current backend, preferred first. */
// `never` parameters: any operation's function type (Operation is invariant in it).
const names = (op: Operation<(...args: never[]) => unknown>) => op.available().map((impl) => impl.name);

/** Every implementation of `op` that runs now, with `body` run on each. */
function eachImplementation(
  op: Operation<(...args: never[]) => unknown>,
  body: (name: string) => void,
): void {
  for (const name of names(op)) op.using(name, () => body(name));
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());

function expectNear(ours: number[], reference: number[], tolerance: number, what: string): void {
  expect(ours.length, what).toBe(reference.length);
  ours.forEach((v, i) =>
    expect(Math.abs(v - reference[i]!), `${what} [${i}]`).toBeLessThan(
      tolerance * Math.max(1, Math.abs(reference[i]!)),
    ),
  );
}

describe.each(['wasm', 'cpu'])('the operations on the %s backend', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  it("register an implementation per backend, the kernels' ones only where they run", () => {
    const onWasm = (kernels: string[], tfjs: string[]) => (backend === 'wasm' ? [...kernels, ...tfjs] : tfjs);
    const native = nativeExpected ? ['native'] : [];
    expect(names(linearOp)).toEqual(onWasm(native, ['tfjs']));
    expect(names(crossEntropyOp)).toEqual(onWasm([...native, 'wasm'], ['tfjs']));
    expect(names(columnSumOp)).toEqual(onWasm(['wasm'], ['tfjs']));
    expect(names(adamwStepOp)).toEqual(onWasm(['wasm'], ['tfjs']));
    expect(names(lstmLayerOp)).toEqual(onWasm([...native, 'wasm'], ['tfjs', 'autodiff']));
    expect(names(maskedConcatPoolOp)).toEqual(['js', 'tfjs']);
  });

  it("linear: every implementation gives autodiff's value and gradients, with and without a bias", () => {
    const [n, nIn, nOut] = [7, 6, 40];
    const x = tf.randomNormal([n, nIn], 0, 1, 'float32', 2) as tf.Tensor2D;
    const w = tf.randomNormal([nOut, nIn], 0, 1, 'float32', 3) as tf.Tensor2D;
    const b = tf.randomNormal([nOut], 0, 1, 'float32', 4) as tf.Tensor1D;
    const probe = tf.randomNormal([n, nOut], 0, 1, 'float32', 5);
    const run = (f: (xi: tf.Tensor2D, wi: tf.Tensor2D, bi: tf.Tensor1D) => tf.Tensor) => {
      const { value, grads } = tf.valueAndGrads(
        (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
          tf.sum(tf.mul(f(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D), probe)) as tf.Scalar,
      )([x, w, b]);
      const out = [value, ...grads].map(values);
      tf.dispose([value, ...grads]);
      return out;
    };
    const reference = run((xi, wi, bi) => tf.add(tf.matMul(xi, tf.transpose(wi)), bi));
    eachImplementation(linearOp, (name) => {
      run((xi, wi, bi) => linear(xi, wi, bi)).forEach((ours, i) =>
        expectNear(ours, reference[i]!, 1e-4, `${name} #${i}`),
      );
      const noBias = tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
        tf.sum(tf.mul(linear(xi as tf.Tensor2D, wi as tf.Tensor2D), probe)),
      )([x, w]);
      expectNear(values(noBias[1]!), reference[2]!, 1e-4, `${name}: weight gradient without a bias`);
      tf.dispose(noBias);
    });
    tf.dispose([x, w, b, probe]);
  });

  it("crossEntropy: every implementation gives autodiff's loss and gradient of -log softmax", () => {
    const [n, classes] = [9, 37];
    const logits = tf.mul(tf.randomNormal([n, classes], 0, 1, 'float32', 7), 4) as tf.Tensor2D;
    const targets = tf.tensor1d(
      Array.from({ length: n }, (_, i) => (i * 11) % classes),
      'int32',
    );
    const weights = tf.randomUniform([n], 0.5, 2, 'float32', 8);
    const run = (loss: (z: tf.Tensor2D) => tf.Tensor) => {
      const { value, grads } = tf.valueAndGrads(
        (z: tf.Tensor) => tf.sum(tf.mul(loss(z as tf.Tensor2D), weights)) as tf.Scalar,
      )([logits]);
      const out = [value, ...grads].map(values);
      tf.dispose([value, ...grads]);
      return out;
    };
    const reference = run((z) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(z), tf.oneHot(targets, classes)), 1)));
    eachImplementation(crossEntropyOp, (name) => {
      run((z) => crossEntropy(z, targets)).forEach((ours, i) =>
        expectNear(ours, reference[i]!, 1e-5, `${name} #${i}`),
      );
    });
    tf.dispose([logits, targets, weights]);
  });

  it("maskedConcatPool: every implementation gives the TF.js ops' [last, max, mean] and their gradient", () => {
    const [steps, bs, width] = [11, 5, 6];
    const x = tf.randomNormal([steps, bs, width], 0, 1, 'float32', 9) as tf.Tensor3D;
    // pad-first rows of every length, one with a pad chunk after its text, and one without pads
    const padMask = new Uint8Array(steps * bs);
    const pads = [0, 3, 7, 10, 4];
    pads.forEach((n, r) => {
      for (let t = 0; t < n; t++) padMask[t * bs + r] = 1;
    });
    padMask[(steps - 1) * bs + 4] = 1;
    const probe = tf.randomNormal([bs, 3 * width], 0, 1, 'float32', 10);
    const run = () => {
      const { value, grads } = tf.valueAndGrads(
        (xi: tf.Tensor) => tf.sum(tf.mul(maskedConcatPool(xi as tf.Tensor3D, padMask), probe)) as tf.Scalar,
      )([x]);
      const pooled = tf.tidy(() => maskedConcatPool(x, padMask));
      const out = [pooled, value, grads[0]!].map(values);
      tf.dispose([value, ...grads]);
      return out;
    };
    const reference = maskedConcatPoolOp.using('tfjs', run);
    // the row with one real position: last = max = mean = that position's values
    const row3 = reference[0]!.slice(3 * 3 * width, 4 * 3 * width);
    const only = values(tf.tidy(() => x.slice([10, 3, 0], [1, 1, width])));
    expectNear(row3, [...only, ...only, ...only], 1e-6, 'a one-position row');
    eachImplementation(maskedConcatPoolOp, (name) =>
      run().forEach((ours, i) => expectNear(ours, reference[i]!, 1e-5, `${name} #${i}`)),
    );
    // no gradient reaches a pad position
    const grad = run()[2]!;
    pads.forEach((n, r) => {
      for (let t = 0; t < n; t++)
        for (let f = 0; f < width; f++) expect(grad[(t * bs + r) * width + f]).toBe(0);
    });
    tf.dispose([x, probe]);
  });

  it('columnSum: every implementation sums over rows like tf.sum(x, 0)', () => {
    const x = tf.randomNormal([37, 13], 0, 1, 'float32', 6) as tf.Tensor2D;
    const reference = tf.sum(x, 0);
    eachImplementation(columnSumOp, (name) => {
      const ours = columnSum(x);
      expect(ours.shape).toEqual([13]);
      expectNear(values(ours), values(reference), 1e-5, name);
      ours.dispose();
    });
    tf.dispose([x, reference]);
  });

  it("lstmLayer: every implementation gives autodiff's output and gradients (test/compute/lstm.test.ts has more)", () => {
    const [seqLen, bs, nIn, hidden] = [4, 7, 5, 6];
    const make = (shape: number[], seed: number) => tf.randomUniform(shape, -0.4, 0.4, 'float32', seed);
    const inputs = [
      make([seqLen, bs, nIn], 1),
      make([4 * hidden, nIn], 2),
      make([4 * hidden, hidden], 3),
      make([4 * hidden], 4),
      make([4 * hidden], 5),
    ];
    const init = { h: make([bs, hidden], 6) as tf.Tensor2D, c: make([bs, hidden], 7) as tf.Tensor2D };
    const probe = make([seqLen, bs, hidden], 8);
    const run = () => {
      const { value, grads } = tf.valueAndGrads(
        (x: tf.Tensor, wih: tf.Tensor, whh: tf.Tensor, bih: tf.Tensor, bhh: tf.Tensor) => {
          const weights = {
            weightIh: wih as tf.Tensor2D,
            weightHh: whh as tf.Tensor2D,
            biasIh: bih as tf.Tensor1D,
            biasHh: bhh as tf.Tensor1D,
          };
          const { output, state } = lstmLayerOp.run(x as tf.Tensor3D, weights, init);
          tf.dispose([state.h, state.c]);
          return tf.sum(tf.mul(output, probe)) as tf.Scalar;
        },
      )(inputs);
      const out = [value, ...grads].map(values);
      tf.dispose([value, ...grads]);
      return out;
    };
    const reference = lstmLayerOp.using('autodiff', run);
    eachImplementation(lstmLayerOp, (name) =>
      run().forEach((ours, i) => expectNear(ours, reference[i]!, 1e-5, `${name} #${i}`)),
    );
    tf.dispose([...inputs, init.h, init.c, probe]);
  });

  it("adamwStep: every implementation takes the step of fastai's formula, computed in float64", () => {
    const n = 21; // a SIMD loop and a scalar tail
    const random = (seed: number) =>
      Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));
    const [p, g, m] = [random(1), random(2), random(3)];
    const v = random(4).map(Math.abs);
    const scalars: AdamWScalars = {
      decay: 1 - 1e-2 * 0.1,
      mom: 0.9,
      oneMinusMom: 0.1,
      sqrMom: 0.99,
      oneMinusSqrMom: 0.01,
      debias2: 1 - 0.99 ** 3,
      eps: 1e-5,
      stepSize: 1e-2 / (1 - 0.9 ** 3),
    };
    const mExpected = Array.from(m, (mi, i) => mi * scalars.mom + g[i]! * scalars.oneMinusMom);
    const vExpected = Array.from(v, (vi, i) => vi * scalars.sqrMom + g[i]! * g[i]! * scalars.oneMinusSqrMom);
    const pExpected = Array.from(
      p,
      (pi, i) =>
        pi * scalars.decay -
        (mExpected[i]! / (Math.sqrt(vExpected[i]! / scalars.debias2) + scalars.eps)) * scalars.stepSize,
    );
    const inputs = [p, g, m, v].map((a) => tf.tensor1d(a));
    eachImplementation(adamwStepOp, (name) => {
      const out = adamwStep(inputs[0]!, inputs[1]!, inputs[2]!, inputs[3]!, scalars);
      [pExpected, mExpected, vExpected].forEach((expected, i) =>
        expectNear(values(out[i]!), expected, 1e-5, `${name} #${i}`),
      );
      tf.dispose(out);
    });
    tf.dispose(inputs);
  });
});
