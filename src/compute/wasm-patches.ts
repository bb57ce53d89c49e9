/**
 * The wasm backend's kernel patches, where it is slow or incomplete for this project's models, and
 * the registration of ulmfit's own kernels (wasm-kernels.ts) under the names the operations of
 * this layer run (lstm.ts, linear.ts, cross-entropy.ts, adamw.ts):
 *
 * - wasm has no `UnsortedSegmentSum` kernel, which the gradient of `tf.gather` (the embedding
 *   lookup) needs; we register one written against the wasm heap.
 * - wasm's `BatchMatMul` / `_FusedMatMul` with a transpose flag set falls back to a naive loop
 *   that runs ~15x slower than XNNPACK; TF.js's own matMul gradients set those flags. We wrap
 *   both kernels so a flagged call transposes the operand explicitly first (a cheap copy) and
 *   then takes the fast unflagged path.
 * - wasm's `Slice` (and `SplitV` / `Unpack`, built on it) copies the **whole input** out of the
 *   wasm heap (`readSync`) before copying the slice: splitting a [2304, 2400] projection into 72
 *   time steps copied 1.6 GB. We re-register the three to read the input through a heap view.
 *
 * - wasm's `Identity` (tf.clone, and every tensor a custom gradient saves) copies its input; ours
 *   shares it.
 * - `tf.sum(x, 0)` transposes x first (TF.js reduces the last axis only), and wasm's transpose
 *   of a large matrix is slow; `COLUMN_SUM_KERNEL` sums rows in one pass over a heap view.
 *
 * Model code never passes the matmul flags itself, so that wrapper is a safety net for
 * gradients and for code we do not own.
 *
 * These patches use TF.js 4.22's wasm internals (kernel names and attributes, `BackendWasm`'s heap
 * views, its Emscripten module): package.json pins every @tensorflow package to ~4.22.0, so a new
 * minor version is a deliberate upgrade that reruns the tests, not a surprise at install.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmKernelsFor, type AdamWScalars } from './wasm-kernels.js';

/** Name of the wasm-only kernel registered here: `[n, m] -> [m]` sum over rows (float32). */
export const COLUMN_SUM_KERNEL = 'UlmfitColumnSum';
/** Names of the wasm-only fused LSTM step kernels (lstm-kernels.ts). */
export const LSTM_KERNELS = {
  cell: 'UlmfitLstmCell',
  out: 'UlmfitLstmOut',
  backStep: 'UlmfitLstmBackStep',
  coefficients: 'UlmfitLstmCoefficients',
  forward: 'UlmfitLstmForward',
  backward: 'UlmfitLstmBackward',
} as const;
/** Name of the wasm-only one-pass Adam step kernel (adamw.ts). */
export const ADAMW_KERNEL = 'UlmfitAdamW';
/** Names of the wasm-only softmax cross-entropy kernels (cross-entropy.ts). */
export const CROSS_ENTROPY_KERNELS = {
  rowMax: 'UlmfitRowMax',
  grad: 'UlmfitCrossEntropyGrad',
  softmax: 'UlmfitSoftmaxLse',
} as const;

let wasmPatched = false;

/** Registers the wasm kernel patches described at the top of this file. Safe to call twice. */
export function patchWasmKernels(): void {
  if (wasmPatched) return;
  wasmPatched = true;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
  });
  wrapMatMulKernel('BatchMatMul');
  wrapMatMulKernel('_FusedMatMul');
  wrapGatherKernel();
  replaceKernel('Slice', sliceKernel);
  replaceKernel('SplitV', splitVKernel);
  replaceKernel('Unpack', unpackKernel);
  replaceKernel('Identity', identityKernel);
  tf.registerKernel({
    kernelName: COLUMN_SUM_KERNEL,
    backendName: 'wasm',
    kernelFunc: columnSumKernel as unknown as tf.KernelFunc,
  });
  // Only called where wasmKernelsFor(backend) exists (lstm-kernels.ts checks before using them).
  const kernelsOf = (backend: BackendWasm) => {
    const kernels = wasmKernelsFor(backend);
    if (kernels === undefined)
      throw new Error("the fused LSTM and Adam kernels need ulmfit's wasm kernels, which are off");
    return kernels;
  };
  const fusedKernels: Array<[string, (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]]> = [
    [
      LSTM_KERNELS.cell,
      ({ inputs, backend }) => kernelsOf(backend).lstmCell(inputs['sigmoids']!, inputs['c2Prev']!),
    ],
    [
      LSTM_KERNELS.out,
      ({ inputs, backend }) => kernelsOf(backend).lstmOut(inputs['sigmoids']!, inputs['sigmoidC2']!),
    ],
    // Native only (lstm-kernels.ts checks nativeLstmAvailable): a whole layer's forward pass, and its back-propagation through time, in one call each.
    [
      LSTM_KERNELS.forward,
      ({ inputs, backend, attrs }) =>
        kernelsOf(backend).lstmForward(
          inputs['projected']!,
          inputs['weightHh']!,
          inputs['h0']!,
          inputs['c2First']!,
          attrs['keep'] as boolean,
        ),
    ],
    [
      LSTM_KERNELS.backward,
      ({ inputs, backend, attrs }) =>
        kernelsOf(backend).lstmBackward(
          inputs['dy']!,
          inputs['sigmoids']!,
          inputs['cells']!,
          inputs['tanhC']!,
          inputs['weightHh']!,
          attrs['rows'] as number,
        ),
    ],
    [
      LSTM_KERNELS.coefficients,
      ({ inputs, backend }) =>
        kernelsOf(backend).lstmCoefficients(inputs['sigmoids']!, inputs['cells']!, inputs['tanhCells']!),
    ],
    [
      LSTM_KERNELS.backStep,
      ({ inputs, backend, attrs }) =>
        kernelsOf(backend).lstmBackStep(
          attrs['step'] as number,
          attrs['rows'] as number,
          inputs['dy']!,
          inputs['coefA']!,
          inputs['coefB']!,
          inputs['forget']!,
          inputs['mm'],
          inputs['carry'],
        ),
    ],
  ];
  fusedKernels.push([
    ADAMW_KERNEL,
    ({ inputs, backend, attrs }) =>
      kernelsOf(backend).adamW(
        inputs['param']!,
        inputs['grad']!,
        inputs['gradAvg']!,
        inputs['sqrAvg']!,
        attrs as unknown as AdamWScalars,
      ),
  ]);
  fusedKernels.push(
    [CROSS_ENTROPY_KERNELS.rowMax, ({ inputs, backend }) => kernelsOf(backend).rowMax(inputs['x']!)],
    [
      CROSS_ENTROPY_KERNELS.grad,
      ({ inputs, backend }) =>
        kernelsOf(backend).crossEntropyGrad(inputs['probabilities']!, inputs['targets']!, inputs['dy']!),
    ],
    // Native only (cross-entropy.ts checks the native kernels): softmax and log-sum-exp per row in one kernel.
    [CROSS_ENTROPY_KERNELS.softmax, ({ inputs, backend }) => kernelsOf(backend).softmaxLse(inputs['x']!)],
  );
  for (const [kernelName, kernelFunc] of fusedKernels) {
    tf.registerKernel({
      kernelName,
      backendName: 'wasm',
      kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    });
  }
}

/** `[n, m] -> [m]`: Σ over rows, reading row after row (cache-friendly), accumulated in float64. */
function columnSumKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const x = inputs['x']!;
  const kernels = wasmKernelsFor(backend);
  if (kernels !== undefined) return kernels.columnSum(x);
  const [rows, cols] = x.shape as [number, number];
  const out = backend.makeOutput([cols], 'float32');
  const src = backend.typedArrayFromHeap(x) as Float32Array;
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let j = 0; j < cols; j++) acc[j]! += src[base + j]!;
  }
  dst.set(acc);
  return out;
}

/**
 * `tf.clone` / identity without a copy: the output shares the input's data (reference-counted, as
 * wasm's own Reshape does; tensor data is immutable). TF.js clones every tensor a custom gradient
 * saves for its backward pass, and wasm's Identity copies it: the LSTM layers' and the
 * cross-entropy's saved activations cost 111 copies (~60 ms, 92 MB for the vocabulary-sized
 * probabilities alone) per training step.
 */
function identityKernel({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const x = inputs['x']!;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

/**
 * GatherV2 of whole rows (axis 0, int32 indices of any shape, no batch dimensions, numeric data):
 * one typed-array copy per row. TF.js's wasm gather walks element by element, ~15 ms for the
 * embedding lookup of a 16×72 batch (1152 rows of 200). Anything else, and any index out of
 * range (whose error the original reports), goes to the original kernel.
 */
function wrapGatherKernel(): void {
  const original = tf.getKernel('GatherV2', 'wasm');
  if (original === undefined) return;
  const originalFunc = original.kernelFunc as unknown as (args: KernelArgs) => tf.TensorInfo;
  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const { backend } = args;
    const x = args.inputs['x']!;
    const indices = args.inputs['indices']!;
    const rank = x.shape.length;
    const axisAttr = args.attrs['axis'] as number;
    const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
    const batchDims = (args.attrs['batchDims'] as number | undefined) ?? 0;
    if (
      axis !== 0 ||
      batchDims !== 0 ||
      rank < 1 ||
      indices.dtype !== 'int32' ||
      (x.dtype !== 'float32' && x.dtype !== 'int32')
    ) {
      return originalFunc(args);
    }
    const rows = x.shape[0]!;
    const inner = tf.util.sizeFromShape(x.shape.slice(1));
    const ids = backend.typedArrayFromHeap(indices) as Int32Array;
    for (let i = 0; i < ids.length; i++) if (!(ids[i]! >= 0 && ids[i]! < rows)) return originalFunc(args);
    const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    // Views are taken after makeOutput: allocating may grow (and so move) the wasm heap.
    const source = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
    const target = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
    const rowIds = backend.typedArrayFromHeap(indices) as Int32Array;
    for (let i = 0; i < rowIds.length; i++) {
      const from = rowIds[i]! * inner;
      target.set(source.subarray(from, from + inner), i * inner);
    }
    return out;
  };
  tf.unregisterKernel('GatherV2', 'wasm');
  const config: tf.KernelConfig = {
    kernelName: 'GatherV2',
    backendName: 'wasm',
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
  };
  if (original.setupFunc !== undefined) config.setupFunc = original.setupFunc;
  if (original.disposeFunc !== undefined) config.disposeFunc = original.disposeFunc;
  tf.registerKernel(config);
}

/** Swaps the wasm kernel `kernelName` for `kernelFunc`, falling back to the original for strings. */
function replaceKernel(
  kernelName: string,
  kernelFunc: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[],
): void {
  const original = tf.getKernel(kernelName, 'wasm');
  if (original === undefined) return;
  const originalFunc = original.kernelFunc as unknown as (
    args: KernelArgs,
  ) => tf.TensorInfo | tf.TensorInfo[];
  tf.unregisterKernel(kernelName, 'wasm');
  const config: tf.KernelConfig = {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ((args: KernelArgs) => {
      const first = Object.values(args.inputs)[0];
      return first?.dtype === 'string' ? originalFunc(args) : kernelFunc(args);
    }) as unknown as tf.KernelFunc,
  };
  if (original.setupFunc !== undefined) config.setupFunc = original.setupFunc;
  tf.registerKernel(config);
}

/**
 * Copies `x[begin : begin+size]` (any rank) reading `x` through a heap view.
 * @returns a new tensor of shape `size`
 */
function sliceInfo(x: tf.TensorInfo, begin: number[], size: number[], backend: BackendWasm): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const count = tf.util.sizeFromShape(size);
  if (count === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const offset = tf.slice_util.computeFlatOffset(begin, strides);
    dst.set(src.subarray(offset, offset + count));
    return out;
  }
  // Copy contiguous rows of the innermost dimension; walk the outer indices like an odometer.
  const inner = size[rank - 1]!;
  const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let outOffset = 0; outOffset < count; outOffset += inner) {
    let offset = begin[rank - 1]!;
    for (let d = 0; d < rank - 1; d++) offset += (begin[d]! + index[d]!) * strides[d]!;
    dst.set(src.subarray(offset, offset + inner), outOffset);
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d]! < size[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

function sliceKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const x = inputs['x']!;
  const [begin, size] = tf.slice_util.parseSliceParams(
    x,
    attrs['begin'] as number[],
    attrs['size'] as number[],
  );
  return sliceInfo(x, begin!, size!, backend);
}

function splitVKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const x = inputs['x']!;
  const axis = tf.util.parseAxisParam(attrs['axis'] as number, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(
    x as tf.Tensor,
    attrs['numOrSizeSplits'] as number | number[],
    axis,
  );
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((piece) => {
    const size = [...x.shape];
    size[axis] = piece;
    const out = sliceInfo(x, [...begin], size, backend);
    begin[axis]! += piece;
    return out;
  });
}

function unpackKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const x = inputs['value']!;
  const rank = x.shape.length;
  const axis = (attrs['axis'] as number) < 0 ? (attrs['axis'] as number) + rank : (attrs['axis'] as number);
  const outShape = x.shape.filter((_, d) => d !== axis);
  const size = [...x.shape];
  size[axis] = 1;
  return Array.from({ length: x.shape[axis]! }, (_, i) => {
    const begin = new Array<number>(rank).fill(0);
    begin[axis] = i;
    const out = sliceInfo(x, begin, size, backend);
    return { dataId: out.dataId, dtype: out.dtype, shape: outShape };
  });
}

interface KernelArgs {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: BackendWasm;
  attrs: Record<string, unknown>;
}

/**
 * out[s, ...] = sum of x[i, ...] over all i with segmentIds[i] == s.
 * @param x [n, ...rest] float32 (segmentIds may cover several leading dims; they are flattened)
 * @param segmentIds [n] int32
 * @returns [numSegments, ...rest] float32
 */
function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const x = inputs['x']!;
  const segmentIds = inputs['segmentIds']!;
  const numSegments = attrs['numSegments'] as number;
  if (x.dtype !== 'float32') throw new Error(`UnsortedSegmentSum (wasm patch): float32 only, got ${x.dtype}`);
  const idRank = segmentIds.shape.length;
  const rows = tf.util.sizeFromShape(segmentIds.shape);
  const rest = x.shape.slice(idRank);
  const inner = tf.util.sizeFromShape(rest);
  const out = backend.makeOutput([numSegments, ...rest], 'float32');
  // Views are taken after makeOutput: allocating may grow (and so move) the wasm heap.
  const outValues = backend.typedArrayFromHeap(out) as Float32Array;
  const xValues = backend.typedArrayFromHeap(x) as Float32Array;
  const ids =
    segmentIds.dtype === 'int32'
      ? (backend.typedArrayFromHeap(segmentIds) as Int32Array)
      : Int32Array.from(backend.typedArrayFromHeap(segmentIds));
  outValues.fill(0);
  for (let i = 0; i < rows; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue; // TF drops out-of-range ids
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) outValues[dst + j]! += xValues[src + j]!;
  }
  return out;
}

/** Replaces a wasm matmul kernel with one that never reaches the slow transpose-flag path. */
function wrapMatMulKernel(kernelName: 'BatchMatMul' | '_FusedMatMul'): void {
  const original = tf.getKernel(kernelName, 'wasm');
  const transposeKernel = tf.getKernel('Transpose', 'wasm');
  if (original === undefined || transposeKernel === undefined) return;
  const originalFunc = original.kernelFunc as unknown as (args: KernelArgs) => tf.TensorInfo;
  const transposeFunc = transposeKernel.kernelFunc as unknown as (args: KernelArgs) => tf.TensorInfo;

  const swapLastTwo = (t: tf.TensorInfo, backend: BackendWasm): tf.TensorInfo => {
    const rank = t.shape.length;
    const perm = Array.from({ length: rank }, (_, i) => i);
    perm[rank - 2] = rank - 1;
    perm[rank - 1] = rank - 2;
    return transposeFunc({ inputs: { x: t }, backend, attrs: { perm } });
  };

  // Plain matmuls (no bias or activation to fuse) go to our FMA kernel where it runs.
  const multiply = (args: KernelArgs, bIsTemporary = false): tf.TensorInfo => {
    if (kernelName === 'BatchMatMul') {
      const out = wasmKernelsFor(args.backend)?.matMul(args.inputs['a']!, args.inputs['b']!, bIsTemporary);
      if (out !== undefined) return out;
    }
    return originalFunc(args);
  };

  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const transposeA = args.attrs['transposeA'] === true;
    const transposeB = args.attrs['transposeB'] === true;
    // The native kernels add the bias and apply the activation (linear, sigmoid) to the product
    // while it is in cache, and read transposed operands in place.
    if (kernelName === '_FusedMatMul' && args.inputs['preluActivationWeights'] === undefined) {
      const out = wasmKernelsFor(args.backend)?.fusedMatMul(
        args.inputs['a']!,
        args.inputs['b']!,
        transposeA,
        transposeB,
        args.inputs['bias'],
        String(args.attrs['activation'] ?? 'linear'),
      );
      if (out !== undefined) return out;
    }
    if (!transposeA && !transposeB) return multiply(args);
    // The native kernels read transposed operands in place: no Transpose first.
    if (kernelName === 'BatchMatMul') {
      const out = wasmKernelsFor(args.backend)?.matMul(
        args.inputs['a']!,
        args.inputs['b']!,
        false,
        transposeA,
        transposeB,
      );
      if (out !== undefined) return out;
    }
    const { backend } = args;
    const a = transposeA ? swapLastTwo(args.inputs['a']!, backend) : args.inputs['a']!;
    const b = transposeB ? swapLastTwo(args.inputs['b']!, backend) : args.inputs['b']!;
    try {
      return multiply(
        {
          inputs: { ...args.inputs, a, b },
          backend,
          attrs: { ...args.attrs, transposeA: false, transposeB: false },
        },
        transposeB,
      );
    } finally {
      if (transposeA) backend.disposeData(a.dataId);
      if (transposeB) backend.disposeData(b.dataId);
    }
  };

  tf.unregisterKernel(kernelName, 'wasm');
  const config: tf.KernelConfig = {
    kernelName,
    backendName: 'wasm',
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
  };
  // The original setup (binding the C++ entry point) already ran when the backend started; it
  // must also run if the backend is ever re-created.
  if (original.setupFunc !== undefined) config.setupFunc = original.setupFunc;
  if (original.disposeFunc !== undefined) config.disposeFunc = original.disposeFunc;
  tf.registerKernel(config);
}
