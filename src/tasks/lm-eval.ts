/**
 * Scores a language model on text: valid loss, next-token accuracy and perplexity, exactly as a
 * training run's validation pass computes them (fastai `validate`, dropout off, the same LM
 * stream geometry).
 *
 * `vocabFrom` scores the model the way fine-tuning would start from it: in the vocab that
 * `finetune-lm` builds from that text, with fastai's match_embeds (tokens the model never saw get
 * the mean embedding). That is the honest "before fine-tuning" number: same vocab, same tokens,
 * same batches as the fine-tuned model's validation.
 */
import { initBackend } from '../backend.js';
import type { LibraryOptions } from '../config/schema.js';
import type { EVALUATE } from '../config/inference.js';
import { LmStream } from '../data/lm-stream.js';
import { assertFinite, UlmfitError } from '../errors.js';
import { readModelDir, resolveModelDir } from '../io/artifact.js';
import { LanguageModel, type AwdLstmConfig } from '../model/awd-lstm.js';
import { withTfWeights } from '../model/persist.js';
import { matchEmbeds } from '../model/transfer.js';
import { Rng } from '../random.js';
import type { TokenizerSettings } from '../text/settings.js';
import { Learner } from '../train/learner.js';
import { corpusInputOptions, loadCorpusInput } from './corpus-input.js';
import { LM_DEFAULTS, TRAINING_DEFAULTS } from '../config/training.js';

/**
 * The options of `ulmfit evaluate` as config/inference.ts declares them (LibraryOptions types them),
 * and the library's own: the vocab to score in and how its text is tokenized.
 */
export interface LmEvalOptions extends LibraryOptions<typeof EVALUATE> {
  /** The text to score (any input `finetune-lm --valid` takes). */
  inputs: string[];
  /** Score in the vocab built from these inputs (as `finetune-lm <vocabFrom>` would); default the model's own. */
  vocabFrom?: string[] | undefined;
  /** Vocab options for `vocabFrom` (pass what the fine-tuning run gets). */
  minFreq?: number | undefined;
  maxVocab?: number | undefined;
  workers?: number | undefined;
  noCache?: boolean | undefined;
  cacheDir?: string | undefined;
}

export interface LmEvalResult {
  loss: number;
  accuracy: number;
  perplexity: number;
  /** Tokens scored. */
  tokens: number;
  /** Share of the scored text's tokens that are xxunk (out of the vocab: the model predicts the class, not the word). */
  unknownRate: number;
  vocabSize: number;
  /** With `vocabFrom`: tokens of that vocab found in the model's vocab. */
  transferFound?: number | undefined;
}

export async function evaluateLanguageModel(options: LmEvalOptions): Promise<LmEvalResult> {
  const loaded = readModelDir(resolveModelDir(options.model, { prefer: 'lm' }), { kind: ['lm'] });
  const settings = loaded.tokenizer as unknown as TokenizerSettings;
  const tokenizeOptions = corpusInputOptions(settings, options, loaded.spmModel);
  let itos = loaded.vocab;
  if (options.vocabFrom) {
    const source = await loadCorpusInput(options.vocabFrom, {
      ...tokenizeOptions,
      requireSettings: settings,
    });
    itos = [...source.corpus.vocab.itos];
    source.close();
  }
  const same = itos.length === loaded.vocab.length && itos.every((token, i) => token === loaded.vocab[i]);
  const matched = same
    ? { weights: loaded.weights, found: itos.length }
    : matchEmbeds(loaded.weights, loaded.vocab, itos);

  const valid = await loadCorpusInput(options.inputs, { ...tokenizeOptions, vocab: itos });
  try {
    const docs = Array.from({ length: valid.corpus.numDocs }, (_, i) => valid.corpus.doc(i));
    const unk = itos.indexOf('xxunk');
    let unknown = 0;
    let total = 0;
    for (const doc of docs) {
      total += doc.length;
      for (let i = 0; i < doc.length; i++) if (doc[i] === unk) unknown++;
    }
    if (total < 2) {
      throw new UlmfitError(
        'E_INPUT_EMPTY',
        `the text to score has ${total} token${total === 1 ? '' : 's'}; a language model needs at least 2 (one to predict from, one to predict)`,
        'give more text',
      );
    }
    // Fewer streams on a short text, so that every token is scored: the score barely depends on bs,
    // while a bs above the token count would leave no batch at all.
    const bs = Math.min(options.bs ?? LM_DEFAULTS.bs, total - 1);
    const stream = new LmStream(docs, {
      bs,
      bptt: options.bptt ?? TRAINING_DEFAULTS.bptt,
      backwards: loaded.meta.backwards,
    });
    await initBackend(options.backend ?? 'auto');
    const rng = new Rng(0); // eval mode: nothing random is drawn
    const model = new LanguageModel(itos.length, loaded.meta.arch as unknown as AwdLstmConfig, { rng });
    try {
      withTfWeights(matched.weights, (tensors) => model.loadWeights(tensors));
      const learner = new Learner(model, { train: stream, rng });
      try {
        const result = learner.validate(stream);
        assertFinite(
          [result.loss],
          'the evaluation loss is',
          'the model overflowed on this text; please report it',
        );
        return {
          loss: result.loss,
          accuracy: result.accuracy,
          perplexity: result.perplexity,
          tokens: stream.totalTokens,
          vocabSize: itos.length,
          unknownRate: total > 0 ? unknown / total : 0,
          ...(options.vocabFrom ? { transferFound: matched.found } : {}),
        };
      } finally {
        learner.dispose();
      }
    } finally {
      model.dispose();
    }
  } finally {
    valid.close();
  }
}
