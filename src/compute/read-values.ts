/**
 * Reading a tensor's values into memory the caller owns, copied once. The wasm backend's
 * `dataSync` already returns a copy (its heap is sliced out); the cpu backend returns its own
 * storage, which a caller keeping the array must copy. Copying unconditionally doubled the
 * transient memory of a checkpoint at WT103 size (Adam's two 92 MiB moments of the embedding
 * became four until the garbage collector ran).
 */
import * as tf from '@tensorflow/tfjs';

/**
 * `t`'s values as a Float32Array nothing else holds.
 * @param t a float32 tensor of any shape (not disposed)
 */
export function ownedFloat32(t: tf.Tensor): Float32Array {
  const values = t.dataSync() as Float32Array;
  return tf.getBackend() === 'wasm' ? values : Float32Array.from(values);
}
