/**
 * Tokenizer settings: everything needed to rebuild a tokenizer, as plain JSON. This is what a
 * model directory's `tokenizer.json` and a corpus cache's settings hold, and what worker threads
 * receive to build their own tokenizer.
 */

export interface SubwordSettings {
  /** SentencePiece vocab size. */
  vocabSize: number;
  /** SentencePiece character coverage (fastai: 0.99999 for European languages, else 0.9998). */
  characterCoverage: number;
  /** File name of the SentencePiece model, relative to the directory that holds tokenizer.json. */
  modelFile: string;
}

export interface TokenizerSettings {
  /** 'word': fastai rules + spaCy-like word split; 'subword': rules + SentencePiece. */
  kind: 'word' | 'subword';
  /** Whether the fastai pre/post rules run at all (`--no-rules` turns this off). */
  rules: boolean;
  /** Names of the pre-rules, in order (see `PRE_RULES` in rules.ts). Recorded for provenance. */
  preRules: string[];
  /** Names of the post-rules, in order (see `POST_RULES` in rules.ts). */
  postRules: string[];
  /** Whether text is lower-cased (fastai does it in the `lowercase` rule, with xxmaj/xxup). */
  lowercase: boolean;
  /** Append xxeos to every document (fastai default: no). */
  addEos: boolean;
  /** Language of the word tokenizer (only 'en' is supported). */
  lang: string;
  /** Only for kind 'subword'. */
  subword?: SubwordSettings;
}

/** fastai v2's default pre-rules, in order (`defaults.text_proc_rules`, fastai/text/core.py). */
export const DEFAULT_PRE_RULES: readonly string[] = Object.freeze([
  'fix_html',
  'replace_rep',
  'replace_wrep',
  'spec_add_spaces',
  'rm_useless_spaces',
  'replace_all_caps',
  'replace_maj',
  'lowercase',
]);

/** fastai v2's default post-rules (`defaults.text_postproc_rules`). */
export const DEFAULT_POST_RULES: readonly string[] = Object.freeze(['replace_space']);

/** fastai's defaults: word tokens, rules on (lowercase via the rules), no xxeos, English. */
/**
 * With `rules: false` (fastai's `rules=[]`), the rule lists default to empty and `lowercase` to
 * false, since fastai lower-cases only through its `lowercase` rule.
 */
export function defaultTokenizerSettings(overrides: Partial<TokenizerSettings> = {}): TokenizerSettings {
  const rules = overrides.rules ?? true;
  const settings: TokenizerSettings = {
    kind: 'word',
    rules,
    preRules: rules ? [...DEFAULT_PRE_RULES] : [],
    postRules: rules ? [...DEFAULT_POST_RULES] : [],
    lowercase: rules,
    addEos: false,
    lang: 'en',
    ...overrides,
  };
  // Copy arrays so callers never share (and mutate) the defaults or their overrides.
  settings.preRules = [...settings.preRules];
  settings.postRules = [...settings.postRules];
  if (settings.subword) settings.subword = { ...settings.subword };
  return settings;
}
