/**
 * fastai's `match_embeds` (fastai/text/learner.py): adapts a pretrained language model's weights to a
 * new vocabulary. A new-vocab token found in the old vocab keeps its embedding row and decoder
 * bias; any other token gets the mean row and the mean bias (fastbook's prose says "random";
 * fastai's code uses the mean, and so do we).
 */
import { float32Tensor, toFloat32, type TensorMap } from '../io/tensors.js';
import { UlmfitError } from '../errors.js';

export interface MatchEmbedsResult {
  weights: TensorMap;
  /** New-vocab tokens that were in the old vocab. */
  found: number;
}

const EMBEDDING = '0.encoder.weight';
const EMBEDDING_ALIASES = ['0.encoder_dp.emb.weight', '1.decoder.weight'];
const DECODER_BIAS = '1.decoder.bias';

/**
 * @param weights an LM state dict whose `0.encoder.weight` is `[oldItos.length, emb]`
 * @returns the same tensors with the embedding `[newItos.length, emb]` (aliases rewritten when
 *   present) and the decoder bias `[newItos.length]`
 */
export function matchEmbeds(weights: TensorMap, oldItos: readonly string[], newItos: readonly string[]): MatchEmbedsResult {
  const embedding = weights.get(EMBEDDING);
  if (!embedding || embedding.shape.length !== 2) {
    throw new UlmfitError('E_MODEL_MISMATCH', `the pretrained weights have no ${EMBEDDING} matrix`, 'pass a language model or encoder directory');
  }
  const [oldSize, emb] = embedding.shape as [number, number];
  if (oldSize !== oldItos.length) {
    throw new UlmfitError('E_MODEL_MISMATCH', `the pretrained embedding has ${oldSize} rows but its vocab has ${oldItos.length} tokens`, 'the model directory is damaged');
  }
  const oldRows = toFloat32(embedding);
  const meanRow = new Float32Array(emb);
  for (let r = 0; r < oldSize; r++) for (let c = 0; c < emb; c++) meanRow[c]! += oldRows[r * emb + c]!;
  for (let c = 0; c < emb; c++) meanRow[c]! /= oldSize;

  const biasTensor = weights.get(DECODER_BIAS);
  const oldBias = biasTensor ? toFloat32(biasTensor) : undefined;
  const meanBias = oldBias ? oldBias.reduce((a, b) => a + b, 0) / oldBias.length : 0;

  const oldIndex = new Map<string, number>();
  oldItos.forEach((token, i) => { if (!oldIndex.has(token)) oldIndex.set(token, i); });
  const rows = new Float32Array(newItos.length * emb);
  const bias = new Float32Array(newItos.length);
  let found = 0;
  newItos.forEach((token, i) => {
    const old = oldIndex.get(token);
    if (old === undefined) {
      rows.set(meanRow, i * emb);
      bias[i] = meanBias;
    } else {
      found += 1;
      rows.set(oldRows.subarray(old * emb, (old + 1) * emb), i * emb);
      bias[i] = oldBias ? oldBias[old]! : 0;
    }
  });

  const out: TensorMap = new Map();
  for (const [name, tensor] of weights) {
    if (name === EMBEDDING || EMBEDDING_ALIASES.includes(name)) {
      out.set(name, float32Tensor([newItos.length, emb], name === EMBEDDING ? rows : rows.slice()));
    } else if (name === DECODER_BIAS && oldBias) {
      out.set(name, float32Tensor([newItos.length], bias));
    } else {
      out.set(name, tensor);
    }
  }
  return { weights: out, found };
}
