/**
 * `Classifier`: a trained text classifier as a Node developer uses it.
 *
 * ```ts
 * const clf = await Classifier.load('runs/genre-clas');
 * const { label, probability } = await clf.predict('The minister spoke of faith and grace.');
 * const many = await clf.predict(texts, { topK: 2 }); // one result per text, in order
 * await clf.dispose();
 * ```
 */
import type { BackendName } from '../backend.js';
import { usageError } from '../errors.js';
import { argmaxRows } from '../metrics.js';
import { topK, type ClassifierEnsemble } from '../infer/classify.js';
import { loadClassifiers } from '../tasks/load-classifiers.js';
import { disposedError, SharedModels, type SharedModel } from './shared.js';

export interface LoadOptions {
  /** TF.js backend: auto (default), tensorflow, wasm or cpu. Process-wide, set by the first load. */
  backend?: BackendName;
}

export interface PredictOptions {
  /** Also list the k most probable labels (`top`), most probable first. */
  topK?: number;
  /** Documents per forward pass (default 64); results do not depend on it. */
  bs?: number;
}

/** One text's prediction. */
export interface ClassPrediction {
  /** The most probable label and its probability. */
  label: string;
  probability: number;
  /** Every label's probability (they sum to 1). */
  probabilities: Record<string, number>;
  /** With `topK`: the k most probable labels, most probable first (ties: label order). */
  top?: { label: string; probability: number }[];
}

/** Documents per forward pass, as `ulmfit classify --bs`. */
const DEFAULT_BS = 64;
/** Batches predicted before other callers' work may run (the CLI's chunk size). */
const BATCHES_PER_TURN = 16;

const shared = new SharedModels<ClassifierEnsemble>();

export class Classifier {
  /** Class names, in the model's order. */
  readonly labels: readonly string[];
  private model: SharedModel<ClassifierEnsemble> | undefined;

  private constructor(model: SharedModel<ClassifierEnsemble>) {
    this.model = model;
    this.labels = Object.freeze([...model.value.labels]);
  }

  /**
   * Loads a classifier: a model directory, a train-classifier run directory (its model-best/ and
   * its other networks' on small data, averaged with the NB-SVM baseline/ beside it, or that
   * baseline alone when the run's ensemble.json chose it, as `ulmfit classify`), an NB-SVM baseline
   * directory, or a model name (`ulmfit models`). Several are averaged (fastai's forward + backward
   * ensemble; an NB-SVM counts three times). Loading what is already loaded in this thread shares it.
   * @throws UlmfitError E_INPUT_MISSING, E_MODEL_DIR, E_MODEL_MISMATCH
   */
  static async load(model: string | readonly string[], options: LoadOptions = {}): Promise<Classifier> {
    const refs = typeof model === 'string' ? [model] : [...model];
    if (refs.length === 0 || refs.some((ref) => typeof ref !== 'string' || ref === '')) {
      throw usageError(
        'Classifier.load needs a model directory or name',
        "e.g. Classifier.load('runs/genre-clas')",
      );
    }
    const backend = options.backend ?? 'auto';
    return new Classifier(await shared.acquire(refs, backend, () => loadClassifiers(refs, backend)));
  }

  /**
   * Predicts the label of one text, or of each of several (in input order). Texts are batched
   * longest first, as `ulmfit classify` does; each gets the same probabilities it gets alone.
   * Concurrent calls run one after another on the model, never interleaved.
   * @throws UlmfitError E_USAGE for a non-string text or bad options
   */
  predict(text: string, options?: PredictOptions): Promise<ClassPrediction>;
  predict(texts: readonly string[], options?: PredictOptions): Promise<ClassPrediction[]>;
  async predict(
    input: string | readonly string[],
    options: PredictOptions = {},
  ): Promise<ClassPrediction | ClassPrediction[]> {
    const single = typeof input === 'string';
    const texts = single ? [input] : input;
    if (!Array.isArray(texts)) throw usageError('predict takes a string or an array of strings');
    texts.forEach((text, i) => {
      if (typeof text !== 'string')
        throw usageError(`predict: text ${i} is ${text === null ? 'null' : typeof text}, not a string`);
    });
    const { topK: k, bs = DEFAULT_BS } = options;
    if (k !== undefined && (!Number.isInteger(k) || k < 1))
      throw usageError(`topK must be an integer ≥ 1, got ${k}`);
    if (!Number.isInteger(bs) || bs < 1) throw usageError(`bs must be an integer ≥ 1, got ${bs}`);
    const probabilities = await this.probabilities(texts, bs);
    const classes = this.labels.length;
    const predictions = texts.map((_, i) =>
      toPrediction(this.labels, probabilities.subarray(i * classes, (i + 1) * classes), k),
    );
    return single ? predictions[0]! : predictions;
  }

  /**
   * Class probabilities of `texts`, `[texts.length × labels.length]` row-major. Under the model's
   * lock; after each turn of BATCHES_PER_TURN batches the event loop runs, so a large call does not
   * starve a server's other requests. Work already queued finishes even if the handle is disposed
   * meanwhile (the model is freed behind it on the same lock).
   */
  private async probabilities(texts: readonly string[], bs: number): Promise<Float32Array> {
    const model = this.use();
    return model.lock.run(async () => {
      const classes = this.labels.length;
      const out = new Float32Array(texts.length * classes);
      const turn = bs * BATCHES_PER_TURN;
      for (let start = 0; start < texts.length; start += turn) {
        if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        out.set(model.value.predict(texts.slice(start, start + turn), bs), start * classes);
      }
      return out;
    });
  }

  /**
   * Releases this handle; the model's memory is freed when the last handle to it is released and
   * its queued work is done. Later calls throw E_USAGE.
   */
  async dispose(): Promise<void> {
    const model = this.model;
    this.model = undefined;
    await model?.release();
  }

  private use(): SharedModel<ClassifierEnsemble> {
    if (this.model === undefined) throw disposedError('Classifier');
    return this.model;
  }
}

function toPrediction(
  labels: readonly string[],
  probabilities: Float32Array,
  k: number | undefined,
): ClassPrediction {
  const best = argmaxRows(probabilities, probabilities.length)[0]!;
  return {
    label: labels[best]!,
    probability: probabilities[best]!,
    probabilities: Object.fromEntries(labels.map((label, c) => [label, probabilities[c]!])),
    ...(k !== undefined ? { top: topK(labels, probabilities, k) } : {}),
  };
}
