import * as tf from '@tensorflow/tfjs';

/**
 * Tensors derived from weights (transposes, scaled copies) for inference, reused until one of
 * their source weights is reassigned (TF.js gives a variable a new dataId on every assign).
 * Reusing the same tensor also lets XNNPACK reuse its packed copy of a matmul operand, which
 * matters most when generating one token at a time. The owner must `dispose()` the cache.
 */
export class DerivedWeightCache {
  private readonly entries = new Map<string, { sources: object[]; values: tf.Tensor[] }>();

  /**
   * @param key names the derived tensors (one entry per key)
   * @param sources the weights they are computed from
   * @param make computes them (run in a tidy; the results are kept out of every scope)
   */
  get(key: string, sources: tf.Tensor[], make: () => tf.Tensor[]): tf.Tensor[] {
    const hit = this.entries.get(key);
    if (
      hit !== undefined &&
      hit.sources.length === sources.length &&
      hit.sources.every((id, i) => id === sources[i]!.dataId)
    ) {
      return hit.values;
    }
    if (hit !== undefined) tf.dispose(hit.values);
    const values = tf.tidy(make).map((t) => tf.keep(t));
    this.entries.set(key, { sources: sources.map((t) => t.dataId), values });
    return values;
  }

  dispose(): void {
    for (const { values } of this.entries.values()) tf.dispose(values);
    this.entries.clear();
  }
}
