/**
 * What every tokenizer kind shares: the `Tokenizer` interface, and `RuleTokenizer` (fastai's pre-rules →
 * a splitter → post-rules, + xxeos) with `resolveRules`. Its own module so that the kinds
 * (tokenizer.ts, fast-word.ts, subword/subword-tokenizer.ts) import it and not each other.
 */
import { UlmfitError } from '../errors.js';
import type { DocumentEncoder, TokenInterner } from './interner.js';
import { findPostRule, findPreRule, fusePreRules, isPySpace, type PostRule, type PreRule } from './rules.js';
import type { TokenizerSettings } from './settings.js';
import { EOS } from './specials.js';

export interface Tokenizer {
  readonly settings: TokenizerSettings;
  /** One document → its tokens (with rules on, the first token is xxbos). */
  tokenize(text: string): string[];
  /**
   * Optional fast path: an encoder that appends a document's token ids (interned in `interner`)
   * to a buffer, giving exactly `tokenize`'s tokens without a string array per document.
   */
  createEncoder?(interner: TokenInterner): DocumentEncoder;
}

/** Splits one rule-processed string into tokens, appending them to `out`. */
export type SplitFunction = (text: string, out: string[]) => string[];

/** Rules around any splitter: the shape shared by the word and subword kinds. */
export class RuleTokenizer implements Tokenizer {
  private readonly lowercaseWithoutRules: boolean;
  private readonly preRules: readonly PreRule[];

  /**
   * @param spaceOnlyPostRules the post-rules only change tokens that start with whitespace (true
   *   for replace_space over word tokens: a token holds a space only if it is a whitespace run),
   *   so other tokens are skipped.
   */
  constructor(
    readonly settings: TokenizerSettings,
    preRules: readonly PreRule[],
    private readonly postRules: readonly PostRule[],
    private readonly split: SplitFunction,
    private readonly spaceOnlyPostRules = false,
  ) {
    this.preRules = fusePreRules(preRules);
    // With the rules on, lower-casing is the job of the `lowercase` rule (which also adds the
    // xxmaj/xxup markers beforehand); with them off, `lowercase` alone still lower-cases.
    this.lowercaseWithoutRules = !settings.rules && settings.lowercase;
  }

  tokenize(text: string): string[] {
    let processed = this.lowercaseWithoutRules ? text.toLowerCase() : text;
    for (const rule of this.preRules) processed = rule.apply(processed);
    const tokens = this.split(processed, []);
    for (const rule of this.postRules) {
      for (let i = 0; i < tokens.length; i++) {
        const token = tokens[i]!;
        if (!this.spaceOnlyPostRules || isPySpace(token.charCodeAt(0))) tokens[i] = rule.apply(token);
      }
    }
    if (this.settings.addEos) tokens.push(EOS);
    return tokens;
  }
}

/** Rule names → rule functions; none at all when `settings.rules` is false. */
export function resolveRules(settings: TokenizerSettings): { preRules: PreRule[]; postRules: PostRule[] } {
  if (!settings.rules) return { preRules: [], postRules: [] };
  const preRules = settings.preRules.map((name) => {
    const rule = findPreRule(name);
    if (!rule) throw unknownRule(name, 'pre');
    if (name === 'lowercase' && !settings.lowercase) {
      throw new UlmfitError(
        'E_USAGE',
        "the tokenizer settings list the 'lowercase' rule but set lowercase to false",
        "drop 'lowercase' from preRules or set lowercase to true",
      );
    }
    return rule;
  });
  const postRules = settings.postRules.map((name) => {
    const rule = findPostRule(name);
    if (!rule) throw unknownRule(name, 'post');
    return rule;
  });
  return { preRules, postRules };
}

function unknownRule(name: string, kind: 'pre' | 'post'): UlmfitError {
  return new UlmfitError(
    'E_MODEL_MISMATCH',
    `unknown ${kind}-tokenization rule '${name}' in the tokenizer settings`,
    kind === 'pre'
      ? 'known pre-rules: fix_html, replace_rep, replace_wrep, spec_add_spaces, rm_useless_spaces, replace_all_caps, replace_maj, lowercase'
      : 'known post-rules: replace_space',
  );
}
