/**
 * fastai's `match_embeds` (fastai/text/learner.py): adapts a pretrained language model's weights to a
 * new vocabulary. A new-vocab token found in the old vocab keeps its embedding row and decoder
 * bias; any other token gets the mean row and the mean bias (fastbook's prose says "random";
 * fastai's code uses the mean, and so do we).
 */
import { float32Tensor, toFloat32, type TensorMap } from '../io/tensors.js';
import { UlmfitError } from '../errors.js';
import { VOCAB_DEFAULTS } from '../config/training.js';

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
export function matchEmbeds(
  weights: TensorMap,
  oldItos: readonly string[],
  newItos: readonly string[],
): MatchEmbedsResult {
  const embedding = weights.get(EMBEDDING);
  if (!embedding || embedding.shape.length !== 2) {
    throw new UlmfitError(
      'E_MODEL_MISMATCH',
      `the pretrained weights have no ${EMBEDDING} matrix`,
      'pass a language model or encoder directory',
    );
  }
  const [oldSize, emb] = embedding.shape as [number, number];
  if (oldSize !== oldItos.length) {
    throw new UlmfitError(
      'E_MODEL_MISMATCH',
      `the pretrained embedding has ${oldSize} rows but its vocab has ${oldItos.length} tokens`,
      'the model directory is damaged',
    );
  }
  const oldRows = toFloat32(embedding);
  const meanRow = new Float32Array(emb);
  for (let r = 0; r < oldSize; r++) for (let c = 0; c < emb; c++) meanRow[c]! += oldRows[r * emb + c]!;
  for (let c = 0; c < emb; c++) meanRow[c]! /= oldSize;

  const biasTensor = weights.get(DECODER_BIAS);
  const oldBias = biasTensor ? toFloat32(biasTensor) : undefined;
  const meanBias = oldBias ? oldBias.reduce((a, b) => a + b, 0) / oldBias.length : 0;

  const oldIndex = new Map<string, number>();
  oldItos.forEach((token, i) => {
    if (!oldIndex.has(token)) oldIndex.set(token, i);
  });
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

/** fastai's largest vocab (`max_vocab`): the union below never grows past it. */
export const MAX_VOCAB: number = VOCAB_DEFAULTS.maxVocab;

export interface AppendedVocab {
  weights: TensorMap;
  itos: string[];
  /** Tokens appended from the pretrained vocab. */
  added: number;
}

/** Indices into `pretrainedItos` of the tokens `appendPretrainedVocab` appends, in pretrained order. */
export function pretrainedTokensToAppend(
  itos: readonly string[],
  pretrainedItos: readonly string[],
  maxVocab = MAX_VOCAB,
): number[] {
  const present = new Set(itos);
  const appended: number[] = [];
  for (let i = 0; i < pretrainedItos.length && itos.length + appended.length < maxVocab; i++) {
    const token = pretrainedItos[i]!;
    if (present.has(token) || token.startsWith('xxfake')) continue;
    present.add(token);
    appended.push(i);
  }
  return appended;
}

/**
 * The fine-tuned model's vocab followed by the pretrained model's other tokens, with their
 * pretrained embedding rows and decoder biases (finetune-lm's encoder/ is made with it). fastai keeps only the fine-tuning corpus's tokens
 * (min_freq 3), so on a small corpus every word that corpus lacks becomes xxunk downstream, though
 * the pretrained model had learned it: 11% of a held-out Brown test set's tokens under a 150k-word
 * corpus's vocab, against 5% under the pretrained one. The rows appended here are the pretrained
 * model's own, untouched by fine-tuning; the fine-tuned rows and every id before them stay as they
 * were, so the corpus, the checkpoint and resume are unaffected. Padding tokens (`xxfake`) are not
 * appended; the total stays within `maxVocab` (or the fine-tuned size, if that is larger).
 *
 * @param weights a fine-tuned LM state dict: `0.encoder.weight` `[itos.length, emb]`, optionally
 *   `1.decoder.bias` `[itos.length]` and the aliases of the embedding
 * @param pretrained the pretrained LM's state dict, `0.encoder.weight` `[pretrainedItos.length, emb]`
 * @returns the state dict with the embedding `[itos.length + added, emb]` and bias `[itos.length + added]`
 */
export function appendPretrainedVocab(
  weights: TensorMap,
  itos: readonly string[],
  pretrained: TensorMap,
  pretrainedItos: readonly string[],
  maxVocab = MAX_VOCAB,
): AppendedVocab {
  const embedding = weights.get(EMBEDDING);
  const pretrainedEmbedding = pretrained.get(EMBEDDING);
  if (!embedding || !pretrainedEmbedding || embedding.shape[1] !== pretrainedEmbedding.shape[1]) {
    throw new UlmfitError(
      'E_MODEL_MISMATCH',
      'the fine-tuned and pretrained embeddings differ in width',
      'pass the pretrained model this run was fine-tuned from',
    );
  }
  const emb = embedding.shape[1]!;
  const appended = pretrainedTokensToAppend(itos, pretrainedItos, maxVocab);
  if (appended.length === 0) return { weights, itos: [...itos], added: 0 };
  const size = itos.length + appended.length;
  const rows = new Float32Array(size * emb);
  rows.set(toFloat32(embedding));
  const pretrainedRows = toFloat32(pretrainedEmbedding);
  appended.forEach((old, k) =>
    rows.set(pretrainedRows.subarray(old * emb, (old + 1) * emb), (itos.length + k) * emb),
  );
  const biasTensor = weights.get(DECODER_BIAS);
  const pretrainedBiasTensor = pretrained.get(DECODER_BIAS);
  const pretrainedBias = pretrainedBiasTensor ? toFloat32(pretrainedBiasTensor) : undefined;
  const out: TensorMap = new Map();
  for (const [name, tensor] of weights) {
    if (name === EMBEDDING || EMBEDDING_ALIASES.includes(name)) {
      out.set(name, float32Tensor([size, emb], name === EMBEDDING ? rows : rows.slice()));
    } else if (name === DECODER_BIAS && biasTensor) {
      const bias = new Float32Array(size);
      bias.set(toFloat32(biasTensor));
      appended.forEach((old, k) => {
        bias[itos.length + k] = pretrainedBias ? pretrainedBias[old]! : 0;
      });
      out.set(name, float32Tensor([size], bias));
    } else {
      out.set(name, tensor);
    }
  }
  return {
    weights: out,
    itos: [...itos, ...appended.map((i) => pretrainedItos[i]!)],
    added: appended.length,
  };
}
