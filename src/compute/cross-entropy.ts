/**
 * Softmax cross-entropy over class indices (no one-hot targets in the forward pass), as an operation
 * (registry.ts) with the gradient `softmax − onehot` written directly:
 *
 * - `native` (wasm backend, native kernels loaded): softmax and log-sum-exp per row in one AVX2
 *   kernel (about 3x fewer passes over the vocabulary-sized logits; its exp is within about an
 *   ulp of TF.js's), the gradient in one pass;
 * - `wasm` (ulmfit's wasm kernels): TF.js's softmax, then the row maxima and the gradient in one
 *   SIMD pass each (the same numbers as the TF.js ops);
 * - `tfjs` (every backend): TF.js ops.
 *
 * Without the native kernel the log-sum-exp is recovered from the softmax exactly and stably as
 * `max(z) − log(max(softmax))` (the largest probability is `1 / Σ exp(z − max z)`, never below
 * 1/classes), so no separate exp pass over the `[n, classes]` logits is needed.
 */
import * as tf from '@tensorflow/tfjs';
import { customOp, releaseSaved } from './custom-op.js';
import { loadNativeKernels } from './native.js';
import { Operation } from './registry.js';
import { CROSS_ENTROPY_KERNELS } from './wasm-patches.js';
import { wasmKernelReady } from './wasm-kernels.js';

type CrossEntropyFn = (logits: tf.Tensor2D, targets: tf.Tensor1D) => tf.Tensor1D;

/** Which kernels a cross-entropy call runs: see the file comment. */
export type CrossEntropyKernels = 'native' | 'wasm' | 'tfjs';

/**
 * Per-row loss `logsumexp(logits) − logits[target]`.
 * @param logits `[n, classes]`
 * @param targets `[n]` int32 class indices (not disposed)
 * @returns `[n]` losses (natural log)
 */
export const crossEntropyOp = new Operation<CrossEntropyFn>('crossEntropy')
  .register({
    name: 'native',
    backends: ['wasm'],
    ready: () => wasmKernelReady(CROSS_ENTROPY_KERNELS.softmax) && loadNativeKernels() !== null,
    run: (logits, targets) => crossEntropyWith('native', logits, targets),
  })
  .register({
    name: 'wasm',
    backends: ['wasm'],
    ready: () => wasmKernelReady(CROSS_ENTROPY_KERNELS.rowMax),
    run: (logits, targets) => crossEntropyWith('wasm', logits, targets),
  })
  .register({
    name: 'tfjs',
    ready: () => true,
    run: (logits, targets) => crossEntropyWith('tfjs', logits, targets),
  });

/** Softmax cross-entropy per row (see crossEntropyOp): `[n, classes]`, `[n]` int32 → `[n]`. */
export const crossEntropy: CrossEntropyFn = crossEntropyOp.run;

function crossEntropyWith(
  kernels: CrossEntropyKernels,
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
): tf.Tensor1D {
  const run = customOp(([logitsIn], save) => {
    const { losses, probabilities } = crossEntropyForward(kernels, logitsIn as tf.Tensor2D, targets);
    // The targets are saved too: the caller's scope is disposed before the backward runs.
    save([probabilities, targets]);
    return {
      value: losses,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [p, savedTargets] = saved as [tf.Tensor2D, tf.Tensor1D];
        const grad = crossEntropyGradient(kernels, p, savedTargets, dy as tf.Tensor1D);
        releaseSaved(saved); // the [n, classes] softmax
        return grad;
      },
    };
  });
  return run(logits) as tf.Tensor1D;
}

/**
 * The implementation `crossEntropy` runs for these arguments: what a caller composing the
 * forward and backward halves itself (linear-cross-entropy.ts) passes to them.
 */
export function crossEntropyKernels(logits: tf.Tensor2D, targets: tf.Tensor1D): CrossEntropyKernels {
  return crossEntropyOp.select(logits, targets).name as CrossEntropyKernels;
}

/**
 * The forward half of `crossEntropy` with `kernels`, outside any gradient tape.
 * @param logits `[n, classes]`
 * @param targets `[n]` int32
 * @returns per-row losses `[n]` and the softmax `[n, classes]` the gradient needs
 */
export function crossEntropyForward(
  kernels: CrossEntropyKernels,
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
): { losses: tf.Tensor1D; probabilities: tf.Tensor2D } {
  const [n, classes] = logits.shape;
  const [probabilities, logSumExp] = softmaxWithLogSumExp(kernels, logits); // [n, classes], [n]
  const flatIndex = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(classes, 'int32')), targets);
  const picked = tf.gather(logits.reshape([n * classes]), flatIndex);
  return { losses: tf.sub(logSumExp, picked) as tf.Tensor1D, probabilities };
}

/**
 * The backward half of `crossEntropy`: `(softmax − onehot(targets)) · dy` per row.
 * @param probabilities `[n, classes]` from crossEntropyForward
 * @param targets `[n]` int32
 * @param dy `[n]` the gradient of each row's loss
 * @returns `[n, classes]`
 */
export function crossEntropyGradient(
  kernels: CrossEntropyKernels,
  probabilities: tf.Tensor2D,
  targets: tf.Tensor1D,
  dy: tf.Tensor1D,
): tf.Tensor2D {
  const [n, classes] = probabilities.shape;
  if (kernels !== 'tfjs' && targets.dtype === 'int32') {
    return tf.engine().runKernel(CROSS_ENTROPY_KERNELS.grad, { probabilities, targets, dy }) as tf.Tensor2D;
  }
  return tf.mul(tf.sub(probabilities, tf.oneHot(targets, classes)), dy.reshape([n, 1]));
}

/**
 * `softmax(z)` and `log Σ_j exp(z[r, j])` per row: natively in one kernel, else TF.js's softmax and,
 * since `max_j softmax(z)[r, j] = 1 / Σ_j exp(z[r, j] − max z[r])`, `max z − log max p`.
 * @param z `[n, classes]`
 * @returns `[[n, classes], [n]]`
 */
function softmaxWithLogSumExp(kernels: CrossEntropyKernels, z: tf.Tensor2D): [tf.Tensor2D, tf.Tensor1D] {
  if (kernels === 'native')
    return tf.engine().runKernel(CROSS_ENTROPY_KERNELS.softmax, { x: z }) as unknown as [
      tf.Tensor2D,
      tf.Tensor1D,
    ];
  const probabilities = tf.softmax(z);
  return [probabilities, tf.sub(rowMax(kernels, z), tf.log(rowMax(kernels, probabilities)))];
}

/**
 * `max_j x[r, j]` (`tf.max(x, 1)`), with ulmfit's kernels in one SIMD pass. Not differentiable.
 * @param x `[n, m]` float32
 * @returns `[n]`
 */
function rowMax(kernels: CrossEntropyKernels, x: tf.Tensor2D): tf.Tensor1D {
  if (kernels !== 'tfjs') return tf.engine().runKernel(CROSS_ENTROPY_KERNELS.rowMax, { x }) as tf.Tensor1D;
  return tf.max(x, 1);
}
