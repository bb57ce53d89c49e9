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
 * Two implementations with identical forward numbers:
 * - `lstmSequence`: plain ops, differentiated by TF.js autodiff. Used for inference and as the
 *   reference the fast one is tested against.
 * - `lstmSequenceFast`: the same forward inside `tf.customGrad` with a hand-written backward
 *   (back-propagation through time) that does the elementwise gate derivatives for all steps in
 *   a few large ops and the weight gradients as one matmul each over all steps, instead of the
 *   per-step matmuls autodiff would record. No matmul in either direction uses a transpose flag
 *   (they are 15x slower on wasm): every transpose is explicit.
 */
import * as tf from '@tensorflow/tfjs';
import { customOp } from './ops.js';

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

export interface LstmResult {
  /** `[T, bs, H]`: h_t for every step. */
  output: tf.Tensor3D;
  /** State after the last step. */
  state: LstmState;
}

/**
 * The LSTM over a sequence with plain, autodiff-able ops.
 * @param x `[T, bs, in]` time-major input
 * @param weights PyTorch-shaped parameters (hidden size H = weightHh.shape[1])
 * @param initial `{h, c}` each `[bs, H]`; not disposed
 * @returns output `[T, bs, H]` and the final state (connected to the graph; the caller detaches)
 */
export function lstmSequence(x: tf.Tensor3D, weights: LstmWeights, initial: LstmState): LstmResult {
  const [seqLen, bs, nIn] = x.shape;
  const hidden = weights.weightHh.shape[1];
  const projected = inputProjection(x.reshape([seqLen * bs, nIn]), weights);
  const steps = tf.split(projected, seqLen, 0) as tf.Tensor2D[];
  const weightHhT = weights.weightHh.transpose() as tf.Tensor2D; // [H, 4H], once per sequence
  let { h, c } = initial;
  const outputs: tf.Tensor2D[] = [];
  for (let t = 0; t < seqLen; t++) {
    const z = tf.add(steps[t]!, tf.matMul(h, weightHhT)) as tf.Tensor2D;
    ({ h, c } = cellStep(z, c, bs, hidden).state);
    outputs.push(h);
  }
  return { output: tf.stack(outputs) as tf.Tensor3D, state: { h, c } };
}

/**
 * The same LSTM with a hand-written backward pass (see the file comment). Gradients flow to `x`
 * and the four weights; the returned final state is detached (no gradient reaches the initial
 * state either), which is what truncated BPTT wants.
 * @param x `[T, bs, in]` time-major input
 * @param weights PyTorch-shaped parameters
 * @param initial `{h, c}` each `[bs, H]`; treated as constants; not disposed
 * @returns output `[T, bs, H]`; final state `{h, c}` `[bs, H]` kept out of any tidy: the caller owns
 *   and must dispose it
 */
export function lstmSequenceFast(x: tf.Tensor3D, weights: LstmWeights, initial: LstmState): LstmResult {
  const [seqLen, bs, nIn] = x.shape;
  const hidden = weights.weightHh.shape[1];
  let finalState: LstmState | undefined;

  const run = customOp((inputs, save) => {
      const [x2d, weightIh, weightHh, biasIh, biasHh] = inputs as [
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor1D,
        tf.Tensor1D,
      ];
      const projected = inputProjection(x2d, { weightIh, weightHh, biasIh, biasHh });
      const steps = tf.split(projected, seqLen, 0) as tf.Tensor2D[];
      const weightHhT = weightHh.transpose() as tf.Tensor2D;
      let { h, c } = initial;
      const gates: tf.Tensor2D[] = [];
      const cellInputs: tf.Tensor2D[] = [];
      const cells: tf.Tensor2D[] = [initial.c];
      const outputs: tf.Tensor2D[] = [];
      for (let t = 0; t < seqLen; t++) {
        const z = tf.add(steps[t]!, tf.matMul(h, weightHhT)) as tf.Tensor2D;
        const step = cellStep(z, c, bs, hidden);
        ({ h, c } = step.state);
        gates.push(step.sigmoids);
        cellInputs.push(step.g);
        cells.push(c);
        outputs.push(h);
      }
      const output = tf.concat(outputs, 0); // [T*bs, H]
      const hPrev = seqLen > 1 ? tf.concat([initial.h, ...outputs.slice(0, -1)], 0) : initial.h.clone();
      save([
        x2d,
        weightIh,
        weightHh,
        tf.concat(gates, 0), // [T*bs, 4H]: σ(z) (its g block unused)
        tf.concat(cellInputs, 0), // [T*bs, H]: tanh(g)
        tf.concat(cells, 0), // [(T+1)*bs, H]: c_0 .. c_T
        hPrev, // [T*bs, H]: h_0 .. h_{T-1}
      ]);
      finalState = { h: tf.keep(h.clone()), c: tf.keep(c.clone()) };
      return {
        value: output,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => lstmBackward(dy as tf.Tensor2D, saved, seqLen, bs),
      };
    });

  const out2d = run(x.reshape([seqLen * bs, nIn]), weights.weightIh, weights.weightHh, weights.biasIh, weights.biasHh);
  return { output: out2d.reshape([seqLen, bs, hidden]), state: finalState! };
}

/** `[T*bs, in] -> [T*bs, 4H]`: x·W_ihᵀ + b_ih + b_hh for every step in one matmul. */
function inputProjection(x2d: tf.Tensor2D, weights: LstmWeights): tf.Tensor2D {
  const bias = tf.add(weights.biasIh, weights.biasHh);
  return tf.add(tf.matMul(x2d, weights.weightIh.transpose()), bias) as tf.Tensor2D;
}

/**
 * One cell update from the pre-activations.
 * @param z `[bs, 4H]` pre-activations (i, f, g, o blocks)
 * @param cPrev `[bs, H]`
 * @returns new state; `sigmoids` = σ(z) `[bs, 4H]` and `g` = tanh(z_g) `[bs, H]` for the backward
 */
function cellStep(
  z: tf.Tensor2D,
  cPrev: tf.Tensor2D,
  bs: number,
  hidden: number,
): { state: LstmState; sigmoids: tf.Tensor2D; g: tf.Tensor2D } {
  // One sigmoid over all four blocks is cheaper than three separate ones; the g block of it is
  // simply not used.
  const sigmoids = tf.sigmoid(z);
  const [i, f, , o] = tf.split(sigmoids, 4, 1) as tf.Tensor2D[];
  const g = tf.tanh(tf.slice(z, [0, 2 * hidden], [bs, hidden]));
  const c = tf.add(tf.mul(f!, cPrev), tf.mul(i!, g)) as tf.Tensor2D;
  const h = tf.mul(o!, tf.tanh(c)) as tf.Tensor2D;
  return { state: { h, c }, sigmoids, g };
}

/**
 * Back-propagation through time for `lstmSequenceFast`.
 * @param dy `[T*bs, H]` gradient of the loss w.r.t. every output h_t
 * @param saved the tensors saved by the forward (see there)
 * @returns gradients for (x2d `[T*bs, in]`, weightIh, weightHh, biasIh, biasHh)
 */
function lstmBackward(dy: tf.Tensor2D, saved: tf.Tensor[], seqLen: number, bs: number): tf.Tensor[] {
  const [x2d, weightIh, weightHh, sigmoids, cellInputs, cells, hPrev] = saved as tf.Tensor2D[];
  const rows = seqLen * bs;
  const hidden = weightHh!.shape[1];

  // Everything that does not depend on the recurrence, for all steps at once:
  //   dz_i = dc ⊙ g ⊙ σ'(i)        dz_f = dc ⊙ c_{t-1} ⊙ σ'(f)
  //   dz_g = dc ⊙ σ(i) ⊙ (1-g²)    dz_o = dh ⊙ tanh(c_t) ⊙ σ'(o)
  //   dc   = dh ⊙ σ(o) ⊙ (1-tanh²(c_t)) + dc_{t+1} ⊙ σ(f_{t+1})
  const [coefA, coefB, forget] = tf.tidy(() => {
    const [i, f, , o] = tf.split(sigmoids!, 4, 1) as tf.Tensor2D[];
    const g = cellInputs!;
    const cPrev = tf.slice(cells!, [0, 0], [rows, hidden]);
    const tanhC = tf.tanh(tf.slice(cells!, [bs, 0], [rows, hidden]));
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
    return [a, b, f!];
  });

  const dySteps = tf.split(dy, seqLen, 0);
  const aSteps = tf.split(coefA, seqLen, 0);
  const bSteps = tf.split(coefB, seqLen, 0);
  const fSteps = tf.split(forget, seqLen, 0);
  tf.dispose([coefA, coefB, forget]);

  const dzSteps: tf.Tensor2D[] = new Array(seqLen);
  let dzNext: tf.Tensor2D | undefined;
  let dcCarry: tf.Tensor | undefined;
  for (let t = seqLen - 1; t >= 0; t--) {
    const [dz, carry] = tf.tidy(() => {
      const dh = dzNext === undefined ? dySteps[t]! : tf.add(dySteps[t]!, tf.matMul(dzNext, weightHh!));
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

  const dz = tf.concat(dzSteps, 0); // [T*bs, 4H]
  tf.dispose(dzSteps);
  const dzT = dz.transpose(); // [4H, T*bs]
  const dWeightIh = tf.matMul(dzT, x2d!); // [4H, in]
  const dWeightHh = tf.matMul(dzT, hPrev!); // [4H, H]
  const dBias = tf.sum(dz, 0); // [4H]
  const dx = tf.matMul(dz, weightIh!); // [T*bs, in]
  return [dx, dWeightIh, dWeightHh, dBias, dBias.clone()];
}

/**
 * `x` unchanged in the forward pass, no gradient in the backward (PyTorch's `detach`; TF.js has
 * no stopGradient op).
 */
export function detach<T extends tf.Tensor>(x: T): T {
  const stop = customOp(([input]) => ({
    value: input!.clone(),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return stop(x) as T;
}
