/**
 * The validation score of what `classify --model <run>` uses by default: the run's networks
 * (model-best/ of each: 1/n weight apiece) and the NB-SVM baseline trained on the same split, their
 * class probabilities averaged with the baseline's BASELINE_ENSEMBLE_WEIGHT as infer/classify.ts
 * `loadEnsemble` does. train-classifier prints it beside the members' own scores, so the user sees
 * what the default ensemble adds on their data.
 */
import type { BackendName } from '../backend.js';
import { BASELINE_ENSEMBLE_WEIGHT } from '../config/inference.js';
import { loadClassifier, predictIds, weightedAverage } from '../infer/classify.js';
import { accuracy, argmaxRows, macroF1 } from '../metrics.js';
import type { LabeledDocs } from './labeled-data.js';

/** The baseline's side of the score: its labels and validation probabilities, in validation order. */
export interface BaselineValidation {
  labels: readonly string[];
  /** `[docs × labels]` row-major. */
  probabilities: Float32Array;
  /** Gold label of each validation document, in the same order. */
  gold: readonly string[];
}

export interface EnsembleScore {
  accuracy: number;
  f1Macro: number;
  /** The networks' model directories that were averaged, in order. */
  networks: string[];
}

/**
 * Whether the networks' validation documents and the baseline's are the same, in the same order:
 * they read the data with different tokenizers, so a document empty for one could be skipped by it
 * alone. Only then can the two sides be compared document by document.
 */
export function sameDocuments(
  labels: readonly string[],
  valid: LabeledDocs,
  baseline: BaselineValidation,
): boolean {
  const n = valid.docs.length;
  if (n === 0 || baseline.gold.length !== n || baseline.labels.join('\n') !== labels.join('\n')) return false;
  for (let i = 0; i < n; i++) if (baseline.gold[i] !== labels[valid.y[i]!]) return false;
  return true;
}

/** The networks' class probabilities on `docs` (`[docs × labels]`), averaged with equal weights. */
export async function networkProbabilities(
  networkDirs: readonly string[],
  docs: readonly Int32Array[],
  backend: BackendName,
): Promise<Float32Array> {
  const parts: { probabilities: Float32Array; weight: number }[] = [];
  for (const dir of networkDirs) {
    const classifier = await loadClassifier(dir, backend);
    try {
      parts.push({ probabilities: predictIds(classifier, docs), weight: 1 });
    } finally {
      classifier.dispose();
    }
  }
  return weightedAverage(parts);
}

/**
 * Scores the averaged networks and baseline on validation documents that both sides saw
 * (`sameDocuments`). Every network must have been validated on these same documents.
 * @param networkDirs the networks' model directories, reported as scored
 * @param networks their averaged probabilities on `valid` (`networkProbabilities`)
 */
export function scoreRunEnsemble(
  networkDirs: readonly string[],
  labels: readonly string[],
  valid: LabeledDocs,
  baseline: BaselineValidation,
  networks: Float32Array,
): EnsembleScore {
  const k = labels.length;
  const predicted = argmaxRows(
    weightedAverage([
      { probabilities: networks, weight: 1 },
      { probabilities: baseline.probabilities, weight: BASELINE_ENSEMBLE_WEIGHT },
    ]),
    k,
  );
  const correct = predicted.filter((p, i) => p === valid.y[i]).length;
  return {
    accuracy: accuracy(correct, valid.docs.length),
    f1Macro: macroF1(predicted, valid.y, k),
    networks: [...networkDirs],
  };
}
