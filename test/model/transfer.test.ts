import { describe, expect, it } from 'vitest';
import { float32Tensor, toFloat32, type TensorMap } from '../../src/io/tensors.js';
import { matchEmbeds } from '../../src/model/transfer.js';

function lmWeights(): TensorMap {
  return new Map([
    ['0.encoder.weight', float32Tensor([3, 2], new Float32Array([1, 2, 3, 4, 5, 6]))],
    ['0.encoder_dp.emb.weight', float32Tensor([3, 2], new Float32Array([1, 2, 3, 4, 5, 6]))],
    ['0.rnns.0.module.bias_ih_l0', float32Tensor([1], new Float32Array([7]))],
    ['1.decoder.bias', float32Tensor([3], new Float32Array([0.5, 1, 3]))],
  ]);
}

describe('matchEmbeds (fastai match_embeds)', () => {
  it("maps new vocab ['a','c','d','b'] from old ['a','b','c'] to rows old[0], old[2], mean, old[1]", () => {
    const { weights, found } = matchEmbeds(lmWeights(), ['a', 'b', 'c'], ['a', 'c', 'd', 'b']);
    expect(found).toBe(3);
    const emb = weights.get('0.encoder.weight')!;
    expect(emb.shape).toEqual([4, 2]);
    expect(Array.from(toFloat32(emb))).toEqual([1, 2, 5, 6, 3, 4, 3, 4]);
    expect(Array.from(toFloat32(weights.get('0.encoder_dp.emb.weight')!))).toEqual([1, 2, 5, 6, 3, 4, 3, 4]);
    expect(Array.from(toFloat32(weights.get('1.decoder.bias')!))).toEqual([0.5, 3, 1.5, 1]);
    expect(Array.from(toFloat32(weights.get('0.rnns.0.module.bias_ih_l0')!))).toEqual([7]);
  });

  it('refuses an embedding whose rows disagree with the old vocab', () => {
    expect(() => matchEmbeds(lmWeights(), ['a', 'b'], ['a'])).toThrow(/3 rows but its vocab has 2/);
  });
});
