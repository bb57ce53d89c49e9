/**
 * The model's tensor helpers. Its operations with a gradient (linear, crossEntropy, lstmLayer) live
 * in the compute layer (src/compute/), which picks their implementation per backend.
 */
import * as tf from '@tensorflow/tfjs';

/** The loss the models train with; infer/ scores text with it through this module. */
export { crossEntropy } from '../compute/cross-entropy.js';

/**
 * Row-major `[bs, seqLen]` ids (what the data loaders yield) as a time-major `[seqLen, bs]` int32
 * tensor (what the recurrent code consumes). The transpose is done on the typed array.
 */
export function timeMajorIds(ids: Int32Array, bs: number, seqLen: number): tf.Tensor2D {
  if (ids.length !== bs * seqLen) {
    throw new Error(`timeMajorIds: ${ids.length} ids do not fill [${bs}, ${seqLen}]`);
  }
  const out = new Int32Array(bs * seqLen);
  for (let r = 0; r < bs; r++) {
    for (let t = 0; t < seqLen; t++) out[t * bs + r] = ids[r * seqLen + t]!;
  }
  return tf.tensor2d(out, [seqLen, bs], 'int32');
}
