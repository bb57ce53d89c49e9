/**
 * Labeled documents for a classifier run, split as fastai's splitters do: the given validation
 * inputs, else the data's valid/ (or test/) split, else a seeded random share. `trainClassifier`
 * and the NB-SVM baseline (tasks/baseline.ts) both read their data through here, so for the same
 * inputs and seed they see exactly the same training and validation documents.
 */
import { UlmfitError, usageError } from '../errors.js';
import { splitValid } from '../data/lm-stream.js';
import type { Rng } from '../random.js';
import { compareCodePoints, type Corpus } from '../text/corpus.js';
import { loadCorpusInput, type CorpusInputOptions } from './corpus-input.js';
import { CLASSIFIER_DEFAULTS } from '../config/training.js';

/** What decides the split (a subset of the classifier's options). */
export interface SplitOptions {
  inputs: string[];
  valid?: string[] | undefined;
  validPct?: number | undefined;
  ignoreLabels?: string[] | undefined;
}

export function reportReading(
  corpus: Corpus,
  inputs: readonly string[],
  info: (m: string) => void,
  warn: (m: string) => void,
): void {
  info(`corpus: ${corpus.numDocs} documents, ${corpus.numTokens} tokens, vocab ${corpus.vocab.itos.length}`);
  const skipped = corpus.meta.emptyDocsSkipped;
  if (skipped > 0)
    warn(`${skipped} empty document${skipped === 1 ? '' : 's'} in ${inputs.join(', ')} skipped`);
  for (const message of corpus.meta.warnings) warn(message);
}

/** Token ids and class ids of one side of the split. */
export interface LabeledDocs {
  docs: Int32Array[];
  y: Int32Array;
}

export interface LabeledData {
  labels: string[];
  train: LabeledDocs;
  valid: LabeledDocs;
  /**
   * Where the validation documents came from: `given` (--valid inputs), `split` (the data's own
   * valid/ or test/ folder) or `drawn` (a random --valid-pct share of the labeled documents, which
   * a model that selects nothing on them may as well train on).
   */
  validFrom: 'given' | 'split' | 'drawn';
}

/**
 * The training and validation documents with their label names (undefined = no label), in the
 * order fastai's splitters give: `valid` inputs; else the data's valid/ split (test/ when there
 * is none, fastbook's GrandparentSplitter(valid_name='test')); else a random `validPct` share.
 */
export async function labeledDocuments(
  options: SplitOptions,
  corpus: Corpus,
  itos: string[],
  corpusOptions: CorpusInputOptions,
  rng: Rng,
  closers: (() => void)[],
  info: (m: string) => void,
  warn: (m: string) => void,
): Promise<LabeledData> {
  const ignored = new Set(options.ignoreLabels ?? []);
  const side = (c: Corpus, ids: number[]) => {
    const kept = ids.filter((i) => !ignored.has(labelOf(c, i) ?? '\u0000'));
    return { docs: kept.map((i) => c.doc(i)), names: kept.map((i) => labelOf(c, i)) };
  };
  const all = [...Array(corpus.numDocs).keys()];
  const inSplit = (split: 'train' | 'valid' | 'test') => new Set(corpus.docsInSplit(split));
  let train: { docs: Int32Array[]; names: (string | undefined)[] };
  let valid: { docs: Int32Array[]; names: (string | undefined)[] };
  let validFrom: LabeledData['validFrom'];
  if (options.valid && options.valid.length > 0) {
    validFrom = 'given';
    const loaded = await loadCorpusInput(options.valid, { ...corpusOptions, vocab: itos });
    closers.push(loaded.close);
    reportReading(loaded.corpus, options.valid, () => undefined, warn);
    const heldOut = new Set([...inSplit('valid'), ...inSplit('test')]);
    train = side(
      corpus,
      all.filter((i) => !heldOut.has(i)),
    );
    valid = side(loaded.corpus, [...Array(loaded.corpus.numDocs).keys()]);
  } else if (options.validPct === undefined && (inSplit('valid').size > 0 || inSplit('test').size > 0)) {
    validFrom = 'split';
    const validSplit = inSplit('valid').size > 0 ? 'valid' : 'test';
    // Inferred from the folders, so said (--valid-pct ignores the folders' split).
    if (validSplit === 'test')
      info('the data has no valid/ split: validating on test/ (as fastbook does for IMDb)');
    else info("validating on the data's valid/ split (--valid-pct draws a random one instead)");
    const validIds = inSplit(validSplit);
    const unused = validSplit === 'valid' ? inSplit('test') : new Set<number>();
    if (unused.size > 0) info(`${unused.size} test/ documents are not used for training or validation`);
    train = side(
      corpus,
      all.filter((i) => !validIds.has(i) && !unused.has(i)),
    );
    valid = side(corpus, [...validIds]);
  } else {
    validFrom = 'drawn';
    const validPct = options.validPct ?? CLASSIFIER_DEFAULTS.validPct;
    if (!(validPct >= 0 && validPct < 1)) throw usageError(`--valid-pct must be in [0, 1), got ${validPct}`);
    if (options.validPct === undefined)
      info(
        `validating on a random ${Math.round(validPct * 100)}% of the documents (the data has no valid/ split; --valid-pct or --valid to choose)`,
      );
    const heldOut = new Set([...inSplit('valid'), ...inSplit('test')]);
    const pool = all.filter((i) => !heldOut.has(i));
    const split = splitValid(pool.length, validPct, rng);
    train = side(
      corpus,
      split.train.map((k) => pool[k]!),
    );
    valid = side(
      corpus,
      split.valid.map((k) => pool[k]!),
    );
  }
  const labels = checkLabels(train.names, valid.names, options.inputs.join(', '), warn);
  const index = new Map(labels.map((name, i) => [name, i]));
  const toIds = (names: (string | undefined)[]) => Int32Array.from(names, (name) => index.get(name!)!);
  return {
    labels,
    train: { docs: train.docs, y: toIds(train.names) },
    valid: { docs: valid.docs, y: toIds(valid.names) },
    validFrom,
  };
}

function labelOf(corpus: Corpus, doc: number): string | undefined {
  if (!corpus.labels) return undefined;
  const id = corpus.labels.ids[doc]!;
  return id < 0 ? undefined : corpus.labels.names[id];
}

/**
 * The class names (from the training documents, sorted like fastai's `Categorize(sort=True)`),
 * after checking what makes a classifier impossible: documents without a label, fewer than two
 * classes, validation labels that no training document has. A class missing from the validation
 * set is only a warning.
 * @param where the inputs, for messages
 */
export function checkLabels(
  trainNames: readonly (string | undefined)[],
  validNames: readonly (string | undefined)[],
  where: string,
  warn: (message: string) => void = () => undefined,
): string[] {
  if (trainNames.length === 0) {
    throw new UlmfitError(
      'E_INPUT_EMPTY',
      `no training documents in ${where}`,
      'give labeled documents (or a smaller --valid-pct)',
    );
  }
  const unlabeled =
    trainNames.filter((n) => n === undefined || n === '').length +
    validNames.filter((n) => n === undefined || n === '').length;
  if (unlabeled === trainNames.length + validNames.length) {
    throw new UlmfitError(
      'E_LABELS',
      `the documents in ${where} have no labels`,
      'use a folder per label (train/<label>/*.txt), or a CSV/TSV/JSONL with a label column (--label-col)',
    );
  }
  if (unlabeled > 0) {
    throw new UlmfitError(
      'E_LABELS',
      `${unlabeled} of ${trainNames.length + validNames.length} documents in ${where} have no label (or an empty one)`,
      'give every document a label, or leave such documents out (--ignore-label for a whole folder)',
    );
  }
  const counts = new Map<string, number>();
  for (const name of trainNames) counts.set(name!, (counts.get(name!) ?? 0) + 1);
  const labels = [...counts.keys()].sort(compareCodePoints);
  const validCounts = new Map<string, number>();
  for (const name of validNames) validCounts.set(name!, (validCounts.get(name!) ?? 0) + 1);
  const unseen = [...validCounts.keys()].filter((name) => !counts.has(name)).sort(compareCodePoints);
  if (unseen.length > 0) {
    const listed = unseen
      .map((name) => `'${name}' (${validCounts.get(name)} validation documents)`)
      .join(', ');
    throw new UlmfitError(
      'E_LABELS',
      `label${unseen.length > 1 ? 's' : ''} ${listed} ${unseen.length > 1 ? 'have' : 'has'} no training documents in ${where}`,
      'every validation label needs training examples: add some, or leave those documents out (--ignore-label)',
    );
  }
  if (labels.length < 2) {
    throw new UlmfitError(
      'E_LABELS',
      `the training documents in ${where} have a single class ('${labels[0]}'): a classifier needs at least two`,
      'add documents of another class (a folder per label, or a label column)',
    );
  }
  const missing = validNames.length > 0 ? labels.filter((name) => !validCounts.has(name)) : [];
  if (missing.length > 0) {
    warn(
      `no validation documents for class${missing.length > 1 ? 'es' : ''} ${missing.map((n) => `'${n}'`).join(', ')} (leave such documents out with --ignore-label if they are not a class)`,
    );
  }
  return labels;
}
