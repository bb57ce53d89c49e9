/**
 * Turns training sentences into what SentencePiece's unigram trainer works on
 * (trainer_interface.cc `LoadSentences` + `SplitSentencesByWhitespace`):
 *
 * 1. skip empty lines, lines over `max_sentence_length` bytes and lines containing "▅" (U+2585,
 *    SentencePiece's reserved unknown-character mark); sample at most `input_sentence_size`
 *    lines (reservoir sampling);
 * 2. normalize (nmt_nfkc, "▁" for whitespace) and replace every meta piece (user-defined
 *    symbols, "<unk>") with a boundary mark, so no learned piece contains or overlaps one;
 * 3. keep the most frequent characters up to `character_coverage`; all others, and the
 *    boundary marks, become "▅" (unknown);
 * 4. split at "▁" into words and count them.
 *
 * Characters are then dense "symbol" ids (1 … alphabet size), the labels of the trainer's tries.
 */
import { UlmfitError } from '../../errors.js';
import { Rng } from '../../random.js';
import { compareCodePoints } from './compare.js';
import type { Normalizer } from './normalizer.js';

/** SentencePiece's whitespace mark, U+2581. */
export const WS_CHAR = 0x2581;
/** SentencePiece's unknown-character mark in training text, U+2585. */
export const UNK_CHAR = 0x2585;
/** What meta pieces are replaced with before counting characters (SentencePiece's kUPPBoundary). */
const BOUNDARY_CHAR = 0x09;
const UNK_STRING = String.fromCodePoint(UNK_CHAR);

export interface CorpusOptions {
  characterCoverage: number;
  /** Sample this many sentences (0: all). */
  inputSentenceSize: number;
  /** Lines longer than this many UTF-8 bytes are skipped. */
  maxSentenceLength: number;
  /** User-defined symbols and the unknown piece: cut out of the training text. */
  metaPieces: readonly string[];
  seed: number;
  onSentence?: (count: number) => void;
}

export interface TrainingCorpus {
  /** symbol id → code point; index 0 is unused (trie labels start at 1). */
  symbolChars: Int32Array;
  /** The symbol of "▅" (unknown character): alphabetSize + 1. */
  unkSymbol: number;
  /** The symbol of "▁", or -1 when it is not among the kept characters. */
  wsSymbol: number;
  /** Kept characters, most frequent first: [code point, count]. Their symbols are 1, 2, …. */
  requiredChars: Array<[number, number]>;
  /**
   * Unique words, sorted by frequency (desc), then text: word i is the symbol sequence
   * wordSymbols[wordStarts[i] .. wordStarts[i + 1]).
   */
  wordSymbols: Int32Array;
  wordStarts: Int32Array;
  /** words[i]'s total count. */
  wordFreqs: Float64Array;
  /** words[i]'s count at the end of a sentence (followed by the sentence boundary, not "▁"). */
  wordFinalFreqs: Float64Array;
  /** Sentences used (after skipping and sampling). */
  sentenceCount: number;
  /** Lines read. */
  linesRead: number;
  /** Lines skipped for being longer than maxSentenceLength. */
  tooLongLines: number;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
/** A UTF-16 surrogate without its pair: a string that has no UTF-8 encoding. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Decodes and checks one input line; throws E_INPUT_ENCODING for bytes or strings that are not UTF-8. */
function toText(line: string | Uint8Array, lineNumber: number): string {
  if (typeof line !== 'string') {
    try {
      return fatalUtf8.decode(line);
    } catch {
      throw notUtf8(lineNumber);
    }
  }
  if (LONE_SURROGATE.test(line)) throw notUtf8(lineNumber);
  return line;
}

function notUtf8(lineNumber: number): UlmfitError {
  return new UlmfitError(
    'E_INPUT_ENCODING',
    `subword training text line ${lineNumber} is not valid UTF-8`,
    'convert the input to UTF-8 (e.g. iconv -f latin1 -t utf-8) or remove the bad bytes',
  );
}

/**
 * Step 1: keeps the usable lines, at most `limit` of them (0: all) chosen by reservoir sampling,
 * so every usable line has the same chance whatever the corpus size. Used by the trainer, and by
 * callers that stream a corpus too big to hold (they sample, then train on the sample).
 */
export class SentenceSampler {
  /** Lines offered. */
  linesRead = 0;
  /** Lines skipped for being longer than maxSentenceLength bytes. */
  tooLongLines = 0;
  private usable = 0;
  private readonly kept: string[] = [];
  private readonly rng: Rng;

  constructor(
    private readonly limit: number,
    private readonly maxSentenceLength: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  /** Offers one line (a string, or UTF-8 bytes); throws E_INPUT_ENCODING if it is not UTF-8. */
  add(line: string | Uint8Array): void {
    this.linesRead++;
    const text = toText(line, this.linesRead);
    if (text.length === 0) return;
    if (utf8Length(text) > this.maxSentenceLength) {
      this.tooLongLines++;
      return;
    }
    if (text.includes(UNK_STRING)) return;
    this.usable++;
    if (this.limit <= 0 || this.kept.length < this.limit) this.kept.push(text);
    else {
      const j = this.rng.int(this.usable);
      if (j < this.limit) this.kept[j] = text;
    }
  }

  /** The kept lines. */
  get sentences(): readonly string[] {
    return this.kept;
  }
}

/** Reads, samples and normalizes the sentences (steps 1-2). */
function loadNormalizedSentences(
  sentences: Iterable<string | Uint8Array>,
  normalizer: Normalizer,
  options: CorpusOptions,
): { normalized: string[]; linesRead: number; tooLongLines: number } {
  const sampler = new SentenceSampler(options.inputSentenceSize, options.maxSentenceLength, options.seed);
  for (const line of sentences) {
    sampler.add(line);
    if (options.onSentence && sampler.linesRead % 100_000 === 0) options.onSentence(sampler.linesRead);
  }
  const replacer = new MetaPieceReplacer(options.metaPieces);
  const normalized: string[] = [];
  for (const text of sampler.sentences) {
    const n = replacer.replace(normalizer.normalize(text));
    if (n.length > 0) normalized.push(n);
  }
  return { normalized, linesRead: sampler.linesRead, tooLongLines: sampler.tooLongLines };
}

/**
 * Replaces every occurrence of a meta piece with the boundary mark, scanning left to right and
 * taking the longest match at each position (SentencePiece's PrefixMatcher::GlobalReplace). A
 * regex alternation with the longest pieces first does exactly that.
 */
class MetaPieceReplacer {
  private readonly pattern: RegExp | undefined;
  private readonly boundary = String.fromCharCode(BOUNDARY_CHAR);

  constructor(pieces: readonly string[]) {
    const sorted = pieces.filter((p) => p.length > 0).sort((a, b) => b.length - a.length);
    const escape = (p: string): string => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (sorted.length > 0) this.pattern = new RegExp(sorted.map(escape).join('|'), 'g');
  }

  replace(text: string): string {
    return this.pattern ? text.replace(this.pattern, this.boundary) : text;
  }
}

/** float32 arithmetic, as SentencePiece computes the coverage. */
const f32 = Math.fround;

/** Counts of code points: a typed array for the BMP, a map above it. */
class CharCounter {
  readonly bmp = new Float64Array(0x10000);
  readonly astral = new Map<number, number>();
  total = 0;

  add(text: string): void {
    const bmp = this.bmp;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
        const cp = text.codePointAt(i)!;
        this.astral.set(cp, (this.astral.get(cp) ?? 0) + 1);
        i++;
      } else if (unit === 0) continue;
      else bmp[unit]!++;
      this.total++;
    }
  }

  /** [code point, count] for every character seen, most frequent first, then by code point. */
  sorted(): Array<[number, number]> {
    const all: Array<[number, number]> = [];
    for (let cp = 0; cp < 0x10000; cp++) if (this.bmp[cp]! > 0) all.push([cp, this.bmp[cp]!]);
    for (const entry of this.astral) all.push(entry);
    return all.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  }
}

/**
 * Builds the training corpus. Throws E_INPUT_EMPTY when no usable sentence is left.
 */
export function buildTrainingCorpus(
  sentences: Iterable<string | Uint8Array>,
  normalizer: Normalizer,
  options: CorpusOptions,
): TrainingCorpus {
  const { normalized, linesRead, tooLongLines } = loadNormalizedSentences(sentences, normalizer, options);
  if (normalized.length === 0) {
    throw new UlmfitError(
      'E_INPUT_EMPTY',
      linesRead === 0
        ? 'the subword training text is empty'
        : `the subword training text has no usable line (${linesRead} read, ${tooLongLines} longer than ${options.maxSentenceLength} bytes)`,
      'train on a corpus with some non-empty text',
    );
  }

  // Step 3: character counts (the boundary mark counts towards the total but is never kept).
  const counter = new CharCounter();
  for (const sentence of normalized) counter.add(sentence);
  const requiredChars: Array<[number, number]> = [];
  let accumulated = 0;
  const coverageTarget = f32(options.characterCoverage);
  for (const [cp, count] of counter.sorted()) {
    if (f32(accumulated / counter.total) >= coverageTarget) break;
    accumulated += count;
    if (cp === BOUNDARY_CHAR) continue;
    requiredChars.push([cp, count]);
  }
  if (requiredChars.length >= 0xd800) {
    // Symbols are stored as UTF-16 code units while counting words.
    throw new UlmfitError(
      'E_INPUT_FORMAT',
      `the subword training text uses ${requiredChars.length} distinct characters, more than ulmfit supports (55295)`,
      'lower the character coverage',
    );
  }

  // Symbols: kept characters are 1, 2, … (most frequent first); everything else is "▅".
  const symbolChars = new Int32Array(requiredChars.length + 2);
  const bmpSymbol = new Int32Array(0x10000);
  const astralSymbol = new Map<number, number>();
  requiredChars.forEach(([cp], i) => {
    symbolChars[i + 1] = cp;
    if (cp < 0x10000) bmpSymbol[cp] = i + 1;
    else astralSymbol.set(cp, i + 1);
  });
  const unkSymbol = requiredChars.length + 1;
  symbolChars[unkSymbol] = UNK_CHAR;
  const wsSymbol = WS_CHAR < 0x10000 && bmpSymbol[WS_CHAR]! > 0 ? bmpSymbol[WS_CHAR]! : -1;

  // Step 4: each sentence as a string of symbols (one UTF-16 unit per symbol), split before
  // every "▁" into words that are counted by their symbol string.
  const counts = new Map<string, [number, number]>();
  const wsUnit = String.fromCharCode(wsSymbol >= 0 ? wsSymbol : 0);
  const units = new Uint16Array(4096);
  const decoder = new TextDecoder('utf-16le');
  let buffer = units;
  for (const sentence of normalized) {
    if (buffer.length < sentence.length) buffer = new Uint16Array(sentence.length * 2);
    let n = 0;
    for (let i = 0; i < sentence.length; i++) {
      const unit = sentence.charCodeAt(i);
      let symbol: number;
      if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < sentence.length) {
        symbol = astralSymbol.get(sentence.codePointAt(i)!) ?? unkSymbol;
        i++;
      } else symbol = bmpSymbol[unit]! || unkSymbol;
      buffer[n++] = symbol;
    }
    const symbols = decoder.decode(buffer.subarray(0, n));
    let start = 0;
    for (;;) {
      let next = wsSymbol >= 0 ? symbols.indexOf(wsUnit, start + 1) : -1;
      const final = next < 0;
      if (final) next = symbols.length;
      const key = symbols.slice(start, next);
      let entry = counts.get(key);
      if (!entry) {
        entry = [0, 0];
        counts.set(key, entry);
      }
      entry[0]++;
      if (final) {
        entry[1]++;
        break;
      }
      start = next;
    }
  }

  // Sort like SentencePiece: by count (desc), then by the word's UTF-8 bytes (= code points).
  const wordText = (key: string): string => {
    let text = '';
    for (let i = 0; i < key.length; i++) text += String.fromCodePoint(symbolChars[key.charCodeAt(i)]!);
    return text;
  };
  const entries = [...counts].map(([key, [freq, finalFreq]]) => ({
    key,
    text: wordText(key),
    freq,
    finalFreq,
  }));
  entries.sort((a, b) => b.freq - a.freq || compareCodePoints(a.text, b.text));
  const wordStarts = new Int32Array(entries.length + 1);
  for (let i = 0; i < entries.length; i++) wordStarts[i + 1] = wordStarts[i]! + entries[i]!.key.length;
  const wordSymbols = new Int32Array(wordStarts[entries.length]!);
  entries.forEach((e, i) => {
    const start = wordStarts[i]!;
    for (let k = 0; k < e.key.length; k++) wordSymbols[start + k] = e.key.charCodeAt(k);
  });
  return {
    symbolChars,
    unkSymbol,
    wsSymbol,
    requiredChars,
    wordSymbols,
    wordStarts,
    wordFreqs: Float64Array.from(entries, (e) => e.freq),
    wordFinalFreqs: Float64Array.from(entries, (e) => e.finalFreq),
    sentenceCount: normalized.length,
    linesRead,
    tooLongLines,
  };
}
