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
 * Speed: runs of ASCII letters (most words once fastai has lower-cased them) and whitespace runs
 * cannot match any affix pattern, so they skip the machinery; every other run's tokens are cached
 * (like spaCy's own cache), so a repeated run costs one Map lookup; and the matcher only looks at
 * documents where some run holds a mergeable sequence.
 *
 * Checked token for token against spaCy 3.8 on the whole Brown corpus (see
 * docs/spacy-differences.md, which also lists the known differences).
 */
import { isPySpace } from './rules.js';
import { DEFAULT_SPECIALS } from './specials.js';
import { EXCEPTIONS, INFIX_PATTERNS, PREFIX_PATTERNS, SUFFIX_PATTERNS, URL_PATTERN } from './spacy-data.js';

export { isPySpace };

const PREFIX_RE = new RegExp(`^(?:${PREFIX_PATTERNS.join('|')})`, 'u');
const SUFFIX_RE = new RegExp(`(?:${SUFFIX_PATTERNS.join('|')})$`, 'u');
// The infixes are searched one pattern at a time: V8 runs the joined alternation (large Unicode
// classes inside lookbehinds) about 100x slower than the eight patterns separately.
const INFIX_RES = INFIX_PATTERNS.map((pattern) => new RegExp(pattern, 'gu'));
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

/**
 * [start, end) of every infix in `text`, left to right, non-overlapping: Python's `finditer` over
 * the alternation of the infix patterns. At each step the leftmost match of any pattern wins, and
 * at equal positions the pattern listed first (what an ordered alternation does).
 */
export function findInfixes(text: string): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  let from = 0;
  while (from <= text.length) {
    let bestStart = Infinity;
    let bestEnd = 0;
    for (const re of INFIX_RES) {
      re.lastIndex = from;
      const match = re.exec(text);
      if (match && match.index < bestStart) {
        bestStart = match.index;
        bestEnd = match.index + match[0].length;
      }
    }
    if (bestStart === Infinity) break;
    found.push([bestStart, bestEnd]);
    // Every infix pattern consumes at least one character, so this always advances.
    from = bestEnd > bestStart ? bestEnd : bestStart + 1;
  }
  return found;
}

export function isUrl(text: string): boolean {
  return URL_RE.test(text);
}

/** How many distinct runs to remember before the cache is emptied (bounds memory). */
const MAX_CACHE_ENTRIES = 200_000;

export interface MergePattern {
  /** The exception's plain tokenization, which the matcher looks for. */
  readonly pieces: readonly string[];
  /** What those pieces become. */
  readonly tokens: readonly string[];
}

/** An occurrence of a MergePattern's pieces at tokens[start, end). */
export interface Match {
  readonly start: number;
  readonly end: number;
  readonly tokens: readonly string[];
}

/** The tokens of one whitespace-free run. */
export interface CachedRun {
  readonly tokens: readonly string[];
  /** Mergeable sequences inside the run (offsets within `tokens`), or null: none. */
  readonly merges: readonly Match[] | null;
}

/** The affixes peeled around a word (see `wrappedWordTokens`), suffixes in text order. */
interface WrappedAffixes {
  readonly prefixes: readonly string[];
  readonly suffixes: readonly string[];
}

function isLowerAsciiLetter(code: number): boolean {
  return code >= 0x61 && code <= 0x7a;
}

/** ASCII punctuation and symbols: printable, not a letter, digit or space. */
function isAsciiPunctuation(code: number): boolean {
  return (
    (code >= 0x21 && code <= 0x2f) ||
    (code >= 0x3a && code <= 0x40) ||
    (code >= 0x5b && code <= 0x60) ||
    (code >= 0x7b && code <= 0x7e)
  );
}

function isAsciiLetter(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a);
}

/** Whether `text` is one or more ASCII letters, which no affix, infix or URL pattern can match. */
export function isAsciiLetters(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isAsciiLetter(text.charCodeAt(i))) return false;
  return text.length > 0;
}

/**
 * spaCy's English tokenizer. Not thread-safe (it has a cache); build one per worker thread.
 */
export class SpacyEnglishSplitter {
  /** Exceptions (spaCy's) plus fastai's special tokens, which fastai registers as exceptions. */
  private readonly specials: Map<string, readonly string[]>;
  /**
   * The exceptions made of ASCII letters only, for the fast path; null for one whose tokens the
   * special-case matcher would touch (none in spaCy 3.8's data), which takes the general path.
   */
  private readonly letterSpecials = new Map<string, readonly string[] | null>();
  /**
   * Exceptions whose text contains affixes, indexed by the first token of their plain
   * (exception-free) tokenization: spaCy re-merges those token sequences after splitting.
   */
  private readonly mergeable = new Map<string, MergePattern[]>();
  /** The most pieces of any mergeable pattern. */
  readonly longestPattern: number = 0;
  private readonly cache = new Map<string, CachedRun>();
  /** `wrappedWordTokens`' steps by `before + ' ' + after` (null: that shape takes the general path). */
  private readonly wrappedAffixes = new Map<string, WrappedAffixes | null>();
  /** The letters of every exception shaped like ASCII punctuation, lower-case letters, punctuation. */
  private readonly wrappedSpecialWords = new Set<string>();
  /** Mergeable sequences found in the current `split` call, in output positions (reused). */
  private readonly pending: Match[] = [];

  constructor(extraSpecials: readonly string[] = DEFAULT_SPECIALS) {
    this.specials = new Map(EXCEPTIONS);
    for (const token of extraSpecials) this.specials.set(token, [token]);
    for (const [text, tokens] of this.specials) {
      const hasAffix =
        !isAsciiLetters(text) &&
        (findPrefix(text) > 0 || findSuffix(text) > 0 || findInfixes(text).length > 0 || text.includes(' '));
      if (!hasAffix) continue;
      const pieces = this.splitRun(text, false);
      // A one-piece pattern that maps to itself changes nothing, and being the shortest it is
      // considered last, so it cannot block another match either.
      if (pieces.length === 1 && tokens.length === 1 && tokens[0] === pieces[0]) continue;
      const list = this.mergeable.get(pieces[0]!) ?? [];
      list.push({ pieces, tokens });
      this.mergeable.set(pieces[0]!, list);
      this.longestPattern = Math.max(this.longestPattern, pieces.length);
    }
    for (const text of this.specials.keys()) {
      const wrapped = /^[!-/:-@[-`{-~]*([a-z]+)[!-/:-@[-`{-~]*$/.exec(text);
      if (wrapped) this.wrappedSpecialWords.add(wrapped[1]!);
    }
    if (this.wrappedSpecialWords.has('zqx'))
      throw new Error('the stand-in word of wrappedWordTokens is an exception');
    for (const [text, tokens] of this.specials) {
      if (!/^[A-Za-z]+$/.test(text)) continue;
      this.letterSpecials.set(text, this.findMatches(tokens, 0, tokens.length).length === 0 ? tokens : null);
    }
  }

  /** Every mergeable pattern (what the special-case matcher looks for), for id-based matchers. */
  mergePatterns(): MergePattern[] {
    return [...this.mergeable.values()].flat();
  }

  /**
   * For a run of ASCII letters: undefined when it is no exception (it is one token), else the
   * exception's tokens, or null for one whose tokens the special-case matcher might touch.
   */
  letterException(run: string): readonly string[] | null | undefined {
    return this.letterSpecials.get(run);
  }

  /**
   * The tokens of one whitespace-free run as `split` gives them inside a document, with the
   * mergeable sequences inside it (offsets within `tokens`; whether spaCy merges one depends on
   * the neighbouring tokens, see `mergeSpecials`). Not cached: the caller caches whole runs.
   * `shortcut: false` always takes the general path (tests compare the two).
   */
  runTokens(run: string, shortcut = true): CachedRun {
    if (isAsciiLetters(run)) {
      const special = this.letterSpecials.get(run);
      if (special === undefined) return { tokens: [run], merges: null };
      if (special !== null) return { tokens: special, merges: null };
    }
    const tokens = (shortcut ? this.wrappedWordTokens(run) : undefined) ?? this.splitRun(run, true);
    const merges = this.findMatches(tokens, 0, tokens.length);
    return { tokens, merges: merges.length > 0 ? merges : null };
  }

  /**
   * The common run shape `(("word''.` (ASCII punctuation, lower-case ASCII letters, ASCII
   * punctuation) without running the affix regexes, or undefined for any other run.
   *
   * Why this is exact: no prefix pattern can match from a lower-case ASCII letter on, and no
   * suffix pattern can end in one without a digit before it (see the patterns in
   * spacy-data.ts); the lookarounds that touch the word ask only "is this a lower-case letter /
   * not a digit", the same for every word. So peeling `Q word P` takes the same steps for every
   * word unless an exception (a `specials` entry) is met on the way. The steps are worked out
   * once per (Q, P) on a stand-in word and reused when no exception can be met: none of the
   * strings `Q[j:] + word + P[:k]` is one, which holds unless the word is the letter part of an
   * exception of the same shape (`wrappedSpecialWords`).
   */
  private wrappedWordTokens(run: string): string[] | undefined {
    let wordStart = 0;
    while (wordStart < run.length && isAsciiPunctuation(run.charCodeAt(wordStart))) wordStart++;
    let wordEnd = wordStart;
    while (wordEnd < run.length && isLowerAsciiLetter(run.charCodeAt(wordEnd))) wordEnd++;
    if (wordEnd === wordStart) return undefined;
    for (let k = wordEnd; k < run.length; k++) if (!isAsciiPunctuation(run.charCodeAt(k))) return undefined;
    const before = run.slice(0, wordStart);
    const after = run.slice(wordEnd);
    const key = `${before} ${after}`;
    let affixes = this.wrappedAffixes.get(key);
    if (affixes === undefined) {
      affixes = this.peelAroundWord(before, after);
      this.wrappedAffixes.set(key, affixes);
    }
    if (affixes === null) return undefined;
    // Every string `Q[j:] + word + P[:k]` has this shape, so it can only be an exception if the
    // word is the letter part of one that has it.
    const word = run.slice(wordStart, wordEnd);
    if (this.wrappedSpecialWords.has(word)) return undefined;
    const tokens = affixes.prefixes.slice();
    tokens.push(word);
    for (const suffix of affixes.suffixes) tokens.push(suffix);
    return tokens;
  }

  /** How `before + word + after` is peeled for a stand-in word, if that leaves exactly the word. */
  private peelAroundWord(before: string, after: string): WrappedAffixes | null {
    const word = 'zqx'; // not the letter part of any exception (checked in the constructor)
    const prefixes: string[] = [];
    const suffixes: string[] = [];
    const core = this.splitAffixes(before + word + after, prefixes, suffixes, true);
    return core === word ? { prefixes, suffixes: suffixes.reverse() } : null;
  }

  /** Splits `text` into tokens, appending them to `out` (returned). */
  split(text: string, out: string[] = []): string[] {
    const length = text.length;
    if (length === 0) return out;
    const first = out.length;
    this.pending.length = 0;
    let inSpace = isPySpace(text.charCodeAt(0));
    let lettersOnly = true; // the current run is [A-Za-z]+ so far
    let start = 0;
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (isPySpace(code) !== inSpace) {
        if (start < i) this.pushRun(text.slice(start, i), inSpace, lettersOnly, out);
        // A single ' ' ending a token is the token's trailing space, not a token.
        start = code === 0x20 ? i + 1 : i;
        inSpace = !inSpace;
        lettersOnly = true;
      }
      if (lettersOnly && !isAsciiLetter(code)) lettersOnly = false;
    }
    if (start < length) this.pushRun(text.slice(start), inSpace, lettersOnly, out);
    if (this.pending.length > 0) this.mergeSpecials(out, first);
    return out;
  }

  /** Appends one run's tokens (and notes its mergeable sequences in `pending`). */
  private pushRun(run: string, isSpace: boolean, lettersOnly: boolean, out: string[]): void {
    if (isSpace) {
      // No pattern matches whitespace: a whitespace run is one token (spaCy: `'\n\n'`).
      out.push(run);
      return;
    }
    if (lettersOnly) {
      // No prefix, suffix, infix or URL pattern can match ASCII letters alone: the run is one
      // token unless it is an exception (`cannot` → `can not`). This skips the cache lookup.
      const special = this.letterSpecials.get(run);
      if (special === undefined) {
        out.push(run);
        return;
      }
      if (special !== null) {
        for (let i = 0; i < special.length; i++) out.push(special[i]!);
        return;
      }
    }
    const cached = this.cachedRun(run);
    if (cached.merges) {
      const offset = out.length;
      for (const m of cached.merges)
        this.pending.push({ start: m.start + offset, end: m.end + offset, tokens: m.tokens });
    }
    const tokens = cached.tokens;
    for (let i = 0; i < tokens.length; i++) out.push(tokens[i]!);
  }

  /** A run's tokens from the cache, splitting it on a miss. */
  private cachedRun(run: string): CachedRun {
    let cached = this.cache.get(run);
    if (cached === undefined) {
      const tokens = this.splitRun(run, true);
      const merges = this.findMatches(tokens, 0, tokens.length);
      cached = { tokens, merges: merges.length > 0 ? merges : null };
      if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
      this.cache.set(run, cached);
    }
    return cached;
  }

  /** One whitespace-free run → tokens: spaCy's `_split_affixes` + `_attach_tokens`. */
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
      // Nor does any infix or the URL pattern (the common case: a word with punctuation around it).
      else if (isAsciiLetters(core) || isUrl(core)) tokens.push(core);
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
      // No prefix or suffix pattern matches ASCII letters alone: nothing more to peel.
      if (isAsciiLetters(rest)) break;
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
   * spaCy's special-case matcher (`_apply_special_cases`): token sequences that spell an
   * affix-containing exception (`Mr` `.` → `Mr.`, `:` `)` → `:)`, `'` `'` → `''`) become that
   * exception's tokens.
   *
   * spaCy finds every occurrence in the whole document, takes them longest first, then leftmost,
   * and skips one whose first or last token is already claimed; every occurrence claims its
   * tokens, even a skipped one, and even one that spans whitespace (spaCy then leaves its tokens
   * alone, since its text is not the exception's). So an occurrence inside a run is applied iff
   * no occurrence ahead of it in that order covers its first or last token — a local test, which
   * lets us look only around the occurrences found inside runs (`pending`).
   * Example: in `chousin' 'em''`, the occurrence `'` `'` across the space claims the `'` that
   * would have started `'em`, so spaCy gives `chousin ' ' em ''`.
   */
  private mergeSpecials(tokens: string[], first: number): void {
    const accepted = this.pending.filter((match) => !this.isOutranked(match, tokens, first));
    if (accepted.length === 0) return;
    const merged: string[] = [];
    let next = accepted[0]!.start;
    for (const match of accepted) {
      for (let i = next; i < match.start; i++) merged.push(tokens[i]!);
      for (const token of match.tokens) merged.push(token);
      next = match.end;
    }
    for (let i = next; i < tokens.length; i++) merged.push(tokens[i]!);
    tokens.length = accepted[0]!.start;
    for (const token of merged) tokens.push(token);
  }

  /** Whether an occurrence that spaCy considers before `match` covers its first or last token. */
  private isOutranked(match: Match, tokens: readonly string[], first: number): boolean {
    const length = match.end - match.start;
    const last = match.end - 1;
    const from = Math.max(first, match.start - this.longestPattern + 1);
    for (const other of this.findMatches(
      tokens,
      from,
      Math.min(tokens.length, last + this.longestPattern),
      last,
    )) {
      const otherLength = other.end - other.start;
      const ahead = otherLength > length || (otherLength === length && other.start < match.start);
      if (!ahead) continue;
      const coversFirst = other.start <= match.start && match.start < other.end;
      const coversLast = other.start <= last && last < other.end;
      if (coversFirst || coversLast) return true;
    }
    return false;
  }

  /**
   * Occurrences of mergeable patterns that start in tokens[from, startLimit] and end by `to`.
   */
  private findMatches(tokens: readonly string[], from: number, to: number, startLimit = to - 1): Match[] {
    const matches: Match[] = [];
    for (let i = from; i <= startLimit && i < to; i++) {
      const candidates = this.mergeable.get(tokens[i]!);
      if (!candidates) continue;
      for (const { pieces, tokens: replacement } of candidates) {
        if (i + pieces.length > to) continue;
        let same = true;
        for (let k = 1; k < pieces.length && same; k++) same = tokens[i + k] === pieces[k];
        if (same) matches.push({ start: i, end: i + pieces.length, tokens: replacement });
      }
    }
    return matches;
  }
}
