import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import { crossEntropy } from '../../src/compute/cross-entropy.js';
import { columnSum } from '../../src/compute/linear.js';
import { setNativeKernelsEnabled } from '../../src/compute/native.js';
import {
  loadWasmKernels,
  setWasmKernelsEnabled,
  wasmKernelsFor,
  type WasmKernels,
} from '../../src/compute/wasm-kernels.js';
import { WASM_KERNELS_BASE64 } from '../../src/compute/wasm-kernels-binary.js';
import { expectClose, matMulRef, values } from '../support/matmul-reference.js';

let gemm: WasmKernels;

beforeAll(async () => {
  await initBackend('wasm');
  // These tests are about the WebAssembly kernels: the native matmul (native.test.ts) stays off.
  setNativeKernelsEnabled(false);
  const found = wasmKernelsFor(tf.backend() as BackendWasm);
  if (found === undefined) throw new Error('the wasm matmul did not load (relaxed SIMD unavailable?)');
  gemm = found;
});

afterEach(() => setWasmKernelsEnabled(true));
afterAll(() => setNativeKernelsEnabled(true));

describe('wasm matmul (relaxed-SIMD FMA kernel)', () => {
  it('loads on this Node (relaxed SIMD, enabled by flag on Node 20)', () => {
    expect(loadWasmKernels()).not.toBeNull();
  });

  it('is the committed binary of tools/wasm-kernels-wat.mjs', async () => {
    // @ts-expect-error plain JavaScript tool without type declarations
    const { compileWasmKernels } = (await import('../../tools/wasm-kernels-compile.mjs')) as {
      compileWasmKernels(): Promise<Uint8Array>;
    };
    const bytes = await compileWasmKernels();
    expect(Buffer.from(bytes).toString('base64')).toBe(WASM_KERNELS_BASE64);
  });

  it.each([
    [6, 1, 1],
    [6, 7, 8],
    [7, 3, 9],
    [11, 17, 23],
    [12, 5, 16],
    [13, 64, 31],
    [32, 60, 240],
    [64, 33, 7],
    [100, 20, 45],
  ])(
    'multiplies [%i, %i] x [%i-wide] exactly like a float64 reference (row and column remainders)',
    (m, k, n) => {
      const a = values(m * k, m * 7 + k);
      const b = values(k * n, n * 13 + k);
      const before = gemm.stats.calls;
      const out = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])));
      expect(gemm.stats.calls).toBe(before + 1);
      expect(out.shape).toEqual([m, n]);
      expectClose(out.dataSync() as Float32Array, matMulRef(a, b, m, k, n), k);
      out.dispose();
    },
  );

  it('blocks rows and packs columns in blocks on large operands', () => {
    // k = 300: row blocks of 216 rows, packed column blocks of 3488 columns
    const [m, k, n] = [440, 300, 3500];
    const a = values(m * k, 1);
    const b = values(k * n, 2);
    const packs = gemm.stats.packs;
    const out = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])));
    expect(gemm.stats.packs - packs).toBe(2);
    expectClose(out.dataSync() as Float32Array, matMulRef(a, b, m, k, n), k);
    out.dispose();
  });

  it('writes zeros when k is 0 and handles empty results', () => {
    const out = tf.tidy(() => tf.matMul(tf.ones([8, 0]), tf.ones([0, 5])));
    expect(Array.from(out.dataSync())).toEqual(new Array(40).fill(0));
    const empty = tf.tidy(() => tf.matMul(tf.ones([8, 3]), tf.ones([3, 0])));
    expect(empty.shape).toEqual([8, 0]);
    tf.dispose([out, empty]);
  });

  it('multiplies batches of equal size', () => {
    const [batch, m, k, n] = [3, 7, 5, 10];
    const a = values(batch * m * k, 3);
    const b = values(batch * k * n, 4);
    const out = tf.tidy(() => tf.matMul(tf.tensor3d(a, [batch, m, k]), tf.tensor3d(b, [batch, k, n])));
    expect(out.shape).toEqual([batch, m, n]);
    const got = out.dataSync() as Float32Array;
    for (let i = 0; i < batch; i++) {
      const ref = matMulRef(
        a.subarray(i * m * k, (i + 1) * m * k),
        b.subarray(i * k * n, (i + 1) * k * n),
        m,
        k,
        n,
      );
      expectClose(got.subarray(i * m * n, (i + 1) * m * n), ref, k);
    }
    out.dispose();
  });

  it('takes transposed operands (flags turned into explicit transposes first)', () => {
    const [m, k, n] = [9, 6, 11];
    const a = values(m * k, 5);
    const b = values(k * n, 6);
    const out = tf.tidy(() => {
      const aT = tf.tensor2d(a, [m, k]).transpose();
      const bT = tf.tensor2d(b, [k, n]).transpose();
      return tf.matMul(aT, bT, true, true);
    });
    expectClose(out.dataSync() as Float32Array, matMulRef(a, b, m, k, n), k);
    out.dispose();
  });

  it('reuses the packed weight across short matmuls, and never confuses tensors', () => {
    const [m, k, n] = [16, 40, 24];
    const weight = tf.tensor2d(values(k * n, 7), [k, n]);
    const hits = gemm.stats.cacheHits;
    for (let step = 0; step < 5; step++) {
      const a = values(m * k, 100 + step);
      const out = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), weight));
      expectClose(
        out.dataSync() as Float32Array,
        matMulRef(a, weight.dataSync() as Float32Array, m, k, n),
        k,
      );
      out.dispose();
    }
    expect(gemm.stats.cacheHits - hits).toBe(4);

    // The same data under another shape (a reshape shares the data id) is packed for its shape.
    const a2 = values(m * 2 * k, 9);
    const reshaped = weight.reshape([2 * k, n / 2]);
    const out2 = tf.tidy(() => tf.matMul(tf.tensor2d(a2, [m, 2 * k]), reshaped));
    expectClose(
      out2.dataSync() as Float32Array,
      matMulRef(a2, weight.dataSync() as Float32Array, m, 2 * k, n / 2),
      2 * k,
    );
    tf.dispose([out2, reshaped]);

    // Weights disposed and new ones allocated (likely at the same heap offset) are never served
    // from another tensor's cached panels; more weights than cache entries cycle through.
    weight.dispose();
    for (let round = 0; round < 8; round++) {
      const w = values(k * n, 200 + round);
      const a = values(m * k, 300 + round);
      const out = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(w, [k, n])));
      expectClose(out.dataSync() as Float32Array, matMulRef(a, w, m, k, n), k);
      out.dispose();
    }
  });

  it('leaves single rows and the switched-off case to XNNPACK, with the same numbers', () => {
    const [m, k, n] = [1, 30, 20];
    const a = values(m * k, 11);
    const b = values(k * n, 12);
    const calls = gemm.stats.calls;
    const one = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])));
    expect(gemm.stats.calls).toBe(calls);
    expectClose(one.dataSync() as Float32Array, matMulRef(a, b, m, k, n), k);
    setWasmKernelsEnabled(false);
    const a8 = values(8 * k, 13);
    const off = tf.tidy(() => tf.matMul(tf.tensor2d(a8, [8, k]), tf.tensor2d(b, [k, n])));
    expect(gemm.stats.calls).toBe(calls);
    expectClose(off.dataSync() as Float32Array, matMulRef(a8, b, 8, k, n), k);
    tf.dispose([one, off]);
  });
});

describe('wasm column sum', () => {
  it.each([
    [1, 1],
    [5, 3],
    [7, 8],
    [33, 13],
    [0, 6],
    [2304, 2401],
  ])('sums [%i, %i] over rows to the same bits as a float64 loop', (rows, cols) => {
    const x = values(rows * cols, rows + cols * 3);
    const expected = new Float64Array(cols);
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) expected[j]! += x[r * cols + j]!;
    const input = tf.tensor2d(x, [rows, cols]);
    const sum = columnSum(input);
    expect(Array.from(sum.dataSync())).toEqual(Array.from(Float32Array.from(expected)));
    setWasmKernelsEnabled(false);
    const plain = columnSum(input);
    expect(Array.from(plain.dataSync())).toEqual(Array.from(sum.dataSync()));
    tf.dispose([input, sum, plain]);
  });
});

describe('wasm softmax cross-entropy kernels (row max, gradient)', () => {
  it.each([
    [5, 7],
    [9, 16],
    [3, 13],
  ])('give the same loss and gradient bits as the TF.js ops ([%i, %i] logits)', (rows, classes) => {
    const logits = tf.tensor2d(
      Array.from(values(rows * classes, rows * 31 + classes), (v) => v * 8 - 3),
      [rows, classes],
    );
    const targets = tf.tensor1d(
      Array.from({ length: rows }, (_, r) => (r * 5 + 2) % classes),
      'int32',
    );
    const weights = tf.tensor1d(Array.from(values(rows, 77)));
    const run = () => {
      const { value, grads } = tf.valueAndGrads(
        (z: tf.Tensor) => tf.sum(tf.mul(crossEntropy(z as tf.Tensor2D, targets), weights)) as tf.Scalar,
      )([logits]);
      const out = [Array.from(value.dataSync()), Array.from(grads[0]!.dataSync())];
      tf.dispose([value, ...grads]);
      return out;
    };
    const ours = run();
    setWasmKernelsEnabled(false);
    const plain = run();
    expect(ours).toEqual(plain);
    tf.dispose([logits, targets, weights]);
  });
});
