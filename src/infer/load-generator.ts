import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../backend.js';
import { UlmfitError } from '../errors.js';
import { readModelDir, readModelMeta, resolveModelDir } from '../io/artifact.js';
import { toFloat32, type TensorMap } from '../io/tensors.js';
import { LanguageModel, type AwdLstmConfig } from '../model/awd-lstm.js';
import { detokenize } from '../text/detokenize.js';
import type { TokenizerSettings } from '../text/settings.js';
import { createTokenizer } from '../text/tokenizer.js';
import type { GenerationTokenizer, GenerationVocab, NextTokenModel } from './generate.js';
import { scoreIds, type TokenScore } from './score.js';

/** Everything `generate` needs, loaded from a language-model directory. */
export interface LoadedGenerator {
  model: NextTokenModel;
  tokenizer: GenerationTokenizer;
  vocab: GenerationVocab;
  /** The model was trained on reversed text (meta.json `backwards`). */
  backwards: boolean;
  /**
   * How well the model predicts `text`, token by token (infer/score.ts): tokenized with the
   * model's tokenizer, reversed for a backwards model. Uses the model's hidden state: do not
   * interleave with generation on the same model.
   */
  score(text: string): Promise<TokenScore>;
  /** Frees the model's tensors. */
  dispose(): void;
}

/**
 * Loads a language model for generation from a model directory or a run directory (its
 * model-best/, else model-last/). A classifier or encoder directory is refused (E_MODEL_DIR).
 */
export async function loadGenerator(path: string, backend: BackendName = 'auto'): Promise<LoadedGenerator> {
  const dir = resolveModelDir(path);
  const { kind } = readModelMeta(dir);
  if (kind !== 'lm') {
    throw new UlmfitError(
      'E_MODEL_DIR',
      `${dir} is ${kind === 'encoder' ? 'an' : 'a'} '${kind}' model; generating text needs a language model (kind 'lm')`,
      'pass a language-model directory, e.g. the model-best/ of a pretrain or finetune-lm run',
    );
  }
  const loaded = readModelDir(dir, { kind: ['lm'] });
  const settings = loaded.tokenizer as unknown as TokenizerSettings; // validated by createTokenizer
  const textTokenizer = await createTokenizer(settings, loaded.spmModel ? { spmModel: loaded.spmModel } : {});
  await initBackend(backend);
  const lm = new LanguageModel(loaded.vocab.length, loaded.meta.arch as unknown as AwdLstmConfig);
  const weights = toTfTensors(loaded.weights);
  try {
    lm.loadWeights(weights);
  } catch (error) {
    lm.dispose();
    throw error;
  } finally {
    tf.dispose([...weights.values()]);
  }
  lm.setTraining(false);
  const subword = settings.kind === 'subword';
  const stoi = new Map<string, number>();
  loaded.vocab.forEach((token, id) => {
    if (!stoi.has(token)) stoi.set(token, id);
  });
  const unkId = stoi.get('xxunk') ?? 0;
  return {
    model: languageModelAdapter(lm),
    tokenizer: {
      tokenize: (text) => textTokenizer.tokenize(text),
      detokenize: (tokens) => detokenize(tokens, { subword }),
    },
    vocab: { itos: loaded.vocab },
    backwards: loaded.meta.backwards,
    score: async (text) => {
      const ids = Int32Array.from(await textTokenizer.tokenize(text), (token) => stoi.get(token) ?? unkId);
      return scoreIds(lm, loaded.meta.backwards ? ids.reverse() : ids);
    },
    dispose: () => lm.dispose(),
  };
}

/**
 * The AWD-LSTM seen as a `NextTokenModel`: batch 1, eval mode, hidden state carried by the model
 * between calls. Every tensor is freed before returning; only plain arrays leave.
 */
export function languageModelAdapter(lm: LanguageModel): NextTokenModel {
  return {
    reset: () => lm.reset(),
    async nextLogits(ids: Int32Array): Promise<Float32Array> {
      const logits = lm.lastLogits(ids, 1, ids.length); // [1, vocab]
      try {
        return (await logits.data()) as Float32Array;
      } finally {
        logits.dispose();
      }
    },
  };
}

/** io tensors (float32 or float16) → tf tensors; the caller disposes them. */
function toTfTensors(weights: TensorMap): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, raw] of weights) out.set(name, tf.tensor(toFloat32(raw), raw.shape, 'float32'));
  return out;
}
