/**
 * Between TF.js variables and the io layer's plain tensors: what every command that saves or
 * loads a model uses, so weight naming and alias handling live in one place.
 */
import * as tf from '@tensorflow/tfjs';
import { float32Tensor, int32Tensor, toFloat32, type TensorMap } from '../io/tensors.js';

/**
 * A model's weights as plain float32 tensors, one entry per distinct variable: tied aliases
 * (`0.encoder_dp.emb.weight`, a tied `1.decoder.weight`) are stored once under the first name,
 * which is how fastai's `load_pretrained` finds them too. int32 variables stay int32. Reads the
 * values synchronously.
 * @param named fastai state-dict name → variable, in state-dict order
 */
export function weightsToTensorMap(named: Map<string, tf.Variable>): TensorMap {
  const seen = new Set<tf.Variable>();
  const out: TensorMap = new Map();
  for (const [name, variable] of named) {
    if (seen.has(variable)) continue;
    seen.add(variable);
    // BatchNorm's num_batches_tracked is an int32 counter: stored as int32, not its bits as float32.
    const shape = [...variable.shape];
    out.set(
      name,
      variable.dtype === 'int32'
        ? int32Tensor(shape, variable.dataSync() as Int32Array)
        : float32Tensor(shape, variable.dataSync() as Float32Array),
    );
  }
  return out;
}

/** io tensors (any float dtype) → tf float32 tensors. The caller disposes them. */
export function tensorMapToTf(weights: TensorMap): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, raw] of weights) out.set(name, tf.tensor(toFloat32(raw), raw.shape, 'float32'));
  return out;
}

/** Runs `load` with tf copies of `weights`, freeing the copies whatever happens. */
export function withTfWeights<T>(weights: TensorMap, load: (tensors: Map<string, tf.Tensor>) => T): T {
  const tensors = tensorMapToTf(weights);
  try {
    return load(tensors);
  } finally {
    tf.dispose([...tensors.values()]);
  }
}
