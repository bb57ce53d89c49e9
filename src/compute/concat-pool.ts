/**
 * fastai's masked concat pooling, `[last, max, mean]` over each row's non-pad positions, as an
 * operation (registry.ts):
 *
 * - `js` (the wasm and cpu backends): one pass over the values in JavaScript, and a hand-written
 *   gradient that is one more. The TF.js ops (a broadcast `where`, a `-Infinity` fill, a max over
 *   the outer axis, which TF.js transposes for, a gather, and their gradients) were a large share
 *   of a classifier's training step at `en`'s size, more the wider the pooled features: `node
 *   bench/run.js pooling` times whole steps with each (docs/benchmarks.md);
 * - `tfjs` (every backend; the only one on tensorflow, where the values live on the device):
 *   TF.js ops.
 *
 * Max's gradient goes to the first position holding the maximum, as PyTorch's `max(dim)` (TF.js's
 * own gives it to every position equal to it: the two differ only on exact ties, e.g. a word
 * repeated under `--pool emb+last`). Sums are accumulated in float64 by `js` and in float32 by
 * TF.js: the means differ in the last bits.
 */
import * as tf from '@tensorflow/tfjs';
import { customOp } from './custom-op.js';
import { withValues } from './read-values.js';
import { Operation } from './registry.js';

/**
 * @param output `[T, bs, F]` time-major (not disposed)
 * @param padMask `[T, bs]` row-major, 1 = pad (at least one non-pad position per row; a row with
 *   none pools its first position as "last", -Infinity as max and NaN as mean)
 * @returns `[bs, 3F]`: `[last, max, mean]`
 */
type ConcatPoolFn = (output: tf.Tensor3D, padMask: Uint8Array) => tf.Tensor2D;

export const maskedConcatPoolOp = new Operation<ConcatPoolFn>('maskedConcatPool')
  .register({
    name: 'js',
    backends: ['wasm', 'cpu'],
    ready: () => true,
    accepts: (output) => output.dtype === 'float32',
    run: poolWithLoops,
  })
  .register({ name: 'tfjs', ready: () => true, run: poolWithOps });

/** fastai's `masked_concat_pool` with "last" at each row's real last token (see maskedConcatPoolOp). */
export const maskedConcatPool: ConcatPoolFn = maskedConcatPoolOp.run;

/** Where each row's pooled values come from: positions along T. */
interface PoolIndex {
  /** Non-pad positions per row. */
  lengths: Int32Array;
  /** The last non-pad position per row (0 for a row of pads). */
  last: Int32Array;
  /** `[bs, F]` the first position of each feature's maximum. */
  argmax: Int32Array;
}

function poolWithLoops(output: tf.Tensor3D, padMask: Uint8Array): tf.Tensor2D {
  const [steps, bs, width] = output.shape;
  const pool = customOp(([x]) => {
    const pooled = new Float32Array(bs * 3 * width);
    const index: PoolIndex = {
      lengths: new Int32Array(bs),
      last: new Int32Array(bs),
      argmax: new Int32Array(bs * width),
    };
    withValues(x!, (values) => poolRows(values as Float32Array, padMask, steps, bs, width, pooled, index));
    return {
      value: tf.tensor2d(pooled, [bs, 3 * width]),
      gradFunc: (dy: tf.Tensor) => {
        const grad = new Float32Array(steps * bs * width);
        withValues(dy, (dPooled) =>
          unpoolRows(dPooled as Float32Array, padMask, steps, bs, width, index, grad),
        );
        return [tf.tensor3d(grad, [steps, bs, width])];
      },
    };
  });
  return pool(output) as tf.Tensor2D;
}

/** The forward pass over `values` (`[T, bs, F]`) into `pooled` (`[bs, 3F]`), recording `index`. */
function poolRows(
  values: Float32Array,
  padMask: Uint8Array,
  steps: number,
  bs: number,
  width: number,
  pooled: Float32Array,
  index: PoolIndex,
): void {
  const sum = new Float64Array(width);
  const max = new Float32Array(width);
  for (let r = 0; r < bs; r++) {
    sum.fill(0);
    max.fill(-Infinity);
    const argmax = index.argmax.subarray(r * width, (r + 1) * width);
    argmax.fill(0);
    let length = 0;
    let last = 0;
    for (let t = 0; t < steps; t++) {
      if (padMask[t * bs + r] !== 0) continue;
      length++;
      last = t;
      const at = (t * bs + r) * width;
      for (let f = 0; f < width; f++) {
        const v = values[at + f]!;
        sum[f]! += v;
        if (v > max[f]!) {
          max[f] = v;
          argmax[f] = t;
        }
      }
    }
    index.lengths[r] = length;
    index.last[r] = last;
    const out = r * 3 * width;
    pooled.set(values.subarray((last * bs + r) * width, (last * bs + r + 1) * width), out);
    pooled.set(max, out + width);
    for (let f = 0; f < width; f++) pooled[out + 2 * width + f] = sum[f]! / length;
  }
}

/** The gradient: `dPooled` (`[bs, 3F]`) back to the positions each pooled value came from. */
function unpoolRows(
  dPooled: Float32Array,
  padMask: Uint8Array,
  steps: number,
  bs: number,
  width: number,
  index: PoolIndex,
  grad: Float32Array,
): void {
  for (let r = 0; r < bs; r++) {
    const d = r * 3 * width;
    const last = (index.last[r]! * bs + r) * width;
    for (let f = 0; f < width; f++) grad[last + f]! += dPooled[d + f]!;
    for (let f = 0; f < width; f++)
      grad[(index.argmax[r * width + f]! * bs + r) * width + f]! += dPooled[d + width + f]!;
    const length = index.lengths[r]!;
    if (length === 0) continue;
    for (let t = 0; t < steps; t++) {
      if (padMask[t * bs + r] !== 0) continue;
      const at = (t * bs + r) * width;
      for (let f = 0; f < width; f++) grad[at + f]! += dPooled[d + 2 * width + f]! / length;
    }
  }
}

function poolWithOps(output: tf.Tensor3D, padMask: Uint8Array): tf.Tensor2D {
  const [steps, bs, width] = output.shape;
  const lengths = new Float32Array(bs);
  const lastIndex = new Int32Array(bs);
  for (let r = 0; r < bs; r++) {
    lastIndex[r] = r; // a row with no text pools its first position (never happens after validation)
    for (let t = 0; t < steps; t++) {
      if (padMask[t * bs + r] === 0) {
        lengths[r]! += 1;
        lastIndex[r] = t * bs + r;
      }
    }
  }
  return tf.tidy(() => {
    const isPad = tf.tensor3d(padMask, [steps, bs, 1], 'bool');
    const zeros = tf.zerosLike(output);
    const sum = tf.sum(tf.where(isPad, zeros, output), 0); // [bs, F]
    const mean = tf.div(sum, tf.tensor2d(lengths, [bs, 1]));
    const max = tf.max(tf.where(isPad, tf.fill([steps, bs, width], -Infinity), output), 0);
    const last = tf.gather(output.reshape([steps * bs, width]), tf.tensor1d(lastIndex, 'int32'));
    return tf.concat([last, max, mean], 1) as tf.Tensor2D;
  });
}
