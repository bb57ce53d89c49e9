/**
 * One AdamW step of one parameter, as an operation (registry.ts):
 *
 * - `wasm` (ulmfit's kernels; the native one where loaded): one pass over parameter, gradient and
 *   both averages instead of 14 whole-tensor TF.js ops (≈ 150–180 ms of CPU for 10.5M parameters),
 *   which matters most in data-parallel training, where every replica runs the step;
 * - `tfjs` (every backend, and a gradient that broadcasts): TF.js ops.
 *
 * Both do the same float32 operations in the same order (the same bits; test/compute/):
 *   m' = m·mom + g·(1−mom),  v' = v·sqrMom + g²·(1−sqrMom),
 *   p' = p·decay − (m' / (sqrt(v' / debias2) + eps))·stepSize
 */
import * as tf from '@tensorflow/tfjs';
import { Operation } from './registry.js';
import { ADAMW_KERNEL } from './wasm-patches.js';
import { wasmKernelReady, type AdamWScalars } from './wasm-kernels.js';

export type { AdamWScalars } from './wasm-kernels.js';

type AdamWFn = (
  param: tf.Tensor,
  grad: tf.Tensor,
  gradAvg: tf.Tensor,
  sqrAvg: tf.Tensor,
  scalars: AdamWScalars,
) => [tf.Tensor, tf.Tensor, tf.Tensor];

/**
 * @param param, gradAvg, sqrAvg one shape, float32 (not disposed); grad that shape (or, on `tfjs`,
 *   one that broadcasts to it)
 * @returns `[param', gradAvg', sqrAvg']`, new tensors of param's shape (the caller assigns and
 *   disposes them)
 */
export const adamwStepOp = new Operation<AdamWFn>('adamwStep')
  .register({
    name: 'wasm',
    backends: ['wasm'],
    ready: () => wasmKernelReady(ADAMW_KERNEL),
    // The kernel reads one gradient value per parameter: a gradient of the same shape only.
    accepts: (param, grad) =>
      param.dtype === 'float32' && grad.dtype === 'float32' && tf.util.arraysEqual(grad.shape, param.shape),
    run: (param, grad, gradAvg, sqrAvg, scalars) =>
      tf
        .engine()
        .runKernel(
          ADAMW_KERNEL,
          { param, grad, gradAvg, sqrAvg },
          scalars as unknown as tf.NamedAttrMap,
        ) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor],
  })
  .register({ name: 'tfjs', ready: () => true, run: adamwWithOps });

/** One AdamW step (see adamwStepOp). */
export const adamwStep: AdamWFn = adamwStepOp.run;

function adamwWithOps(
  param: tf.Tensor,
  grad: tf.Tensor,
  gradAvg: tf.Tensor,
  sqrAvg: tf.Tensor,
  scalars: AdamWScalars,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const { decay, mom, oneMinusMom, sqrMom, oneMinusSqrMom, debias2, eps, stepSize } = scalars;
  return tf.tidy(() => {
    // p·1 is p: no multiply without weight decay.
    const decayed = decay === 1 ? param : param.mul(decay);
    const newGradAvg = gradAvg.mul(mom).add(grad.mul(oneMinusMom));
    const newSqrAvg = sqrAvg.mul(sqrMom).add(grad.square().mul(oneMinusSqrMom));
    const denominator = newSqrAvg.div(debias2).sqrt().add(eps);
    return [decayed.sub(newGradAvg.div(denominator).mul(stepSize)), newGradAvg, newSqrAvg] as [
      tf.Tensor,
      tf.Tensor,
      tf.Tensor,
    ];
  });
}
