import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import { wasmKernelsFor, type WasmKernels } from '../../src/compute/wasm-kernels.js';
import {
  loadNativeKernels,
  NATIVE_ABI_VERSION,
  setNativeKernelsEnabled,
  setNativeThreads,
  type NativeKernels,
} from '../../src/compute/native.js';
import { expectClose, matMulRef, values } from '../support/matmul-reference.js';
import { nativeExpected } from '../support/native-expected.js';

let kernels: WasmKernels;
let native: NativeKernels;

beforeAll(async () => {
  await initBackend('wasm');
  kernels = wasmKernelsFor(tf.backend() as BackendWasm)!;
  const loaded = loadNativeKernels();
  // npm test builds the addon first (npm run build:native); where it is expected it must load.
  if (nativeExpected && loaded === null)
    throw new Error('native kernels did not load: run npm run build:native');
  if (loaded !== null) native = loaded;
});

describe.skipIf(nativeExpected)('without the native kernels (ULMFIT_NATIVE=0, or no AVX2)', () => {
  it('multiplies on the wasm kernels', () => {
    expect(loadNativeKernels()).toBeNull();
    const calls = kernels.stats.nativeCalls;
    const [m, k, n] = [7, 5, 9];
    const a = values(m * k, 1);
    const b = values(k * n, 2);
    expectClose(multiply(a, b, m, k, n), matMulRef(a, b, m, k, n), k);
    expect(kernels.stats.nativeCalls).toBe(calls);
  });
});

afterEach(() => {
  setNativeKernelsEnabled(true);
  setNativeThreads(2);
});

/** `a · b` through tf.matMul, as a plain array. */
function multiply(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const out = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])));
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}

describe.skipIf(!nativeExpected)('native AVX2 matmul', () => {
  it("runs the wasm backend's BatchMatMul on this machine", () => {
    expect(native.version).toBe(NATIVE_ABI_VERSION); // native/abi.json, read by the build and the loader
    const calls = kernels.stats.nativeCalls;
    multiply(values(12, 1), values(12, 2), 3, 4, 3);
    expect(kernels.stats.nativeCalls).toBe(calls + 1);
  });

  it.each([
    [1, 1, 1],
    [1, 30, 20],
    [2, 17, 16],
    [5, 9, 40],
    [6, 7, 8],
    [7, 3, 17],
    [11, 17, 23],
    [13, 300, 31],
    [32, 60, 240],
    [64, 33, 7],
    [100, 600, 45],
    [97, 257, 1030],
  ])(
    'multiplies [%i, %i] x [%i-wide] like a float64 reference (row, column and k-block remainders)',
    (m, k, n) => {
      const a = values(m * k, m * 7 + k);
      const b = values(k * n, n * 13 + k);
      expectClose(multiply(a, b, m, k, n), matMulRef(a, b, m, k, n), k);
    },
  );

  it('blocks columns, rows and k on large operands, split over threads by rows or by panels', () => {
    // n = 1100: 69 panels, more than one column block (64 panels); k = 520: 3 blocks of k;
    // m = 200: 3 row blocks. 69 panels split 35/34 (balanced): panels; n = 40 (3 panels): rows.
    for (const [m, k, n] of [
      [200, 520, 1100],
      [300, 100, 40],
    ] as const) {
      const a = values(m * k, m);
      const b = values(k * n, n);
      setNativeThreads(2);
      const two = multiply(a, b, m, k, n);
      expectClose(two, matMulRef(a, b, m, k, n), k);
      setNativeThreads(1);
      // Every element sums over k in the same order however the work is split: the same bits.
      expect(multiply(a, b, m, k, n)).toEqual(two);
      setNativeThreads(3);
      expect(multiply(a, b, m, k, n)).toEqual(two);
    }
  });

  it('writes zeros when k is 0, handles empty results and batches', () => {
    const zeros = tf.tidy(() => tf.matMul(tf.ones([8, 0]), tf.ones([0, 5])));
    expect(Array.from(zeros.dataSync())).toEqual(new Array(40).fill(0));
    // Twice with the same B: a short A whose (empty) B takes no cache slot.
    const emptyB = tf.zeros([0, 16]);
    for (let round = 0; round < 2; round++) {
      const again = tf.tidy(() => tf.matMul(tf.zeros([8, 0]), emptyB));
      expect(Array.from(again.dataSync())).toEqual(new Array(128).fill(0));
      again.dispose();
    }
    emptyB.dispose();
    const empty = tf.tidy(() => tf.matMul(tf.ones([8, 3]), tf.ones([3, 0])));
    expect(empty.shape).toEqual([8, 0]);
    const [batch, m, k, n] = [3, 7, 5, 10];
    const a = values(batch * m * k, 3);
    const b = values(batch * k * n, 4);
    const out = tf.tidy(() => tf.matMul(tf.tensor3d(a, [batch, m, k]), tf.tensor3d(b, [batch, k, n])));
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
    tf.dispose([zeros, empty, out]);
  });

  it.each([
    [1, 37, 19],
    [3, 7, 20],
    [5, 64, 40],
    [9, 6, 11],
    [40, 70, 33],
    [130, 300, 70],
  ])(
    'reads transposed operands in place ([%i, %i] x [%i-wide]), with no Transpose kernel',
    async (m, k, n) => {
      const a = values(m * k, 5 + m);
      const b = values(k * n, 6 + n);
      const ref = matMulRef(a, b, m, k, n);
      const aT = tf.tidy(() => tf.tensor2d(a, [m, k]).transpose());
      const bT = tf.tidy(() => tf.tensor2d(b, [k, n]).transpose());
      const aPlain = tf.tensor2d(a, [m, k]);
      const bPlain = tf.tensor2d(b, [k, n]);
      for (const [x, y, transposeA, transposeB] of [
        [aT, bPlain, true, false],
        [aPlain, bT, false, true],
        [aT, bT, true, true],
      ] as const) {
        const calls = kernels.stats.nativeCalls;
        // Twice: the second may come from the packed-panel cache (transposed panels are their own entry).
        for (let round = 0; round < 2; round++) {
          const out = tf.matMul(x, y, transposeA, transposeB);
          expectClose(out.dataSync() as Float32Array, ref, k);
          out.dispose();
        }
        expect(kernels.stats.nativeCalls).toBe(calls + 2);
      }
      // The same tensor as B, untransposed, right after its transposed use: its own panels.
      const square = tf.tensor2d(values(k * k, 77), [k, k]);
      const [viaT, plain] = [tf.matMul(aPlain, square, false, true), tf.matMul(aPlain, square)].map((t) => {
        const data = t.dataSync() as Float32Array;
        t.dispose();
        return data;
      }) as [Float32Array, Float32Array];
      const sq = square.dataSync() as Float32Array;
      const sqT = new Float32Array(k * k);
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) sqT[j * k + i] = sq[i * k + j]!;
      expectClose(viaT, matMulRef(a, sqT, m, k, k), k);
      expectClose(plain, matMulRef(a, sq, m, k, k), k);
      const profile = await tf.profile(() => tf.matMul(aT, bT, true, true));
      expect(profile.kernelNames).toEqual(['BatchMatMul']);
      tf.dispose([aT, bT, aPlain, bPlain, square, profile.result as tf.Tensor]);
    },
  );

  it('gives the gradients of a matmul (transposed products) like the wasm kernels', () => {
    const [m, k, n] = [9, 6, 11];
    const a = tf.tensor2d(values(m * k, 5), [m, k]);
    const b = tf.tensor2d(values(k * n, 6), [k, n]);
    const withNative = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y).square().sum())([a, b]);
    setNativeKernelsEnabled(false);
    const withWasm = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y).square().sum())([a, b]);
    withNative.forEach((grad, i) => {
      const ref = withWasm[i]!.dataSync();
      expectClose(grad.dataSync() as Float32Array, Float64Array.from(ref), 50);
    });
    tf.dispose([a, b, ...withNative, ...withWasm]);
  });

  it('reuses packed weights across short matmuls, and never confuses tensors', () => {
    const [m, k, n] = [16, 40, 24];
    const weight = tf.tensor2d(values(k * n, 7), [k, n]);
    const hits = kernels.stats.cacheHits;
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
    expect(kernels.stats.cacheHits - hits).toBe(4);
    // The same data under another shape (a reshape shares the data id) is packed for its shape.
    const a2 = values(m * 2 * k, 9);
    const reshaped = weight.reshape([2 * k, n / 2]);
    const out2 = tf.tidy(() => tf.matMul(tf.tensor2d(a2, [m, 2 * k]), reshaped));
    expectClose(
      out2.dataSync() as Float32Array,
      matMulRef(a2, weight.dataSync() as Float32Array, m, 2 * k, n / 2),
      2 * k,
    );
    tf.dispose([out2, reshaped, weight]);
    // More weights than cache slots cycle through, each multiplied with its own panels.
    for (let round = 0; round < 12; round++) {
      const w = values(k * n, 200 + round);
      const a = values(m * k, 300 + round);
      expectClose(multiply(a, w, m, k, n), matMulRef(a, w, m, k, n), k);
    }
  });

  it.each([
    [3, 5, 4],
    [16, 40, 3],
    [70, 9, 2],
  ])(
    'runs a whole LSTM layer forward in one call ([%i rows, H = %i], %i steps), keeping what the backward reads or not',
    (rows, hidden, seqLen) => {
      const gates = 4 * hidden;
      const narrow = rows * hidden;
      const projected = values(seqLen * rows * gates, 41).map((v) => v * 2);
      const w = values(gates * hidden, 42).map((v) => v / 2); // W_hh [4H, H]
      const wT = new Float32Array(hidden * gates);
      for (let g = 0; g < gates; g++) for (let j = 0; j < hidden; j++) wT[j * gates + g] = w[g * hidden + j]!;
      const h0 = values(narrow, 43).map((v) => v / 2);
      const c2First = values(narrow, 44);
      // The float64 recurrence of lstm.ts cellStep, from the float32 inputs: the g block of the
      // pre-activations doubled (σ(2 z_g) gives tanh z_g).
      const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
      const expected = {
        sigmoids: new Float64Array(seqLen * rows * gates),
        tanhC: new Float64Array(seqLen * narrow),
        cells: new Float64Array((seqLen + 1) * narrow),
        output: new Float64Array(seqLen * narrow),
        hPrev: new Float64Array(seqLen * narrow),
      };
      expected.cells.set(c2First);
      expected.hPrev.set(h0);
      for (let t = 0; t < seqLen; t++) {
        const hIn = Float32Array.from(expected.hPrev.subarray(t * narrow, (t + 1) * narrow));
        const product = matMulRef(hIn, wT, rows, hidden, gates);
        for (let i = 0; i < rows * gates; i++) {
          const scale = Math.floor((i % gates) / hidden) === 2 ? 2 : 1;
          expected.sigmoids[t * rows * gates + i] = sigmoid(
            scale * (product[i]! + projected[t * rows * gates + i]!),
          );
        }
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < hidden; j++) {
            const gate = (g: number) => expected.sigmoids[(t * rows + r) * gates + g * hidden + j]!;
            const at = t * narrow + r * hidden + j;
            const cell = gate(1) * expected.cells[at]! + gate(0) * (4 * gate(2) - 2);
            expected.cells[at + narrow] = cell;
            expected.tanhC[at] = Math.tanh(cell / 2);
            expected.output[at] = gate(3) * Math.tanh(cell / 2);
            if (t + 1 < seqLen) expected.hPrev[at + narrow] = expected.output[at]!;
          }
        }
      }
      const inputs = {
        projected: tf.tensor2d(projected, [seqLen * rows, gates]),
        weightHh: tf.tensor2d(w, [gates, hidden]),
        h0: tf.tensor2d(h0, [rows, hidden]),
        c2First: tf.tensor2d(c2First, [rows, hidden]),
      };
      const tolerance = 4 * hidden; // float32 rounding fed back through a few steps of the recurrence
      for (const keep of [true, false]) {
        const outputs = tf
          .engine()
          .runKernel('UlmfitLstmForward', inputs, { keep }) as unknown as tf.Tensor[];
        expect(outputs).toHaveLength(keep ? 6 : 2);
        const [output, c2Last, sigmoids, tanhC, cells, hPrev] = outputs;
        expectClose(output!.dataSync() as Float32Array, expected.output, tolerance);
        expectClose(c2Last!.dataSync() as Float32Array, expected.cells.subarray(seqLen * narrow), tolerance);
        if (keep) {
          expectClose(sigmoids!.dataSync() as Float32Array, expected.sigmoids, tolerance);
          expectClose(tanhC!.dataSync() as Float32Array, expected.tanhC, tolerance);
          expectClose(cells!.dataSync() as Float32Array, expected.cells, tolerance);
          expectClose(hPrev!.dataSync() as Float32Array, expected.hPrev, tolerance);
        }
        tf.dispose(outputs);
      }
      tf.dispose(Object.values(inputs));
    },
  );

  it.each([
    [3, 5, 4],
    [16, 40, 3],
    [7, 19, 2],
  ])(
    'back-propagates a whole LSTM layer through time in one call ([%i rows, H = %i], %i steps)',
    (rows, hidden, seqLen) => {
      const gates = 4 * hidden;
      const narrow = rows * hidden;
      const s = values(seqLen * rows * gates, 71).map((v) => (v + 1) / 2);
      const cells = values((seqLen + 1) * narrow, 72).map((v) => v * 3);
      const tanhC = values(seqLen * narrow, 73).map((v) => v * 0.9);
      const dy = values(seqLen * narrow, 74);
      const w = values(gates * hidden, 75).map((v) => v / 2);
      // Float64 back-propagation through time (lstm.ts lstmBackward), t = T-1 .. 0.
      const expected = new Float64Array(seqLen * rows * gates);
      const carry = new Float64Array(narrow);
      for (let t = seqLen - 1; t >= 0; t--) {
        const last = t === seqLen - 1;
        const next = Float32Array.from(expected.subarray((t + 1) * rows * gates, (t + 2) * rows * gates));
        const mm = last ? new Float64Array(narrow) : matMulRef(next, w, rows, gates, hidden);
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < hidden; j++) {
            const gate = (g: number) => s[(t * rows + r) * gates + g * hidden + j]!;
            const dzAt = (g: number) => (t * rows + r) * gates + g * hidden + j;
            const at = t * narrow + r * hidden + j;
            const g = 2 * gate(2) - 1;
            const tc = tanhC[at]!;
            const dh = dy[at]! + mm[r * hidden + j]!;
            const dc = dh * gate(3) * (1 - tc * tc) + (last ? 0 : carry[r * hidden + j]!);
            expected[dzAt(0)] = dc * g * gate(0) * (1 - gate(0));
            expected[dzAt(1)] = dc * cells[at]! * 0.5 * gate(1) * (1 - gate(1));
            expected[dzAt(2)] = dc * gate(0) * (1 - g * g);
            expected[dzAt(3)] = dh * tc * gate(3) * (1 - gate(3));
            carry[r * hidden + j] = dc * gate(1);
          }
        }
      }
      const inputs = {
        dy: tf.tensor2d(dy, [seqLen * rows, hidden]),
        sigmoids: tf.tensor2d(s, [seqLen * rows, gates]),
        cells: tf.tensor2d(cells, [(seqLen + 1) * rows, hidden]),
        tanhC: tf.tensor2d(tanhC, [seqLen * rows, hidden]),
        weightHh: tf.tensor2d(w, [gates, hidden]),
      };
      const dz = tf.engine().runKernel('UlmfitLstmBackward', inputs, { rows }) as tf.Tensor;
      expectClose(dz.dataSync() as Float32Array, expected, 4 * gates);
      tf.dispose([dz, ...Object.values(inputs)]);
    },
  );

  it('rejects whole-layer LSTM calls whose operands do not lie inside the memory', () => {
    const memory = new ArrayBuffer(4096);
    expect(() => native.lstmForward(memory, 0, 0, 0, 0, -1, -1, -1, 0, -1, -1, 100, 8, 8)).toThrow(
      /lstmForward: operands do not lie inside/,
    );
    expect(() => native.lstmForward(memory, 0, 0, 0, 0, -1, -1, -1, 2, -1, -1, 1, 1, 1)).toThrow(
      /lstmForward: operands do not lie inside/,
    );
    expect(() => native.lstmBackward(memory, 0, 0, 0, 0, 0, 0, 100, 8, 8)).toThrow(
      /lstmBackward: operands do not lie inside/,
    );
  });

  it("runs fused matmuls (bias of [n] or of the output's shape, linear or sigmoid) and leaves other activations to TF.js", () => {
    const [m, k, n] = [13, 20, 37];
    const a = values(m * k, 51);
    const b = values(k * n, 52);
    const row = values(n, 53);
    const full = values(m * n, 54);
    const product = matMulRef(a, b, m, k, n);
    const ta = tf.tensor2d(a, [m, k]);
    const tb = tf.tensor2d(b, [k, n]);
    const cases: Array<[tf.Tensor, (v: number, i: number) => number, 'linear' | 'sigmoid' | 'relu']> = [
      [tf.tensor1d(row), (v, i) => v + row[i % n]!, 'linear'],
      [tf.tensor2d(row, [1, n]), (v, i) => 1 / (1 + Math.exp(-(v + row[i % n]!))), 'sigmoid'],
      [tf.tensor2d(full, [m, n]), (v, i) => v + full[i]!, 'linear'],
      [tf.tensor1d(row), (v, i) => Math.max(0, v + row[i % n]!), 'relu'],
    ];
    for (const [bias, expected, activation] of cases) {
      const calls = kernels.stats.nativeCalls;
      const out = tf.fused.matMul({ a: ta, b: tb, bias, activation });
      expectClose(out.dataSync() as Float32Array, product.map(expected), k);
      expect(kernels.stats.nativeCalls - calls).toBe(activation === 'relu' ? 0 : 1);
      tf.dispose([out, bias]);
    }
    // Transposed operands in place, with a bias.
    const out = tf.fused.matMul({
      a: ta.transpose(),
      b: tb.transpose(),
      transposeA: true,
      transposeB: true,
      bias: tf.tensor1d(row),
    });
    expectClose(
      out.dataSync() as Float32Array,
      product.map((v, i) => v + row[i % n]!),
      k,
    );
    tf.dispose([out, ta, tb]);
  });

  it("repacks a cache slot that holds another owner's or another shape's panels instead of reading them", () => {
    const memory = new Float32Array(4096);
    const [m, k, n] = [8, 20, 40];
    const b1 = values(k * n, 61);
    const b2 = values(30 * 50, 62);
    const a = values(m * 30, 63);
    memory.set(a, 0);
    memory.set(b1, 1000);
    // Slot 0 packed with a 20 x 40 B by owner 7.
    native.gemm(memory.buffer, 0, 4000, 12000, m, k, n, 1, 0, true, false, false, -1, false, false, 7);
    // Another shape in slot 0 without repack: it must repack (not read 20 x 40 panels as 30 x 50).
    memory.set(b2, 1000);
    native.gemm(memory.buffer, 0, 4000, 12000, m, 30, 50, 1, 0, false, false, false, -1, false, false, 7);
    expectClose(memory.subarray(3000, 3000 + m * 50), matMulRef(a, b2, m, 30, 50), 30);
    // Another owner, same shape, without repack: repacked from its own B.
    const b3 = values(30 * 50, 64);
    memory.set(b3, 1000);
    native.gemm(memory.buffer, 0, 4000, 12000, m, 30, 50, 1, 0, false, false, false, -1, false, false, 8);
    expectClose(memory.subarray(3000, 3000 + m * 50), matMulRef(a, b3, m, 30, 50), 30);
  });

  it("lets NaN through the matmul epilogue's sigmoid in every column (vector lanes and scalar tail)", () => {
    const [rows, hidden, gates] = [2, 3, 20];
    const projected = new Float32Array(rows * gates).fill(0);
    projected[1] = NaN; // a vector lane
    projected[gates + 17] = NaN; // the scalar tail
    projected[4] = -200; // far below the exp clamp: σ = 0
    projected[5] = 200;
    const inputs = {
      bias: tf.tensor2d(projected, [rows, gates]),
      a: tf.zeros([rows, hidden]) as tf.Tensor2D,
      b: tf.zeros([hidden, gates]) as tf.Tensor2D,
    };
    const out = tf.fused.matMul({ ...inputs, activation: 'sigmoid' });
    const got = out.dataSync();
    expect(Number.isNaN(got[1])).toBe(true);
    expect(Number.isNaN(got[gates + 17])).toBe(true);
    expect(got[0]).toBe(0.5);
    expect(got[4]).toBe(0);
    expect(got[5]).toBe(1);
    expect(Array.from(got).filter(Number.isNaN)).toHaveLength(2);
    tf.dispose([out, ...Object.values(inputs)]);
  });

  it('refuses operands outside the memory with a clear error instead of reading past it', () => {
    const memory = new ArrayBuffer(64);
    expect(() =>
      native.gemm(memory, 0, 0, 0, 5, 5, 5, 1, -1, false, false, false, -1, false, false, 1),
    ).toThrow(/do not lie inside the memory/);
    expect(() =>
      native.gemm(memory, 2, 0, 0, 1, 1, 1, 1, -1, false, false, false, -1, false, false, 1),
    ).toThrow(/do not lie inside the memory/);
    expect(() =>
      native.gemm(memory, 0, 16, 32, 2, 2, 2, 1, 99, true, false, false, -1, false, false, 1),
    ).toThrow(/cache slot/);
    expect(() =>
      native.gemm(memory, 0, 16, 32, 2, 2, 2, 1, -1, false, false, false, 56, false, false, 1),
    ).toThrow(/addend/);
    expect(() => native.setThreads(0)).toThrow(/setThreads/);
  });

  it('multiplies in a plain ArrayBuffer too (C = A · B at byte offsets)', () => {
    const [m, k, n] = [7, 5, 18];
    const a = values(m * k, 21);
    const b = values(k * n, 22);
    const memory = new Float32Array(4 + m * k + k * n + m * n);
    memory.set(a, 4);
    memory.set(b, 4 + m * k);
    native.gemm(
      memory.buffer,
      16,
      16 + m * k * 4,
      16 + (m * k + k * n) * 4,
      m,
      k,
      n,
      1,
      -1,
      false,
      false,
      false,
      -1,
      false,
      false,
      1,
    );
    expectClose(memory.subarray(4 + m * k + k * n), matMulRef(a, b, m, k, n), k);
  });

  it('loads in worker threads, each with its own instance', async () => {
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData);
      const f = new Float32Array([1, 2, 3, 4, 2, 0, 1, 1, 9, 9, 9, 9]);
      addon.gemm(f.buffer, 0, 16, 32, 2, 2, 2, 1, -1, false, false, false, -1, false, false, 1);
      parentPort.postMessage({ threads: addon.setThreads(2), c: Array.from(f.subarray(8)) });`;
    const addonPath = new URL('../../native/build/Release/ulmfit_native.node', import.meta.url).pathname;
    const worker = new Worker(source, { eval: true, workerData: addonPath });
    const reply = await new Promise<{ threads: number; c: number[] }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    // [[1, 2], [3, 4]] · [[2, 0], [1, 1]]
    expect(reply.threads).toBe(2);
    expect(reply.c).toEqual([4, 2, 10, 4]);
  });
});

describe.skipIf(!nativeExpected)('native softmax with log-sum-exp', () => {
  /** float64 reference softmax and log-sum-exp of one row. */
  function reference(row: Float32Array): { p: Float64Array; lse: number } {
    const most = Math.max(...row);
    const e = Float64Array.from(row, (v) => Math.exp(v - most));
    const sum = e.reduce((a, b) => a + b, 0);
    return { p: e.map((v) => v / sum), lse: most + Math.log(sum) };
  }

  it.each([
    [3, 1],
    [2, 7],
    [5, 8],
    [4, 37],
    [3, 10000],
  ])('matches a float64 reference on [%i, %i] (vector body and scalar tail)', (rows, cols) => {
    const z = values(rows * cols, rows + cols).map((v) => v * 30);
    const [p, lse] = tf
      .engine()
      .runKernel('UlmfitSoftmaxLse', { x: tf.tensor2d(z, [rows, cols]) }) as unknown as [
      tf.Tensor,
      tf.Tensor,
    ];
    const pData = p.dataSync();
    const lseData = lse.dataSync();
    for (let r = 0; r < rows; r++) {
      const ref = reference(z.subarray(r * cols, (r + 1) * cols));
      expect(lseData[r]).toBeCloseTo(ref.lse, 4);
      let worst = 0;
      for (let j = 0; j < cols; j++)
        worst = Math.max(worst, Math.abs(pData[r * cols + j]! - ref.p[j]!) / Math.max(ref.p[j]!, 1e-30));
      expect(worst).toBeLessThan(1e-5);
    }
    tf.dispose([p, lse]);
  });

  it('gives NaN for a row with a NaN or +inf, and leaves the other rows alone', () => {
    const z = tf.tensor2d([1, NaN, 3, 0, 0, 0, 1, Infinity, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9], [2, 9]);
    const [p, lse] = tf.engine().runKernel('UlmfitSoftmaxLse', { x: z }) as unknown as [tf.Tensor, tf.Tensor];
    const pData = p.dataSync() as Float32Array;
    expect(Array.from(pData.subarray(0, 9)).every(Number.isNaN)).toBe(true);
    expect(Number.isNaN(lse.dataSync()[0])).toBe(true);
    expect(Array.from(pData.subarray(9)).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    tf.dispose([z, p, lse]);
  });

  it('gives the cross-entropy loss and gradient of the TF.js ops (within float32 rounding)', async () => {
    const { crossEntropy } = await import('../../src/compute/cross-entropy.js');
    const [n, classes] = [12, 300];
    const logits = tf.tensor2d(
      values(n * classes, 31).map((v) => v * 8),
      [n, classes],
    );
    const targets = tf.tensor1d(
      Array.from({ length: n }, (_, i) => (i * 37) % classes),
      'int32',
    );
    const run = () =>
      tf.valueAndGrad((z: tf.Tensor) => crossEntropy(z as tf.Tensor2D, targets).mean())(logits);
    const native = run();
    setNativeKernelsEnabled(false);
    const plain = run();
    expect(native.value.dataSync()[0]).toBeCloseTo(plain.value.dataSync()[0]!, 5);
    expectClose(native.grad.dataSync() as Float32Array, Float64Array.from(plain.grad.dataSync()), 1);
    tf.dispose([logits, targets, native.value, native.grad, plain.value, plain.grad]);
  });
});

describe.skipIf(!nativeExpected)(
  'native element-wise kernels (Adam step, column sum, cross-entropy gradient)',
  () => {
    /** Runs `fn` on 1 and 2 native threads and on the wasm kernels; returns the three results. */
    function threeWays(fn: () => number[][]): [number[][], number[][], number[][]] {
      setNativeThreads(1);
      const one = fn();
      setNativeThreads(2);
      const two = fn();
      setNativeKernelsEnabled(false);
      try {
        return [one, two, fn()];
      } finally {
        setNativeKernelsEnabled(true);
      }
    }

    it("take an Adam step with the wasm kernel's bits, split over threads (a vector and a scalar tail)", () => {
      const n = 100_003;
      const inputs = [
        values(n, 81),
        values(n, 82).map((v) => v / 10),
        values(n, 83).map((v) => v / 100),
        values(n, 84).map((v) => (v * v) / 100),
      ].map((a) => tf.tensor1d(a));
      const [param, grad, gradAvg, sqrAvg] = inputs;
      const scalars = {
        decay: 1 - 1e-3 * 0.01,
        mom: 0.9,
        oneMinusMom: 0.1,
        sqrMom: 0.99,
        oneMinusSqrMom: 0.01,
        debias2: 1 - 0.99 ** 3,
        eps: 1e-5,
        stepSize: 1e-3 / (1 - 0.9 ** 3),
      };
      const [one, two, wasm] = threeWays(() => {
        const outs = tf
          .engine()
          .runKernel(
            'UlmfitAdamW',
            { param: param!, grad: grad!, gradAvg: gradAvg!, sqrAvg: sqrAvg! },
            scalars as unknown as tf.NamedAttrMap,
          ) as unknown as tf.Tensor[];
        const arrays = outs.map((t) => Array.from(t.dataSync()));
        tf.dispose(outs);
        return arrays;
      });
      expect(one).toEqual(wasm);
      expect(two).toEqual(wasm);
      expect(one[0]!.some((v, i) => v !== param!.dataSync()[i])).toBe(true);
      tf.dispose(inputs);
    });

    it("sum columns over rows and write the cross-entropy gradient with the wasm kernels' bits, split over threads", () => {
      const [rows, classes] = [300, 1001];
      const p = tf.tensor2d(
        values(rows * classes, 91).map((v) => (v + 1) / 2),
        [rows, classes],
      );
      // Targets in range, and two outside it (no 1 is subtracted there).
      const targets = tf.tensor1d(
        Array.from({ length: rows }, (_, r) => (r === 7 ? -1 : r === 8 ? classes : (r * 37) % classes)),
        'int32',
      );
      const dy = tf.tensor1d(values(rows, 92));
      const [one, two, wasm] = threeWays(() => {
        const grad = tf
          .engine()
          .runKernel('UlmfitCrossEntropyGrad', { probabilities: p, targets, dy }) as tf.Tensor;
        const sums = tf.engine().runKernel('UlmfitColumnSum', { x: p }) as tf.Tensor;
        const arrays = [Array.from(grad.dataSync()), Array.from(sums.dataSync())];
        tf.dispose([grad, sums]);
        return arrays;
      });
      expect(one).toEqual(wasm);
      expect(two).toEqual(wasm);
      tf.dispose([p, targets, dy]);
    });
  },
);

describe.skipIf(!nativeExpected)("native kernels' argument checks", () => {
  it('refuse sizes that are not whole numbers below 2^31, even where a partner size of 0 makes the product small', () => {
    const memory = new ArrayBuffer(64);
    expect(() => native.columnSum(memory, 0, 0, 1e10, 0)).toThrow(/columnSum: operands do not lie inside/);
    expect(() => native.columnSum(memory, 0, 0, 2.5, 1)).toThrow(/columnSum: operands do not lie inside/);
    expect(() => native.crossEntropyGrad(memory, 0, 0, 0, 0, 0, 1e10)).toThrow(
      /crossEntropyGrad: operands do not lie inside/,
    );
    expect(() =>
      native.adamw(memory, 0, 0, 0, 0, 0, 0, 0, 1.5, 1, 0.9, 0.1, 0.99, 0.01, 1, 1e-5, 1e-3),
    ).toThrow(/adamw: operands do not lie inside/);
    expect(() => native.lstmForward(memory, 0, 0, 0, 0, -1, -1, -1, 0, -1, -1, 1e10, 0.5, 1)).toThrow(
      /lstmForward: operands do not lie inside/,
    );
    expect(() => native.softmax(memory, 0, 0, 0, 1e10, 1)).toThrow(/softmax/);
  });
});
