import { describe, expect, it } from 'vitest';
import { float32Tensor, toFloat32, type TensorMap } from '../../src/io/tensors.js';
import { appendPretrainedVocab, matchEmbeds } from '../../src/model/transfer.js';

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

describe('appendPretrainedVocab', () => {
  // Fine-tuned on vocab ['a', 'z'] (rows 10..13), from a pretrained model with ['a', 'b', 'xxfake', 'c'].
  const fineTuned = (): TensorMap =>
    new Map([
      ['0.encoder.weight', float32Tensor([2, 2], new Float32Array([10, 11, 12, 13]))],
      ['0.rnns.0.module.bias_ih_l0', float32Tensor([1], new Float32Array([9]))],
      ['1.decoder.bias', float32Tensor([2], new Float32Array([-1, -2]))],
    ]);
  const pretrained = (): TensorMap =>
    new Map([
      ['0.encoder.weight', float32Tensor([4, 2], new Float32Array([1, 2, 3, 4, 0, 0, 5, 6]))],
      ['1.decoder.bias', float32Tensor([4], new Float32Array([0.5, 1, 0, 3]))],
    ]);

  it("keeps the fine-tuned rows and ids, then appends the pretrained model's other tokens with their own rows", () => {
    const { weights, itos, added } = appendPretrainedVocab(fineTuned(), ['a', 'z'], pretrained(), [
      'a',
      'b',
      'xxfake',
      'c',
    ]);
    expect(itos).toEqual(['a', 'z', 'b', 'c']);
    expect(added).toBe(2);
    expect(weights.get('0.encoder.weight')!.shape).toEqual([4, 2]);
    expect(Array.from(toFloat32(weights.get('0.encoder.weight')!))).toEqual([10, 11, 12, 13, 3, 4, 5, 6]);
    expect(Array.from(toFloat32(weights.get('1.decoder.bias')!))).toEqual([-1, -2, 1, 3]);
    expect(Array.from(toFloat32(weights.get('0.rnns.0.module.bias_ih_l0')!))).toEqual([9]);
  });

  it('stops at maxVocab and changes nothing when every pretrained token is already there', () => {
    expect(
      appendPretrainedVocab(fineTuned(), ['a', 'z'], pretrained(), ['a', 'b', 'xxfake', 'c'], 3).itos,
    ).toEqual(['a', 'z', 'b']);
    const same = appendPretrainedVocab(fineTuned(), ['a', 'z'], pretrained(), ['a', 'z', 'xxfake', 'a']);
    expect(same.added).toBe(0);
    expect(Array.from(toFloat32(same.weights.get('0.encoder.weight')!))).toEqual([10, 11, 12, 13]);
  });
});
