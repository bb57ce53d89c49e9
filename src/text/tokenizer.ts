/**
 * The tokenizer pipeline: fastai pre-rules → word split → post-rules (+ xxeos).
 *
 * A `Tokenizer` is built from plain `TokenizerSettings` (JSON), so a worker thread can rebuild
 * the same tokenizer from the settings it is sent. `tokenize` is synchronous and allocation-light:
 * it is the hot loop of `ulmfit tokenize`.
 */
import { UlmfitError } from '../errors.js';
import { FastWordTokenizer, isFastWordSettings } from './fast-word.js';
import { resolveRules, RuleTokenizer, type Tokenizer } from './rule-tokenizer.js';
import type { TokenizerSettings } from './settings.js';
import { SpacyEnglishSplitter } from './word.js';

export type { Tokenizer } from './rule-tokenizer.js';

export interface CreateTokenizerOptions {
  /** The SentencePiece model bytes, for kind 'subword'. */
  spmModel?: Uint8Array;
}

/** Builds the tokenizer that `settings` describe. */
export async function createTokenizer(
  settings: TokenizerSettings,
  options: CreateTokenizerOptions = {},
): Promise<Tokenizer> {
  switch (settings.kind) {
    case 'word':
      return createWordTokenizer(settings);
    case 'subword':
      return createSubwordTokenizer(settings, options);
    default:
      throw new UlmfitError(
        'E_MODEL_MISMATCH',
        `unknown tokenizer kind '${String((settings as { kind: unknown }).kind)}' in the tokenizer settings`,
        "use 'word' or 'subword'",
      );
  }
}

/**
 * The synchronous word tokenizer (what worker threads call directly): the run-by-run tokenizer
 * of fast-word.ts for fastai's default rules, else the rule pipeline.
 */
export function createWordTokenizer(settings: TokenizerSettings): Tokenizer {
  checkLanguage(settings);
  if (isFastWordSettings(settings))
    return new FastWordTokenizer(settings, () => createRuleWordTokenizer(settings));
  return createRuleWordTokenizer(settings);
}

/**
 * The word tokenizer as fastai runs it: each pre-rule over the whole document in turn, the word
 * split, then the post-rules. Any rule list works; for the default one it is the reference the
 * fast tokenizer is tested against.
 */
export function createRuleWordTokenizer(settings: TokenizerSettings): Tokenizer {
  checkLanguage(settings);
  const { preRules, postRules } = resolveRules(settings);
  const splitter = new SpacyEnglishSplitter();
  const spaceOnly = postRules.every((rule) => rule.name === 'replace_space');
  return new RuleTokenizer(
    settings,
    preRules,
    postRules,
    (text, out) => splitter.split(text, out),
    spaceOnly,
  );
}

// fastai's pre-rules, then SentencePiece pieces (src/text/subword/). Imported on demand, so word
// tokenizers never load the SentencePiece WebAssembly.
async function createSubwordTokenizer(
  settings: TokenizerSettings,
  options: CreateTokenizerOptions,
): Promise<Tokenizer> {
  const { createSubwordTokenizer: create } = await import('./subword/subword-tokenizer.js');
  return create(settings, options.spmModel);
}

function checkLanguage(settings: TokenizerSettings): void {
  if (settings.lang !== 'en') {
    throw new UlmfitError(
      'E_USAGE',
      `the word tokenizer only supports English (lang 'en'), the settings ask for '${settings.lang}'`,
      "use lang 'en', or a subword tokenizer for other languages",
    );
  }
}
