/**
 * The AWD-LSTM's dropout variants (fastai `text/models/awdlstm.py`). Every mask is a
 * Bernoulli(1-p) sample divided by (1-p), drawn from a seed taken from the model's `Rng`, so the
 * same seed gives the same masks on every backend. All are the identity in eval mode or when p = 0.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../random.js';
import { customOp, releaseSaved } from '../compute/custom-op.js';

/**
 * fastai's `dropout_mask`: entries are 0 (probability p) or 1/(1-p).
 *
 * Filled here by xoshiro128** from one seed of `rng`, not by `tf.randomUniform` plus three ops:
 * TF.js draws its uniforms in JS through seedrandom (~30 ns each), and DropConnect needs one per
 * recurrent weight per step (11M at WT103 size: a third of a second).
 * @returns float32 tensor of `shape`
 */
export function dropoutMask(shape: number[], p: number, rng: Rng): tf.Tensor {
  const values = new Float32Array(shape.reduce((n, d) => n * d, 1));
  fillDropoutMask(values, p, rng.seedForOp());
  return tf.tensor(values, shape, 'float32');
}

/**
 * Writes 0 with probability p and 1/(1-p) otherwise into `out`, from xoshiro128** seeded with
 * `seed` (splitmix32 over the state, as `Rng` does). An entry is kept when its 32-bit draw is
 * below (1-p)·2^32.
 */
export function fillDropoutMask(out: Float32Array, p: number, seed: number): void {
  const keepValue = p >= 1 ? 0 : 1 / (1 - p);
  const threshold = (1 - p) * 4294967296;
  // The state in locals: this loop runs millions of times per training step.
  let x = seed >>> 0;
  const words = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    words[i] = (z ^ (z >>> 16)) >>> 0;
  }
  let [s0, s1, s2, s3] = words as [number, number, number, number];
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  for (let i = 0; i < out.length; i++) {
    const m = Math.imul(s1, 5);
    const draw = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    out[i] = draw < threshold ? keepValue : 0;
  }
}

/**
 * `RNNDropout` (locked / variational dropout): one mask per sequence and feature, shared by
 * every time step, drawn fresh on each call.
 * @param x `[T, bs, features]` time-major
 * @returns `[T, bs, features]` (x itself when not training or p = 0)
 */
export function rnnDropout(x: tf.Tensor3D, p: number, training: boolean, rng: Rng): tf.Tensor3D {
  if (!training || p === 0) return x;
  const [, bs, features] = x.shape;
  const mask = dropoutMask([1, bs, features], p, rng);
  const out = tf.mul(x, mask) as tf.Tensor3D;
  mask.dispose();
  return out;
}

/**
 * `WeightDropout` (DropConnect) on a hidden-to-hidden matrix: element-wise dropout of the raw
 * weight with a fresh mask per call in training; the raw weight itself in eval. The gradient
 * flows to the raw weight through the mask.
 * @param raw `[4H, H]` (`weight_hh_l0_raw`)
 * @returns `[4H, H]`
 */
export function weightDropout(raw: tf.Tensor2D, p: number, training: boolean, rng: Rng): tf.Tensor2D {
  if (!training || p === 0) return raw;
  const mask = dropoutMask(raw.shape, p, rng);
  // tf.mul's gradient (dy ⊙ mask, the same product), but the mask, as big as the weight, is
  // released as soon as the gradient is made, not at the end of the backward pass (releaseSaved).
  const drop = customOp(([w], save) => {
    save([mask]);
    return {
      value: tf.mul(w!, mask),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const grad = tf.mul(dy, saved[0]!);
        releaseSaved(saved);
        return grad;
      },
    };
  });
  const out = drop(raw) as tf.Tensor2D;
  mask.dispose();
  return out;
}

/**
 * Rows of the embedding gathered once for several lookups (the classifier's chunks of one batch,
 * src/model/heads.ts): each lookup reads and sends its gradient to these `[rows, E]`, so its
 * gradient is `[rows, E]`, and only the one gather that made them scatters a `[vocab, E]` gradient.
 * Without them every lookup makes its own dense `[vocab, E]` gradient, all of which TF.js keeps
 * to the end of the backward pass: 92 MiB each at WT103 size, one per 72-token chunk.
 */
export interface EmbeddingRows {
  /** `[rows, E]` the gathered rows. */
  weight: tf.Tensor2D;
  /** The row of `weight` holding each vocabulary id's embedding (-1 where absent), `[vocab]`. */
  rowOf: Int32Array;
}

/**
 * `EmbeddingDropout` + `F.embedding(padding_idx)`: looks up rows of `weight`; in training, whole
 * word vectors are dropped (one `[vocab, 1]` mask per call, so a word is dropped everywhere in
 * the batch). As with PyTorch's `padding_idx`, the pad row's forward value is its real value but
 * no gradient reaches it through this lookup (a tied decoder still updates it).
 *
 * Equivalent to fastai's `(W ⊙ mask)[ids]`, but the mask is applied to the looked-up rows
 * (`W[ids] ⊙ mask[ids]`): bs·T·E multiplies instead of vocab·E.
 * @param weight `[vocab, E]`
 * @param ids int32 ids of any shape S (not disposed)
 * @param rows in training, read these gathered rows of `weight` instead (the same values and
 *   masks; the gradient goes to them)
 * @returns `[...S, E]`
 */
export function embeddingDropout(
  weight: tf.Tensor2D,
  ids: tf.Tensor,
  p: number,
  padIdx: number,
  training: boolean,
  rng: Rng,
  rows?: EmbeddingRows,
): tf.Tensor {
  const [vocab, emb] = weight.shape;
  const outShape = [...ids.shape, emb];
  if (!training) return tf.gather(weight, ids).reshape(outShape);
  const flatIds = ids.reshape([-1]) as tf.Tensor1D;
  const n = flatIds.shape[0];
  // Per-row forward scale (the word mask) and gradient scale (the same, zero at the pad id).
  const [rowScale, gradScale] = tf.tidy(() => {
    const notPad = tf.cast(tf.notEqual(flatIds, padIdx), 'float32').reshape([n, 1]);
    if (p === 0) return [undefined, notPad];
    const wordMask = dropoutMask([vocab, 1], p, rng);
    const scale = tf.gather(wordMask, flatIds); // [n, 1]
    return [scale, tf.mul(scale, notPad)];
  });
  const source = rows?.weight ?? weight;
  const sourceIds = rows === undefined ? flatIds : localIds(flatIds, rows.rowOf);
  const lookup = customOp(([w], save) => {
    const looked = tf.gather(w!, sourceIds); // [n, E]
    // Tensors the backward needs must be saved: the forward scope is disposed before it runs.
    save([sourceIds, gradScale]);
    return {
      value: rowScale === undefined ? looked : tf.mul(looked, rowScale),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedIds, savedScale] = saved as [tf.Tensor1D, tf.Tensor2D];
        return tf.unsortedSegmentSum(tf.mul(dy, savedScale), savedIds, source.shape[0]);
      },
    };
  });
  const out = lookup(source).reshape(outShape);
  tf.dispose([rowScale, gradScale]);
  if (sourceIds !== flatIds) sourceIds.dispose();
  return out;
}

/**
 * Gathers the rows of `weight` that `ids` use, once (see EmbeddingRows). The gather's gradient is
 * the one `[vocab, E]` scatter; each row receives exactly one value (the ids are distinct), so
 * the embedding's gradient has the same numbers as with a dense gradient per lookup.
 * @param weight `[vocab, E]`
 * @param ids the ids the lookups will read (any order, repeats allowed)
 */
export function gatherEmbeddingRows(weight: tf.Tensor2D, ids: Int32Array): EmbeddingRows {
  const rowOf = new Int32Array(weight.shape[0]).fill(-1);
  const distinct: number[] = [];
  for (const id of ids) {
    if (rowOf[id] === -1) {
      rowOf[id] = distinct.length;
      distinct.push(id);
    }
  }
  const indices = tf.tensor1d(distinct, 'int32');
  // tf.gather's own gradient wraps the scatter in transposes (copies of [vocab, E] on wasm).
  const gather = customOp(([w], save) => {
    save([indices]);
    return {
      value: tf.gather(w!, indices),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.unsortedSegmentSum(dy, saved[0] as tf.Tensor1D, weight.shape[0]),
    };
  });
  const gathered = gather(weight) as tf.Tensor2D;
  indices.dispose();
  return { weight: gathered, rowOf };
}

/** `ids` mapped through `rowOf` (ids outside the gathered rows are an error). */
function localIds(ids: tf.Tensor1D, rowOf: Int32Array): tf.Tensor1D {
  const global = ids.dataSync();
  const local = new Int32Array(global.length);
  for (let i = 0; i < global.length; i++) {
    const row = rowOf[global[i]!]!;
    if (row < 0) throw new Error(`embeddingDropout: id ${global[i]} is not among the gathered rows`);
    local[i] = row;
  }
  return tf.tensor1d(local, 'int32');
}
