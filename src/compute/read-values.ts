/**
 * Reading a tensor's values: into memory the caller owns, copied once (`ownedFloat32`), or in
 * place for the length of a callback (`withValues`). The wasm backend's
 * `dataSync` already returns a copy (its heap is sliced out); the cpu backend returns its own
 * storage, which a caller keeping the array must copy. Copying unconditionally doubled the
 * transient memory of a checkpoint at WT103 size (Adam's two 92 MiB moments of the embedding
 * became four until the garbage collector ran).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * `t`'s values as a Float32Array nothing else holds.
 * @param t a float32 tensor of any shape (not disposed)
 */
export function ownedFloat32(t: tf.Tensor): Float32Array {
  const values = t.dataSync() as Float32Array;
  return tf.getBackend() === 'wasm' ? values : Float32Array.from(values);
}

/**
 * Runs `use` on `t`'s values without copying them where the backend allows: on wasm a view of its
 * heap, on cpu its own storage. The values are valid only while `use` runs (training overwrites
 * them; a wasm allocation can move the heap): `use` must not keep them nor run TF.js operations.
 * A checkpoint at WT103 size is written this way without a copy of the weights and Adam's moments
 * (io/tensors.ts TensorReader).
 * @param t a float32 or int32 tensor (not disposed)
 */
export function withValues<T>(t: tf.Tensor, use: (values: Float32Array | Int32Array) => T): T {
  if (t.dtype !== 'float32' && t.dtype !== 'int32')
    throw new Error(`cannot read a ${t.dtype} tensor's values`);
  const values =
    tf.getBackend() === 'wasm' ? (tf.backend() as BackendWasm).typedArrayFromHeap(t) : t.dataSync();
  return use(values as Float32Array | Int32Array);
}
