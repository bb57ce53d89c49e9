/**
 * Differentiable building blocks whose gradients use matMul's transpose flags only where they are
 * fast (the native kernels read transposed operands in place; wasm's XNNPACK path with flags is
 * 15x slower, see src/backend.ts, so there every transpose is explicit): a PyTorch-style `linear` and
 * a softmax cross-entropy that takes class indices (no one-hot targets in the forward pass).
 */
import * as tf from '@tensorflow/tfjs';
import { COLUMN_SUM_KERNEL, CROSS_ENTROPY_KERNELS } from '../backend.js';
import { wasmKernelReady } from '../wasm/kernels.js';
import { loadNativeKernels } from '../wasm/native.js';

/**
 * Whether matMul's transpose flags cost nothing here: on wasm with ulmfit's native kernels, which
 * read a transposed operand in place (the same products in the same order as an explicit
 * transpose: the same bits).
 */
export function transposeFlagsFree(): boolean {
  return tf.getBackend() === 'wasm' && wasmKernelReady('BatchMatMul') && loadNativeKernels() !== null;
}

type GradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/**
 * `tf.customGrad` with the inputs as an array (TF.js's typing of customGrad does not accept a
 * function with specific tensor parameters). `f` gets the inputs and the save function and returns
 * the value and a gradient function returning one gradient per input.
 */
export function customOp<T extends tf.Tensor>(
  f: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: T; gradFunc: GradFunc },
): (...inputs: tf.Tensor[]) => T {
  const wrapped = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) =>
    f(args.slice(0, -1) as tf.Tensor[], args[args.length - 1] as tf.GradSaveFunc)) as unknown as Parameters<
    typeof tf.customGrad<T>
  >[0]);
  return (...inputs: tf.Tensor[]) => wrapped(...inputs);
}

/**
 * PyTorch's `F.linear`: `y = x·Wᵀ + b`.
 * @param x `[n, in]`
 * @param weight `[out, in]` (PyTorch layout)
 * @param bias `[out]` or undefined
 * @returns `[n, out]`
 */
export function linear(x: tf.Tensor2D, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  const flags = transposeFlagsFree();
  const forward = (xIn: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D => {
    // With the native kernels the bias is added inside the matmul call (the same sum, one pass fewer).
    if (flags) return (b === undefined ? tf.matMul(xIn, w, false, true) : tf.fused.matMul({ a: xIn, b: w, transposeB: true, bias: b })) as tf.Tensor2D;
    const y = tf.matMul(xIn, w.transpose());
    return (b === undefined ? y : tf.add(y, b)) as tf.Tensor2D;
  };
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
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          backward(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D),
      };
    });
    return run(x, weight) as tf.Tensor2D;
  }
  const run = customOp(([xIn, w, b], save) => {
    save([xIn!, w!]);
    return {
      value: forward(xIn as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        ...backward(dy as tf.Tensor2D, saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D),
        columnSum(dy as tf.Tensor2D),
      ],
    };
  });
  return run(x, weight, bias) as tf.Tensor2D;
}

/**
 * `Σ_rows x`. On wasm, a one-pass kernel (backend.ts): `tf.sum(x, 0)` transposes x first (TF.js
 * reduces the last axis only) and wasm's transpose of a large matrix is slow. Not differentiable
 * (used inside hand-written gradients).
 * @param x `[n, m]` float32
 * @returns `[m]`
 */
export function columnSum(x: tf.Tensor2D): tf.Tensor1D {
  if (tf.getBackend() === 'wasm' && tf.getKernel(COLUMN_SUM_KERNEL, 'wasm') !== undefined) {
    return tf.engine().runKernel(COLUMN_SUM_KERNEL, { x }) as tf.Tensor1D;
  }
  return tf.sum(x, 0);
}

/**
 * Softmax cross-entropy per row, `logsumexp(logits) - logits[target]`, with the gradient
 * `softmax - onehot` written directly.
 *
 * The softmax is one fused (XNNPACK) kernel; the log-sum-exp is recovered from it exactly and
 * stably as `max(z) - log(max(softmax))` (the largest probability is `1 / Σ exp(z - max z)`, never
 * below 1/classes), so no separate exp pass over the `[n, classes]` logits is needed. On wasm the
 * two row maxima and the gradient are ulmfit's own one-pass kernels (same numbers).
 * @param logits `[n, classes]`
 * @param targets `[n]` int32 class indices (not disposed)
 * @returns `[n]` losses (natural log)
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const [n, classes] = logits.shape;
  const run = customOp(([logitsIn], save) => {
    const z = logitsIn as tf.Tensor2D;
    const [probabilities, logSumExp] = softmaxWithLogSumExp(z); // [n, classes], [n]
    const flatIndex = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(classes, 'int32')), targets);
    const picked = tf.gather(z.reshape([n * classes]), flatIndex);
    // The targets are saved too: the caller's scope is disposed before the backward runs.
    save([probabilities, targets]);
    return {
      value: tf.sub(logSumExp, picked) as tf.Tensor1D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [p, savedTargets] = saved as [tf.Tensor2D, tf.Tensor1D];
        if (savedTargets.dtype === 'int32' && wasmKernelReady(CROSS_ENTROPY_KERNELS.grad)) {
          return tf.engine().runKernel(CROSS_ENTROPY_KERNELS.grad, { probabilities: p, targets: savedTargets, dy }) as tf.Tensor2D;
        }
        return tf.mul(tf.sub(p, tf.oneHot(savedTargets, classes)), dy.reshape([n, 1]));
      },
    };
  });
  return run(logits) as tf.Tensor1D;
}

/**
 * `softmax(z)` and `log Σ_j exp(z[r, j])` per row: with the native kernels one AVX2 kernel (about
 * 3x fewer passes over the vocabulary-sized logits), else TF.js's softmax and, since
 * `max_j softmax(z)[r, j] = 1 / Σ_j exp(z[r, j] − max z[r])`, `max z − log max p`.
 * @param z `[n, classes]`
 * @returns `[[n, classes], [n]]`
 */
function softmaxWithLogSumExp(z: tf.Tensor2D): [tf.Tensor2D, tf.Tensor1D] {
  if (wasmKernelReady(CROSS_ENTROPY_KERNELS.softmax) && loadNativeKernels() !== null) {
    return tf.engine().runKernel(CROSS_ENTROPY_KERNELS.softmax, { x: z }) as unknown as [tf.Tensor2D, tf.Tensor1D];
  }
  const probabilities = tf.softmax(z);
  return [probabilities, tf.sub(rowMax(z), tf.log(rowMax(probabilities)))];
}

/**
 * `max_j x[r, j]` (`tf.max(x, 1)`), on wasm in one SIMD pass. Not differentiable (used inside
 * hand-written gradients).
 * @param x `[n, m]` float32
 * @returns `[n]`
 */
function rowMax(x: tf.Tensor2D): tf.Tensor1D {
  if (wasmKernelReady(CROSS_ENTROPY_KERNELS.rowMax)) return tf.engine().runKernel(CROSS_ENTROPY_KERNELS.rowMax, { x }) as tf.Tensor1D;
  return tf.max(x, 1);
}

/**
 * Tensors derived from weights (transposes, scaled copies) for inference, reused until one of
 * their source weights is reassigned (TF.js gives a variable a new dataId on every assign).
 * Reusing the same tensor also lets XNNPACK reuse its packed copy of a matmul operand, which
 * matters most when generating one token at a time. The owner must `dispose()` the cache.
 */
export class DerivedWeightCache {
  private readonly entries = new Map<string, { sources: object[]; values: tf.Tensor[] }>();

  /**
   * @param key names the derived tensors (one entry per key)
   * @param sources the weights they are computed from
   * @param make computes them (run in a tidy; the results are kept out of every scope)
   */
  get(key: string, sources: tf.Tensor[], make: () => tf.Tensor[]): tf.Tensor[] {
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.sources.length === sources.length && hit.sources.every((id, i) => id === sources[i]!.dataId)) {
      return hit.values;
    }
    if (hit !== undefined) tf.dispose(hit.values);
    const values = tf.tidy(make).map((t) => tf.keep(t));
    this.entries.set(key, { sources: sources.map((t) => t.dataId), values });
    return values;
  }

  dispose(): void {
    for (const { values } of this.entries.values()) tf.dispose(values);
    this.entries.clear();
  }
}

/**
 * Row-major `[bs, seqLen]` ids (what the data loaders yield) as a time-major `[seqLen, bs]` int32
 * tensor (what the recurrent code consumes). The transpose is done on the typed array.
 */
export function timeMajorIds(ids: Int32Array, bs: number, seqLen: number): tf.Tensor2D {
  if (ids.length !== bs * seqLen) {
    throw new Error(`timeMajorIds: ${ids.length} ids do not fill [${bs}, ${seqLen}]`);
  }
  const out = new Int32Array(bs * seqLen);
  for (let r = 0; r < bs; r++) {
    for (let t = 0; t < seqLen; t++) out[t * bs + r] = ids[r * seqLen + t]!;
  }
  return tf.tensor2d(out, [seqLen, bs], 'int32');
}
