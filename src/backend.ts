/**
 * Picks and initialises the TF.js backend, and patches the wasm backend where it is slow or
 * incomplete for this project's models (see shared perf-notes):
 *
 * - wasm has no `UnsortedSegmentSum` kernel, which the gradient of `tf.gather` (the embedding
 *   lookup) needs; we register one written against the wasm heap.
 * - wasm's `BatchMatMul` / `_FusedMatMul` with a transpose flag set falls back to a naive loop
 *   that runs ~15x slower than XNNPACK; TF.js's own matMul gradients set those flags. We wrap
 *   both kernels so a flagged call transposes the operand explicitly first (a cheap copy) and
 *   then takes the fast unflagged path.
 *
 * Model code never passes the flags itself, so the wrapper is a safety net for gradients and
 * for code we do not own.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { UlmfitError } from './errors.js';

export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

/** The optional packages that provide the `tensorflow` backend, preferred first. */
const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

let pending: Promise<string> | undefined;
let pendingName: BackendName | undefined;

/**
 * Initialises a backend and makes it current; returns its TF.js name ('tensorflow', 'wasm' or
 * 'cpu'). `auto` takes `tensorflow` when tfjs-node(-gpu) can be imported, else wasm, else cpu.
 * Idempotent: calling again with the same name (or with `auto` after any successful call) returns
 * the backend already set up.
 */
export async function initBackend(name: BackendName = 'auto'): Promise<string> {
  if (pending !== undefined && (name === pendingName || name === 'auto')) return pending;
  pendingName = name;
  pending = setUp(name);
  try {
    return await pending;
  } catch (error) {
    pending = undefined;
    pendingName = undefined;
    throw error;
  }
}

async function setUp(name: BackendName): Promise<string> {
  if (name === 'tensorflow' || name === 'auto') {
    const loaded = await tryTensorflow();
    if (loaded) return activate('tensorflow');
    if (name === 'tensorflow') {
      throw new UlmfitError(
        'E_BACKEND',
        'the tensorflow backend is not installed',
        'npm install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA), or use --backend wasm',
      );
    }
  }
  if (name === 'wasm' || name === 'auto') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      const backendName = await activate('wasm');
      patchWasmKernels();
      return backendName;
    } catch (error) {
      if (name === 'wasm') {
        throw new UlmfitError(
          'E_BACKEND',
          `the wasm backend failed to start: ${(error as Error).message}`,
          'reinstall @tensorflow/tfjs-backend-wasm, or use --backend cpu',
        );
      }
    }
  }
  return activate('cpu');
}

async function tryTensorflow(): Promise<boolean> {
  for (const pkg of TENSORFLOW_PACKAGES) {
    try {
      // A variable specifier keeps TypeScript from resolving a package that is optional.
      await import(pkg);
      if (tf.findBackendFactory('tensorflow') !== null) return true;
    } catch {
      // not installed (or its native library failed to load): try the next one
    }
  }
  return false;
}

async function activate(backendName: string): Promise<string> {
  const ok = await tf.setBackend(backendName);
  await tf.ready();
  if (!ok || tf.getBackend() !== backendName) {
    throw new UlmfitError('E_BACKEND', `the ${backendName} backend could not be initialised`);
  }
  return backendName;
}

// ---------------------------------------------------------------------------------------------
// wasm kernel patches

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

  const kernelFunc = (args: KernelArgs): tf.TensorInfo => {
    const transposeA = args.attrs['transposeA'] === true;
    const transposeB = args.attrs['transposeB'] === true;
    if (!transposeA && !transposeB) return originalFunc(args);
    const { backend } = args;
    const a = transposeA ? swapLastTwo(args.inputs['a']!, backend) : args.inputs['a']!;
    const b = transposeB ? swapLastTwo(args.inputs['b']!, backend) : args.inputs['b']!;
    try {
      return originalFunc({
        inputs: { ...args.inputs, a, b },
        backend,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
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
