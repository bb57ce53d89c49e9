/**
 * The ulmfit library: everything the CLI does, callable from code. Each export is the function a
 * command calls (src/cli/ only parses flags and prints). `Classifier` and `LanguageModel` (src/api/)
 * are the few calls most applications need; the rest is the toolkit underneath.
 */
export { Classifier, type LoadOptions, type PredictOptions, type ClassPrediction } from './api/classifier.js';
export {
  LanguageModel,
  type GenerateTextOptions,
  type Generation,
  type GeneratedToken,
  type TextScore,
} from './api/language-model.js';
export { initBackend, type BackendName } from './backend.js';
export { UlmfitError, type ErrorCode } from './errors.js';
export { Rng } from './random.js';

// Text: fastai rules, spaCy-identical words, SentencePiece subwords, vocab, corpora.
export { defaultTokenizerSettings, type TokenizerSettings } from './text/settings.js';
export { createTokenizer, type Tokenizer } from './text/tokenizer.js';
export { Vocab } from './text/vocab.js';
export { detokenize } from './text/detokenize.js';
export { tokenizeCorpus, type TokenizeCorpusOptions, type TokenizeCorpusResult } from './text/pipeline.js';
export { openCorpus, type Corpus } from './text/corpus.js';
export { trainUnigramModel } from './text/subword/trainer.js';
export { loadSubwordEncoder } from './text/subword/encoder.js';

// Data and models.
export { LmStream, splitValid } from './data/lm-stream.js';
export { SortedBatches } from './data/clas-batches.js';
// The AWD-LSTM language-model network (what training builds); `LanguageModel` above is the API.
export {
  AwdLstm,
  LanguageModel as AwdLstmLanguageModel,
  AWD_LSTM_LM_CONFIG,
  AWD_LSTM_CLAS_CONFIG,
  withDropMult,
  type AwdLstmConfig,
} from './model/awd-lstm.js';
export { TextClassifier } from './model/heads.js';
export { Learner, type Stage, type EpochRow } from './train/learner.js';
export { lrFind } from './train/lr-find.js';

// The ULMFiT stages and inference.
export {
  trainLanguageModel,
  findLanguageModelLr,
  type LmTrainOptions,
  type LmTrainResult,
} from './tasks/lm.js';
export {
  trainClassifier,
  type ClassifierTrainOptions,
  type ClassifierTrainResult,
} from './tasks/classifier.js';
export { loadGenerator } from './infer/load-generator.js';
export { generate } from './infer/generate.js';
export { loadClassifier, loadEnsemble, classifyInputs, evaluate } from './infer/classify.js';

// Artifacts and fastai interchange.
export { readModelDir, writeModelDir, resolveModelDir, type ModelMeta } from './io/artifact.js';
export { importFastaiModel, exportFastaiModel } from './io/fastai-model-dir.js';
