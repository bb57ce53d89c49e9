import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { detach, lstmSequence, lstmSequenceFast, type LstmWeights } from '../../src/model/lstm.js';
import { fusedLstmAvailable, nativeLstmAvailable, setFusedLstmEnabled } from '../../src/model/lstm-kernels.js';
import { setNativeKernelsEnabled } from '../../src/wasm/native.js';
import { nativeExpected } from '../support/native-expected.js';
import { uniformTensor } from '../../src/model/weights.js';
import { Rng } from '../../src/random.js';

beforeAll(async () => {
  await initBackend('wasm');
});

function makeWeights(nIn: number, hidden: number, rng: Rng): LstmWeights {
  const bound = 1 / Math.sqrt(hidden);
  return {
    weightIh: uniformTensor([4 * hidden, nIn], bound, rng) as tf.Tensor2D,
    weightHh: uniformTensor([4 * hidden, hidden], bound, rng) as tf.Tensor2D,
    biasIh: uniformTensor([4 * hidden], bound, rng) as tf.Tensor1D,
    biasHh: uniformTensor([4 * hidden], bound, rng) as tf.Tensor1D,
  };
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('LSTM layer', () => {
  it('computes one PyTorch LSTM step by hand (gate order i, f, g, o)', () => {
    tf.tidy(() => {
      // H = 1, in = 1: z = [zi, zf, zg, zo] = W_ih·x + b_ih + W_hh·h + b_hh
      const weights: LstmWeights = {
        weightIh: tf.tensor2d([[0.1], [0.2], [0.3], [0.4]]),
        weightHh: tf.tensor2d([[0.5], [-0.5], [0.25], [-0.25]]),
        biasIh: tf.tensor1d([0.01, 0.02, 0.03, 0.04]),
        biasHh: tf.tensor1d([0.0, 0.1, 0.0, -0.1]),
      };
      const x = tf.tensor3d([[[2]]]);
      const h0 = tf.tensor2d([[0.3]]);
      const c0 = tf.tensor2d([[-0.7]]);
      const { output, state } = lstmSequence(x, weights, { h: h0, c: c0 });
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      const z = [0.1 * 2 + 0.01 + 0.5 * 0.3, 0.2 * 2 + 0.02 + 0.1 - 0.5 * 0.3, 0.3 * 2 + 0.03 + 0.25 * 0.3, 0.4 * 2 + 0.04 - 0.1 - 0.25 * 0.3];
      const c = sig(z[1]!) * -0.7 + sig(z[0]!) * Math.tanh(z[2]!);
      const h = sig(z[3]!) * Math.tanh(c);
      expect(output.dataSync()[0]).toBeCloseTo(h, 6);
      expect(state.c.dataSync()[0]).toBeCloseTo(c, 6);
    });
  });

  it('fast and plain implementations agree in value and in every gradient', () => {
    const rng = new Rng(3);
    const [seqLen, bs, nIn, hidden] = [5, 3, 4, 6];
    const weights = makeWeights(nIn, hidden, rng);
    const x = uniformTensor([seqLen, bs, nIn], 1, rng) as tf.Tensor3D;
    const h0 = uniformTensor([bs, hidden], 0.5, rng) as tf.Tensor2D;
    const c0 = uniformTensor([bs, hidden], 0.5, rng) as tf.Tensor2D;
    // A loss that weights every output differently so that every dy entry matters.
    const probe = uniformTensor([seqLen, bs, hidden], 1, rng);
    const inputs = [x, weights.weightIh, weights.weightHh, weights.biasIh, weights.biasHh];
    const lossOf = (impl: typeof lstmSequence) => (xi: tf.Tensor, wih: tf.Tensor, whh: tf.Tensor, bih: tf.Tensor, bhh: tf.Tensor) => {
      const w = { weightIh: wih as tf.Tensor2D, weightHh: whh as tf.Tensor2D, biasIh: bih as tf.Tensor1D, biasHh: bhh as tf.Tensor1D };
      const { output, state } = impl(xi as tf.Tensor3D, w, { h: h0, c: c0 });
      if (impl === lstmSequenceFast) tf.dispose([state.h, state.c]);
      return tf.sum(tf.mul(output, probe)) as tf.Scalar;
    };
    const plain = tf.valueAndGrads(lossOf(lstmSequence))(inputs);
    const fast = tf.valueAndGrads(lossOf(lstmSequenceFast))(inputs);
    expect(Math.abs(plain.value.dataSync()[0]! - fast.value.dataSync()[0]!)).toBeLessThan(1e-5);
    for (let i = 0; i < inputs.length; i++) {
      expect(maxAbsDiff(plain.grads[i]!, fast.grads[i]!)).toBeLessThan(1e-5);
      expect(tf.tidy(() => tf.max(tf.abs(plain.grads[i]!)).dataSync()[0]!)).toBeGreaterThan(1e-3);
    }
    tf.dispose([plain.value, fast.value, ...plain.grads, ...fast.grads, ...inputs, h0, c0, probe]);
  });

  it('fast implementation returns the same final state as the plain one', () => {
    const rng = new Rng(4);
    const weights = makeWeights(3, 5, rng);
    const x = uniformTensor([4, 2, 3], 1, rng) as tf.Tensor3D;
    const init = { h: tf.zeros([2, 5]) as tf.Tensor2D, c: tf.zeros([2, 5]) as tf.Tensor2D };
    const plain = lstmSequence(x, weights, init);
    const fast = lstmSequenceFast(x, weights, init);
    expect(maxAbsDiff(plain.output, fast.output)).toBeLessThan(1e-6);
    expect(maxAbsDiff(plain.state.h, fast.state.h)).toBeLessThan(1e-6);
    expect(maxAbsDiff(plain.state.c, fast.state.c)).toBeLessThan(1e-6);
    tf.dispose([plain.output, plain.state.h, plain.state.c, fast.output, fast.state.h, fast.state.c, x, init.h, init.c]);
    tf.dispose(Object.values(weights));
  });

  const gateCases: Array<[number, boolean, number]> = [
    [6, false, 3],
    [8, false, 3],
  ];
  // Native: fewer rows than a micro-kernel strip (weights read in place) and more (packed).
  if (nativeExpected) gateCases.push([6, true, 3], [8, true, 3], [8, true, 7], [12, true, 13]);
  it.each(gateCases)('fused kernels (H = %i, native whole-layer kernels %s, bs %i) give the plain ops\' numbers, forward and backward: the same bits without the native ones', (hidden, nativeGates, bs) => {
    expect(fusedLstmAvailable()).toBe(true);
    setNativeKernelsEnabled(nativeGates);
    expect(nativeLstmAvailable()).toBe(nativeGates);
    const rng = new Rng(hidden);
    const [seqLen, nIn] = [4, 5];
    const weights = makeWeights(nIn, hidden, rng);
    const x = uniformTensor([seqLen, bs, nIn], 1, rng) as tf.Tensor3D;
    const init = { h: uniformTensor([bs, hidden], 0.5, rng) as tf.Tensor2D, c: uniformTensor([bs, hidden], 0.5, rng) as tf.Tensor2D };
    const probe = uniformTensor([seqLen, bs, hidden], 1, rng);
    const inputs = [x, weights.weightIh, weights.weightHh, weights.biasIh, weights.biasHh];
    const run = (fused: boolean) => {
      setFusedLstmEnabled(fused);
      try {
        const trained = tf.valueAndGrads((xi: tf.Tensor, wih: tf.Tensor, whh: tf.Tensor, bih: tf.Tensor, bhh: tf.Tensor) => {
          const w = { weightIh: wih as tf.Tensor2D, weightHh: whh as tf.Tensor2D, biasIh: bih as tf.Tensor1D, biasHh: bhh as tf.Tensor1D };
          const { output, state } = lstmSequenceFast(xi as tf.Tensor3D, w, init);
          tf.dispose([state.h, state.c]);
          return tf.sum(tf.mul(output, probe)) as tf.Scalar;
        })(inputs);
        const inferred = lstmSequence(x, weights, init); // no tape: fused kernels where enabled
        const arrays = [trained.value, ...trained.grads, inferred.output, inferred.state.h, inferred.state.c].map((t) => Array.from(t.dataSync()));
        tf.dispose([trained.value, ...trained.grads, inferred.output, inferred.state.h, inferred.state.c]);
        return arrays;
      } finally {
        setFusedLstmEnabled(true);
      }
    };
    try {
      const [fusedRun, plainRun] = [run(true), run(false)];
      if (nativeGates) {
        // The native σ is within about an ulp of TF.js's: the numbers agree to float32 rounding.
        fusedRun.forEach((values, i) => values.forEach((v, j) => expect(Math.abs(v - plainRun[i]![j]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v)))));
      } else {
        expect(fusedRun).toEqual(plainRun);
      }
    } finally {
      setNativeKernelsEnabled(true);
    }
    tf.dispose([...inputs, init.h, init.c, probe]);
  });

  it('differentiates through the plain sequence even where the fused kernels exist (they run only with no tape)', () => {
    expect(fusedLstmAvailable()).toBe(true);
    const rng = new Rng(9);
    const weights = makeWeights(3, 5, rng);
    const x = uniformTensor([3, 2, 3], 1, rng) as tf.Tensor3D;
    const init = { h: tf.zeros([2, 5]) as tf.Tensor2D, c: tf.zeros([2, 5]) as tf.Tensor2D };
    const grad = tf.grad((xi: tf.Tensor) => tf.sum(lstmSequence(xi as tf.Tensor3D, weights, init).output))(x);
    expect(grad.shape).toEqual([3, 2, 3]);
    expect(tf.tidy(() => tf.max(tf.abs(grad)).dataSync()[0]!)).toBeGreaterThan(1e-4);
    tf.dispose([grad, x, init.h, init.c, ...Object.values(weights)]);
  });

  it('detach passes values and stops gradients', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => tf.sum(tf.add(tf.mul(t, 2), tf.square(detach(t)))) as tf.Scalar)([x]);
    expect(value.dataSync()[0]).toBeCloseTo(12 + 14, 5);
    expect(Array.from(grads[0]!.dataSync())).toEqual([2, 2, 2]);
    tf.dispose([x, value, ...grads]);
  });
});
