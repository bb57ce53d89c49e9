/**
 * The NB-SVM baseline's features: binarized word n-grams (unigrams and bigrams) over ulmfit's own
 * tokens, as Wang & Manning (2012) use them.
 *
 * A `FeatureVocab` is the list of kept n-grams (feature id = index). It is built from training
 * documents only: unigrams seen in at least `minDf[0]` documents, bigrams in at least `minDf[1]`,
 * the `maxFeatures` most frequent (by document frequency) kept, so memory stays bounded on large
 * corpora. Encoding a document gives the sorted ids of the features it contains (presence, not
 * counts). Pure TypeScript: no TF.js.
 */
import { NBSVM_DEFAULTS } from '../config/training.js';

/** How documents become features (stored in the model's meta.json). */
export interface FeatureSettings {
  /** Longest n-gram: 1 (unigrams) or 2 (unigrams + bigrams, the default). */
  ngrams: 1 | 2;
  /** Minimum document frequency per order: `[unigrams, bigrams]` (default `[1, 2]`). */
  minDf: [number, number];
  /** At most this many features, the most frequent kept (default 200,000). */
  maxFeatures: number;
}

/**
 * Uni+bigrams as Wang & Manning; a bigram must occur in two training documents (one that occurs
 * once can only memorize its document); 200,000 features at most (a few MB of weights per class).
 */
export const DEFAULT_FEATURE_SETTINGS: Readonly<FeatureSettings> = Object.freeze({
  ngrams: NBSVM_DEFAULTS.ngrams,
  minDf: [1, 2] as [number, number],
  maxFeatures: NBSVM_DEFAULTS.maxFeatures,
});

/** The settings with defaults filled in, checked (RangeError on nonsense values). */
export function featureSettings(given: Partial<FeatureSettings> = {}): FeatureSettings {
  const settings: FeatureSettings = {
    ngrams: given.ngrams ?? DEFAULT_FEATURE_SETTINGS.ngrams,
    minDf: [...(given.minDf ?? DEFAULT_FEATURE_SETTINGS.minDf)] as [number, number],
    maxFeatures: given.maxFeatures ?? DEFAULT_FEATURE_SETTINGS.maxFeatures,
  };
  if (settings.ngrams !== 1 && settings.ngrams !== 2)
    throw new RangeError(`ngrams must be 1 or 2, got ${String(settings.ngrams)}`);
  if (settings.minDf.length !== 2 || !settings.minDf.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new RangeError(`minDf must be two whole numbers ≥ 1, got ${JSON.stringify(settings.minDf)}`);
  }
  if (!(Number.isInteger(settings.maxFeatures) && settings.maxFeatures >= 1))
    throw new RangeError(`maxFeatures must be a whole number ≥ 1, got ${settings.maxFeatures}`);
  return settings;
}

/** Bigram keys pack two token ids as `a · 2^26 + b`: exact in a double for ids below 2^26. */
const PAIR = 2 ** 26;

/** Sorted, de-duplicated copy of `values` (a typed array of ids or keys). */
function sortedUnique<T extends Int32Array | Float64Array>(values: T): T {
  values.sort();
  let n = 0;
  for (let i = 0; i < values.length; i++)
    if (i === 0 || values[i] !== values[n - 1]) values[n++] = values[i]!;
  return values.subarray(0, n) as T;
}

/** The kept n-grams, each a list of 1 or 2 tokens; feature id = position. */
export class FeatureVocab {
  /** id → n-gram tokens. */
  readonly ngrams: readonly (readonly string[])[];
  private readonly tokenIds = new Map<string, number>();
  /** token id → its unigram feature id, or -1. */
  private readonly unigram: Int32Array;
  /** packed (token id, token id) → bigram feature id. */
  private readonly bigram = new Map<number, number>();

  constructor(ngrams: readonly (readonly string[])[]) {
    this.ngrams = ngrams.map((g) => Object.freeze([...g]));
    for (const gram of this.ngrams)
      for (const token of gram) if (!this.tokenIds.has(token)) this.tokenIds.set(token, this.tokenIds.size);
    this.unigram = new Int32Array(this.tokenIds.size).fill(-1);
    this.ngrams.forEach((gram, id) => {
      if (gram.length === 1) {
        const t = this.tokenIds.get(gram[0]!)!;
        if (this.unigram[t] !== -1) throw new Error(`duplicate feature ${JSON.stringify(gram)}`);
        this.unigram[t] = id;
      } else if (gram.length === 2) {
        const key = this.tokenIds.get(gram[0]!)! * PAIR + this.tokenIds.get(gram[1]!)!;
        if (this.bigram.has(key)) throw new Error(`duplicate feature ${JSON.stringify(gram)}`);
        this.bigram.set(key, id);
      } else {
        throw new Error(`feature ${id} has ${gram.length} tokens; only unigrams and bigrams are supported`);
      }
    });
  }

  get size(): number {
    return this.ngrams.length;
  }

  /** The ids of the features present in a tokenized document, ascending, each once. */
  encode(tokens: readonly string[]): Int32Array {
    const found: number[] = [];
    let previous = -1;
    for (const token of tokens) {
      const t = this.tokenIds.get(token) ?? -1;
      if (t >= 0) {
        const u = this.unigram[t]!;
        if (u >= 0) found.push(u);
        if (previous >= 0) {
          const b = this.bigram.get(previous * PAIR + t);
          if (b !== undefined) found.push(b);
        }
      }
      previous = t;
    }
    return sortedUnique(Int32Array.from(found));
  }

  /**
   * The feature vocabulary of `docs` (tokenized training documents). Candidates are ranked by
   * document frequency, most frequent first; ties put unigrams before bigrams, then first-seen
   * order, so the result is deterministic.
   */
  static build(docs: readonly (readonly string[])[], given: Partial<FeatureSettings> = {}): FeatureVocab {
    const settings = featureSettings(given);
    const ids = new Map<string, number>();
    const types: string[] = [];
    const encoded = docs.map((tokens) =>
      Int32Array.from(tokens, (token) => {
        let id = ids.get(token);
        if (id === undefined) {
          id = types.length;
          ids.set(token, id);
          types.push(token);
        }
        return id;
      }),
    );
    if (types.length >= PAIR)
      throw new RangeError(`too many distinct tokens (${types.length}) for bigram features`);
    // Unigram document frequencies.
    const df = new Int32Array(types.length);
    for (const doc of encoded) for (const t of sortedUnique(Int32Array.from(doc))) df[t]!++;
    // Bigram document frequencies: every (document, distinct bigram) key, sorted and counted.
    let keys = new Float64Array(0);
    if (settings.ngrams === 2) {
      let n = 0;
      let all = new Float64Array(1024);
      for (const doc of encoded) {
        if (doc.length < 2) continue;
        const own = new Float64Array(doc.length - 1);
        for (let i = 1; i < doc.length; i++) own[i - 1] = doc[i - 1]! * PAIR + doc[i]!;
        const unique = sortedUnique(own);
        if (n + unique.length > all.length) {
          const grown = new Float64Array(Math.max(all.length * 2, n + unique.length));
          grown.set(all.subarray(0, n));
          all = grown;
        }
        all.set(unique, n);
        n += unique.length;
      }
      keys = all.subarray(0, n).sort();
    }
    // Candidates: [df, order (0 uni, 1 bi), key] for those frequent enough.
    const candidates: { df: number; order: number; key: number }[] = [];
    for (let t = 0; t < types.length; t++)
      if (df[t]! >= settings.minDf[0]) candidates.push({ df: df[t]!, order: 0, key: t });
    for (let i = 0; i < keys.length;) {
      let j = i;
      while (j < keys.length && keys[j] === keys[i]) j++;
      if (j - i >= settings.minDf[1]) candidates.push({ df: j - i, order: 1, key: keys[i]! });
      i = j;
    }
    candidates.sort((a, b) => b.df - a.df || a.order - b.order || a.key - b.key);
    const kept = candidates.slice(0, settings.maxFeatures);
    return new FeatureVocab(
      kept.map((c) =>
        c.order === 0 ? [types[c.key]!] : [types[Math.floor(c.key / PAIR)]!, types[c.key % PAIR]!],
      ),
    );
  }
}

/**
 * Binary document-feature matrix in CSR form: the features of document i are
 * `indices[indptr[i] .. indptr[i+1])`, ascending; every stored value is 1.
 */
export interface BinaryCsr {
  rows: number;
  cols: number;
  /** `[rows + 1]` */
  indptr: Int32Array;
  /** `[nnz]` */
  indices: Int32Array;
}

/** The CSR matrix of `docs` encoded with `vocab`. */
export function encodeDocs(vocab: FeatureVocab, docs: readonly (readonly string[])[]): BinaryCsr {
  const rows = docs.map((tokens) => vocab.encode(tokens));
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((row, i) => (indptr[i + 1] = indptr[i]! + row.length));
  const indices = new Int32Array(indptr[rows.length]!);
  rows.forEach((row, i) => indices.set(row, indptr[i]!));
  return { rows: rows.length, cols: vocab.size, indptr, indices };
}
