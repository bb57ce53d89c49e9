/**
 * The AWD-LSTM's dropout variants (fastai `awdlstm.py`, spec §5.4). Every mask is a
 * Bernoulli(1-p) sample divided by (1-p), drawn with `tf.randomUniform` seeded from the model's
 * `Rng`, so the same seed gives the same masks. All are the identity in eval mode or when p = 0.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../random.js';
import { customOp } from './ops.js';

/**
 * fastai's `dropout_mask`: entries are 0 (probability p) or 1/(1-p).
 * @returns float32 tensor of `shape`
 */
export function dropoutMask(shape: number[], p: number, rng: Rng): tf.Tensor {
  if (p >= 1) return tf.zeros(shape);
  return tf.tidy(() => {
    const uniform = tf.randomUniform(shape, 0, 1, 'float32', rng.seedForOp());
    // keep where u < 1-p
    return tf.mul(tf.step(tf.sub(1 - p, uniform)), 1 / (1 - p));
  });
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
  const out = tf.mul(raw, mask) as tf.Tensor2D;
  mask.dispose();
  return out;
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
 * @returns `[...S, E]`
 */
export function embeddingDropout(
  weight: tf.Tensor2D,
  ids: tf.Tensor,
  p: number,
  padIdx: number,
  training: boolean,
  rng: Rng,
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
  const lookup = customOp(([w], save) => {
    const rows = tf.gather(w!, flatIds); // [n, E]
    // Tensors the backward needs must be saved: the forward scope is disposed before it runs.
    save([flatIds, gradScale]);
    return {
      value: rowScale === undefined ? rows : tf.mul(rows, rowScale),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedIds, savedScale] = saved as [tf.Tensor1D, tf.Tensor2D];
        return tf.unsortedSegmentSum(tf.mul(dy, savedScale), savedIds, vocab);
      },
    };
  });
  const out = lookup(weight).reshape(outShape);
  tf.dispose([rowScale, gradScale]);
  return out;
}
