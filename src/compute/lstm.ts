/**
 * One LSTM layer over a whole sequence, written with TF.js ops (the recurrent kernel of the
 * AWD-LSTM). PyTorch's conventions throughout, so fastai weights load without reshuffling:
 *
 *   z_t = x_t·W_ihᵀ + b_ih + h_{t-1}·W_hhᵀ + b_hh,   [i, f, g, o] = split(z_t)   (gate order i, f, g, o)
 *   c_t = σ(f)⊙c_{t-1} + σ(i)⊙tanh(g),               h_t = σ(o)⊙tanh(c_t)
 *
 * Sequences are **time-major** here (`[T, bs, features]`): a time step is then a contiguous block
 * of rows, so the input projection of all steps is one matmul and a step is a row slice.
 *
 * `lstmLayer` is an operation (registry.ts) with these implementations, the first that can run
 * preferred; all give the same forward numbers (the native σ within about an ulp of TF.js's):
 * - `native` (wasm backend, native kernels loaded): a layer's whole forward pass is one call, and
 *   its back-propagation through time another (lstm-kernels.ts); the weights go in as stored and
 *   the kernel doubles the g block of the pre-activations (the same bits: ×2 is exact).
 * - `wasm` (ulmfit's wasm kernels): each step's element-wise work as one fused kernel, forward and
 *   backward (lstm-kernels.ts), the same bits as the TF.js ops.
 * - `tfjs` (every backend): TF.js ops.
 * - `autodiff` (the reference, only when asked for): plain ops differentiated by TF.js autodiff.
 *   The others are tested against it (test/compute/).
 * The first three run inside `tf.customGrad` with a hand-written backward (back-propagation through
 * time) that does the element-wise gate derivatives for all steps in a few large ops and the
 * weight gradients as one matmul each over all steps, instead of the per-step matmuls autodiff
 * would record. No matmul uses a transpose flag (15x slower on wasm's XNNPACK path) except the
 * weight gradients where the native kernels read the flag for free. Where no gradient is being
 * recorded (inference) they run the forward pass alone, saving nothing.
 *
 * Only sigmoids are evaluated (wasm's sigmoid is a vectorised XNNPACK kernel; its tanh is scalar
 * and several times slower per element), using tanh(x) = 2σ(2x) - 1: the g columns of the
 * weights and input projection are doubled once per sequence so one sigmoid over all four gates
 * gives σ(2 z_g), and the cell is carried doubled (c2 = 2c) so σ(c2) gives tanh(c). The state
 * handed in and out is the real (h, c).
 */
import * as tf from '@tensorflow/tfjs';
import { customOp, detach, gradientTapeOn, releaseSaved } from './custom-op.js';
import type { DerivedWeightCache } from './derived-weights.js';
import { columnSum, transposeFlagsFree } from './linear.js';
import {
  fusedBackStep,
  fusedBackwardCoefficients,
  fusedCell,
  fusedLstmAvailable,
  fusedLstmBackward,
  fusedLstmForward,
  fusedOutput,
  nativeLstmAvailable,
} from './lstm-kernels.js';
import { Operation } from './registry.js';

/** The parameters of one layer, in PyTorch's `nn.LSTM` shapes. */
export interface LstmWeights {
  /** `[4H, in]` (PyTorch `weight_ih_l0`). */
  weightIh: tf.Tensor2D;
  /** `[4H, H]`: the recurrent matrix actually used (after weight dropout, when training). */
  weightHh: tf.Tensor2D;
  /** `[4H]` */
  biasIh: tf.Tensor1D;
  /** `[4H]` */
  biasHh: tf.Tensor1D;
}

/** Hidden and cell state, each `[bs, H]`. */
export interface LstmState {
  h: tf.Tensor2D;
  c: tf.Tensor2D;
}

/**
 * The weights in the form the forward pass multiplies with, g columns doubled (see the file
 * comment): computed once per sequence, or cached across calls for inference.
 */
export interface PreparedLstmWeights {
  /** `[in, 4H]` W_ihᵀ */
  weightIhT: tf.Tensor2D;
  /** `[H, 4H]` W_hhᵀ */
  weightHhT: tf.Tensor2D;
  /** `[1, 4H]` b_ih + b_hh */
  bias: tf.Tensor2D;
}

/** W_ihᵀ, W_hhᵀ and b_ih + b_hh with the g columns doubled. */
export function prepareLstmWeights(weights: LstmWeights): PreparedLstmWeights {
  const hidden = weights.weightHh.shape[1];
  const scale = gateScale(hidden);
  return {
    weightIhT: tf.mul(weights.weightIh.transpose(), scale) as tf.Tensor2D,
    weightHhT: tf.mul(weights.weightHh.transpose(), scale) as tf.Tensor2D,
    bias: tf.mul(tf.add(weights.biasIh, weights.biasHh), scale) as tf.Tensor2D,
  };
}

export interface LstmResult {
  /** `[T, bs, H]`: h_t for every step. */
  output: tf.Tensor3D;
  /** State after the last step. */
  state: LstmState;
}

/** Where the prepared weights are kept across calls that record no gradient (inference). */
export interface LstmInferenceCache {
  cache: DerivedWeightCache;
  /** Names this layer's entry in the cache. */
  key: string;
}

type LstmLayerFn = (
  x: tf.Tensor3D,
  weights: LstmWeights,
  initial: LstmState,
  inference?: LstmInferenceCache,
) => LstmResult;

/** Which kernels an LSTM call runs: see the file comment. */
type Kernels = 'native' | 'wasm' | 'tfjs';

/**
 * One LSTM layer over a sequence. Gradients flow to `x` and the four weights; none reaches the
 * initial state, and the returned final state is detached (truncated BPTT).
 * @param x `[T, bs, in]` time-major input
 * @param weights PyTorch-shaped parameters (hidden size H = weightHh.shape[1])
 * @param initial `{h, c}` each `[bs, H]`; treated as constants; not disposed
 * @param inference where calls that record no gradient keep the prepared weights (the weights
 *   must then be the same tensors from call to call, as in eval mode)
 * @returns output `[T, bs, H]`; final state `{h, c}` `[bs, H]` kept out of any tidy: the caller owns
 *   and must dispose it
 */
export const lstmLayerOp = new Operation<LstmLayerFn>('lstmLayer')
  .register({
    name: 'native',
    backends: ['wasm'],
    ready: nativeLstmAvailable,
    accepts: (x) => x.shape[0] > 0,
    run: (x, weights, initial, inference) => lstmWith('native', x, weights, initial, inference),
  })
  .register({
    name: 'wasm',
    backends: ['wasm'],
    ready: fusedLstmAvailable,
    run: (x, weights, initial, inference) => lstmWith('wasm', x, weights, initial, inference),
  })
  .register({
    name: 'tfjs',
    ready: () => true,
    run: (x, weights, initial, inference) => lstmWith('tfjs', x, weights, initial, inference),
  })
  .register({ name: 'autodiff', reference: true, ready: () => true, run: lstmAutodiff });

/** One LSTM layer over a sequence (see lstmLayerOp). */
export const lstmLayer: LstmLayerFn = lstmLayerOp.run;

function lstmWith(
  kernels: Kernels,
  x: tf.Tensor3D,
  weights: LstmWeights,
  initial: LstmState,
  inference?: LstmInferenceCache,
): LstmResult {
  if (gradientTapeOn()) return lstmTrainable(kernels, x, weights, initial);
  const prepared =
    inference === undefined || kernels === 'native' ? undefined : preparedWeights(weights, inference);
  const { output, state } = lstmForward(kernels, x, weights, initial, prepared);
  return { output, state: { h: tf.keep(state.h.clone()), c: tf.keep(state.c) } };
}

/** The reference: plain ops, differentiated by TF.js autodiff. */
function lstmAutodiff(x: tf.Tensor3D, weights: LstmWeights, initial: LstmState): LstmResult {
  const { output, state } = lstmForward('tfjs', x, weights, initial);
  return { output, state: { h: tf.keep(detach(state.h)), c: tf.keep(detach(state.c)) } };
}

/** The prepared weights from the cache (computed when one of the weights changed). */
function preparedWeights(weights: LstmWeights, { cache, key }: LstmInferenceCache): PreparedLstmWeights {
  const sources = [weights.weightIh, weights.weightHh, weights.biasIh, weights.biasHh];
  const [weightIhT, weightHhT, bias] = cache.get(key, sources, () => {
    const p = prepareLstmWeights(weights);
    return [p.weightIhT, p.weightHhT, p.bias];
  }) as tf.Tensor2D[];
  return { weightIhT: weightIhT!, weightHhT: weightHhT!, bias: bias! };
}

/**
 * The forward pass alone, with plain (autodiff-able) ops where `kernels` is 'tfjs'.
 * @param x `[T, bs, in]`; initial `{h, c}` `[bs, H]` (not disposed)
 * @param prepared `prepareLstmWeights(weights)`, when the caller caches it (inference)
 * @returns output `[T, bs, H]` and the final state (connected to the graph)
 */
function lstmForward(
  kernels: Kernels,
  x: tf.Tensor3D,
  weights: LstmWeights,
  initial: LstmState,
  prepared?: PreparedLstmWeights,
): LstmResult {
  const fused = kernels !== 'tfjs';
  const [seqLen, bs, nIn] = x.shape;
  const x2d = x.reshape([seqLen * bs, nIn]) as tf.Tensor2D;
  if (kernels === 'native' && seqLen > 0) {
    const hidden = weights.weightHh.shape[1];
    const projected = nativeInputProjection(x2d, weights);
    const [output, c2Last] = fusedLstmForward(
      projected,
      weights.weightHh,
      initial.h,
      tf.mul(initial.c, 2),
      false,
    ) as [tf.Tensor2D, tf.Tensor2D];
    const h = tf.slice(output, [(seqLen - 1) * bs, 0], [bs, hidden]);
    return {
      output: output.reshape([seqLen, bs, hidden]),
      state: { h, c: tf.mul(c2Last, 0.5) as tf.Tensor2D },
    };
  }
  const ready = prepared ?? prepareLstmWeights(weights);
  const projected = inputProjection(x2d, ready);
  const weightHhT = ready.weightHhT;
  const steps = tf.split(projected, seqLen, 0) as tf.Tensor2D[];
  let h = initial.h;
  let c2 = tf.mul(initial.c, 2) as tf.Tensor2D;
  const outputs: tf.Tensor2D[] = [];
  for (let t = 0; t < seqLen; t++) {
    const step = cellStep(steps[t]!, h, weightHhT, c2, fused);
    ({ h, c2 } = step);
    outputs.push(h);
  }
  return { output: tf.stack(outputs) as tf.Tensor3D, state: { h, c: tf.mul(c2, 0.5) as tf.Tensor2D } };
}

/**
 * The LSTM inside `tf.customGrad` with the hand-written backward pass (see the file comment).
 * @param x `[T, bs, in]`; initial `{h, c}` `[bs, H]` (constants, not disposed)
 * @returns output `[T, bs, H]`; final state `{h, c}` `[bs, H]`, detached and kept
 */
function lstmTrainable(
  kernels: Kernels,
  x: tf.Tensor3D,
  weights: LstmWeights,
  initial: LstmState,
): LstmResult {
  const [seqLen, bs, nIn] = x.shape;
  const hidden = weights.weightHh.shape[1];
  let finalState: LstmState | undefined;
  const fused = kernels !== 'tfjs';
  const native = kernels === 'native' && seqLen > 0;

  const run = customOp((inputs, save) => {
    const [x2d, weightIh, weightHh, biasIh, biasHh] = inputs as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor1D,
      tf.Tensor1D,
    ];
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const grads = lstmBackward(dy as tf.Tensor2D, saved, seqLen, bs, fused, native);
      releaseSaved(saved);
      return grads;
    };
    if (native) {
      const projected = nativeInputProjection(x2d, { weightIh, weightHh, biasIh, biasHh });
      const [output, c2Last, sigmoids, tanhC, cells, hPrev] = fusedLstmForward(
        projected,
        weightHh,
        initial.h,
        tf.mul(initial.c, 2),
        true,
      );
      save([x2d, weightIh, weightHh, sigmoids!, tanhC!, cells!, hPrev!]);
      finalState = {
        h: tf.keep(tf.slice(output!, [(seqLen - 1) * bs, 0], [bs, hidden])),
        c: tf.keep(tf.mul(c2Last!, 0.5)) as tf.Tensor2D,
      };
      return { value: output!, gradFunc };
    }
    const prepared = prepareLstmWeights({ weightIh, weightHh, biasIh, biasHh });
    const projected = inputProjection(x2d, prepared);
    const steps = tf.split(projected, seqLen, 0) as tf.Tensor2D[];
    const weightHhT = prepared.weightHhT;
    let h = initial.h;
    let c2 = tf.mul(initial.c, 2) as tf.Tensor2D;
    const sigmoids: tf.Tensor2D[] = [];
    const tanhCells: tf.Tensor2D[] = [];
    const cells: tf.Tensor2D[] = [c2];
    const outputs: tf.Tensor2D[] = [];
    for (let t = 0; t < seqLen; t++) {
      const step = cellStep(steps[t]!, h, weightHhT, c2, fused);
      ({ h, c2 } = step);
      sigmoids.push(step.sigmoids);
      tanhCells.push(step.tanhC);
      cells.push(c2);
      outputs.push(h);
    }
    const output = tf.concat(outputs, 0); // [T*bs, H]
    const hPrev = seqLen > 1 ? tf.concat([initial.h, ...outputs.slice(0, -1)], 0) : initial.h.clone();
    save([
      x2d,
      weightIh,
      weightHh,
      tf.concat(sigmoids, 0), // [T*bs, 4H]: σ(i), σ(f), σ(2 z_g), σ(o)
      tf.concat(tanhCells, 0), // [T*bs, H]: tanh(c_t)
      tf.concat(cells, 0), // [(T+1)*bs, H]: 2c_0 .. 2c_T
      hPrev, // [T*bs, H]: h_0 .. h_{T-1}
    ]);
    finalState = { h: tf.keep(h.clone()), c: tf.keep(tf.mul(c2, 0.5)) as tf.Tensor2D };
    return { value: output, gradFunc };
  });

  const out2d = run(
    x.reshape([seqLen * bs, nIn]),
    weights.weightIh,
    weights.weightHh,
    weights.biasIh,
    weights.biasHh,
  );
  return { output: out2d.reshape([seqLen, bs, hidden]), state: finalState! };
}

/** `[T*bs, in] -> [T*bs, 4H]`: x·W_ihᵀ + b_ih + b_hh for every step in one matmul. */
function inputProjection(x2d: tf.Tensor2D, prepared: PreparedLstmWeights): tf.Tensor2D {
  // With the native kernels the bias is added inside the matmul call (the same sum, one pass fewer).
  if (transposeFlagsFree())
    return tf.fused.matMul({ a: x2d, b: prepared.weightIhT, bias: prepared.bias }) as tf.Tensor2D;
  return tf.add(tf.matMul(x2d, prepared.weightIhT), prepared.bias) as tf.Tensor2D;
}

/**
 * `[T*bs, in] -> [T*bs, 4H]`: x·W_ihᵀ + b_ih + b_hh, g columns not doubled (the native forward
 * kernel doubles them), W_ih read transposed in place by the native matmul.
 */
function nativeInputProjection(x2d: tf.Tensor2D, weights: LstmWeights): tf.Tensor2D {
  return tf.fused.matMul({
    a: x2d,
    b: weights.weightIh,
    transposeB: true,
    bias: tf.add(weights.biasIh, weights.biasHh),
  }) as tf.Tensor2D;
}

/** `[1, 4H]`: 1 on the i, f, o columns, 2 on the g columns. */
function gateScale(hidden: number): tf.Tensor2D {
  const values = new Float32Array(4 * hidden).fill(1);
  values.fill(2, 2 * hidden, 3 * hidden);
  return tf.tensor2d(values, [1, 4 * hidden]);
}

/**
 * One time step.
 * @param projected `[bs, 4H]` input projection of this step (g columns doubled)
 * @param hPrev `[bs, H]`
 * @param weightHhT `[H, 4H]` transposed recurrent weight (g columns doubled)
 * @param c2Prev `[bs, H]` twice the previous cell
 * @param fused use the fused element-wise kernels (not differentiable; same numbers)
 * @returns h `[bs, H]`, c2 = 2c `[bs, H]`; for the backward: `sigmoids` = σ of the (scaled)
 *   pre-activations `[bs, 4H]` and `tanhC` = tanh(c) `[bs, H]`
 */
function cellStep(
  projected: tf.Tensor2D,
  hPrev: tf.Tensor2D,
  weightHhT: tf.Tensor2D,
  c2Prev: tf.Tensor2D,
  fused: boolean,
): { h: tf.Tensor2D; c2: tf.Tensor2D; sigmoids: tf.Tensor2D; tanhC: tf.Tensor2D } {
  const sigmoids = tf.sigmoid(tf.add(projected, tf.matMul(hPrev, weightHhT))) as tf.Tensor2D;
  if (fused) {
    const c2 = fusedCell(sigmoids, c2Prev);
    const [tanhC, h] = fusedOutput(sigmoids, tf.sigmoid(c2));
    return { h, c2, sigmoids, tanhC };
  }
  const [i, f, g2Sigmoid, o] = tf.split(sigmoids, 4, 1) as tf.Tensor2D[];
  const g2 = tf.sub(tf.mul(g2Sigmoid!, 4), 2); // 2·tanh(z_g)
  const c2 = tf.add(tf.mul(f!, c2Prev), tf.mul(i!, g2)) as tf.Tensor2D; // 2·c_t
  const tanhC = tf.sub(tf.mul(tf.sigmoid(c2), 2), 1) as tf.Tensor2D; // tanh(c_t)
  const h = tf.mul(o!, tanhC) as tf.Tensor2D;
  return { h, c2, sigmoids, tanhC };
}

/**
 * Back-propagation through time for `lstmTrainable`.
 * @param dy `[T*bs, H]` gradient of the loss w.r.t. every output h_t
 * @param saved the tensors saved by the forward (see there)
 * @param fused run each step's element-wise work as one kernel (lstm-kernels.ts)
 * @param native run the whole sequential part as one native call (lstm-kernels.ts fusedLstmBackward)
 * @returns gradients for (x2d `[T*bs, in]`, weightIh, weightHh, biasIh, biasHh)
 */
function lstmBackward(
  dy: tf.Tensor2D,
  saved: tf.Tensor[],
  seqLen: number,
  bs: number,
  fused: boolean,
  native: boolean,
): tf.Tensor[] {
  const [x2d, weightIh, weightHh, sigmoids, tanhCells, cells, hPrev] = saved as tf.Tensor2D[];
  const dz = native
    ? fusedLstmBackward(dy, sigmoids!, cells!, tanhCells!, weightHh!, bs)
    : dzByStep(dy, saved, seqLen, bs, fused);
  let dWeightIh: tf.Tensor2D;
  let dWeightHh: tf.Tensor2D;
  if (transposeFlagsFree()) {
    dWeightIh = tf.matMul(dz, x2d!, true, false); // [4H, in]
    dWeightHh = tf.matMul(dz, hPrev!, true, false); // [4H, H]
  } else {
    const dzT = dz.transpose(); // [4H, T*bs]
    dWeightIh = tf.matMul(dzT, x2d!);
    dWeightHh = tf.matMul(dzT, hPrev!);
    dzT.dispose();
  }
  const dBias = columnSum(dz); // [4H]
  const dx = tf.matMul(dz, weightIh!); // [T*bs, in]
  // dz is this function's own: freed now, not at the end of the whole backward pass.
  dz.dispose();
  return [dx, dWeightIh, dWeightHh, dBias, dBias.clone()];
}

/**
 * The gradient w.r.t. every step's gate pre-activations, step by step with TF.js kernels (the
 * fused per-step ones where `fused`).
 * @returns dz `[T*bs, 4H]`
 */
function dzByStep(
  dy: tf.Tensor2D,
  saved: tf.Tensor[],
  seqLen: number,
  bs: number,
  fused: boolean,
): tf.Tensor2D {
  const [, , weightHh, sigmoids, tanhCells, cells] = saved as tf.Tensor2D[];
  const rows = seqLen * bs;
  const hidden = weightHh!.shape[1];
  // Everything that does not depend on the recurrence, for all steps at once:
  //   dz_i = dc ⊙ g ⊙ σ'(i)        dz_f = dc ⊙ c_{t-1} ⊙ σ'(f)
  //   dz_g = dc ⊙ σ(i) ⊙ (1-g²)    dz_o = dh ⊙ tanh(c_t) ⊙ σ'(o)
  //   dc   = dh ⊙ σ(o) ⊙ (1-tanh²(c_t)) + dc_{t+1} ⊙ σ(f_{t+1})
  const [coefA, coefB, forget] = fused
    ? fusedBackwardCoefficients(sigmoids!, cells!, tanhCells!)
    : (tf.tidy(() => {
        const [i, f, g2Sigmoid, o] = tf.split(sigmoids!, 4, 1) as tf.Tensor2D[];
        const g = tf.sub(tf.mul(g2Sigmoid!, 2), 1); // tanh(z_g)
        const cPrev = tf.mul(tf.slice(cells!, [0, 0], [rows, hidden]), 0.5);
        const tanhC = tanhCells!;
        const sigmoidGrad = (s: tf.Tensor) => tf.mul(s, tf.sub(1, s));
        const a = tf.mul(o!, tf.sub(1, tf.square(tanhC))); // dc from dh
        const b = tf.concat(
          [
            tf.mul(g, sigmoidGrad(i!)),
            tf.mul(cPrev, sigmoidGrad(f!)),
            tf.mul(i!, tf.sub(1, tf.square(g))),
            tf.mul(tanhC, sigmoidGrad(o!)),
          ],
          1,
        ); // [T*bs, 4H]: multiplies [dc, dc, dc, dh]
        return [a, b, f!] as tf.Tensor2D[];
      }) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]);

  const sequences: BpttInputs = { dy, coefA, coefB, forget, weightHh: weightHh!, seqLen, bs };
  const dzSteps = fused ? backThroughTimeFused(sequences) : backThroughTime(sequences);
  tf.dispose([coefA, coefB, forget]);

  const dz = tf.concat(dzSteps, 0); // [T*bs, 4H]
  tf.dispose(dzSteps);
  return dz as tf.Tensor2D;
}

/** What the sequential part of lstmBackward reads (none of it is disposed there). */
interface BpttInputs {
  /** `[T*bs, H]` */
  dy: tf.Tensor2D;
  /** `[T*bs, H]` multiplies dh into dc */
  coefA: tf.Tensor2D;
  /** `[T*bs, 4H]` multiplies [dc, dc, dc, dh] into dz */
  coefB: tf.Tensor2D;
  /** `[T*bs, H]` σ(f_t) */
  forget: tf.Tensor2D;
  /** `[4H, H]` */
  weightHh: tf.Tensor2D;
  seqLen: number;
  bs: number;
}

/**
 * The sequential part of lstmBackward with plain ops: dz_t for t = T-1 .. 0.
 * @returns dz_t `[bs, 4H]` for every step (the caller disposes them)
 */
function backThroughTime({ dy, coefA, coefB, forget, weightHh, seqLen }: BpttInputs): tf.Tensor2D[] {
  const dySteps = tf.split(dy, seqLen, 0);
  const aSteps = tf.split(coefA, seqLen, 0);
  const bSteps = tf.split(coefB, seqLen, 0);
  const fSteps = tf.split(forget, seqLen, 0);
  const dzSteps: tf.Tensor2D[] = new Array(seqLen);
  let dzNext: tf.Tensor2D | undefined;
  let dcCarry: tf.Tensor | undefined;
  for (let t = seqLen - 1; t >= 0; t--) {
    const [dz, carry] = tf.tidy(() => {
      const dh = dzNext === undefined ? dySteps[t]! : tf.add(dySteps[t]!, tf.matMul(dzNext, weightHh));
      let dc = tf.mul(dh, aSteps[t]!);
      if (dcCarry !== undefined) dc = tf.add(dc, dcCarry);
      const dzT = tf.mul(tf.concat([dc, dc, dc, dh], 1), bSteps[t]!) as tf.Tensor2D;
      return [dzT, tf.mul(dc, fSteps[t]!)];
    });
    if (dcCarry !== undefined) dcCarry.dispose();
    dzSteps[t] = dz;
    dzNext = dz;
    dcCarry = carry;
  }
  dcCarry?.dispose();
  tf.dispose([...dySteps, ...aSteps, ...bSteps, ...fSteps]);
  return dzSteps;
}

/** backThroughTime with each step's element-wise work as one kernel reading the sequences in place. */
function backThroughTimeFused({ dy, coefA, coefB, forget, weightHh, seqLen, bs }: BpttInputs): tf.Tensor2D[] {
  const dzSteps: tf.Tensor2D[] = new Array(seqLen);
  let carry: tf.Tensor2D | undefined;
  for (let t = seqLen - 1; t >= 0; t--) {
    const next = dzSteps[t + 1];
    const mm = next === undefined ? undefined : (tf.matMul(next, weightHh) as tf.Tensor2D);
    const [dz, carryOut] = fusedBackStep(t, bs, dy, coefA, coefB, forget, mm, carry);
    mm?.dispose();
    carry?.dispose();
    dzSteps[t] = dz;
    carry = carryOut;
  }
  carry?.dispose();
  return dzSteps;
}
