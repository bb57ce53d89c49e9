/**
 * PyTorch's `F.linear` and the column sum of its bias gradient, as operations (registry.ts):
 *
 * - `native` (wasm backend with the native kernels, which read a transposed operand in place):
 *   the bias is added inside the matmul call, and the weight gradient uses matMul's transpose flag;
 * - `tfjs` (every backend): explicit transposes, because wasm's XNNPACK matmul with a transpose flag
 *   is 15x slower (wasm-patches.ts); the bias is a separate add.
 *
 * Both are a `tf.customGrad` with the gradient written out, so no backward matmul sets a flag
 * where flags are slow.
 */
import * as tf from '@tensorflow/tfjs';
import { customOp, releaseSaved } from './custom-op.js';
import type { DerivedWeightCache } from './derived-weights.js';
import { loadNativeKernels } from './native.js';
import { Operation } from './registry.js';
import { COLUMN_SUM_KERNEL } from './wasm-patches.js';
import { wasmKernelReady } from './wasm-kernels.js';

/**
 * Whether matMul's transpose flags cost nothing here: on wasm with ulmfit's native kernels, which
 * read a transposed operand in place (the same products in the same order as an explicit
 * transpose: the same bits).
 */
export function transposeFlagsFree(): boolean {
  return tf.getBackend() === 'wasm' && wasmKernelReady('BatchMatMul') && loadNativeKernels() !== null;
}

/** Where `linear` keeps the transposed weight for calls that need no gradient (inference). */
export interface InferenceCache {
  cache: DerivedWeightCache;
  /** Names this weight's entry in the cache. */
  key: string;
}

type LinearFn = (
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias?: tf.Tensor1D,
  inference?: InferenceCache,
) => tf.Tensor2D;

/**
 * `y = x·Wᵀ + b`, differentiable w.r.t. all three; with `inference` no gradient reaches the weight
 * (it is read through its cached transpose, which also lets a matmul kernel reuse its packed copy
 * when generating one token at a time).
 * @param x `[n, in]`
 * @param weight `[out, in]` (PyTorch layout)
 * @param bias `[out]` or undefined
 * @returns `[n, out]`
 */
export const linearOp = new Operation<LinearFn>('linear')
  .register({
    name: 'native',
    backends: ['wasm'],
    ready: transposeFlagsFree,
    run: (x, w, b, inference) => linearWith(true, x, w, b, inference),
  })
  .register({
    name: 'tfjs',
    ready: () => true,
    run: (x, w, b, inference) => linearWith(false, x, w, b, inference),
  });

/** PyTorch's `F.linear` (see linearOp): `[n, in]`, `[out, in]`, `[out]` → `[n, out]`. */
export const linear: LinearFn = linearOp.run;

/**
 * Whether `linear` reads transposed operands through matMul's flags for these arguments (its
 * `native` implementation): what a caller composing linear's halves itself passes to them.
 */
export function linearUsesFlags(x: tf.Tensor2D, weight: tf.Tensor2D, bias?: tf.Tensor1D): boolean {
  return linearOp.select(x, weight, bias).name === 'native';
}

/**
 * `linear`'s forward, outside any gradient tape, as the implementation `flags` says computes it.
 * @param x `[n, in]`
 * @param weight `[out, in]`, or with `weightT` its transpose `[in, out]` (not with flags: read in place)
 * @param bias `[out]` or undefined
 * @returns `[n, out]`
 */
export function linearForward(
  flags: boolean,
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias?: tf.Tensor1D,
  weightT?: tf.Tensor2D,
): tf.Tensor2D {
  // With the native kernels the bias is added inside the matmul call (the same sum, one pass fewer).
  if (flags)
    return (
      bias === undefined
        ? tf.matMul(x, weight, false, true)
        : tf.fused.matMul({ a: x, b: weight, transposeB: true, bias })
    ) as tf.Tensor2D;
  const y = tf.matMul(x, weightT ?? weight.transpose());
  return (bias === undefined ? y : tf.add(y, bias)) as tf.Tensor2D;
}

function linearWith(
  flags: boolean,
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias?: tf.Tensor1D,
  inference?: InferenceCache,
): tf.Tensor2D {
  if (inference !== undefined) return linearForInference(flags, x, weight, bias, inference);
  const forward = (xIn: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D =>
    linearForward(flags, xIn, w, b);
  const backward = (dy: tf.Tensor2D, xIn: tf.Tensor2D, w: tf.Tensor2D): [tf.Tensor, tf.Tensor] => {
    const [n, nIn] = xIn.shape;
    const nOut = w.shape[0];
    const dx = tf.matMul(dy, w); // [n, in]
    // dW = dyᵀ·x. Transpose whichever way copies fewer numbers: dy when out is small (heads),
    // x and the [in, out] result when out is large (the decoder over the vocabulary).
    const dw = flags
      ? tf.matMul(dy, xIn, true, false)
      : n * nOut <= n * nIn + nIn * nOut
        ? tf.matMul(dy.transpose(), xIn)
        : tf.matMul(xIn.transpose(), dy).transpose();
    return [dx, dw];
  };
  if (bias === undefined) {
    const run = customOp(([xIn, w], save) => {
      save([xIn!, w!]);
      return {
        value: forward(xIn as tf.Tensor2D, w as tf.Tensor2D),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const grads = backward(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D);
          releaseSaved(saved);
          return grads;
        },
      };
    });
    return run(x, weight) as tf.Tensor2D;
  }
  const run = customOp(([xIn, w, b], save) => {
    save([xIn!, w!]);
    return {
      value: forward(xIn as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const grads = [
          ...backward(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D),
          columnSum(dy as tf.Tensor2D),
        ];
        releaseSaved(saved);
        return grads;
      },
    };
  });
  return run(x, weight, bias) as tf.Tensor2D;
}

/**
 * `x·Wᵀ + b` with Wᵀ cached across calls (until the weight is reassigned).
 * @param x `[n, in]`; weight `[out, in]`; bias `[out]` or undefined
 * @returns `[n, out]`
 */
function linearForInference(
  flags: boolean,
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D | undefined,
  inference: InferenceCache,
): tf.Tensor2D {
  const [weightT] = inference.cache.get(inference.key, [weight], () => [weight.transpose()]);
  // With the native kernels the bias is added inside the matmul call.
  if (bias !== undefined && flags)
    return tf.fused.matMul({ a: x, b: weightT as tf.Tensor2D, bias }) as tf.Tensor2D;
  const logits = tf.matMul(x, weightT as tf.Tensor2D);
  return (bias === undefined ? logits : tf.add(logits, bias)) as tf.Tensor2D;
}

type ColumnSumFn = (x: tf.Tensor2D) => tf.Tensor1D;

/**
 * `Σ_rows x`. Not differentiable (used inside hand-written gradients).
 * - `wasm`: one pass over a heap view (wasm-patches.ts; ulmfit's wasm or native kernel where
 *   loaded), because `tf.sum(x, 0)` transposes x first (TF.js reduces the last axis only) and
 *   wasm's transpose of a large matrix is slow;
 * - `tfjs`: `tf.sum(x, 0)`.
 * @param x `[n, m]` float32
 * @returns `[m]`
 */
export const columnSumOp = new Operation<ColumnSumFn>('columnSum')
  .register({
    name: 'wasm',
    backends: ['wasm'],
    ready: () => tf.getKernel(COLUMN_SUM_KERNEL, 'wasm') !== undefined,
    run: (x) => tf.engine().runKernel(COLUMN_SUM_KERNEL, { x }) as tf.Tensor1D,
  })
  .register({ name: 'tfjs', ready: () => true, run: (x) => tf.sum(x, 0) });

/** `Σ_rows x` (see columnSumOp): `[n, m]` → `[m]`. */
export const columnSum: ColumnSumFn = columnSumOp.run;
