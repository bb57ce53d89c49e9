/**
 * The language model's decoder and loss in one operation: the mean softmax cross-entropy of
 * `x·Wᵀ + b` against the targets, `mean(crossEntropy(linear(x, W, b), targets))`, computed over
 * chunks of rows so that only one chunk's logits exist at a time.
 *
 * Why: at WT103 size (vocab 60,008) a batch of bs 16 × bptt 72 has logits of 1,152 × 60,008 floats,
 * 264 MiB, and the unfused composition keeps three such matrices alive through the backward pass
 * (the softmax saved by crossEntropy, its gradient, and the logits until the forward scope ends):
 * 800 MiB of a training step's 2 GB peak (workbench/scale/memory-step.mjs measures it).
 *
 * How: with a gradient tape recording, the forward pass also computes the gradients, chunk by
 * chunk: logits, softmax and loss of the chunk's rows, then `g = softmax − onehot` (over n, the
 * mean's gradient), `dx` rows `g·W`, and `dW += gᵀ·x`, `db += Σ_rows g`; the chunk's
 * `[rows, classes]` tensors are freed before the next chunk. The backward pass only scales the
 * saved gradients by the upstream gradient (1 in training, where they are returned as they are).
 * Each chunk runs the implementations `linear` and `crossEntropy` would choose (the same kernels,
 * as registry.ts picks them), so per row the logits, losses and `dx` are the unfused path's
 * numbers; `dW` and `db` are summed chunk by chunk, which differs from one sum over all rows in
 * the last bits. A chunk holds `linearCrossEntropyChunkBytes()` of logits (64 MiB by default):
 * a small vocabulary's batch is one chunk.
 *
 * `unfused` is the reference: the plain composition, run only when asked for by name (tests).
 */
import * as tf from '@tensorflow/tfjs';
import { customOp, gradientTapeOn, releaseSaved } from './custom-op.js';
import {
  crossEntropy,
  crossEntropyForward,
  crossEntropyGradient,
  crossEntropyKernels,
} from './cross-entropy.js';
import { columnSum, linear, linearForward, linearUsesFlags } from './linear.js';
import { Operation } from './registry.js';

type LinearCrossEntropyFn = (
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D | undefined,
  targets: tf.Tensor1D,
  chunkRows?: number,
) => tf.Scalar;

let chunkBytes = 64 * 2 ** 20;

/** Bytes of logits one chunk holds (see the file comment). */
export function linearCrossEntropyChunkBytes(): number {
  return chunkBytes;
}

/** Sets the chunk size in bytes of logits, for benchmarks; returns the previous one. */
export function setLinearCrossEntropyChunkBytes(bytes: number): number {
  if (!(bytes >= 1)) throw new RangeError(`chunk bytes must be ≥ 1, got ${bytes}`);
  const previous = chunkBytes;
  chunkBytes = bytes;
  return previous;
}

/**
 * Rows per chunk for `n` rows of `classes` logits: at most the chunk bytes' worth (one row at
 * least), spread evenly over the chunks that takes (so the last chunk is not a sliver).
 */
export function chunkRowsFor(n: number, classes: number, bytes = chunkBytes): number {
  if (n === 0) return 1;
  const most = Math.max(1, Math.floor(bytes / (4 * Math.max(1, classes))));
  const chunks = Math.ceil(n / most);
  return Math.ceil(n / chunks);
}

/**
 * Mean cross-entropy of a linear layer's outputs.
 * @param x `[n, in]`
 * @param weight `[classes, in]` (PyTorch layout)
 * @param bias `[classes]` or undefined
 * @param targets `[n]` int32 class indices (not disposed)
 * @param chunkRows rows per chunk (default: `chunkRowsFor(n, classes)`)
 * @returns scalar, the mean over the n rows of `logsumexp(logits) − logits[target]`
 */
export const linearCrossEntropyOp = new Operation<LinearCrossEntropyFn>('linearCrossEntropy')
  .register({ name: 'chunked', ready: () => true, run: chunkedLinearCrossEntropy })
  .register({ name: 'unfused', reference: true, ready: () => true, run: unfused });

function unfused(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D | undefined,
  targets: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => tf.mean(crossEntropy(linear(x, weight, bias), targets)) as tf.Scalar);
}

/** `mean(crossEntropy(linear(x, W, b), targets))` (see linearCrossEntropyOp): `[n, in]`, `[classes, in]`, `[classes]`, `[n]` → scalar. */
export const linearCrossEntropy: LinearCrossEntropyFn = linearCrossEntropyOp.run;

/** Row ranges `[start, size]` of the chunks. */
function chunksOf(n: number, rows: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = 0; start < n; start += rows) out.push([start, Math.min(rows, n - start)]);
  return out;
}

/** Rows `[start, start + size)` of `t` (t itself when that is all of it). */
function rowsOf<T extends tf.Tensor>(t: T, start: number, size: number): T {
  if (start === 0 && size === t.shape[0]) return t;
  return tf.slice(
    t,
    [start, ...t.shape.slice(1).map(() => 0)],
    [size, ...t.shape.slice(1).map(() => -1)],
  ) as T;
}

function chunkedLinearCrossEntropy(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor1D | undefined,
  targets: tf.Tensor1D,
  chunkRows?: number,
): tf.Scalar {
  const [n] = x.shape;
  const rows = chunkRows ?? chunkRowsFor(n, weight.shape[0]);
  if (!Number.isInteger(rows) || rows < 1)
    throw new RangeError(`chunkRows must be a whole number ≥ 1, got ${rows}`);
  // No rows: no chunks; the plain composition gives the mean of nothing (NaN) as before.
  if (n === 0) return unfused(x, weight, bias, targets);
  // Without a tape nothing needs the gradients: the losses alone, chunk by chunk.
  if (!gradientTapeOn()) {
    return tf.tidy(() => {
      const losses = chunksOf(n, rows).map(([start, size]) =>
        tf.tidy(() =>
          crossEntropy(linear(rowsOf(x, start, size), weight, bias), rowsOf(targets, start, size)),
        ),
      );
      return tf.mean(losses.length === 1 ? losses[0]! : tf.concat(losses)) as tf.Scalar;
    });
  }
  const run = customOp((inputs, save) => {
    const [xIn, w, b] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D | undefined];
    const { loss, dx, dw, db } = lossAndGradients(xIn, w, b, targets, rows);
    save(db === undefined ? [dx, dw] : [dx, dw, db]);
    return {
      value: loss,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        // In training the upstream gradient is exactly 1 (the loss is a sum of terms): the saved
        // [classes, in] weight gradient is returned as it is, not copied by a multiply by 1.
        const scale = dy.dataSync()[0];
        const grads = saved.map((g, i) => (i === 1 && scale === 1 ? g.clone() : tf.mul(g, dy)));
        releaseSaved(saved);
        return grads;
      },
    };
  });
  return (bias === undefined ? run(x, weight) : run(x, weight, bias)) as tf.Scalar;
}

/**
 * `sum + gᵀ·x` (or, without flags and `transposeG` false, `sum + xᵀ·g`, the transposed layout),
 * `sum` undefined at the first chunk. With the native kernels the sum is the matmul's addend,
 * added as each block of the product is stored: the same numbers as a separate add (float
 * addition commutes), without a third `[classes, in]` tensor alive at once.
 * @param g `[rows, classes]`; x `[rows, in]`; sum `[classes, in]` (`[in, classes]` transposed)
 */
function addWeightGradient(
  flags: boolean,
  transposeG: boolean,
  g: tf.Tensor2D,
  x: tf.Tensor2D,
  sum: tf.Tensor2D | undefined,
): tf.Tensor2D {
  if (flags) {
    return (
      sum === undefined
        ? tf.matMul(g, x, true, false)
        : tf.fused.matMul({ a: g, b: x, transposeA: true, bias: sum })
    ) as tf.Tensor2D;
  }
  const part = transposeG ? tf.matMul(g.transpose(), x) : tf.matMul(x.transpose(), g);
  return (sum === undefined ? part : tf.add(sum, part)) as tf.Tensor2D;
}

/**
 * The loss and the gradients of the mean loss, chunk by chunk (the file comment says how).
 * @returns loss scalar; dx `[n, in]`; dw `[classes, in]`; db `[classes]` (with a bias)
 */
function lossAndGradients(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D | undefined,
  targets: tf.Tensor1D,
  rows: number,
): { loss: tf.Scalar; dx: tf.Tensor2D; dw: tf.Tensor2D; db: tf.Tensor1D | undefined } {
  const [n, nIn] = x.shape;
  const classes = w.shape[0];
  const flags = linearUsesFlags(x, w, b);
  // linear's layout for the weight gradient without flags: transpose whichever side copies fewer
  // numbers; with a large vocabulary, dWᵀ = xᵀ·g is summed and transposed once at the end.
  const transposeG = n * classes <= n * nIn + nIn * classes;
  // Without flags the forward reads Wᵀ: transposed once for every chunk.
  const weightT = flags ? undefined : (w.transpose() as tf.Tensor2D);
  const losses: tf.Tensor1D[] = [];
  const dxs: tf.Tensor2D[] = [];
  let dw: tf.Tensor2D | undefined;
  let db: tf.Tensor1D | undefined;
  for (const [start, size] of chunksOf(n, rows)) {
    const part = tf.tidy(() => {
      const xc = rowsOf(x, start, size);
      const tc = rowsOf(targets, start, size);
      const logits = linearForward(flags, xc, w, b, weightT); // [size, classes]
      const kernels = crossEntropyKernels(logits, tc);
      const { losses: loss, probabilities } = crossEntropyForward(kernels, logits, tc);
      logits.dispose(); // two [size, classes] tensors at a time, not three
      // tf.mean's gradient per row, 1/n, computed as TF.js computes it (the same float32).
      const g = crossEntropyGradient(kernels, probabilities, tc, tf.div(tf.ones([size]), n) as tf.Tensor1D); // [size, classes]
      probabilities.dispose();
      const dbPart = b === undefined ? undefined : columnSum(g);
      return {
        loss,
        dx: tf.matMul(g, w) as tf.Tensor2D, // [size, in]
        dw: addWeightGradient(flags, transposeG, g, xc, dw),
        ...(dbPart === undefined
          ? {}
          : { db: db === undefined ? dbPart : (tf.add(db, dbPart) as tf.Tensor1D) }),
      };
    });
    if (dw !== undefined) dw.dispose();
    if (db !== undefined) db.dispose();
    losses.push(part.loss);
    dxs.push(part.dx);
    dw = part.dw;
    db = part.db;
  }
  weightT?.dispose();
  const loss = tf.mean(losses.length === 1 ? losses[0]! : tf.concat(losses)) as tf.Scalar;
  const dx = losses.length === 1 ? dxs[0]! : (tf.concat(dxs) as tf.Tensor2D);
  if (losses.length > 1) tf.dispose([...losses, ...dxs]);
  // dwT [in, classes] → [classes, in]
  const dwOut = flags || transposeG ? dw! : (dw!.transpose() as tf.Tensor2D);
  if (dwOut !== dw) dw!.dispose();
  return { loss, dx, dw: dwOut, db };
}
