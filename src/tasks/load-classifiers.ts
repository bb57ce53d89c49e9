/**
 * Loading what `classify` accepts: classifier directories, train-classifier run directories and
 * NB-SVM baseline directories (or their names), as one ensemble. infer/ does not import
 * baseline/ (they are peers), so the baseline is wired in here, for the CLI and the library API
 * alike.
 */
import type { BackendName } from '../backend.js';
import { createHash } from 'node:crypto';
import { loadNbsvm, type NbsvmModel } from '../baseline/index.js';
import { BASELINE_ENSEMBLE_WEIGHT } from '../config/inference.js';
import { loadEnsemble, type ClassifierEnsemble, type TextProbabilityModel } from '../infer/classify.js';

/** Loads every model (averaged when several) and checks that they share their labels. */
export function loadClassifiers(
  paths: readonly string[],
  backend: BackendName = 'auto',
): Promise<ClassifierEnsemble> {
  return loadEnsemble(paths, backend, { loadBaseline });
}

/** An `ulmfit baseline` model directory as an ensemble member (weighted: see BASELINE_ENSEMBLE_WEIGHT). */
function loadBaseline(dir: string): TextProbabilityModel {
  const model = loadNbsvm(dir);
  return {
    dir,
    labels: model.labels,
    weight: BASELINE_ENSEMBLE_WEIGHT,
    identity: parameterHash(model),
    predictTexts: (texts) => model.predictProbabilities(texts),
    dispose: () => undefined,
  };
}

/** A hash of the model's labels and parameters: two runs trained on the same split have the same one. */
function parameterHash(model: NbsvmModel): string {
  const hash = createHash('sha256').update(model.labels.join('\n'));
  for (const array of [model.r, model.weight, model.bias])
    hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return hash.digest('hex');
}
