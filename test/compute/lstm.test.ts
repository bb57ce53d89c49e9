import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import { detach } from '../../src/compute/custom-op.js';
import {
  lstmLayer,
  lstmLayerOp,
  type LstmResult,
  type LstmState,
  type LstmWeights,
} from '../../src/compute/lstm.js';
import { setNativeKernelsEnabled } from '../../src/compute/native.js';
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
      const { output, state } = lstmLayer(x, weights, { h: h0, c: c0 });
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      const z = [
        0.1 * 2 + 0.01 + 0.5 * 0.3,
        0.2 * 2 + 0.02 + 0.1 - 0.5 * 0.3,
        0.3 * 2 + 0.03 + 0.25 * 0.3,
        0.4 * 2 + 0.04 - 0.1 - 0.25 * 0.3,
      ];
      const c = sig(z[1]!) * -0.7 + sig(z[0]!) * Math.tanh(z[2]!);
      const h = sig(z[3]!) * Math.tanh(c);
      expect(output.dataSync()[0]).toBeCloseTo(h, 6);
      expect(state.c.dataSync()[0]).toBeCloseTo(c, 6);
      tf.dispose([state.h, state.c]); // the state is kept out of the tidy: the caller owns it
    });
  });

  /** Output, final state and every gradient (x, W_ih, W_hh, b_ih, b_hh) of a weighted sum of the outputs, as arrays. */
  function runLayer(
    implementation: string,
    x: tf.Tensor3D,
    weights: LstmWeights,
    init: LstmState,
    probe: tf.Tensor,
  ): number[][] {
    return lstmLayerOp.using(implementation, () => {
      let last: LstmResult | undefined;
      const inputs = [x, weights.weightIh, weights.weightHh, weights.biasIh, weights.biasHh];
      const trained = tf.valueAndGrads(
        (xi: tf.Tensor, wih: tf.Tensor, whh: tf.Tensor, bih: tf.Tensor, bhh: tf.Tensor) => {
          const w = {
            weightIh: wih as tf.Tensor2D,
            weightHh: whh as tf.Tensor2D,
            biasIh: bih as tf.Tensor1D,
            biasHh: bhh as tf.Tensor1D,
          };
          last = lstmLayer(xi as tf.Tensor3D, w, init);
          return tf.sum(tf.mul(last.output, probe)) as tf.Scalar;
        },
      )(inputs);
      const inferred = lstmLayer(x, weights, init); // no tape: the forward pass alone
      const tensors = [
        trained.value,
        ...trained.grads,
        last!.state.h,
        last!.state.c,
        inferred.output,
        inferred.state.h,
        inferred.state.c,
      ];
      const arrays = tensors.map((t) => Array.from(t.dataSync()));
      tf.dispose(tensors);
      return arrays;
    });
  }

  const shapes: Array<[number, number, number, number]> = [
    // [T, bs, in, H]: fewer rows than a native micro-kernel strip (weights read in place) and more (packed)
    [5, 3, 4, 6],
    [4, 7, 5, 8],
    [4, 13, 5, 12],
  ];
  it.each(shapes)(
    "every implementation gives autodiff's output, final state and gradients (T %i, bs %i, in %i, H %i)",
    (seqLen, bs, nIn, hidden) => {
      const rng = new Rng(seqLen * 100 + bs);
      const weights = makeWeights(nIn, hidden, rng);
      const x = uniformTensor([seqLen, bs, nIn], 1, rng) as tf.Tensor3D;
      const init = {
        h: uniformTensor([bs, hidden], 0.5, rng) as tf.Tensor2D,
        c: uniformTensor([bs, hidden], 0.5, rng) as tf.Tensor2D,
      };
      // A loss that weights every output differently so that every dy entry matters.
      const probe = uniformTensor([seqLen, bs, hidden], 1, rng);
      const names = lstmLayerOp.available().map((impl) => impl.name);
      expect(names).toEqual(
        nativeExpected ? ['native', 'wasm', 'tfjs', 'autodiff'] : ['wasm', 'tfjs', 'autodiff'],
      );
      const reference = runLayer('autodiff', x, weights, init, probe);
      reference.slice(1, 6).forEach((grad) => expect(Math.max(...grad.map(Math.abs))).toBeGreaterThan(1e-3));
      for (const name of names.filter((n) => n !== 'autodiff')) {
        const ours = runLayer(name, x, weights, init, probe);
        ours.forEach((values, i) =>
          values.forEach((v, j) =>
            expect(Math.abs(v - reference[i]![j]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))),
          ),
        );
      }
      tf.dispose([x, init.h, init.c, probe, ...Object.values(weights)]);
    },
  );

  it.each([
    [6, 3],
    [8, 3],
  ])(
    "the wasm kernels give the TF.js ops' bits, forward and backward, training and inference (H = %i, bs %i)",
    (hidden, bs) => {
      // Native kernels off: the whole-layer ones compute σ in their own (about 1 ulp) way.
      setNativeKernelsEnabled(false);
      try {
        const rng = new Rng(hidden);
        const [seqLen, nIn] = [4, 5];
        const weights = makeWeights(nIn, hidden, rng);
        const x = uniformTensor([seqLen, bs, nIn], 1, rng) as tf.Tensor3D;
        const init = {
          h: uniformTensor([bs, hidden], 0.5, rng) as tf.Tensor2D,
          c: uniformTensor([bs, hidden], 0.5, rng) as tf.Tensor2D,
        };
        const probe = uniformTensor([seqLen, bs, hidden], 1, rng);
        expect(runLayer('wasm', x, weights, init, probe)).toEqual(runLayer('tfjs', x, weights, init, probe));
        tf.dispose([x, init.h, init.c, probe, ...Object.values(weights)]);
      } finally {
        setNativeKernelsEnabled(true);
      }
    },
  );

  it('picks the whole-layer native kernels only where they run, and falls back for an empty sequence', () => {
    const rng = new Rng(9);
    const weights = makeWeights(3, 5, rng);
    const init = { h: tf.zeros([2, 5]) as tf.Tensor2D, c: tf.zeros([2, 5]) as tf.Tensor2D };
    const x = uniformTensor([3, 2, 3], 1, rng) as tf.Tensor3D;
    const empty = tf.zeros([0, 2, 3]) as tf.Tensor3D;
    expect(lstmLayerOp.select(x, weights, init).name).toBe(nativeExpected ? 'native' : 'wasm');
    expect(lstmLayerOp.select(empty, weights, init).name).toBe('wasm');
    setNativeKernelsEnabled(false);
    try {
      expect(lstmLayerOp.select(x, weights, init).name).toBe('wasm');
      expect(() => lstmLayerOp.using('native', () => lstmLayerOp.select(x, weights, init))).toThrow(
        /'native' cannot run/,
      );
    } finally {
      setNativeKernelsEnabled(true);
    }
    tf.dispose([x, empty, init.h, init.c, ...Object.values(weights)]);
  });

  it('detach passes values and stops gradients', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const { value, grads } = tf.valueAndGrads(
      (t: tf.Tensor) => tf.sum(tf.add(tf.mul(t, 2), tf.square(detach(t)))) as tf.Scalar,
    )([x]);
    expect(value.dataSync()[0]).toBeCloseTo(12 + 14, 5);
    expect(Array.from(grads[0]!.dataSync())).toEqual([2, 2, 2]);
    tf.dispose([x, value, ...grads]);
  });
});
