/**
 * The subword `Tokenizer`: fastai's pre-rules, then SentencePiece pieces (fastai's
 * `SentencePieceTokenizer`). Word starts are marked by "▁" inside the pieces, so the special
 * tokens come out as "▁xxbos", "▁xxmaj", ... as in fastai.
 */
import { UlmfitError } from '../../errors.js';
import { resolveRules, RuleTokenizer, type Tokenizer } from '../rule-tokenizer.js';
import type { TokenizerSettings } from '../settings.js';
import { loadSubwordEncoder } from './encoder.js';

/** The file name a subword model gets next to tokenizer.json (fastai's `spm.model`). */
export const SPM_MODEL_FILE = 'spm.model';

export async function createSubwordTokenizer(
  settings: TokenizerSettings,
  spmModel: Uint8Array | undefined,
): Promise<Tokenizer> {
  const modelFile = settings.subword?.modelFile ?? SPM_MODEL_FILE;
  if (!spmModel) {
    throw new UlmfitError(
      'E_MODEL_DIR',
      `the tokenizer settings ask for subword pieces but the SentencePiece model (${modelFile}) was not given`,
      `keep ${modelFile} next to tokenizer.json, or pass --spm-model`,
    );
  }
  const encoder = await loadSubwordEncoder(spmModel, { source: modelFile });
  // fastai's replace_space post-rule never changes a piece (pieces hold no spaces): none here.
  return new RuleTokenizer(settings, resolveRules(settings).preRules, [], (text, out) => {
    for (const piece of encoder.encode(text)) out.push(piece);
    return out;
  });
}

/**
 * The text SentencePiece sees for a document: `settings`' pre-rules applied exactly as the
 * tokenizer applies them (fastai's `SentencePieceTokenizer.setup` trains on this text).
 */
export function rulePreprocessor(settings: TokenizerSettings): (text: string) => string {
  let processed = '';
  const capture = new RuleTokenizer(
    { ...settings, addEos: false },
    resolveRules(settings).preRules,
    [],
    (text, out) => {
      processed = text;
      return out;
    },
  );
  return (text) => {
    capture.tokenize(text);
    return processed;
  };
}
