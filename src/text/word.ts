/**
 * Word splitting that reproduces spaCy's English tokenizer (what fastai's default
 * `SpacyTokenizer` uses, so what the WT103 vocab was built from).
 *
 * This is spaCy's algorithm (spacy/tokenizer.pyx) over spaCy's own English data
 * (src/text/spacy-data.ts, generated from spaCy 3.8):
 * 1. Split the text into alternating runs of whitespace and non-whitespace (Python's isspace).
 *    A single ' ' right after a token is only a separator; any other whitespace run (a newline,
 *    two spaces, a tab) is a token of its own, e.g. `'\n\n'`.
 * 2. For each run: if the whole run is a tokenizer exception (`don't` → `do n't`, `Mr.`, `:)`),
 *    use it. Otherwise strip prefixes and suffixes one at a time (`("Hello!"` → `(` `"` ... `!`
 *    `"`), stopping early when what is left is an exception; then, if the core is a URL, keep it
 *    whole, else split it on infixes (`feel-good` → `feel - good`).
 * 3. Exceptions that contain affix characters (`Mr.`, `:)`, `a.`) are re-merged when the split
 *    produced exactly their pieces (spaCy's special-case matcher).
 *
 * The result of each run is cached (like spaCy's own cache), so repeated words cost one Map
 * lookup. See docs/spacy-differences.md for the known differences from spaCy.
 */
import { DEFAULT_SPECIALS } from './specials.js';
import { EXCEPTIONS, INFIX_PATTERNS, PREFIX_PATTERNS, SUFFIX_PATTERNS, URL_PATTERN } from './spacy-data.js';

/** Python's str.isspace() for one UTF-16 unit (all Python whitespace is in the BMP). */
export function isPySpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x1f);
  if (code < 0x85) return false;
  return (
    code === 0x85 ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000
  );
}

const PREFIX_RE = new RegExp(`^(?:${PREFIX_PATTERNS.join('|')})`, 'u');
const SUFFIX_RE = new RegExp(`(?:${SUFFIX_PATTERNS.join('|')})$`, 'u');
const INFIX_RE = new RegExp(INFIX_PATTERNS.join('|'), 'gu');
const URL_RE = new RegExp(URL_PATTERN, 'u');

/** Length of the prefix spaCy would split off `text` (0 if none). */
export function findPrefix(text: string): number {
  const match = PREFIX_RE.exec(text);
  return match ? match[0].length : 0;
}

/** Length of the suffix spaCy would split off `text` (0 if none); the leftmost match wins. */
export function findSuffix(text: string): number {
  const match = SUFFIX_RE.exec(text);
  return match ? match[0].length : 0;
}

/** [start, end) of every infix in `text`, left to right, non-overlapping. */
export function findInfixes(text: string): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  for (const match of text.matchAll(INFIX_RE)) found.push([match.index, match.index + match[0].length]);
  return found;
}

export function isUrl(text: string): boolean {
  return URL_RE.test(text);
}

/** How many distinct runs to remember before the cache is emptied (bounds memory). */
const MAX_CACHE_ENTRIES = 200_000;

/**
 * spaCy's English tokenizer. Not thread-safe (it has a cache); build one per worker thread.
 */
export class SpacyEnglishSplitter {
  /** Exceptions (spaCy's) plus fastai's special tokens, which fastai registers as exceptions. */
  private readonly specials: Map<string, readonly string[]>;
  /**
   * Exceptions whose text contains affixes, indexed by the first token of their plain
   * (exception-free) tokenization: spaCy re-merges those token sequences after splitting.
   */
  private readonly mergeable = new Map<string, Array<{ pieces: readonly string[]; tokens: readonly string[] }>>();
  private readonly cache = new Map<string, readonly string[]>();

  constructor(extraSpecials: readonly string[] = DEFAULT_SPECIALS) {
    this.specials = new Map(EXCEPTIONS);
    for (const token of extraSpecials) this.specials.set(token, [token]);
    for (const [text, tokens] of this.specials) {
      const hasAffix = findPrefix(text) > 0 || findSuffix(text) > 0 || findInfixes(text).length > 0 || text.includes(' ');
      if (!hasAffix) continue;
      const pieces = this.splitRun(text, false);
      const list = this.mergeable.get(pieces[0]!) ?? [];
      list.push({ pieces, tokens });
      this.mergeable.set(pieces[0]!, list);
    }
  }

  /** Splits `text` into tokens, appending them to `out` (returned). */
  split(text: string, out: string[] = []): string[] {
    const length = text.length;
    if (length === 0) return out;
    let inSpace = isPySpace(text.charCodeAt(0));
    let start = 0;
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (isPySpace(code) === inSpace) continue;
      if (start < i) this.pushRun(text.slice(start, i), out);
      // A single ' ' ending a token is the token's trailing space, not a token.
      start = code === 0x20 ? i + 1 : i;
      inSpace = !inSpace;
    }
    if (start < length) this.pushRun(text.slice(start), out);
    return out;
  }

  private pushRun(run: string, out: string[]): void {
    let tokens = this.cache.get(run);
    if (tokens === undefined) {
      tokens = this.mergeSpecials(this.splitRun(run, true));
      if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
      this.cache.set(run, tokens);
    }
    for (let i = 0; i < tokens.length; i++) out.push(tokens[i]!);
  }

  /** One whitespace-free (or all-whitespace) run → tokens: spaCy's `_split_affixes` + `_attach_tokens`. */
  private splitRun(run: string, withSpecials: boolean): string[] {
    if (withSpecials) {
      const special = this.specials.get(run);
      if (special) return [...special];
    }
    const prefixes: string[] = [];
    const suffixes: string[] = [];
    let core = this.splitAffixes(run, prefixes, suffixes, withSpecials);
    const tokens = prefixes;
    if (core) {
      const special = withSpecials ? this.specials.get(core) : undefined;
      if (special) tokens.push(...special);
      else if (isUrl(core)) tokens.push(core);
      else {
        let start = 0;
        for (const [infixStart, infixEnd] of findInfixes(core)) {
          if (infixStart === 0) continue; // an infix at the very start is not split off
          if (infixStart !== start) tokens.push(core.slice(start, infixStart));
          if (infixStart !== infixEnd) tokens.push(core.slice(infixStart, infixEnd));
          start = infixEnd;
        }
        core = core.slice(start);
        if (core) tokens.push(core);
      }
    }
    for (let i = suffixes.length - 1; i >= 0; i--) tokens.push(suffixes[i]!);
    return tokens;
  }

  /** spaCy `_split_affixes`: peel prefixes and suffixes until none is left or an exception remains. */
  private splitAffixes(text: string, prefixes: string[], suffixes: string[], withSpecials: boolean): string {
    let rest = text;
    let lastSize = -1;
    while (rest && rest.length !== lastSize) {
      if (withSpecials && this.specials.has(rest)) break;
      lastSize = rest.length;
      const prefixLength = findPrefix(rest);
      if (prefixLength !== 0) {
        const minusPrefix = rest.slice(prefixLength);
        if (minusPrefix && withSpecials && this.specials.has(minusPrefix)) {
          prefixes.push(rest.slice(0, prefixLength));
          rest = minusPrefix;
          break;
        }
      }
      const suffixLength = findSuffix(rest.slice(prefixLength));
      if (suffixLength !== 0) {
        const minusSuffix = rest.slice(0, rest.length - suffixLength);
        if (minusSuffix && withSpecials && this.specials.has(minusSuffix)) {
          suffixes.push(rest.slice(rest.length - suffixLength));
          rest = minusSuffix;
          break;
        }
      }
      if (prefixLength && suffixLength && prefixLength + suffixLength <= rest.length) {
        prefixes.push(rest.slice(0, prefixLength));
        suffixes.push(rest.slice(rest.length - suffixLength));
        rest = rest.slice(prefixLength, rest.length - suffixLength);
      } else if (prefixLength) {
        prefixes.push(rest.slice(0, prefixLength));
        rest = rest.slice(prefixLength);
      } else if (suffixLength) {
        suffixes.push(rest.slice(rest.length - suffixLength));
        rest = rest.slice(0, rest.length - suffixLength);
      }
    }
    return rest;
  }

  /**
   * spaCy's special-case matcher, applied within one run: token sequences that spell an
   * affix-containing exception are replaced by that exception's tokens. Longest match first, then
   * leftmost; a match is skipped when its first or last token is already taken by a longer or
   * earlier match, skipped or not (as in spaCy's `_filter_special_spans`).
   */
  private mergeSpecials(tokens: string[]): string[] {
    if (tokens.length < 2 || this.mergeable.size === 0) return tokens;
    const matches: Array<{ start: number; end: number; tokens: readonly string[] }> = [];
    for (let i = 0; i < tokens.length; i++) {
      const candidates = this.mergeable.get(tokens[i]!);
      if (!candidates) continue;
      for (const { pieces, tokens: replacement } of candidates) {
        if (i + pieces.length > tokens.length) continue;
        let same = true;
        for (let k = 1; k < pieces.length && same; k++) same = tokens[i + k] === pieces[k];
        if (same) matches.push({ start: i, end: i + pieces.length, tokens: replacement });
      }
    }
    if (matches.length === 0) return tokens;
    matches.sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start);
    const taken = new Uint8Array(tokens.length);
    const chosen: typeof matches = [];
    for (const match of matches) {
      if (!taken[match.start] && !taken[match.end - 1]) chosen.push(match);
      // spaCy marks the tokens as taken even when it skips the match.
      taken.fill(1, match.start, match.end);
    }
    chosen.sort((a, b) => a.start - b.start);
    const merged: string[] = [];
    let next = 0;
    for (const match of chosen) {
      if (match.start < next) continue; // cannot happen after the endpoint checks, kept for safety
      for (let i = next; i < match.start; i++) merged.push(tokens[i]!);
      merged.push(...match.tokens);
      next = match.end;
    }
    for (let i = next; i < tokens.length; i++) merged.push(tokens[i]!);
    return merged;
  }
}
