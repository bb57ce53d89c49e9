/**
 * The vocabulary: fastai's `make_vocab` and `Numericalize` (fastai/text/data.py).
 */
import { createHash } from 'node:crypto';
import { DEFAULT_SPECIALS, FAKE, UNK_ID } from './specials.js';
import { VOCAB_DEFAULTS } from '../config/training.js';

export interface VocabBuildOptions {
  /** Tokens seen fewer times are dropped (fastai default 3). */
  minFreq?: number;
  /** At most this many tokens, specials included, before the ×8 padding (fastai default 60000). */
  maxVocab?: number;
  /** Tokens placed first, in this order (default: fastai's nine special tokens). */
  specials?: readonly string[];
}

/** Adds each token of a document to the counts (insertion order = first-seen order, for ties). */
export function countTokens(into: Map<string, number>, tokens: readonly string[]): void {
  for (const token of tokens) into.set(token, (into.get(token) ?? 0) + 1);
}

/**
 * Indices of `counts`, largest count first, equal counts in index order (a stable sort, like
 * Python's `Counter.most_common`). A counting sort when the counts are small whole numbers.
 */
function byCountDescending(counts: ArrayLike<number>): Int32Array {
  const n = counts.length;
  let max = 0;
  let whole = true;
  for (let i = 0; i < n; i++) {
    const c = counts[i]!;
    if (c > max) max = c;
    if (!(Number.isInteger(c) && c >= 0)) whole = false;
  }
  const order = new Int32Array(n);
  if (!whole || max > 4 * n + (1 << 20)) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order.sort((a, b) => counts[b]! - counts[a]! || a - b);
  }
  // starts[c]: where the indices with count c begin, counts from max down to 0.
  const starts = new Int32Array(max + 2);
  for (let i = 0; i < n; i++) starts[max - counts[i]! + 1]!++;
  for (let c = 1; c <= max + 1; c++) starts[c]! += starts[c - 1]!;
  for (let i = 0; i < n; i++) order[starts[max - counts[i]!]!++] = i;
  return order;
}

export class Vocab {
  /** id → token. */
  readonly itos: readonly string[];
  private readonly stoi: Map<string, number>;

  private constructor(itos: string[]) {
    this.itos = Object.freeze(itos);
    this.stoi = new Map();
    // A dict comprehension in fastai: a duplicated token maps to its last index. `xxfake` is
    // padding and never maps to an id, so a literal "xxfake" in text is unknown (fastai skips it
    // only for vocabs it builds itself; we do it for loaded ones too, so that building and
    // reloading a vocab numericalize identically).
    itos.forEach((token, id) => {
      if (token !== FAKE) this.stoi.set(token, id);
    });
  }

  /**
   * fastai `make_vocab`: tokens by count, most common first, cut at `maxVocab` BEFORE dropping
   * those under `minFreq`; then the specials moved to the front in order; truncated to
   * `maxVocab`; then padded with `xxfake` to a multiple of 8, which always adds 1 to 8 entries
   * (60000 → 60008).
   *
   * Ties (equal counts) keep the Map's insertion order, i.e. the order in which tokens were first
   * counted, like Python's `Counter.most_common`. Counting documents in input order therefore
   * gives a deterministic vocab.
   */
  static build(counts: ReadonlyMap<string, number>, options: VocabBuildOptions = {}): Vocab {
    return Vocab.fromCounts([...counts.keys()], Float64Array.from(counts.values()), options);
  }

  /**
   * `build` on parallel arrays: `types[i]` was counted `counts[i]` times, types in first-counted
   * order (what the tokenizer pipeline has, without a Map of every type).
   */
  static fromCounts(
    types: readonly string[],
    counts: ArrayLike<number>,
    options: VocabBuildOptions = {},
  ): Vocab {
    const minFreq = options.minFreq ?? VOCAB_DEFAULTS.minFreq;
    const maxVocab = options.maxVocab ?? VOCAB_DEFAULTS.maxVocab;
    const specials = options.specials ?? DEFAULT_SPECIALS;
    const order = byCountDescending(counts);
    const itos: string[] = [];
    for (let k = 0; k < Math.min(order.length, Math.max(0, maxVocab)); k++) {
      if (counts[order[k]!]! >= minFreq) itos.push(types[order[k]!]!);
    }
    const specialSet = new Set(specials);
    const words = itos.filter((token) => !specialSet.has(token));
    const result = [...specials, ...words].slice(0, Math.max(0, maxVocab));
    const padding = 8 - (result.length % 8);
    for (let i = 0; i < padding; i++) result.push(FAKE);
    return new Vocab(result);
  }

  /** A vocab from a saved itos list (vocab.json), as is. */
  static fromItos(itos: readonly string[]): Vocab {
    return new Vocab([...itos]);
  }

  get size(): number {
    return this.itos.length;
  }

  /** The id of `token`, or 0 (xxunk) when it is not in the vocab. */
  id(token: string): number {
    return this.stoi.get(token) ?? UNK_ID;
  }

  has(token: string): boolean {
    return this.stoi.has(token);
  }

  /** Tokens → ids; unknown tokens → 0 (xxunk). */
  numericalize(tokens: readonly string[]): Int32Array {
    const ids = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) ids[i] = this.stoi.get(tokens[i]!) ?? UNK_ID;
    return ids;
  }

  /** Ids → tokens. An id outside the vocab is a bug in the caller and throws. */
  decode(ids: ArrayLike<number>): string[] {
    const tokens = new Array<string>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const token = this.itos[ids[i]!];
      if (token === undefined)
        throw new RangeError(`token id ${ids[i]} is outside the vocab (size ${this.size})`);
      tokens[i] = token;
    }
    return tokens;
  }

  /** SHA-256 (hex) of the vocab as written to vocab.json (`JSON.stringify(itos)`, UTF-8). */
  sha256(): string {
    return createHash('sha256').update(JSON.stringify(this.itos), 'utf8').digest('hex');
  }

  /** The itos list, so that `JSON.stringify(vocab)` writes vocab.json. */
  toJSON(): string[] {
    return [...this.itos];
  }
}
