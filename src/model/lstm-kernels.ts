/**
 * The LSTM's per-time-step element-wise work as single kernels where the backend has them (wasm,
 * with ulmfit's own kernels: src/wasm/kernels.ts). A step of the forward pass is then 6 kernels
 * instead of 13 and a step of the backward 2 instead of 7 plus 4 whole-sequence splits; the
 * numbers are the same bits as the plain TF.js ops in lstm.ts, which stay the path everywhere
 * else (other backends, autodiff); with the native kernels the gates' matmul, sum and sigmoid
 * are one call too (their σ differs from TF.js's in the last bits). Not differentiable: used only
 * inside hand-written gradients and inference.
 */
import * as tf from '@tensorflow/tfjs';
import { LSTM_KERNELS } from '../backend.js';
import { wasmKernelReady } from '../wasm/kernels.js';
import { loadNativeKernels } from '../wasm/native.js';

let enabled = true;

/** Turns the fused kernels on or off (off: the plain ops). For comparisons in tests and benchmarks. */
export function setFusedLstmEnabled(on: boolean): void {
  enabled = on;
}

/** Whether TF.js is recording operations for a gradient here (tf.grad & co., outside any kernel). */
export function gradientTapeOn(): boolean {
  // Engine.isTapeOn is not in TF.js's public typings.
  return (tf.engine() as unknown as { isTapeOn(): boolean }).isTapeOn();
}

/** Whether the fused kernels can run on the current backend now. */
export function fusedLstmAvailable(): boolean {
  return enabled && wasmKernelReady(LSTM_KERNELS.cell);
}

/**
 * `2c_t = f·2c_{t-1} + i·(4σ(2 z_g) − 2)`
 * @param sigmoids `[bs, 4H]` σ(i), σ(f), σ(2 z_g), σ(o)
 * @param c2Prev `[bs, H]`
 * @returns `[bs, H]`
 */
export function fusedCell(sigmoids: tf.Tensor2D, c2Prev: tf.Tensor2D): tf.Tensor2D {
  return tf.engine().runKernel(LSTM_KERNELS.cell, { sigmoids, c2Prev }) as tf.Tensor2D;
}

/**
 * `tanh(c_t) = 2σ(2c_t) − 1`, `h_t = σ(o)·tanh(c_t)`
 * @param sigmoids `[bs, 4H]`
 * @param sigmoidC2 `[bs, H]` σ(2c_t)
 * @returns `[tanh(c_t), h_t]`, each `[bs, H]`
 */
export function fusedOutput(sigmoids: tf.Tensor2D, sigmoidC2: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  return tf.engine().runKernel(LSTM_KERNELS.out, { sigmoids, sigmoidC2 }) as unknown as [tf.Tensor2D, tf.Tensor2D];
}

/**
 * One step of lstmBackward reading step `step`'s rows of the whole-sequence tensors:
 * `dh = dy_t + mm`, `dc = dh·A_t + carry`, `dz_t = [dc, dc, dc, dh]·B_t`, `carry' = dc·f_t`.
 * @param dy `[T·bs, H]`, coefA `[T·bs, H]`, coefB `[T·bs, 4H]`, forget `[T·bs, H]`
 * @param mm `[bs, H]` dz_{t+1}·W_hh, and carry `[bs, H]`: both undefined for the last step
 * @returns `[dz_t [bs, 4H], carry' [bs, H]]`
 */
export function fusedBackStep(
  step: number,
  bs: number,
  dy: tf.Tensor2D,
  coefA: tf.Tensor2D,
  coefB: tf.Tensor2D,
  forget: tf.Tensor2D,
  mm?: tf.Tensor2D,
  carry?: tf.Tensor2D,
): [tf.Tensor2D, tf.Tensor2D] {
  const inputs: Record<string, tf.Tensor> = { dy, coefA, coefB, forget };
  if (mm !== undefined && carry !== undefined) Object.assign(inputs, { mm, carry });
  return tf.engine().runKernel(LSTM_KERNELS.backStep, inputs, { step, rows: bs }) as unknown as [tf.Tensor2D, tf.Tensor2D];
}

/**
 * Every step's backward coefficients at once (lstmBackward), the same float32 operations as its
 * TF.js ops: `A = o·(1 − tanh²c_t)`, `B = [g·σ'(i), c_{t-1}·σ'(f), i·(1 − g²), tanh(c_t)·σ'(o)]`
 * with `g = 2σ(2 z_g) − 1`, `c_{t-1}` = half the saved 2c_{t-1}, and `forget = σ(f)`.
 * @param sigmoids `[R, 4H]` (i, f, σ(2 z_g), o) of R = T·bs rows
 * @param cells `[R + bs, H]` 2c_0 .. 2c_T (the first R rows are read)
 * @param tanhCells `[R, H]`
 * @returns `[A [R, H], B [R, 4H], forget [R, H]]`
 */
export function fusedBackwardCoefficients(sigmoids: tf.Tensor2D, cells: tf.Tensor2D, tanhCells: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  return tf.engine().runKernel(LSTM_KERNELS.coefficients, { sigmoids, cells, tanhCells }) as unknown as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
}

/**
 * Whether fusedGates can run: the fused kernels are on and the native kernels are loaded. Its σ
 * is the native one (AVX2 exp, about 1 ulp), so these gates differ from TF.js's sigmoid in the
 * last bits; everything else in the fused path gives TF.js's numbers.
 */
export function nativeGatesAvailable(): boolean {
  return fusedLstmAvailable() && wasmKernelReady(LSTM_KERNELS.gates) && loadNativeKernels() !== null;
}

/**
 * One step's gate activations `σ(projected + h·W_hhᵀ)` in one native call.
 * @param projected `[bs, 4H]`; h `[bs, H]`; weightHhT `[H, 4H]`
 * @returns `[bs, 4H]` (i, f, σ(2 z_g), o: the g columns of the weights are doubled)
 */
export function fusedGates(projected: tf.Tensor2D, h: tf.Tensor2D, weightHhT: tf.Tensor2D): tf.Tensor2D {
  return tf.engine().runKernel(LSTM_KERNELS.gates, { projected, h, weightHhT }) as tf.Tensor2D;
}

/**
 * One step's cell and output in one native call (with nativeGatesAvailable): what fusedCell, the
 * σ of 2c_t and fusedOutput compute, with the native σ.
 * @param sigmoids `[bs, 4H]`; c2Prev `[bs, H]` 2c_{t-1}
 * @returns `[2c_t, tanh(c_t), h_t]`, each `[bs, H]`
 */
export function fusedCellOutput(sigmoids: tf.Tensor2D, c2Prev: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  return tf.engine().runKernel(LSTM_KERNELS.cellOutput, { sigmoids, c2Prev }) as unknown as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
}
