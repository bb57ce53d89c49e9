/**
 * Between TF.js variables and the io layer's plain tensors: what every command that saves or
 * loads a model uses, so weight naming and alias handling live in one place.
 */
import * as tf from '@tensorflow/tfjs';
import { withValues } from '../compute/read-values.js';
import { materialize, toFloat32, type TensorMap, type TensorReader } from '../io/tensors.js';

/**
 * A model's weights as plain float32 tensors, one entry per distinct variable: tied aliases
 * (`0.encoder_dp.emb.weight`, a tied `1.decoder.weight`) are stored once under the first name,
 * which is how fastai's `load_pretrained` finds them too. int32 variables stay int32. Reads the
 * values synchronously.
 * @param named fastai state-dict name → variable, in state-dict order
 */
export function weightsToTensorMap(named: Map<string, tf.Variable>): TensorMap {
  return materialize(weightReaders(named));
}

/**
 * The same tensors as `weightsToTensorMap`, each read from the backend only when written
 * (io/artifact.ts writeModelDir, writeCheckpointDir): saving a run's epoch at WT103 size holds
 * one tensor's values at a time, and on wasm not even a copy of those. Read them before training
 * changes the variables.
 */
export function weightReaders(named: Map<string, tf.Variable>): Map<string, TensorReader> {
  const seen = new Set<tf.Variable>();
  const out = new Map<string, TensorReader>();
  for (const [name, variable] of named) {
    if (seen.has(variable)) continue;
    seen.add(variable);
    out.set(name, tensorReader(variable));
  }
  return out;
}

/** A reader of a float32 or int32 tensor's values (compute/read-values.ts withValues). */
export function tensorReader(t: tf.Tensor): TensorReader {
  const shape = [...t.shape];
  if (t.dtype === 'int32')
    return {
      dtype: 'int32',
      shape,
      read: (use) => withValues(t, (data) => use({ dtype: 'int32', shape, data: data as Int32Array })),
    };
  return {
    dtype: 'float32',
    shape,
    read: (use) => withValues(t, (data) => use({ dtype: 'float32', shape, data: data as Float32Array })),
  };
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
