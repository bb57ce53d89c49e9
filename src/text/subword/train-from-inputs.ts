/**
 * Trains the SentencePiece model of a corpus, as fastai's `SentencePieceTokenizer.setup` does:
 * every document after the pre-rules, one line per line of text, fastai's vocab size rule and
 * character coverage, the specials as user-defined pieces. The inputs are streamed once; lines
 * are sampled (reservoir, seeded) when there are more than `inputSentenceSize`.
 */
import { usageError } from '../../errors.js';
import { DocumentSource, resolveInputs, type SourceOptions } from '../../data/sources.js';
import type { SubwordSettings, TokenizerSettings } from '../settings.js';
import { FASTAI_MAX_VOCAB_SIZE, fastaiTrainerOptions, fastaiVocabSize, pySplit } from './defaults.js';
import { rulePreprocessor, SPM_MODEL_FILE } from './subword-tokenizer.js';
import { trainUnigramModel, type TrainProgress } from './trainer.js';
import { SentenceSampler } from './training-corpus.js';

/** SentencePiece skips longer lines (bytes), and so do we. */
const MAX_SENTENCE_LENGTH = 4192;
/** Lines kept for training by default; SentencePiece warns that more slows training down. */
export const DEFAULT_INPUT_SENTENCE_SIZE = 1_000_000;

export type SubwordTrainingProgress =
  | { stage: 'input'; docs: number; bytesRead: number; totalBytes: number | undefined }
  | (TrainProgress & { stage: TrainProgress['stage'] });

export interface TrainSubwordOptions extends SourceOptions {
  /** The rules (and lower-casing) applied before SentencePiece; `lang` picks the coverage. */
  settings: TokenizerSettings;
  /** Default: fastai's rule (a quarter of the unique words, multiple of 8, at most maxVocabSize). */
  vocabSize?: number;
  maxVocabSize?: number;
  /** Default: fastai's by language (0.99999 European, else 0.9998). */
  characterCoverage?: number;
  /** At most this many lines are trained on (default 1,000,000; 0: all). */
  inputSentenceSize?: number;
  seed?: number;
  onProgress?: (progress: SubwordTrainingProgress) => void;
}

export interface TrainedSubwordModel {
  /** The `.model` bytes. */
  model: Uint8Array;
  /** What tokenizer.json records (vocabSize: the size reached). */
  subword: SubwordSettings;
  /** The vocab size asked for (it may not be reached on a small corpus). */
  vocabSizeAsked: number;
  /** Lines trained on, and lines read. */
  sentences: number;
  lines: number;
}

export async function trainSubwordModelFromInputs(
  inputs: readonly string[],
  options: TrainSubwordOptions,
): Promise<TrainedSubwordModel> {
  const resolved = await resolveInputs(inputs);
  if (resolved.some((input) => input.kind === 'stdin')) {
    throw usageError(
      'training a subword model needs file inputs: stdin can be read only once',
      'save the text to a file first, or pass --spm-model with a trained model',
    );
  }
  const maxVocabSize = options.maxVocabSize ?? FASTAI_MAX_VOCAB_SIZE;
  const sampler = new SentenceSampler(
    options.inputSentenceSize ?? DEFAULT_INPUT_SENTENCE_SIZE,
    MAX_SENTENCE_LENGTH,
    options.seed ?? 42,
  );
  const preprocess = rulePreprocessor(options.settings);
  // fastai's vocab size rule counts unique words over all lines; past 4 × the cap (+3) the
  // answer is the cap, so counting stops there.
  const words = new Set<string>();
  const countWords = options.vocabSize === undefined;
  const enoughWords = 4 * maxVocabSize + 4;
  const source = new DocumentSource(resolved, options);
  for await (const batch of source.batches()) {
    for (const doc of batch) {
      for (const line of preprocess(doc.text).split('\n')) {
        sampler.add(line);
        if (countWords && words.size < enoughWords) for (const word of pySplit(line)) words.add(word);
      }
    }
    options.onProgress?.({
      stage: 'input',
      docs: source.numDocs,
      bytesRead: source.bytesRead,
      totalBytes: source.totalBytes,
    });
  }
  const vocabSizeAsked = options.vocabSize ?? fastaiVocabSize(words.size, maxVocabSize);
  const trainer = fastaiTrainerOptions({
    vocabSize: vocabSizeAsked,
    lang: options.settings.lang,
    ...(options.characterCoverage !== undefined ? { characterCoverage: options.characterCoverage } : {}),
  });
  const result = trainUnigramModel(sampler.sentences, {
    ...trainer,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return {
    model: result.model,
    subword: {
      vocabSize: result.vocabSizeReached,
      characterCoverage: trainer.characterCoverage!,
      modelFile: SPM_MODEL_FILE,
    },
    vocabSizeAsked,
    sentences: result.sentences,
    lines: sampler.linesRead,
  };
}
