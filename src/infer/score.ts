/**
 * Scoring text with a language model: how well it predicts each next token of one document
 * (mean cross-entropy, perplexity). Each document starts from a fresh (zero) state at its first
 * token, so a score depends on that document alone; `ulmfit evaluate` instead scores a
 * concatenated stream of documents (each one carries the state of the one before), so its
 * numbers differ slightly.
 */
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../model/awd-lstm.js';
import { crossEntropy } from '../model/ops.js';

/** One document's score. */
export interface TokenScore {
  /** Summed next-token cross-entropy (natural log) over `count` predicted tokens. */
  lossSum: number;
  /** Tokens predicted: every token after the first (0 for a one-token document). */
  count: number;
}

/** fastai's default bptt: positions fed per forward pass (bounds the `[len, vocab]` logits). */
const SCORE_CHUNK = 72;

/**
 * The next-token cross-entropy of `ids` (eval mode): each position predicts the next one. The
 * model is reset before and after (its hidden state is used in between), so callers that share
 * the model must not interleave calls.
 * @param ids [n] token ids in the model's own direction (reversed for a backwards model)
 */
export async function scoreIds(lm: LanguageModel, ids: Int32Array, chunk = SCORE_CHUNK): Promise<TokenScore> {
  const count = Math.max(0, ids.length - 1);
  let lossSum = 0;
  lm.reset();
  try {
    for (let start = 0; start < count; start += chunk) {
      const len = Math.min(chunk, count - start);
      const logits = lm.forwardLogits(ids.subarray(start, start + len), 1, len); // [1, len, vocab]
      const sum = tf.tidy(() => {
        const targets = tf.tensor1d(ids.subarray(start + 1, start + 1 + len), 'int32'); // [len]
        return tf.sum(crossEntropy(logits.reshape([len, lm.vocabSize]) as tf.Tensor2D, targets));
      });
      logits.dispose();
      try {
        // Awaited, not dataSync: a long document lets other work run between chunks.
        lossSum += (await sum.data())[0]!;
      } finally {
        sum.dispose();
      }
    }
  } finally {
    lm.reset();
  }
  return { lossSum, count };
}
