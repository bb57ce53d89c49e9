/**
 * A tiny untrained text classifier directory for inference tests: random (seeded) weights over
 * the vocab of the classifier test data, emb 8, hidden 12, 2 layers, bptt 4 (documents span
 * several chunks) and max_len 64 (longer than every test document: fastai's SentenceEncoder keeps
 * the last max_len positions of the padded batch, so a document longer than that would pool
 * differently alone and in a wider batch), BatchNorm running statistics moved off their init so
 * eval mode uses them.
 */
import * as tf from '@tensorflow/tfjs';
import { writeModelDir } from '../../src/io/artifact.js';
import { AWD_LSTM_CLAS_CONFIG, type AwdLstmConfig } from '../../src/model/awd-lstm.js';
import { TextClassifier } from '../../src/model/heads.js';
import { weightsToTensorMap } from '../../src/model/persist.js';
import { defaultTokenizerSettings } from '../../src/text/settings.js';
import { createWordTokenizer } from '../../src/text/tokenizer.js';
import { countTokens, Vocab } from '../../src/text/vocab.js';
import { CLASS_WORDS } from '../tasks/clas-data.js';

export const TINY_CLAS_CONFIG: AwdLstmConfig = { ...AWD_LSTM_CLAS_CONFIG, emb_sz: 8, n_hid: 12, n_layers: 2 };

export interface TinyClassifierOptions {
  labels?: string[];
  backwards?: boolean;
  seed?: number;
}

export function writeTinyClassifier(dir: string, options: TinyClassifierOptions = {}): void {
  const settings = defaultTokenizerSettings();
  const counts = new Map<string, number>();
  const text = [
    'the a of and to in it was on with for as at by this that .',
    ...Object.values(CLASS_WORDS).map((w) => w.join(' ')),
  ].join(' ');
  countTokens(counts, createWordTokenizer(settings).tokenize(text));
  const vocab = Vocab.build(counts, { minFreq: 1 });
  const labels = options.labels ?? ['animal', 'plant', 'vehicle'];
  const model = new TextClassifier(vocab.size, labels.length, TINY_CLAS_CONFIG, {
    seed: options.seed ?? 7,
    bptt: 4,
    maxLen: 64,
  });
  for (const layer of model.head.layers) {
    const n = layer.batchNorm.features;
    layer.batchNorm.runningMean.assign(tf.randomUniform([n], -0.1, 0.1, 'float32', options.seed ?? 7));
    layer.batchNorm.runningVar.assign(tf.randomUniform([n], 0.01, 0.05, 'float32', options.seed ?? 7));
  }
  writeModelDir(dir, {
    meta: {
      kind: 'classifier',
      arch: { name: 'awd_lstm', ...TINY_CLAS_CONFIG, seq_len: 4, max_len: 64, lin_ftrs: [50], ps: [0.1] },
      backwards: options.backwards ?? false,
    },
    weights: weightsToTensorMap(model.namedWeights()),
    vocab: [...vocab.itos],
    tokenizer: settings as unknown as Record<string, unknown>,
    labels,
  });
  model.dispose();
}
