/**
 * The validation score of what `classify --model <run>` uses by default: the run's classifier
 * (model-best/) and the NB-SVM baseline trained on the same split, their class probabilities
 * averaged with the baseline's BASELINE_ENSEMBLE_WEIGHT as infer/classify.ts `loadEnsemble` does.
 * train-classifier prints it beside the two members' own scores, so the user sees what the
 * default ensemble adds on their data.
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
}

/**
 * Scores the averaged pair on the validation documents. Null when there is nothing to score or
 * the two sides did not see the same validation documents in the same order (they read the data
 * with different tokenizers, so a document empty for one could be skipped by it alone).
 * @param valid the classifier's validation documents (token ids in its vocab) and class ids
 */
export async function scoreRunEnsemble(
  runDir: string,
  labels: readonly string[],
  valid: LabeledDocs,
  baseline: BaselineValidation,
  backend: BackendName,
): Promise<EnsembleScore | null> {
  const n = valid.docs.length;
  if (n === 0 || baseline.gold.length !== n) return null;
  if (baseline.labels.join('\n') !== labels.join('\n')) return null;
  for (let i = 0; i < n; i++) if (baseline.gold[i] !== labels[valid.y[i]!]) return null;
  const classifier = await loadClassifier(runDir, backend);
  let probabilities: Float32Array;
  try {
    probabilities = predictIds(classifier, valid.docs);
  } finally {
    classifier.dispose();
  }
  const k = labels.length;
  const averaged = weightedAverage([
    { probabilities, weight: 1 },
    { probabilities: baseline.probabilities, weight: BASELINE_ENSEMBLE_WEIGHT },
  ]);
  const predicted = argmaxRows(averaged, k);
  const correct = predicted.filter((p, i) => p === valid.y[i]).length;
  return { accuracy: accuracy(correct, n), f1Macro: macroF1(predicted, valid.y, k) };
}
