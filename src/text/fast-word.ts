/**
 * The word tokenizer with fastai's default rules, computed run by run instead of rule by rule:
 * the same tokens as the rule pipeline (RuleTokenizer: eight regex passes over the document, then
 * `SpacyEnglishSplitter.split`), at a fraction of the cost. This is what `ulmfit tokenize` runs.
 *
 * Why the two agree:
 * 1. The first five rules (fix_html, replace_rep, replace_wrep, spec_add_spaces,
 *    rm_useless_spaces) cannot change what separates one raw run from the next, except when
 *    fix_html changes the text or replace_wrep fires: a cheap per-run scan flags both, and such a
 *    document goes whole through the rule pipeline. Otherwise the cache key is the raw run, and
 *    replace_rep, spec_add_spaces and rm_useless_spaces are applied to the run on a cache miss.
 * 2. The other three only look at one whitespace-delimited run at a time: replace_all_caps and
 *    replace_maj match whole runs (`(\s|^)WORD(?=\s|$)`) and put `xxup ` / `xxmaj ` before them,
 *    and lowercase lower-cases (no case mapping looks across whitespace, not even Greek final
 *    sigma's) and strips the ends. The word split also works run by run (spaCy splits on
 *    whitespace first). So a run's tokens depend on the run alone, and are cached: the cache key
 *    is the raw run, found by hashing its characters in place, so
 *    a repeated run costs one table probe and no string allocation.
 * 3. The one step that looks across runs, spaCy's special-case matcher (`'` `'` → `''` only when
 *    no longer or earlier match claims those tokens), is redone on the document's token ids,
 *    exactly as `SpacyEnglishSplitter.mergeSpecials` does it on strings.
 *
 * Tokens come out as ids of a `TokenInterner` with the post-rule (replace_space) applied, so a
 * worker thread sends back an Int32Array and never builds a string per token.
 *
 * test/text/fast-word.test.ts checks this against the rule pipeline on random tricky text.
 */
import { IdBuffer, TokenInterner, type DocumentEncoder } from './interner.js';
import {
  fixHtml,
  isPySpace,
  mayFixHtml,
  replaceRep,
  replaceSpace,
  rmUselessSpaces,
  specAddSpaces,
} from './rules.js';
import { DEFAULT_POST_RULES, DEFAULT_PRE_RULES, type TokenizerSettings } from './settings.js';
import { BOS, EOS, MAJ, UP } from './specials.js';
import type { Tokenizer } from './rule-tokenizer.js';
import { HASH_SEED, hashStep, RunTable } from './run-table.js';
import { SpacyEnglishSplitter, type Match } from './word.js';

/** Whether `settings` are the ones this tokenizer implements: fastai's default rules, in order. */
export function isFastWordSettings(settings: TokenizerSettings): boolean {
  const same = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((x, i) => x === b[i]);
  return (
    settings.kind === 'word' &&
    settings.rules &&
    settings.lowercase &&
    same(settings.preRules, DEFAULT_PRE_RULES) &&
    (same(settings.postRules, DEFAULT_POST_RULES) || settings.postRules.length === 0)
  );
}

/**
 * A run's slot in the RunTable holds a value and flag bits. The value is the run's token id when
 * it is one token, else -(start + 1) where idPool[start] is its token count and the ids follow.
 */
/** Flag bits. */
const SPACE_BEFORE = 1; // replace_rep / spec_add_spaces put a space before the run
const SPACE_AFTER = 2; // ... or after it (rm_useless_spaces may then merge it with the next space)
const HTML = 4; // it holds a piece of a fix_html pattern
const DETAILS = 8; // see `details[entry]`

/** What a few runs need beyond their ids. */
interface RunDetails {
  /** Mergeable sequences among its ids (spaCy's special-case matcher decides per document). */
  readonly merges: readonly IdMatch[] | null;
  /** Entry numbers of the runs replace_rep cuts it into (what replace_wrep sees), or null. */
  readonly repRuns: Int32Array | null;
  /** The run after replace_rep and spec_add_spaces. */
  readonly spaced: string;
}

/**
 * ASCII letters with no letter three times in a row: replace_rep, spec_add_spaces and fix_html
 * leave such a run alone, and it is one piece for the case rules (the common case, kept short).
 */
function isPlainWord(run: string): boolean {
  let previous = -1;
  let repeats = 0;
  for (let k = 0; k < run.length; k++) {
    const code = run.charCodeAt(k);
    if (!((code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a))) return false;
    repeats = code === previous ? repeats + 1 : 0;
    if (repeats === 2) return false;
    previous = code;
  }
  return true;
}

/** An occurrence of a mergeable pattern at ids[start, end), and the ids it becomes. */
interface IdMatch {
  readonly start: number;
  readonly end: number;
  readonly tokens: Int32Array;
}

interface IdPattern {
  readonly pieces: Int32Array;
  readonly tokens: Int32Array;
}

/** Distinct runs remembered by default (about 60 MB at most). */
const MAX_RUNS = 1 << 19;
/** `spaceIds` value for whitespace that gives no token (a lone separating space). */
const NO_TOKEN = -1;

function hasSpaceOrMarker(token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    if (isPySpace(code) || code === 0x2581) return true;
  }
  return false;
}

/**
 * Turns documents into token ids of one interner. Not thread-safe; one per interner (it caches
 * ids). Build it through `FastWordTokenizer.createEncoder`.
 */
export class WordIdEncoder {
  private readonly splitter = new SpacyEnglishSplitter();
  private readonly bosId: number;
  private readonly eosId: number;
  private readonly upId: number;
  private readonly majId: number;
  private readonly newlinesId: number;
  /** Mergeable patterns by the id of their first piece. */
  private readonly patterns = new Map<number, IdPattern[]>();
  private readonly longestPattern: number;
  /** Every distinct run met so far (as it stands in the raw document) with its tokens. */
  private readonly runs = new RunTable();
  /** The ids of runs of several tokens, back to back. */
  private idPool: Int32Array;
  private idPoolUsed = 0;
  /** Entry number → details, for the runs flagged DETAILS. */
  private readonly details = new Map<number, RunDetails>();
  /** Whitespace (with the spaces rules put around it) → its token id, or NO_TOKEN. */
  private readonly spaceIds = new Map<string, number>();
  /** Mergeable sequences found in the current document, at absolute positions in the output. */
  private readonly pending: IdMatch[] = [];
  /** The ids of the run being added. */
  private readonly scratch = new IdBuffer(64);
  // Per document: whether fix_html may change it, whether replace_wrep may fire, and the last
  // two runs replace_wrep saw (entry numbers).
  private mayFixHtml = false;
  private mayRepeatWords = false;
  private runA = -1;
  private runB = -2;
  /** The flags of the previous run, and where the whitespace after it starts (-1: none yet). */
  private flagsBefore = 0;
  private spaceStart = -1;
  /** The run `scanPlainRuns` left to `oneRun`: its end, hash and slot (-1: not in the table). */
  private stoppedEnd = 0;
  private stoppedHash = 0;
  private stoppedSlot = -1;

  /**
   * @param reference gives the rule pipeline with the same settings, for the rare document
   *   where fix_html changes the text or replace_wrep may fire (those rules look across runs).
   */
  constructor(
    private readonly interner: TokenInterner,
    private readonly reference: () => Tokenizer,
    private readonly addEos: boolean,
    private readonly replaceSpaces: boolean,
    /** Past this many distinct runs the table is emptied, between documents (bounds memory). */
    private readonly maxRuns = MAX_RUNS,
  ) {
    this.idPool = new Int32Array(1 << 6); // stored twice, and small: see RunTable's constructor
    this.bosId = interner.intern(BOS);
    this.eosId = interner.intern(EOS);
    this.upId = interner.intern(UP);
    this.majId = interner.intern(MAJ);
    this.newlinesId = interner.intern('\n\n');
    let longest = 0;
    for (const { pieces, tokens } of this.splitter.mergePatterns()) {
      // Comparing ids after replace_space is comparing strings only if no piece could be a
      // whitespace token; spaCy's data has none (a whitespace run is never split into pieces).
      if (pieces.some(hasSpaceOrMarker) || tokens.some(hasSpaceOrMarker)) {
        throw new Error(`mergeable pattern with whitespace: ${JSON.stringify(pieces)}`);
      }
      const pattern: IdPattern = {
        pieces: Int32Array.from(pieces, (p) => interner.intern(p)),
        tokens: Int32Array.from(tokens, (t) => interner.intern(t)),
      };
      const first = pattern.pieces[0]!;
      const list = this.patterns.get(first) ?? [];
      list.push(pattern);
      this.patterns.set(first, list);
      longest = Math.max(longest, pieces.length);
    }
    this.longestPattern = longest;
  }

  /** One raw document → its token ids (xxbos first), appended to `out`. */
  encode(text: string, out: IdBuffer): void {
    if (this.runs.size >= this.maxRuns) this.forgetRuns();
    const first = out.length;
    if (this.encodeRuns(text, out)) return;
    out.length = first;
    for (const token of this.reference().tokenize(text)) out.push(this.interner.intern(token));
  }

  /**
   * The run-by-run tokenization; false (with `out` half written) when fix_html changes the text
   * or replace_wrep may fire, which the caller then hands to the rule pipeline.
   */
  private encodeRuns(text: string, out: IdBuffer): boolean {
    // lowercase's strip (Python's str.strip): the spaces other rules add at the ends go too.
    let end = text.length;
    let start = 0;
    while (start < end && isPySpace(text.charCodeAt(start))) start++;
    while (end > start && isPySpace(text.charCodeAt(end - 1))) end--;

    const first = out.length;
    out.push(this.bosId); // lowercase's 'xxbos ' (its space is a separator, not a token)
    this.pending.length = 0;
    this.mayFixHtml = false;
    this.mayRepeatWords = false;
    this.runA = -1;
    this.runB = -2;
    this.flagsBefore = 0;
    this.spaceStart = -1;
    let i = start;
    while (i < end) {
      i = this.scanPlainRuns(text, i, end, out);
      if (i < end) i = this.oneRun(text, i, end, out);
    }
    if (this.mayRepeatWords || (this.mayFixHtml && fixHtml(text) !== text)) return false;
    if (this.pending.length > 0) this.mergeSpecials(out, first);
    if (this.addEos) out.push(this.eosId);
    return true;
  }

  /**
   * The hot loop: appends the ids of known runs that need nothing beyond their ids, separated
   * by ' ' or '\n\n', from text[i] (a run's start) on; returns where it stopped (the start of a
   * run it leaves to `oneRun`, or `end`). It has no rare paths, so V8 compiles it once and
   * never throws that code away.
   */
  private scanPlainRuns(text: string, i: number, end: number, out: IdBuffer): number {
    const runs = this.runs;
    while (i < end) {
      const start = i;
      let hash = HASH_SEED;
      for (; i < end; i++) {
        const code = text.charCodeAt(i);
        if (isPySpace(code)) break;
        hash = hashStep(hash, code);
      }
      const slot = runs.find(text, start, i, hash);
      // Anything special about the run, the space before it, or replace_wrep: `oneRun`'s.
      if (slot < 0 || runs.bits(slot) !== 0 || this.flagsBefore !== 0 || this.runA === this.runB)
        return this.stop(i, hash, slot, start);
      const entry = runs.entryOf(slot);
      const spaceStart = this.spaceStart;
      if (spaceStart >= 0) {
        const spaces = start - spaceStart;
        const code = text.charCodeAt(spaceStart);
        if (spaces === 2 && code === 0x0a && text.charCodeAt(spaceStart + 1) === 0x0a)
          out.push(this.newlinesId);
        else if (spaces !== 1 || code !== 0x20) return this.stop(i, hash, slot, start);
      }
      this.runA = this.runB;
      this.runB = entry;
      const value = runs.value(slot);
      if (value >= 0) out.push(value);
      else this.pushPooled(value, out);
      this.spaceStart = i;
      while (i < end && isPySpace(text.charCodeAt(i))) i++;
    }
    return i;
  }

  /** Where `scanPlainRuns` stopped: the run's end, hash and slot (-1: not in the table); returns its start. */
  private stop(end: number, hash: number, slot: number, start: number): number {
    this.stoppedEnd = end;
    this.stoppedHash = hash;
    this.stoppedSlot = slot;
    return start;
  }

  /**
   * The run at text[start] where `scanPlainRuns` stopped (and the whitespace before it);
   * returns where the next run starts.
   */
  private oneRun(text: string, start: number, end: number, out: IdBuffer): number {
    let i = this.stoppedEnd;
    let slot = this.stoppedSlot;
    if (slot < 0) slot = this.addRun(text, start, i, this.stoppedHash);
    const flags = this.runs.bits(slot);
    // The whitespace before it: a single ' ' only separates; anything else is a token.
    const spaceStart = this.spaceStart;
    const padBefore = (this.flagsBefore & SPACE_AFTER) !== 0;
    const padAfter = (flags & SPACE_BEFORE) !== 0;
    if (
      spaceStart >= 0 &&
      (start - spaceStart !== 1 || text.charCodeAt(spaceStart) !== 0x20 || padBefore || padAfter)
    ) {
      const id = this.spaceId(text, spaceStart, start, padBefore, padAfter);
      if (id !== NO_TOKEN) out.push(id);
    }
    this.pushRun(slot, flags, out);
    this.flagsBefore = flags;
    this.spaceStart = i;
    while (i < end && isPySpace(text.charCodeAt(i))) i++;
    return i;
  }

  /**
   * Notes one run as replace_wrep sees it (an entry number): its pattern needs two equal runs in
   * a row and a third that starts with the same word.
   */
  private seeRun(entry: number): void {
    if (this.runA === this.runB && this.runs.entryStartsWith(entry, this.runB)) this.mayRepeatWords = true;
    this.runA = this.runB;
    this.runB = entry;
  }

  /** Appends the ids of a run that is not a lone plain token. */
  private pushRun(slot: number, flags: number, out: IdBuffer): void {
    const details = (flags & DETAILS) !== 0 ? this.details.get(this.runs.entryOf(slot))! : undefined;
    if (details?.repRuns) for (const run of details.repRuns) this.seeRun(run);
    else this.seeRun(this.runs.entryOf(slot));
    if ((flags & HTML) !== 0) this.mayFixHtml = true;
    if (details?.merges) {
      for (const m of details.merges)
        this.pending.push({ start: m.start + out.length, end: m.end + out.length, tokens: m.tokens });
    }
    const value = this.runs.value(slot);
    if (value >= 0) out.push(value);
    else this.pushPooled(value, out);
  }

  /** Appends the ids of a run of several tokens (`value` as in the RunTable). */
  private pushPooled(value: number, out: IdBuffer): void {
    const pool = this.idPool;
    const at = -value - 1;
    const length = pool[at]!;
    out.reserve(length);
    const target = out.data;
    for (let k = 0; k < length; k++) target[out.length + k] = pool[at + 1 + k]!;
    out.length += length;
  }

  /**
   * The token of the whitespace text[start, end), with the spaces replace_rep or spec_add_spaces
   * put before / after it: rm_useless_spaces, then a leading ' ' only separates.
   */
  private spaceId(
    text: string,
    start: number,
    end: number,
    spaceBefore: boolean,
    spaceAfter: boolean,
  ): number {
    if (
      !spaceBefore &&
      !spaceAfter &&
      end - start === 2 &&
      text.charCodeAt(start) === 0x0a &&
      text.charCodeAt(start + 1) === 0x0a
    ) {
      return this.newlinesId;
    }
    const raw = (spaceBefore ? ' ' : '') + text.slice(start, end) + (spaceAfter ? ' ' : '');
    let id = this.spaceIds.get(raw);
    if (id === undefined) {
      const collapsed = rmUselessSpaces(raw);
      const token = collapsed.charCodeAt(0) === 0x20 ? collapsed.slice(1) : collapsed;
      id = token.length === 0 ? NO_TOKEN : this.interner.intern(this.post(token));
      this.spaceIds.set(raw, id);
    }
    return id;
  }

  /** The entry number of `run`, adding it if it is new. */
  private runEntry(run: string): number {
    let hash = HASH_SEED;
    for (let k = 0; k < run.length; k++) hash = hashStep(hash, run.charCodeAt(k));
    let slot = this.runs.find(run, 0, run.length, hash);
    if (slot < 0) slot = this.addRun(run, 0, run.length, hash);
    return this.runs.entryOf(slot);
  }

  /**
   * Adds the run text[start, end) to the table: fastai's rules on it, then the word split, as ids.
   * (Small methods on purpose: V8 optimizes a small function much sooner than a big one, and on
   * a corpus as small as Brown the first seconds are most of the run.)
   */
  private addRun(text: string, start: number, end: number, hash: number): number {
    const run = text.slice(start, end);
    const ids = this.scratch;
    ids.length = 0;
    let flags = 0;
    let details: RunDetails | undefined;
    if (isPlainWord(run)) {
      this.wordIds(run, ids);
    } else {
      details = this.generalIds(run, ids);
      flags = this.generalFlags(run, details);
    }
    return this.storeRun(text, start, end, hash, flags, details);
  }

  /**
   * replace_rep and spec_add_spaces act inside runs (and may cut one into several); then each
   * resulting run gets its ids. Returns what the document-level steps need.
   */
  private generalIds(run: string, ids: IdBuffer): RunDetails {
    const repeated = replaceRep(run);
    // What replace_wrep will compare: the runs replace_rep leaves (entries of their own; adding
    // them reuses `scratch`, so this comes before the ids).
    const repRuns = repeated === run ? null : this.runEntries(repeated);
    ids.length = 0;
    const spaced = specAddSpaces(repeated);
    const merges: IdMatch[] = [];
    if (spaced === run) this.pieceIds(run, ids, merges);
    else for (const piece of spaced.split(' ')) if (piece.length > 0) this.pieceIds(piece, ids, merges);
    return { merges: merges.length > 0 ? merges : null, repRuns, spaced };
  }

  private generalFlags(run: string, details: RunDetails): number {
    let flags = 0;
    if (mayFixHtml(run)) flags |= HTML;
    if (details.spaced.charCodeAt(0) === 0x20) flags |= SPACE_BEFORE;
    if (details.spaced.charCodeAt(details.spaced.length - 1) === 0x20) flags |= SPACE_AFTER;
    if (details.merges !== null || details.repRuns !== null) flags |= DETAILS;
    return flags;
  }

  /** Entry numbers of the space-separated runs in `text`. */
  private runEntries(text: string): Int32Array {
    const pieces = text.split(' ').filter((piece) => piece.length > 0);
    const entries = new Int32Array(pieces.length);
    for (let k = 0; k < pieces.length; k++) entries[k] = this.runEntry(pieces[k]!);
    return entries;
  }

  /**
   * One run of the text as the case rules see it: replace_all_caps ([A-Z]+[^a-z]* → `xxup
   * piece`; a lone capital is just lower-cased), replace_maj on what that left ([A-Z][^A-Z]* →
   * `xxmaj piece`), lowercase, then spaCy's split; ids appended to `ids`, mergeable sequences
   * (offsets into `ids`) to `merges`.
   */
  private pieceIds(piece: string, ids: IdBuffer, merges: IdMatch[] | undefined): void {
    const marker = this.caseMarker(piece);
    if (marker >= 0) ids.push(marker);
    const split = this.splitter.runTokens(piece.toLowerCase());
    const offset = ids.length;
    for (const token of split.tokens) ids.push(this.interner.intern(this.post(token)));
    if (split.merges !== null) for (const m of split.merges) merges!.push(this.idMatch(m, offset));
  }

  /** `pieceIds` for a plain word (ASCII letters): one token, or an exception's tokens. */
  private wordIds(word: string, ids: IdBuffer): void {
    const marker = this.caseMarker(word);
    if (marker >= 0) ids.push(marker);
    const lower = word.toLowerCase();
    const special = this.splitter.letterException(lower);
    if (special === undefined) ids.push(this.interner.intern(lower));
    else if (special !== null) for (const token of special) ids.push(this.interner.intern(this.post(token)));
    else this.pieceIds(lower, ids, undefined); // (an exception the matcher might touch: none in spaCy's data)
  }

  /** xxup, xxmaj or -1 (none) for one run. */
  private caseMarker(piece: string): number {
    const code0 = piece.charCodeAt(0);
    if (code0 < 0x41 || code0 > 0x5a) return -1;
    let lower = false;
    let upper = false;
    for (let k = 1; k < piece.length; k++) {
      const code = piece.charCodeAt(k);
      if (code >= 0x61 && code <= 0x7a) lower = true;
      else if (code >= 0x41 && code <= 0x5a) upper = true;
    }
    if (!lower) return piece.length > 1 ? this.upId : -1;
    return upper ? -1 : this.majId;
  }

  private idMatch(m: Match, offset: number): IdMatch {
    const tokens = new Int32Array(m.tokens.length);
    for (let k = 0; k < tokens.length; k++) tokens[k] = this.interner.intern(this.post(m.tokens[k]!));
    return { start: m.start + offset, end: m.end + offset, tokens };
  }

  /** Inserts the run with the ids in `scratch`; returns its slot. */
  private storeRun(
    text: string,
    start: number,
    end: number,
    hash: number,
    flags: number,
    details: RunDetails | undefined,
  ): number {
    const ids = this.scratch;
    const value = ids.length === 1 ? ids.data[0]! : -(this.idPoolUsed + 1);
    if (value < 0) {
      if (this.idPoolUsed + ids.length + 1 > this.idPool.length) {
        const grown = new Int32Array(Math.max(this.idPool.length * 2, this.idPoolUsed + ids.length + 1));
        grown.set(this.idPool.subarray(0, this.idPoolUsed));
        this.idPool = grown;
      }
      this.idPool[this.idPoolUsed] = ids.length;
      for (let k = 0; k < ids.length; k++) this.idPool[this.idPoolUsed + 1 + k] = ids.data[k]!;
      this.idPoolUsed += ids.length + 1;
    }
    const slot = this.runs.insert(text, start, end, hash, value, flags);
    if ((flags & DETAILS) !== 0) this.details.set(this.runs.entryOf(slot), details!);
    return slot;
  }

  /** Empties the run table (between documents: entry numbers must not change inside one). */
  private forgetRuns(): void {
    this.runs.clear();
    this.idPoolUsed = 0;
    this.details.clear();
  }

  /** replace_space, for the tokens RuleTokenizer gives it to (those that start with whitespace). */
  private post(token: string): string {
    return this.replaceSpaces && isPySpace(token.charCodeAt(0)) ? replaceSpace(token) : token;
  }

  /**
   * `SpacyEnglishSplitter.mergeSpecials` on ids: each pending occurrence is merged unless an
   * occurrence spaCy considers first (longer, or as long and further left) covers its first or
   * last token. `out.data[first ..]` is the document.
   */
  private mergeSpecials(out: IdBuffer, first: number): void {
    const data = out.data;
    const accepted = this.pending.filter((m) => !this.isOutranked(m, data, first, out.length));
    if (accepted.length === 0) return;
    let growth = 0;
    for (const m of accepted) growth += Math.max(0, m.tokens.length - (m.end - m.start));
    // In place, left to right: a merge never has more tokens than pieces in spaCy's data, so
    // writing never overtakes reading. (Otherwise: from a copy of the tail.)
    const from = accepted[0]!.start;
    const source = growth === 0 ? data : data.slice(0, out.length);
    out.reserve(growth);
    const target = out.data;
    let write = from;
    let read = from;
    for (const m of accepted) {
      if (source === target) target.copyWithin(write, read, m.start);
      else target.set(source.subarray(read, m.start), write);
      write += m.start - read;
      target.set(m.tokens, write);
      write += m.tokens.length;
      read = m.end;
    }
    if (source === target) target.copyWithin(write, read, out.length);
    else target.set(source.subarray(read, out.length), write);
    out.length = write + (out.length - read);
  }

  private isOutranked(match: IdMatch, data: Int32Array, first: number, length: number): boolean {
    const size = match.end - match.start;
    const last = match.end - 1;
    const to = Math.min(length, last + this.longestPattern);
    for (let i = Math.max(first, match.start - this.longestPattern + 1); i <= last && i < to; i++) {
      const candidates = this.patterns.get(data[i]!);
      if (candidates === undefined) continue;
      for (const { pieces } of candidates) {
        const end = i + pieces.length;
        if (end > to) continue;
        let same = true;
        for (let k = 1; k < pieces.length && same; k++) same = data[i + k] === pieces[k];
        if (!same) continue;
        const otherSize = pieces.length;
        const ahead = otherSize > size || (otherSize === size && i < match.start);
        if (!ahead) continue;
        if ((i <= match.start && match.start < end) || (i <= last && last < end)) return true;
      }
    }
    return false;
  }
}

/** The fast word tokenizer: `tokenize` for strings, `createEncoder` for ids. */
export class FastWordTokenizer implements Tokenizer {
  private readonly interner = new TokenInterner();
  private ownEncoder: WordIdEncoder | undefined;
  private readonly buffer = new IdBuffer(1 << 12);
  private referenceTokenizer: Tokenizer | undefined;

  /**
   * @param makeReference builds the rule pipeline (`createRuleWordTokenizer(settings)`), which
   *   gets the documents whose rules look across runs; built on first need.
   */
  constructor(
    readonly settings: TokenizerSettings,
    private readonly makeReference: () => Tokenizer,
    /** Distinct runs each encoder remembers (tests make it tiny to exercise the emptying). */
    private readonly maxRuns?: number,
  ) {
    if (!isFastWordSettings(settings)) throw new Error('FastWordTokenizer needs fastai’s default rules');
  }

  tokenize(text: string): string[] {
    this.ownEncoder ??= this.makeEncoder(this.interner);
    this.buffer.length = 0;
    this.ownEncoder.encode(text, this.buffer);
    const strings = this.interner.strings;
    const tokens = new Array<string>(this.buffer.length);
    for (let k = 0; k < this.buffer.length; k++) tokens[k] = strings[this.buffer.data[k]!]!;
    return tokens;
  }

  createEncoder(interner: TokenInterner): DocumentEncoder {
    const encoder = this.makeEncoder(interner);
    return (text, out) => encoder.encode(text, out);
  }

  private reference(): Tokenizer {
    return (this.referenceTokenizer ??= this.makeReference());
  }

  private makeEncoder(interner: TokenInterner): WordIdEncoder {
    return new WordIdEncoder(
      interner,
      () => this.reference(),
      this.settings.addEos,
      this.settings.postRules.length > 0,
      this.maxRuns,
    );
  }
}
