/**
 * The seed vocabulary of the unigram trainer (unigram_model_trainer.cc
 * `MakeSeedSentencePieces`): every character, plus the frequent substrings, scored by
 * frequency × length, best first, up to `seed_sentencepiece_size`.
 *
 * SentencePiece finds the substrings with a suffix array over the whole corpus and takes every
 * internal node of the suffix tree (a substring seen with at least two different next characters,
 * the sentence end counting as one) that is a valid piece. A valid piece never crosses a word
 * ("▁" only at its start), so the same substrings and counts come from the table of unique words:
 * the suffixes of every word, weighted by the word's count and followed by the character after the
 * word (a "▁" or the sentence end), form a trie in which a node with two or more children is a
 * suffix-tree internal node. On Brown this gives exactly spm_train's 95,673 seeds.
 */
import {
  scriptOf,
  SCRIPT_HAN,
  SCRIPT_HIRAGANA,
  SCRIPT_INHERITED,
  SCRIPT_KATAKANA,
} from './unicode-script.js';
import { WS_CHAR, type TrainingCorpus } from './training-corpus.js';

export interface SeedOptions {
  /** seed_sentencepiece_size: at most this many seeds, characters included. */
  seedSize: number;
  /** max_sentencepiece_length, in characters. */
  maxPieceLength: number;
  splitByUnicodeScript: boolean;
  splitByNumber: boolean;
  splitDigits: boolean;
}

export interface SeedPieces {
  /** Pieces as symbol sequences: the characters first (most frequent first), then substrings. */
  pieces: Int32Array[];
  /** log(score / total score) of each piece. */
  scores: Float64Array;
}

/** A script id meaning "matches anything" (SentencePiece's kAnyType). */
const ANY_SCRIPT = -1;
/** Marks a symbol that can never be inside a piece (the unknown mark). */
const FORBIDDEN = -2;
/** Marks "▁", allowed only as a piece's first character. */
const WS_MARK = -3;
/** What `extendPiece` returns for an invalid piece. */
const INVALID = -4;

function isDecimalDigit(cp: number): boolean {
  return (cp >= 0x30 && cp <= 0x39) || (cp >= 0xff10 && cp <= 0xff19);
}

/**
 * Per-symbol facts for the piece validity rules (trainer_interface.cc `IsValidSentencePiece`,
 * with split_by_whitespace on and whitespace as a prefix).
 */
class PieceRules {
  /** The script a symbol counts as (ANY_SCRIPT, FORBIDDEN, or a script id). */
  readonly script: Int32Array;
  readonly inherited: Uint8Array;
  readonly digit: Uint8Array;

  constructor(
    corpus: TrainingCorpus,
    readonly options: SeedOptions,
  ) {
    const n = corpus.symbolChars.length;
    this.script = new Int32Array(n);
    this.inherited = new Uint8Array(n);
    this.digit = new Uint8Array(n);
    for (let sym = 1; sym < n; sym++) {
      const cp = corpus.symbolChars[sym]!;
      if (sym === corpus.unkSymbol || cp === 0 || cp === 0x09 || cp === 0x20) {
        this.script[sym] = FORBIDDEN;
        continue;
      }
      if (cp === WS_CHAR) {
        this.script[sym] = WS_MARK;
        continue;
      }
      let script = scriptOf(cp);
      if (script === SCRIPT_HIRAGANA || script === SCRIPT_KATAKANA || cp === 0x30fc) script = SCRIPT_HAN;
      else if (script === SCRIPT_INHERITED) this.inherited[sym] = 1;
      if (isDecimalDigit(cp)) {
        this.digit[sym] = 1;
        if (!options.splitByNumber) script = ANY_SCRIPT;
      }
      this.script[sym] = script;
    }
  }
}

export function makeSeedPieces(corpus: TrainingCorpus, options: SeedOptions): SeedPieces {
  const rules = new PieceRules(corpus, options);
  const found = findFrequentSubstrings(corpus, rules);

  // Characters first (SentencePiece adds every character, most frequent first).
  const pieces: Int32Array[] = [];
  const rawScores: number[] = [];
  corpus.requiredChars.forEach(([, count], i) => {
    pieces.push(Int32Array.of(i + 1));
    rawScores.push(count);
  });

  // Then the substrings, best score first. SentencePiece breaks ties by suffix-tree node
  // number; we use the order they were found in, which is just as deterministic.
  const order = Array.from({ length: found.scores.length }, (_, i) => i);
  order.sort((a, b) => found.scores[b]! - found.scores[a]! || a - b);
  const room = Math.max(0, options.seedSize - pieces.length);
  for (let i = 0; i < order.length && i < room; i++) {
    const k = order[i]!;
    const start = found.starts[k]!;
    pieces.push(corpus.wordSymbols.slice(start, start + found.lengths[k]!));
    rawScores.push(found.scores[k]!);
  }

  // Scores become log probabilities.
  let total = 0;
  for (const value of rawScores) total += value;
  const logTotal = Math.log(total);
  const scores = Float64Array.from(rawScores, (value) => Math.log(value) - logTotal);
  return { pieces, scores };
}

interface FoundSubstrings {
  /** Where each substring was seen (an index into corpus.wordSymbols) and its length. */
  starts: number[];
  lengths: number[];
  /** count × length. */
  scores: number[];
}

/**
 * Walks the suffix trie of the word table depth first without building it: the suffixes under a
 * trie node are a range of an index array, split among the node's children by a counting sort on
 * the next label. Memory is read in order, unlike with a hash-table trie (3× faster on Brown).
 */
function findFrequentSubstrings(corpus: TrainingCorpus, rules: PieceRules): FoundSubstrings {
  const { wordSymbols, wordStarts, wordFreqs, wordFinalFreqs, wsSymbol } = corpus;
  const wordCount = wordFreqs.length;
  const maxLength = rules.options.maxPieceLength;
  const endLabel = corpus.symbolChars.length; // the sentence boundary: no symbol uses this label
  const wsLabel = wsSymbol >= 0 ? wsSymbol : endLabel;

  // One item per suffix start and per kind of following character: "▁" (the word was followed by
  // another word) or the sentence boundary, weighted by how often that happened.
  // An item is a start position in wordSymbols, the end of its word, and its follower.
  let itemTotal = 0;
  for (let w = 0; w < wordCount; w++) {
    const kinds = (wordFreqs[w]! > wordFinalFreqs[w]! ? 1 : 0) + (wordFinalFreqs[w]! > 0 ? 1 : 0);
    itemTotal += (wordStarts[w + 1]! - wordStarts[w]!) * kinds;
  }
  const itemStart = new Int32Array(itemTotal);
  const itemEnd = new Int32Array(itemTotal);
  const itemFollower = new Int32Array(itemTotal);
  const itemWeight = new Float64Array(itemTotal);
  let items = 0;
  for (let w = 0; w < wordCount; w++) {
    const start = wordStarts[w]!;
    const end = wordStarts[w + 1]!;
    const finalFreq = wordFinalFreqs[w]!;
    const followers: Array<[number, number]> = [
      [wsLabel, wordFreqs[w]! - finalFreq],
      [endLabel, finalFreq],
    ];
    for (const [follower, weight] of followers) {
      if (weight <= 0) continue;
      for (let p = start; p < end; p++) {
        itemStart[items] = p;
        itemEnd[items] = end;
        itemFollower[items] = follower;
        itemWeight[items] = weight;
        items++;
      }
    }
  }

  const order = new Int32Array(items);
  for (let i = 0; i < items; i++) order[i] = i;
  const scratch = new Int32Array(items);
  const itemLabel = new Int32Array(items);
  const labelSize = new Int32Array(endLabel + 1);
  const labelOffset = new Int32Array(endLabel + 1);
  const distinct: number[] = [];
  const found: FoundSubstrings = { starts: [], lengths: [], scores: [] };

  // Frames [lo, hi, depth, script, hasDigit]: the items in order[lo, hi) share their first
  // `depth` labels, which form a valid piece whose validity state is (script, hasDigit).
  const stack: Array<[number, number, number, number, number]> = [[0, items, 0, ANY_SCRIPT, 0]];
  while (stack.length > 0) {
    const [lo, hi, depth, script, hasDigit] = stack.pop()!;

    // The next label of every item (-1: the item ends here), the node's count and children.
    distinct.length = 0;
    let kept = 0;
    let count = 0;
    for (let i = lo; i < hi; i++) {
      const item = order[i]!;
      count += itemWeight[item]!;
      const pos = itemStart[item]! + depth;
      const end = itemEnd[item]!;
      const label = pos < end ? wordSymbols[pos]! : pos === end ? itemFollower[item]! : -1;
      itemLabel[item] = label;
      if (label < 0) continue;
      if (labelSize[label]!++ === 0) distinct.push(label);
      kept++;
    }
    if (depth >= 2 && distinct.length >= 2) {
      found.starts.push(itemStart[order[lo]!]!);
      found.lengths.push(depth);
      found.scores.push(count * depth);
    }
    if (depth >= maxLength) {
      for (const label of distinct) labelSize[label] = 0;
      continue;
    }

    // Counting sort of the range by label, then one frame per child that is a valid piece.
    distinct.sort((a, b) => a - b);
    let offset = lo;
    for (const label of distinct) {
      labelOffset[label] = offset;
      offset += labelSize[label]!;
    }
    for (let i = lo; i < hi; i++) {
      const item = order[i]!;
      const label = itemLabel[item]!;
      if (label >= 0) scratch[labelOffset[label]!++] = item;
    }
    order.set(scratch.subarray(lo, lo + kept), lo);
    let childHi = lo + kept;
    for (let k = distinct.length - 1; k >= 0; k--) {
      const label = distinct[k]!;
      const childLo = childHi - labelSize[label]!;
      labelSize[label] = 0;
      if (label !== endLabel) {
        const childScript = extendPiece(rules, label, depth, script, hasDigit === 1);
        if (childScript !== INVALID) {
          const childHasDigit = hasDigit === 1 || rules.digit[label] === 1 ? 1 : 0;
          stack.push([childLo, childHi, depth + 1, childScript, childHasDigit]);
        }
      }
      childHi = childLo;
    }
  }
  return found;
}

/**
 * Appends `sym` at position `pos` of a piece whose validity state is `state` (the script so far,
 * and whether it holds a digit). Returns the new script, or INVALID when the longer piece breaks a
 * rule (and so does every longer one).
 */
function extendPiece(
  rules: PieceRules,
  sym: number,
  pos: number,
  prevScript: number,
  hasDigit: boolean,
): number {
  let script = rules.script[sym]!;
  if (script === FORBIDDEN) return INVALID;
  if (script === WS_MARK) return pos === 0 ? prevScript : INVALID;
  if (rules.inherited[sym] === 1) script = prevScript;
  if (rules.options.splitDigits && pos > 0 && (hasDigit || rules.digit[sym] === 1)) return INVALID;
  if (
    rules.options.splitByUnicodeScript &&
    script !== ANY_SCRIPT &&
    prevScript !== ANY_SCRIPT &&
    prevScript !== script
  ) {
    return INVALID;
  }
  return script;
}
