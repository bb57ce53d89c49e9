/**
 * The NB-SVM baseline as a task: read labeled inputs exactly as `trainClassifier` does (the same
 * readers, the same tokenizer, the same validation split for the same seed), train the baseline
 * (src/baseline/) on the training side, score it on the validation side, and write its model
 * directory. `ulmfit baseline` is a thin wrapper.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BaselineValidation } from './ensemble-score.js';
import { evaluateNbsvm, saveNbsvm, trainNbsvmTokens, type NbsvmOptions } from '../baseline/index.js';
import { UlmfitError } from '../errors.js';
import { lockDir } from '../io/dir-lock.js';
import { MODEL_FILES } from '../io/artifact.js';
import { Rng } from '../random.js';
import { defaultTokenizerSettings } from '../text/settings.js';
import { labeledDocuments, type LabeledData, type LabeledDocs, type SplitOptions } from './labeled-data.js';
import { corpusInputOptions, loadCorpusInput, type CorpusInputOptions } from './corpus-input.js';
import type { Corpus } from '../text/corpus.js';
import type { LibraryOptions } from '../config/schema.js';
import { TRAINING_DEFAULTS, type BASELINE } from '../config/training.js';

/**
 * The options of `ulmfit baseline` as config/training.ts declares them (LibraryOptions types them),
 * with `--ngrams` and `--max-features` inside `nbsvm`, and the library's own.
 */
export interface BaselineTrainOptions extends Omit<
  LibraryOptions<typeof BASELINE>,
  'ngrams' | 'maxFeatures'
> {
  /** Labeled inputs: folders with a subfolder per label, CSV/TSV/JSONL with a label column, or a corpus dir. */
  inputs: string[];
  /**
   * After scoring on a validation share drawn from the labeled documents (--valid-pct), train the
   * saved model again on every labeled document: NB-SVM selects nothing on validation, so the held
   * out labels are only lost to it (train-classifier sets it; a validation set that was given, or
   * the data's own valid/ or test/ split, is never trained on).
   */
  refitOnAll?: boolean | undefined;
  /** The model's hyper-parameters (default DEFAULT_NBSVM_OPTIONS). */
  nbsvm?: Omit<NbsvmOptions, 'tokenizer'> | undefined;
  onInfo?: ((message: string) => void) | undefined;
  onWarning?: ((message: string) => void) | undefined;
}

export interface BaselineTrainResult {
  /** The model directory written. */
  out: string;
  /** Class names, index = class id (sorted as fastai's Categorize). */
  labels: string[];
  trainDocs: number;
  validDocs: number;
  /** Documents the saved model was trained on: `trainDocs`, or train + valid when refit on all. */
  savedDocs: number;
  /** Features kept (n-grams). */
  features: number;
  /** Validation scores; null without validation documents. */
  accuracy: number | null;
  f1Macro: number | null;
  /** Validation class probabilities and gold labels, in validation order; null without validation documents. */
  validation: BaselineValidation | null;
  /** Seconds spent fitting the model (features, ratios, logistic regression). */
  trainSeconds: number;
  /** Seconds in all (reading, tokenizing, fitting, scoring, writing). */
  seconds: number;
}

/** Refuses an `out` that holds something, unless `overwrite` and it is a model directory. */
function checkOut(out: string, overwrite: boolean): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory())
    throw new UlmfitError('E_OUT_EXISTS', `${out} is a file, not a directory`, 'choose another --out');
  if (readdirSync(out).length === 0) return;
  if (!existsSync(join(out, MODEL_FILES.meta))) {
    throw new UlmfitError(
      'E_OUT_EXISTS',
      `${out} is not empty and is not a model directory; refusing to replace it`,
      'choose an empty or new --out directory',
    );
  }
  if (!overwrite)
    throw new UlmfitError(
      'E_OUT_EXISTS',
      `${out} is not empty`,
      'pass --overwrite to replace it, or choose another --out',
    );
}

const tokensOf = (itos: readonly string[], side: LabeledDocs): string[][] =>
  side.docs.map((ids) => Array.from(ids, (id) => itos[id]!));

/** Trains, scores and saves the NB-SVM baseline (see the module comment). */
export async function trainBaseline(options: BaselineTrainOptions): Promise<BaselineTrainResult> {
  const started = performance.now();
  const info = options.onInfo ?? (() => undefined);
  const warn = options.onWarning ?? info;
  // A second writer of the same --out fails at once (E_LOCKED) instead of racing this one.
  const lock = lockDir(options.out, 'model directory');
  try {
    return await trainLocked(options, started, info, warn);
  } finally {
    lock.release();
  }
}

/** The labeled inputs read as the baseline reads them: word tokens, every token kept. */
interface BaselineInputs {
  corpus: Corpus;
  itos: string[];
  corpusOptions: CorpusInputOptions;
  closers: (() => void)[];
}

async function readBaselineInputs(
  options: Pick<BaselineTrainOptions, 'inputs' | 'textCol' | 'labelCol' | 'workers' | 'noCache' | 'cacheDir'>,
  warn: (message: string) => void,
): Promise<BaselineInputs> {
  // Every token kept (min count 1, no cap): the baseline picks its own features from the training side.
  const corpusOptions = corpusInputOptions(defaultTokenizerSettings(), {
    ...options,
    minFreq: 1,
    maxVocab: Number.MAX_SAFE_INTEGER,
  });
  const loaded = await loadCorpusInput(options.inputs, corpusOptions);
  const closers = [loaded.close];
  const corpus = loaded.corpus;
  if (corpus.settings.kind !== 'word') {
    for (const close of closers) close();
    throw new UlmfitError(
      'E_MODEL_MISMATCH',
      `${options.inputs[0]} holds subword tokens; the baseline takes word tokens`,
      'pass the raw labeled data instead',
    );
  }
  if (corpus.meta.emptyDocsSkipped > 0)
    warn(
      `${corpus.meta.emptyDocsSkipped} empty document${corpus.meta.emptyDocsSkipped === 1 ? '' : 's'} in ${options.inputs.join(', ')} skipped`,
    );
  for (const message of corpus.meta.warnings) warn(message);
  return { corpus, itos: [...corpus.vocab.itos], corpusOptions, closers };
}

/** The split `trainClassifier` draws for `seed` (labeled-data.ts), in the baseline's tokens. */
function splitFor(
  options: SplitOptions,
  inputs: BaselineInputs,
  seed: number,
  info: (message: string) => void,
  warn: (message: string) => void,
): Promise<LabeledData> {
  const { corpus, itos, corpusOptions, closers } = inputs;
  return labeledDocuments(options, corpus, itos, corpusOptions, new Rng(seed), closers, info, warn);
}

/**
 * For each seed, an NB-SVM trained on the training side of the split `trainClassifier` draws for
 * that seed, and its probabilities on the validation side (null when it has none): what a network
 * trained with that seed can be compared with on documents neither saw (tasks/ensemble-choice.ts).
 * Nothing is written.
 */
export async function baselineValidations(
  options: Omit<BaselineTrainOptions, 'out' | 'seed' | 'refitOnAll'>,
  seeds: readonly number[],
): Promise<(BaselineValidation | null)[]> {
  const quiet = (): void => undefined;
  const inputs = await readBaselineInputs(options, quiet);
  try {
    const results: (BaselineValidation | null)[] = [];
    for (const seed of seeds) {
      const data = await splitFor(options, inputs, seed, quiet, quiet);
      if (data.valid.docs.length === 0) {
        results.push(null);
        continue;
      }
      const { labels } = data;
      const labelsOf = (side: LabeledDocs) => Array.from(side.y, (y) => labels[y]!);
      const model = trainNbsvmTokens(tokensOf(inputs.itos, data.train), labelsOf(data.train), {
        ...options.nbsvm,
        tokenizer: inputs.corpus.settings,
      });
      results.push({
        labels,
        probabilities: model.predictTokenProbabilities(tokensOf(inputs.itos, data.valid)),
        gold: labelsOf(data.valid),
      });
    }
    return results;
  } finally {
    for (const close of inputs.closers) close();
  }
}

async function trainLocked(
  options: BaselineTrainOptions,
  started: number,
  info: (message: string) => void,
  warn: (message: string) => void,
): Promise<BaselineTrainResult> {
  checkOut(options.out, options.overwrite ?? false);
  const seed = options.seed ?? TRAINING_DEFAULTS.seed;
  const inputs = await readBaselineInputs(options, warn);
  const { corpus, itos, closers } = inputs;
  try {
    const data = await splitFor(options, inputs, seed, info, warn);
    const { labels } = data;
    info(
      `classes: ${labels.length} (${labels.join(', ')}); ${data.train.docs.length} training and ${data.valid.docs.length} validation documents`,
    );
    const labelsOf = (side: LabeledDocs) => Array.from(side.y, (y) => labels[y]!);
    const nbsvmOptions = { ...options.nbsvm, tokenizer: corpus.settings };
    const [trainTokens, validTokens] = [tokensOf(itos, data.train), tokensOf(itos, data.valid)];
    const fitStart = performance.now();
    const model = trainNbsvmTokens(trainTokens, labelsOf(data.train), nbsvmOptions);
    const trainSeconds = (performance.now() - fitStart) / 1000;
    let accuracy: number | null = null;
    let f1Macro: number | null = null;
    let validation: BaselineValidation | null = null;
    if (data.valid.docs.length > 0) {
      const gold = labelsOf(data.valid);
      const scores = evaluateNbsvm(model, validTokens, gold);
      accuracy = scores.accuracy;
      f1Macro = scores.f1Macro;
      validation = { labels, probabilities: model.predictTokenProbabilities(validTokens), gold };
    }
    const refit = options.refitOnAll === true && data.validFrom === 'drawn' && data.valid.docs.length > 0;
    const saved = refit
      ? trainNbsvmTokens(
          [...trainTokens, ...validTokens],
          [...labelsOf(data.train), ...labelsOf(data.valid)],
          nbsvmOptions,
        )
      : model;
    const savedDocs = data.train.docs.length + (refit ? data.valid.docs.length : 0);
    saveNbsvm(options.out, saved, {
      seed,
      ...(refit ? { refit_on_all_docs: savedDocs } : {}),
      train_docs: data.train.docs.length,
      valid_docs: data.valid.docs.length,
      accuracy,
      f1_macro: f1Macro,
      train_seconds: trainSeconds,
    });
    return {
      out: options.out,
      labels,
      trainDocs: data.train.docs.length,
      validDocs: data.valid.docs.length,
      savedDocs,
      features: saved.features.size,
      accuracy,
      f1Macro,
      validation,
      trainSeconds,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const close of closers) close();
  }
}
