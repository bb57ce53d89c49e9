/**
 * ulmfit's built-in baseline: an NB-SVM text classifier (Wang & Manning 2012; naive-Bayes
 * log-count ratios over binarized word uni+bigrams, then an L2-regularized logistic model,
 * interpolated towards naive Bayes). It trains in seconds on CPU, deterministically, with fixed
 * defaults, so every ULMFiT result can be compared with what a classic linear model gets from the
 * same labels. Pure TypeScript: no TF.js.
 *
 * ```ts
 * const model = trainNbsvm(trainTexts, trainLabels);          // string[], string[]
 * const probabilities = model.predictProbabilities(texts);    // Float32Array [n × labels.length]
 * const labels = model.predict(texts);                        // string[]
 * const { accuracy, f1Macro } = evaluateNbsvm(model, validTexts, validLabels);
 * saveNbsvm('runs/baseline', model);                          // a model directory (kind 'baseline')
 * const again = loadNbsvm('runs/baseline');
 * ```
 */
export {
  DEFAULT_FEATURE_SETTINGS,
  FeatureVocab,
  encodeDocs,
  type BinaryCsr,
  type FeatureSettings,
} from './features.js';
export {
  DEFAULT_NBSVM_OPTIONS,
  NbsvmModel,
  evaluateNbsvm,
  evaluateNbsvm as evaluate,
  fitScaledLogistic,
  logCountRatios,
  trainNbsvm,
  trainNbsvmTokens,
  type NbsvmEvaluation,
  type NbsvmOptions,
  type NbsvmParameters,
} from './nbsvm.js';
export {
  BASELINE_FILES,
  BASELINE_FORMAT_VERSION,
  loadNbsvm,
  saveNbsvm,
  validateBaselineMeta,
  type BaselineMeta,
} from './persist.js';
