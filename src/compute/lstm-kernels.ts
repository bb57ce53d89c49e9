/**
 * The LSTM's kernels on the wasm backend, behind lstm.ts's `wasm` and `native` implementations:
 * the per-time-step element-wise work as single kernels (ulmfit's wasm kernels, wasm-kernels.ts).
 * A step of the forward pass is then 6 kernels instead of 13 and a step of the backward 2 instead
 * of 7 plus 4 whole-sequence splits; the numbers are the same bits as the plain TF.js ops in
 * lstm.ts, which stay the path everywhere else (other backends, autodiff). With the native kernels a whole layer's forward pass is one
 * call, and so is its back-propagation through time (their σ differs from TF.js's in the last
 * bits). Not differentiable: used only inside hand-written gradients and inference.
 */
import * as tf from '@tensorflow/tfjs';
import { loadNativeKernels } from './native.js';
import { LSTM_KERNELS } from './wasm-patches.js';
import { wasmKernelReady } from './wasm-kernels.js';

/** Whether the fused kernels can run on the current backend now. */
export function fusedLstmAvailable(): boolean {
  return wasmKernelReady(LSTM_KERNELS.cell);
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
  return tf.engine().runKernel(LSTM_KERNELS.out, { sigmoids, sigmoidC2 }) as unknown as [
    tf.Tensor2D,
    tf.Tensor2D,
  ];
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
  return tf.engine().runKernel(LSTM_KERNELS.backStep, inputs, { step, rows: bs }) as unknown as [
    tf.Tensor2D,
    tf.Tensor2D,
  ];
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
export function fusedBackwardCoefficients(
  sigmoids: tf.Tensor2D,
  cells: tf.Tensor2D,
  tanhCells: tf.Tensor2D,
): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  return tf.engine().runKernel(LSTM_KERNELS.coefficients, { sigmoids, cells, tanhCells }) as unknown as [
    tf.Tensor2D,
    tf.Tensor2D,
    tf.Tensor2D,
  ];
}

/**
 * Whether the whole-layer native kernels can run (fusedLstmForward, fusedLstmBackward): the fused
 * kernels are on and the native kernels are loaded. Their σ is the native one (AVX2 exp, about 1
 * ulp), so their numbers differ from TF.js's sigmoid in the last bits; everything else they do
 * gives the per-step kernels' numbers.
 */
export function nativeLstmAvailable(): boolean {
  return fusedLstmAvailable() && wasmKernelReady(LSTM_KERNELS.forward) && loadNativeKernels() !== null;
}

/**
 * A whole layer's forward pass in one native call (with nativeLstmAvailable): every step's gates
 * `σ(z_t)` with `z_t = projected_t + h_{t-1}·W_hhᵀ` (σ(2 z_g) for the g block, see lstm.ts), then
 * `2c_t = f·2c_{t-1} + i·(4σ(2 z_g) − 2)`, `tanh(c_t) = 2σ(2c_t) − 1`, `h_t = o·tanh(c_t)`
 * (lstm.ts cellStep), W_hh packed once.
 * @param projected `[T·bs, 4H]` every step's x_t·W_ihᵀ + b_ih + b_hh (g columns not doubled)
 * @param weightHh `[4H, H]` (PyTorch's layout, not doubled)
 * @param h0 `[bs, H]`; c2First `[bs, H]` 2c_0
 * @param keep also return what the backward pass reads
 * @returns `[output (h_1 .. h_T) [T·bs, H], 2c_T [bs, H]]`, and with `keep` after them σ of the gates
 *   `[T·bs, 4H]`, tanh(c_t) `[T·bs, H]`, 2c_0 .. 2c_T `[(T+1)·bs, H]`, h_0 .. h_{T-1} `[T·bs, H]`
 */
export function fusedLstmForward(
  projected: tf.Tensor2D,
  weightHh: tf.Tensor2D,
  h0: tf.Tensor2D,
  c2First: tf.Tensor2D,
  keep: boolean,
): tf.Tensor2D[] {
  return tf
    .engine()
    .runKernel(
      LSTM_KERNELS.forward,
      { projected, weightHh, h0, c2First },
      { keep },
    ) as unknown as tf.Tensor2D[];
}

/**
 * Back-propagation through time for a whole layer in one native call (lstm.ts lstmBackward's
 * sequential part with its coefficients), W_hh packed once.
 * @param dy `[T·bs, H]` gradient w.r.t. every output; sigmoids, tanhC, cells as fusedLstmForward kept them
 * @param weightHh `[4H, H]`
 * @returns dz `[T·bs, 4H]`, the gradient w.r.t. every step's gate pre-activations
 */
export function fusedLstmBackward(
  dy: tf.Tensor2D,
  sigmoids: tf.Tensor2D,
  cells: tf.Tensor2D,
  tanhC: tf.Tensor2D,
  weightHh: tf.Tensor2D,
  bs: number,
): tf.Tensor2D {
  return tf
    .engine()
    .runKernel(LSTM_KERNELS.backward, { dy, sigmoids, cells, tanhC, weightHh }, { rows: bs }) as tf.Tensor2D;
}
