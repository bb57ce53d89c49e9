/**
 * Classifier inference: load classifier directories, predict class probabilities for documents
 * in batches (fastai's `get_preds` over a sorted `test_dl`, then un-sorted back to input order),
 * average several models (fastai's forward + backward ensemble), and score predictions against
 * gold labels.
 */
import { initBackend, type BackendName } from '../backend.js';
import { assertFinite, UlmfitError } from '../errors.js';
import { SortedBatches } from '../data/clas-batches.js';
import { isBlank, openSources, type Doc, type SourceOptions } from '../data/sources.js';
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import {
  BASELINE_KIND,
  MODEL_FILES,
  readModelDir,
  readModelKind,
  readModelMeta,
  resolveModelDir,
  runCompleted,
  RUN_LAYOUT,
} from '../io/artifact.js';
import type { AwdLstmConfig } from '../model/awd-lstm.js';
import { POOL_SOURCES, type PoolSource } from '../config/schema.js';
import { TextClassifier } from '../model/heads.js';
import { withTfWeights } from '../model/persist.js';
import type { TokenizerSettings } from '../text/settings.js';
import { createTokenizer, type Tokenizer } from '../text/tokenizer.js';
import { Vocab } from '../text/vocab.js';
import { accuracy, argmaxRows, confusionMatrix, macroF1, perClassScores } from '../metrics.js';
import { readEnsembleChoice } from '../io/ensemble-choice.js';

/** A classifier ready for inference (eval mode). */
export interface LoadedClassifier {
  dir: string;
  /** Class names, index = class id. */
  labels: string[];
  /** Trained on reversed documents: inputs are reversed before the model sees them. */
  backwards: boolean;
  tokenizer: Tokenizer;
  vocab: Vocab;
  model: TextClassifier;
  /** Models with the same key tokenize identically (tokenizer and vocab hashes). */
  tokenizationKey: string;
  /** Its weight in an ensemble's average (default 1; a run's bag of n networks weighs 1/n each). */
  weight?: number | undefined;
  dispose(): void;
}

/** The pooling a saved classifier was trained with (meta.json's `arch.pool`; absent: fastai's `last`). */
function poolOf(pool: unknown, dir: string): PoolSource {
  if (pool === undefined) return 'last';
  const known: readonly unknown[] = POOL_SOURCES;
  if (known.includes(pool)) return pool as PoolSource;
  throw new UlmfitError(
    'E_MODEL_DIR',
    `${join(dir, 'meta.json')}: arch.pool ${JSON.stringify(pool)} is not one of ${POOL_SOURCES.join(', ')}`,
    'read it with the ulmfit version that wrote it, or retrain it with this one',
  );
}

/**
 * Loads a classifier from a model directory or a run directory (its model-best/, else
 * model-last/). Any other kind of model is refused with E_MODEL_DIR.
 */
export async function loadClassifier(path: string, backend: BackendName = 'auto'): Promise<LoadedClassifier> {
  const dir = resolveModelDir(path);
  const { kind } = readModelMeta(dir);
  if (kind !== 'classifier') {
    throw new UlmfitError(
      'E_MODEL_DIR',
      `${dir} is ${kind === 'encoder' ? 'an' : 'a'} '${kind}' model, not a classifier`,
      'pass the --out directory of ulmfit train-classifier (or its model-best/)',
    );
  }
  const loaded = readModelDir(dir, { kind: ['classifier'] });
  const labels = loaded.labels!;
  const settings = loaded.tokenizer as unknown as TokenizerSettings;
  const tokenizer = await createTokenizer(settings, loaded.spmModel ? { spmModel: loaded.spmModel } : {});
  await initBackend(backend);
  const arch = loaded.meta.arch;
  const model = new TextClassifier(loaded.vocab.length, labels.length, arch as unknown as AwdLstmConfig, {
    ...(typeof arch.seq_len === 'number' ? { bptt: arch.seq_len } : {}),
    ...(typeof arch.max_len === 'number' ? { maxLen: arch.max_len } : {}),
    ...(Array.isArray(arch.lin_ftrs) ? { linFtrs: arch.lin_ftrs as number[] } : {}),
    ...(Array.isArray(arch.ps) ? { ps: arch.ps as number[] } : {}),
    pool: poolOf(arch.pool, dir),
  });
  try {
    withTfWeights(loaded.weights, (tensors) => model.loadWeights(tensors));
  } catch (error) {
    model.dispose();
    throw error;
  }
  model.setTraining(false);
  return {
    dir,
    labels,
    backwards: loaded.meta.backwards,
    tokenizer,
    vocab: Vocab.fromItos(loaded.vocab),
    model,
    tokenizationKey: `${loaded.meta.tokenizer.sha256}/${loaded.meta.tokenizer.spm_sha256 ?? ''}/${loaded.meta.vocab.sha256}`,
    dispose: () => model.dispose(),
  };
}

/**
 * Class probabilities of `docs` (token ids), batched longest first like fastai's sorted test
 * loader and written back in input order. Documents are reversed for a backwards model.
 * @returns `[docs.length × classes]` row-major
 */
export function predictIds(classifier: LoadedClassifier, docs: readonly Int32Array[], bs = 64): Float32Array {
  const classes = classifier.labels.length;
  const out = new Float32Array(docs.length * classes);
  const { model } = classifier;
  const batches = new SortedBatches(docs, null, {
    bs,
    seqLen: model.sentenceEncoder.bptt,
    padIdx: model.sentenceEncoder.padIdx,
    backwards: classifier.backwards,
  });
  for (const batch of batches.batches()) {
    const probabilities = model.predictProbabilities(batch.x, batch.bs, batch.seqLen);
    const values = probabilities.dataSync() as Float32Array;
    probabilities.dispose();
    assertFinite(
      values,
      'a class probability is',
      'the classifier overflowed on this input; its weights are finite (checked at load), so please report it',
    );
    for (let r = 0; r < batch.bs; r++)
      out.set(values.subarray(r * classes, (r + 1) * classes), batch.indices[r]! * classes);
  }
  return out;
}

/**
 * A classifier that maps raw texts to class probabilities itself (the NB-SVM baseline: the caller
 * supplies it, see `loadEnsemble`'s `loadBaseline`), so it can stand in an ensemble.
 */
export interface TextProbabilityModel {
  dir: string;
  labels: string[];
  /** Its weight in an ensemble's average (default 1, as every ULMFiT classifier). */
  weight?: number | undefined;
  /** Equal for two models with the same parameters, so an ensemble counts such a model once. */
  identity?: string | undefined;
  /** @returns `[texts.length × labels.length]` row-major */
  predictTexts(texts: readonly string[]): Float32Array;
  dispose(): void;
}

export type EnsembleMember = LoadedClassifier | TextProbabilityModel;

/**
 * Several classifiers with the same labels, their probabilities averaged (fastai's ensemble of a
 * forward and a backward model). One model is an ensemble of one.
 */
export class ClassifierEnsemble {
  readonly labels: string[];

  /**
   * @param origins what each member was loaded from (the `--model` it came from; parallel to
   *   `members`): a run directory gives two members, its classifier and its baseline.
   */
  constructor(
    readonly members: readonly EnsembleMember[],
    readonly origins: readonly string[] = members.map((member) => member.dir),
  ) {
    if (members.length === 0) throw new Error('an ensemble needs at least one classifier');
    const first = members[0]!;
    for (const other of members.slice(1)) {
      if (JSON.stringify(other.labels) !== JSON.stringify(first.labels)) {
        throw new UlmfitError(
          'E_MODEL_MISMATCH',
          `the classifiers ${first.dir} (labels ${first.labels.join(', ')}) and ${other.dir} (labels ${other.labels.join(', ')}) have different labels`,
          'ensemble only classifiers trained on the same classes',
        );
      }
    }
    this.labels = [...first.labels];
  }

  /**
   * Class probabilities of `texts` averaged over the members (weighted by `weight`, default 1),
   * in input order. Each text is tokenized once per distinct tokenizer/vocab among the members.
   * @returns `[texts.length × classes]` row-major
   */
  predict(texts: readonly string[], bs = 64): Float32Array {
    const idsByKey = new Map<string, Int32Array[]>();
    const parts = this.members.map((member) => {
      if ('predictTexts' in member)
        return { probabilities: member.predictTexts(texts), weight: member.weight ?? 1 };
      let ids = idsByKey.get(member.tokenizationKey);
      if (ids === undefined) {
        ids = texts.map((text) => member.vocab.numericalize(member.tokenizer.tokenize(text)));
        idsByKey.set(member.tokenizationKey, ids);
      }
      return { probabilities: predictIds(member, ids, bs), weight: member.weight ?? 1 };
    });
    return weightedAverage(parts);
  }

  dispose(): void {
    for (const member of this.members) member.dispose();
  }
}

/**
 * The weighted mean of several members' class probabilities (all `[docs × classes]` row-major,
 * the same shape): what an ensemble predicts.
 */
export function weightedAverage(
  parts: readonly { probabilities: Float32Array; weight: number }[],
): Float32Array {
  const sum = new Float32Array(parts[0]!.probabilities.length);
  let total = 0;
  for (const { probabilities, weight } of parts) {
    for (let i = 0; i < sum.length; i++) sum[i]! += weight * probabilities[i]!;
    total += weight;
  }
  for (let i = 0; i < sum.length; i++) sum[i]! /= total;
  return sum;
}

/**
 * Loads every `--model` and checks they can be ensembled. A train-classifier run directory stands
 * for every network it trained (its model-best/ and, on small data, `networks/<k>/model-best/`:
 * weighing 1/n each, so a run's bag weighs as one network). With `loadBaseline`, a baseline model
 * directory (meta.json kind 'baseline') is loaded by it, and a run directory also brings the NB-SVM
 * baseline trained beside it (`<run>/baseline/`, averaged in: the few-label benchmark measured the
 * pair at least level with the classifier alone at every label count); a baseline that two runs
 * share (the same `identity`) is counted once, at the larger weight. A run whose `ensemble.json`
 * chose the baseline alone (train-classifier found it clearly better on held-out documents:
 * tasks/ensemble-choice.ts) brings its baseline only, weighing 1. Without `loadBaseline`,
 * baselines are refused and a run directory is its networks alone. `<run>/model-best` is the
 * run's first network alone.
 */
export async function loadEnsemble(
  paths: readonly string[],
  backend: BackendName = 'auto',
  options: { loadBaseline?: (dir: string) => TextProbabilityModel } = {},
): Promise<ClassifierEnsemble> {
  const members: EnsembleMember[] = [];
  const origins: string[] = [];
  const baselinesSeen = new Map<string, TextProbabilityModel>();
  try {
    const { loadBaseline } = options;
    /**
     * A run's baseline as a member, unless another run brought the same one: then it is counted
     * once, at the larger of the two weights (a run that chose it alone asks for 1, one that
     * averages it with its networks for its full weight, which that run's networks still need).
     */
    const addRunBaseline = (baselineDir: string, path: string, alone: boolean): void => {
      const baseline = loadBaseline!(baselineDir);
      // Alone, it stands for the whole run, which weighs as one network.
      if (alone) baseline.weight = 1;
      const seen = baseline.identity === undefined ? undefined : baselinesSeen.get(baseline.identity);
      if (seen !== undefined) {
        seen.weight = Math.max(seen.weight ?? 1, baseline.weight ?? 1);
        baseline.dispose();
        return;
      }
      if (baseline.identity !== undefined) baselinesSeen.set(baseline.identity, baseline);
      members.push(baseline);
      origins.push(path);
    };
    for (const path of paths) {
      const dir = resolveModelDir(path);
      if (loadBaseline && readModelKind(dir) === BASELINE_KIND) {
        members.push(loadBaseline(dir));
        origins.push(path);
        continue;
      }
      const isRun = resolve(dir) !== resolve(path);
      const baselineDir = loadBaseline && isRun ? runBaselineOf(dir) : undefined;
      // train-classifier found the baseline clearly better on held-out documents (tasks/ensemble-choice.ts).
      if (baselineDir !== undefined && readEnsembleChoice(dirname(dir))?.use === 'baseline') {
        addRunBaseline(baselineDir, path, true);
        continue;
      }
      // Each network is a member as soon as it loads, so a later failure disposes it.
      const networks: LoadedClassifier[] = [];
      for (const networkDir of [path, ...(isRun ? runNetworksOf(dir) : [])]) {
        networks.push(await loadClassifier(networkDir, backend));
        members.push(networks[networks.length - 1]!);
        origins.push(path);
      }
      for (const network of networks) network.weight = 1 / networks.length;
      if (baselineDir !== undefined) addRunBaseline(baselineDir, path, false);
    }
    return new ClassifierEnsemble(members, origins);
  } catch (error) {
    for (const member of members) member.dispose();
    throw error;
  }
}

/**
 * The further networks of the train-classifier run that `modelDir` (its model-best/ or model-last/,
 * which a run directory resolved to) was picked from: `<run>/networks/<k>/` the same model
 * directory, in order of k. A network still training (an interrupted run) is left out until it
 * completes. Empty for a run of one network.
 */
export function runNetworksOf(modelDir: string): string[] {
  const name = basename(modelDir);
  if (name !== RUN_LAYOUT.modelBest && name !== RUN_LAYOUT.modelLast) return [];
  const root = join(dirname(modelDir), RUN_LAYOUT.networks);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter(
      (k) =>
        /^[0-9]+$/.test(k) &&
        existsSync(join(root, k, name, MODEL_FILES.meta)) &&
        runCompleted(join(root, k)),
    )
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => join(root, k, name));
}

/**
 * The NB-SVM baseline directory of the train-classifier run that `modelDir` (a classifier directory
 * that a run directory resolved to) was picked from: `<run>/baseline/` beside `<run>/model-best/`
 * (or model-last/). Undefined for a run trained with --no-baseline.
 */
export function runBaselineOf(modelDir: string): string | undefined {
  const name = basename(modelDir);
  if (name !== RUN_LAYOUT.modelBest && name !== RUN_LAYOUT.modelLast) return undefined;
  const dir = join(dirname(modelDir), RUN_LAYOUT.baseline);
  if (!existsSync(join(dir, MODEL_FILES.meta)) || readModelKind(dir) !== BASELINE_KIND) return undefined;
  return dir;
}

/** One document's prediction. */
export interface Prediction {
  /** Position among the documents read, from 0 (with `classifyRows`, empty documents count too). */
  index: number;
  /** Where the document came from: a file, or `path:line`. */
  origin: string;
  /** The document's own id (an id column or field), when read with `idCol`. */
  id?: string | undefined;
  /** Most probable class and its probability. */
  label: string;
  probability: number;
  /** `[classes]`, in label order. */
  probabilities: Float32Array;
  /** The input's own label, when it has one. */
  gold?: string | undefined;
}

/** A blank input document (`classifyRows`): its place in the output, with no prediction. */
export interface EmptyRow {
  index: number;
  origin: string;
  id?: string | undefined;
  empty: true;
  gold?: string | undefined;
}

export interface ClassifyInputsOptions extends Pick<
  SourceOptions,
  'textCol' | 'labelCol' | 'noLabels' | 'idCol' | 'lineDocs' | 'stdin'
> {
  /** Documents per forward pass (default 64). */
  bs?: number;
  /** Documents read before predicting (default 16 batches); stdin is predicted as its lines arrive. */
  chunkDocs?: number;
}

/** What reading the inputs skipped or inferred, known once iteration ends. */
export interface ClassifyReadStats {
  /** Blank documents: skipped (`classifyInputs`) or given an `EmptyRow` (`classifyRows`). */
  emptySkipped: number;
  warnings: string[];
  /** What the reader inferred (e.g. gold labels from a default `label` column); optional for older callers. */
  notes?: string[];
}

/**
 * Reads documents from `inputs` (files, folders, CSV/TSV/JSONL, `-`) and yields their
 * predictions in input order, a chunk at a time, so memory stays bounded on large inputs.
 * `stats` is filled in when iteration ends.
 */
export async function* classifyInputs(
  ensemble: ClassifierEnsemble,
  inputs: readonly string[],
  options: ClassifyInputsOptions = {},
  stats: ClassifyReadStats = { emptySkipped: 0, warnings: [] },
): AsyncGenerator<Prediction[]> {
  for await (const rows of readAndClassify(ensemble, inputs, options, stats, false))
    yield rows as Prediction[];
}

/**
 * Like `classifyInputs`, but one row per input document: a blank document gets an `EmptyRow` in
 * its place instead of being skipped, so row i of the output is document i of the input.
 */
export function classifyRows(
  ensemble: ClassifierEnsemble,
  inputs: readonly string[],
  options: ClassifyInputsOptions = {},
  stats: ClassifyReadStats = { emptySkipped: 0, warnings: [] },
): AsyncGenerator<(Prediction | EmptyRow)[]> {
  return readAndClassify(ensemble, inputs, options, stats, true);
}

async function* readAndClassify(
  ensemble: ClassifierEnsemble,
  inputs: readonly string[],
  options: ClassifyInputsOptions,
  stats: ClassifyReadStats,
  keepEmpty: boolean,
): AsyncGenerator<(Prediction | EmptyRow)[]> {
  const bs = options.bs ?? 64;
  const chunkDocs = options.chunkDocs ?? bs * 16;
  const { bs: _bs, chunkDocs: _chunk, ...sourceOptions } = options;
  const source = await openSources(inputs, { ...sourceOptions, keepEmpty });
  const streaming = inputs.includes('-');
  let pending: Doc[] = [];
  let index = 0;
  const flush = (): (Prediction | EmptyRow)[] => {
    const texts = pending.filter((doc) => !isBlank(doc.text)).map((doc) => doc.text);
    const probabilities = texts.length > 0 ? ensemble.predict(texts, bs) : new Float32Array(0);
    const classes = ensemble.labels.length;
    let k = 0;
    const rows = pending.map((doc, i): Prediction | EmptyRow => {
      if (isBlank(doc.text))
        return {
          index: index + i,
          origin: doc.origin,
          ...(doc.id !== undefined ? { id: doc.id } : {}),
          empty: true,
          ...(doc.label !== undefined ? { gold: doc.label } : {}),
        };
      k += 1;
      return toPrediction(
        ensemble.labels,
        probabilities.subarray((k - 1) * classes, k * classes),
        doc,
        index + i,
      );
    });
    index += pending.length;
    pending = [];
    return rows;
  };
  for await (const batch of source.batches()) {
    pending.push(...batch);
    if (pending.length >= chunkDocs || streaming) yield flush();
  }
  if (pending.length > 0) yield flush();
  stats.emptySkipped = keepEmpty ? source.emptyKept : source.emptySkipped;
  stats.warnings.push(...source.warnings);
  if (stats.notes) stats.notes.push(...source.notes);
}

function toPrediction(
  labels: readonly string[],
  probabilities: Float32Array,
  doc: Doc,
  index: number,
): Prediction {
  const best = argmaxRows(probabilities, probabilities.length)[0]!;
  return {
    index,
    origin: doc.origin,
    ...(doc.id !== undefined ? { id: doc.id } : {}),
    label: labels[best]!,
    probability: probabilities[best]!,
    probabilities: Float32Array.from(probabilities),
    ...(doc.label !== undefined ? { gold: doc.label } : {}),
  };
}

/** The `k` most probable classes, most probable first (ties: lower class id first). */
export function topK(
  labels: readonly string[],
  probabilities: ArrayLike<number>,
  k: number,
): { label: string; probability: number }[] {
  return Array.from({ length: labels.length }, (_, c) => c)
    .sort((a, b) => (probabilities[b] as number) - (probabilities[a] as number) || a - b)
    .slice(0, k)
    .map((c) => ({ label: labels[c]!, probability: probabilities[c] as number }));
}

export interface Evaluation {
  /** Documents scored (those with a gold label). */
  count: number;
  accuracy: number;
  f1Macro: number;
  perClass: { label: string; precision: number; recall: number; f1: number; support: number }[];
  /** `confusion[gold][predicted]`, in label order. */
  confusion: number[][];
  labels: string[];
}

/**
 * Scores predicted class ids against gold label names. Gold labels outside the model's label set
 * are an E_LABELS error that lists them.
 */
export function evaluate(
  labels: readonly string[],
  predicted: readonly string[],
  gold: readonly string[],
): Evaluation {
  const index = new Map(labels.map((name, i) => [name, i]));
  const unknown = [...new Set(gold.filter((name) => !index.has(name)))].sort();
  if (unknown.length > 0) {
    throw new UlmfitError(
      'E_LABELS',
      `gold label${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not among the model's labels (${labels.join(', ')})`,
      'evaluate on data labeled with the classes the model was trained on',
    );
  }
  const targets = Int32Array.from(gold, (name) => index.get(name)!);
  const predictions = Int32Array.from(predicted, (name) => index.get(name)!);
  const correct = predictions.reduce((n, p, i) => n + (p === targets[i] ? 1 : 0), 0);
  const scores = perClassScores(predictions, targets, labels.length);
  return {
    count: targets.length,
    accuracy: accuracy(correct, targets.length),
    f1Macro: macroF1(predictions, targets, labels.length),
    perClass: scores.map((s, c) => ({
      label: labels[c]!,
      precision: s.precision,
      recall: s.recall,
      f1: s.f1,
      support: s.support,
    })),
    confusion: confusionMatrix(predictions, targets, labels.length),
    labels: [...labels],
  };
}
