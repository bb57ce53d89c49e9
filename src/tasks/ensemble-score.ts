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
 * Scores the averaged networks and baseline on the validation documents. Null when there is
 * nothing to score or the two sides did not see the same validation documents in the same order
 * (they read the data with different tokenizers, so a document empty for one could be skipped by
 * it alone). Every network must have been validated on these same documents.
 * @param networkDirs the networks' model directories (each a classifier on the same vocab)
 * @param valid the validation documents (token ids in the networks' vocab) and class ids
 * @param networkProbabilities the networks' probabilities on `valid`, averaged (`[docs × labels]`),
 *   when already computed (the ensemble choice does): the networks are then not run again
 */
export async function scoreRunEnsemble(
  networkDirs: readonly string[],
  labels: readonly string[],
  valid: LabeledDocs,
  baseline: BaselineValidation,
  backend: BackendName,
  networkProbabilities?: Float32Array,
): Promise<EnsembleScore | null> {
  const n = valid.docs.length;
  if (n === 0 || networkDirs.length === 0 || baseline.gold.length !== n) return null;
  if (baseline.labels.join('\n') !== labels.join('\n')) return null;
  for (let i = 0; i < n; i++) if (baseline.gold[i] !== labels[valid.y[i]!]) return null;
  const parts: { probabilities: Float32Array; weight: number }[] = [];
  if (networkProbabilities) parts.push({ probabilities: networkProbabilities, weight: 1 });
  else
    for (const dir of networkDirs) {
      const classifier = await loadClassifier(dir, backend);
      try {
        parts.push({ probabilities: predictIds(classifier, valid.docs), weight: 1 / networkDirs.length });
      } finally {
        classifier.dispose();
      }
    }
  parts.push({ probabilities: baseline.probabilities, weight: BASELINE_ENSEMBLE_WEIGHT });
  const k = labels.length;
  const predicted = argmaxRows(weightedAverage(parts), k);
  const correct = predicted.filter((p, i) => p === valid.y[i]).length;
  return {
    accuracy: accuracy(correct, n),
    f1Macro: macroF1(predicted, valid.y, k),
    networks: [...networkDirs],
  };
}
