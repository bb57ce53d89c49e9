/**
 * Tokens back to readable prose (for `ulmfit generate`).
 *
 * 1. `decodeSpecTokens` undoes fastai's rules: xxmaj/xxup restore case, xxrep/xxwrep expand,
 *    xxbos/xxpad/xxeos/xxfld (and the xxfake vocab padding) are dropped. This is fastai's `decode_spec_tokens` without its
 *    stale-state bug (docs/fastai-differences.md: after an xxrep/xxwrep, fastai keeps repeating every later
 *    token): here each marker applies to the next token only.
 * 2. `joinTokens` undoes the word split: spaces go between tokens except before closing
 *    punctuation and contractions (`word .` → `word.`, `do n't` → `don't`), after opening
 *    brackets and currency signs, and around hyphens and slashes inside words.
 * For subword tokens, pieces are first glued into words on `▁` (SentencePiece's word-start mark).
 */
import { BOS, EOS, FAKE, FLD, MAJ, PAD, REP, UP, WREP } from './specials.js';

const DROPPED: ReadonlySet<string> = new Set([BOS, PAD, EOS, FLD, FAKE]);
const WORD_START = '\u2581'; // ▁

export interface DetokenizeOptions {
  /** The tokens are SentencePiece pieces (words start with `▁`). */
  subword?: boolean;
}

/** Tokens (as the tokenizer or a language model produce them) → text. */
export function detokenize(tokens: readonly string[], options: DetokenizeOptions = {}): string {
  const words = options.subword
    ? joinPieces(tokens)
    : tokens.map((token) => token.replaceAll(WORD_START, ' '));
  return joinTokens(restoreEnglishCase(mergeSplitQuotes(decodeSpecTokens(words))));
}

/**
 * The pronoun `I` back in capitals: fastai's replace_maj skips one-letter words, so `I` is
 * lower-cased with no xxmaj marker and the case is lost in the tokens.
 */
export function restoreEnglishCase(words: readonly string[]): string[] {
  return words.map((word) => (word === 'i' ? 'I' : word));
}

/**
 * PTB-style quotes split in two by the word tokenizer (the Brown corpus writes `` and '', and
 * spaCy splits `` into ` `) are glued back, so the joiner sees one opening or closing quote.
 */
export function mergeSplitQuotes(words: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '`' && words[i + 1] === '`') {
      out.push('``');
      i++;
    } else {
      out.push(words[i]!);
    }
  }
  return out;
}

/** SentencePiece pieces → words: a piece starting with `▁` starts a new word. */
export function joinPieces(pieces: readonly string[]): string[] {
  const words: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (piece.startsWith(WORD_START)) {
      if (current) words.push(current);
      current = piece.slice(WORD_START.length);
    } else {
      current += piece;
    }
  }
  if (current) words.push(current);
  // A piece may hold several words (`▁` inside it); what is left of ▁ is a space.
  return words.flatMap((word) =>
    word.includes(WORD_START) ? word.split(WORD_START).filter(Boolean) : [word],
  );
}

function capitalize(token: string): string {
  // fastai: t[0].upper() + t[1:].lower(); by code point, so an astral first letter stays whole.
  const first = String.fromCodePoint(token.codePointAt(0)!);
  return first.toUpperCase() + token.slice(first.length).toLowerCase();
}

/**
 * fastai's `decode_spec_tokens`, fixed: `xxmaj w` → `W`, `xxup w` → `W` upper-cased,
 * `xxrep 3 a` → `aaa`, `xxwrep 3 w` → `w w w` (three tokens), and a case marker after
 * `xxwrep N` applies to the repeated word (`xxwrep 3 xxup no` → `NO NO NO`, which is how fastai's
 * rules encode `NO NO NO`). A repeat marker without a count keeps the token that followed it
 * (fastai drops it). Markers apply to the next token only. Dropped: xxbos, xxpad, xxeos, xxfld,
 * xxfake.
 */
export function decodeSpecTokens(tokens: readonly string[]): string[] {
  const out: string[] = [];
  let caseRule: string | undefined; // MAJ or UP, for the next token
  let repeatRule: string | undefined; // REP or WREP, waiting for its count or its token
  let count: number | undefined;
  for (const token of tokens) {
    if (DROPPED.has(token)) continue;
    if (token === MAJ || token === UP) {
      caseRule = token;
      continue;
    }
    if (token === REP || token === WREP) {
      repeatRule = token;
      count = undefined;
      continue;
    }
    if (repeatRule !== undefined && count === undefined && /^\d+$/.test(token)) {
      count = Number(token);
      continue;
    }
    let word = token;
    if (caseRule === MAJ) word = capitalize(word);
    else if (caseRule === UP) word = word.toUpperCase();
    caseRule = undefined;
    if (repeatRule === REP && count !== undefined) out.push(word.repeat(count));
    else if (repeatRule === WREP && count !== undefined) for (let i = 0; i < count; i++) out.push(word);
    else out.push(word);
    repeatRule = undefined;
    count = undefined;
  }
  return out;
}

/** Tokens that attach to the previous token (no space before them). */
const CLOSING = /^(?:[.,!?;:)\]}…%]+|n't|n’t|'s|'S|’s|'m|'re|'ve|'ll|'d|''|”|»)$/;
/** Tokens after which no space follows. */
const OPENING = /^(?:[([{$£€¥#]|``|“|«)$/;
/** Tokens written without spaces when they stand between two words (`feel - good` → `feel-good`). */
const INFIX = /^[-/]$/;
const WORDLIKE = /[\p{L}\p{N}]$/u;
const WORDLIKE_START = /^[\p{L}\p{N}]/u;
const SPACE_ONLY = /^\s+$/u;

/**
 * Words → text with English spacing. Straight quotes (`"` and a lone `'`) alternate between
 * opening and closing, except that a lone `'` after a word ending in s, outside single quotes, is
 * taken for a plural possessive. Whitespace tokens (spaCy keeps `\n\n`) are written as they are, with no
 * space around them.
 */
export function joinTokens(tokens: readonly string[]): string {
  let text = '';
  let previous: string | undefined;
  let noSpaceNext = true; // nothing before the first token
  let doubleQuoteOpen = false;
  let singleQuoteOpen = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const next = tokens[i + 1];
    let spaceBefore = !noSpaceNext;
    noSpaceNext = false;
    if (SPACE_ONLY.test(token)) {
      text += token;
      previous = token;
      noSpaceNext = true;
      continue;
    }
    if (token === "'" && !singleQuoteOpen && previous !== undefined && /s$/i.test(previous)) {
      spaceBefore = false; // a plural possessive (`the boys ' toys` → `the boys' toys`)
    } else if (token === '"' || token === "'") {
      const open: boolean = token === '"' ? !doubleQuoteOpen : !singleQuoteOpen;
      if (token === '"') doubleQuoteOpen = open;
      else singleQuoteOpen = open;
      if (open) noSpaceNext = true;
      else spaceBefore = false;
    } else if (CLOSING.test(token)) {
      spaceBefore = false;
    } else if (OPENING.test(token)) {
      noSpaceNext = true;
    } else if (
      INFIX.test(token) &&
      previous !== undefined &&
      WORDLIKE.test(previous) &&
      next !== undefined &&
      WORDLIKE_START.test(next)
    ) {
      spaceBefore = false;
      noSpaceNext = true;
    }
    if (spaceBefore) text += ' ';
    text += token;
    previous = token;
  }
  return text;
}
