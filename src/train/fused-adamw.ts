/**
 * The Adam step as one kernel where the backend has it (wasm with ulmfit's own kernels,
 * src/wasm/kernels.ts): one pass over parameter, gradient and both averages instead of 14
 * whole-tensor TF.js ops, with the same numbers (the kernel does the same float32 operations in
 * the same order). Elsewhere optimizer.ts keeps its TF.js ops.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAMW_KERNEL } from '../backend.js';
import { wasmKernelReady, type AdamWScalars } from '../wasm/kernels.js';

let enabled = true;

/** Turns the fused step on or off (off: the TF.js ops). For comparisons in tests and benchmarks. */
export function setFusedAdamWEnabled(on: boolean): void {
  enabled = on;
}

/** Whether the fused step can run on the current backend now. */
export function fusedAdamWAvailable(): boolean {
  return enabled && wasmKernelReady(ADAMW_KERNEL);
}

/**
 * One Adam step of one parameter.
 * @param param, grad, gradAvg, sqrAvg one shape, float32 (not disposed)
 * @returns `[param', gradAvg', sqrAvg']` (new tensors; the caller assigns and disposes them)
 */
export function fusedAdamW(
  param: tf.Tensor,
  grad: tf.Tensor,
  gradAvg: tf.Tensor,
  sqrAvg: tf.Tensor,
  scalars: AdamWScalars,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(
    ADAMW_KERNEL,
    { param, grad, gradAvg, sqrAvg },
    scalars as unknown as tf.NamedAttrMap,
  ) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}
