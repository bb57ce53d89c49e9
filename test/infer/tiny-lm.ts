/**
 * A tiny AWD-LSTM language model directory for generation tests: random (seeded) weights, the
 * vocab of one sentence (24 entries with padding), emb 8, hidden 16, 2 layers. Untrained, so
 * tests assert the pipeline (state, determinism, formats), not the text's quality.
 */
import { writeModelDir, type ModelKind } from '../../src/io/artifact.js';
import { float32Tensor, type TensorMap } from '../../src/io/tensors.js';
import { LanguageModel, type AwdLstmConfig } from '../../src/model/awd-lstm.js';
import { defaultTokenizerSettings } from '../../src/text/settings.js';
import { createWordTokenizer } from '../../src/text/tokenizer.js';
import { countTokens, Vocab } from '../../src/text/vocab.js';

/** The text whose tokens make the vocab. */
export const TINY_TEXT = 'The cat sat on the mat. It was happy.';

export const TINY_CONFIG: AwdLstmConfig = {
  emb_sz: 8,
  n_hid: 16,
  n_layers: 2,
  pad_token: 1,
  hidden_p: 0,
  input_p: 0,
  embed_p: 0,
  weight_p: 0,
  output_p: 0,
  tie_weights: true,
  out_bias: true,
};

export interface TinyLmOptions {
  backwards?: boolean;
  kind?: ModelKind;
  /** Seed of the random weights. */
  seed?: number;
}

/** Builds the tiny LM and writes it to `dir`; returns the document's tokens and the vocab. */
export function writeTinyLm(
  dir: string,
  options: TinyLmOptions = {},
): { tokens: string[]; itos: readonly string[] } {
  const settings = defaultTokenizerSettings();
  const tokens = createWordTokenizer(settings).tokenize(TINY_TEXT);
  const counts = new Map<string, number>();
  countTokens(counts, tokens);
  const vocab = Vocab.build(counts, { minFreq: 1 });
  const lm = new LanguageModel(vocab.size, TINY_CONFIG, { seed: options.seed ?? 1 });
  const weights: TensorMap = new Map();
  for (const [name, variable] of lm.namedWeights()) {
    weights.set(name, float32Tensor([...variable.shape], variable.dataSync() as Float32Array));
  }
  lm.dispose();
  writeModelDir(dir, {
    meta: {
      kind: options.kind ?? 'lm',
      arch: { name: 'awd_lstm', ...TINY_CONFIG },
      backwards: options.backwards ?? false,
    },
    weights,
    vocab: [...vocab.itos],
    tokenizer: settings as unknown as Record<string, unknown>,
    ...(options.kind === 'classifier' ? { labels: ['neg', 'pos'] } : {}),
  });
  return { tokens, itos: vocab.itos };
}
