import { usageError } from '../errors.js';
import type { Rng } from '../random.js';
import type { ClasBatch } from './batches.js';
import { CLASSIFIER_DEFAULTS, TRAINING_DEFAULTS } from '../config/training.js';

/**
 * Classifier batches as fastai's `SortedDL` + `Pad_Chunk` (fastai/text/data.py).
 *
 * Documents are batched by length so little padding is needed: validation and inference go
 * longest first; training is "sortish": random, then sorted inside chunks of 50 batches, with the
 * batch holding the longest document first (an out-of-memory error shows up at once) and the other
 * batches in random order. Inside every batch rows are longest first, which the SentenceEncoder's
 * active-row prefix relies on (src/model/heads.ts). Each batch carries the dataset index of every row so
 * predictions can be put back in input order.
 */

export interface PadChunkOptions {
  /** The xxpad id (fastai default 1). */
  padIdx?: number;
  /** Whole seqLen-sized pad chunks first and the remainder last (fastai default); false pads at the end. */
  padFirst?: boolean;
  /** The chunk size (the classifier's bptt, 72). */
  seqLen?: number;
}

/**
 * fastai `pad_chunk(x, pad_idx, pad_first, seq_len, pad_len)`: with l = padLen − len(x),
 * `[pad × floor(l/seqLen)·seqLen] + x + [pad × (l mod seqLen)]` when padFirst, else `x + [pad × l]`.
 * Whole pad chunks go first so the SentenceEncoder skips them as inactive rows.
 */
export function padChunk(doc: ArrayLike<number>, padLen: number, options: PadChunkOptions = {}): Int32Array {
  const out = new Int32Array(padLen);
  writePadded(
    doc,
    out,
    options.padIdx ?? 1,
    options.padFirst ?? true,
    options.seqLen ?? TRAINING_DEFAULTS.bptt,
    false,
  );
  return out;
}

/** Writes `doc` (reversed when `reverse`) padded to out.length into `out`. */
function writePadded(
  doc: ArrayLike<number>,
  out: Int32Array,
  padIdx: number,
  padFirst: boolean,
  seqLen: number,
  reverse: boolean,
): void {
  const pad = out.length - doc.length;
  if (pad < 0)
    throw new RangeError(`document of ${doc.length} tokens is longer than pad length ${out.length}`);
  const lead = padFirst ? Math.floor(pad / seqLen) * seqLen : 0;
  out.fill(padIdx);
  for (let j = 0; j < doc.length; j++) out[lead + j] = doc[reverse ? doc.length - 1 - j : j] as number;
}

/**
 * The order in which fastai's SortedDL visits items for one pass.
 * - `rng` null (validation/inference): all indices by length, descending; ties keep index order.
 * - with `rng` (training, `shuffle_fn`): random permutation; the longest item swapped to position
 *   0; chunks of bs·50 each sorted descending; cut into batches of bs; the first and the last batch
 *   stay in place and the middle batches are permuted. (fastai crashes on current numpy when there
 *   are ≤ 2 batches; here they are simply kept in order.)
 * @param lengths token count of each item
 * @returns item indices, to be cut into consecutive batches of bs
 */
export function sortedOrder(lengths: ArrayLike<number>, bs: number, rng: Rng | null): number[] {
  const n = lengths.length;
  const byLengthDesc = (a: number, b: number) => (lengths[b] as number) - (lengths[a] as number);
  if (rng === null) return Array.from({ length: n }, (_, i) => i).sort(byLengthDesc);
  if (n === 0) return [];
  const permutation = rng.permutation(n);
  let longest = 0; // np.argmax: the first index of the maximum
  for (let i = 1; i < n; i++) if ((lengths[i] as number) > (lengths[longest] as number)) longest = i;
  const at = permutation.indexOf(longest);
  permutation[at] = permutation[0] as number;
  permutation[0] = longest;
  const chunkSize = bs * 50;
  const sorted: number[] = [];
  for (let i = 0; i < n; i += chunkSize)
    sorted.push(...permutation.slice(i, i + chunkSize).sort(byLengthDesc));
  const batches: number[][] = [];
  for (let i = 0; i < n; i += bs) batches.push(sorted.slice(i, i + bs));
  if (batches.length <= 2) return batches.flat();
  const middle = batches.slice(1, -1);
  const shuffledMiddle = rng.permutation(middle.length).map((i) => middle[i] as number[]);
  return [batches[0] as number[], ...shuffledMiddle, batches[batches.length - 1] as number[]].flat();
}

export interface SortedBatchesOptions extends PadChunkOptions {
  /** Documents per batch (fastai default 64). */
  bs?: number;
  /** Sortish random order for training; validation and inference leave it off. */
  shuffle?: boolean;
  /** Owns the shuffles (required when shuffle is on). */
  rng?: Rng;
  /** Drop a final incomplete batch; fastai does for training only, so it defaults to `shuffle`. */
  dropLast?: boolean;
  /** Reverse every document before padding (a backwards classifier, fastai `backwards=True`). */
  backwards?: boolean;
}

/** A classifier batch source: fastai's SortedDL with Pad_Chunk as its before_batch. */
export class SortedBatches {
  readonly bs: number;
  readonly numBatches: number;
  private readonly docs: readonly ArrayLike<number>[];
  private readonly labels: ArrayLike<number> | null;
  private readonly lengths: Int32Array;
  private readonly options: Required<PadChunkOptions> & { backwards: boolean; dropLast: boolean };
  private readonly rng: Rng | null;

  /**
   * @param docs token ids of each document
   * @param labels class index per document, or null for unlabeled input (then every `y` is −1)
   */
  constructor(
    docs: readonly ArrayLike<number>[],
    labels: ArrayLike<number> | null,
    options: SortedBatchesOptions = {},
  ) {
    const bs = options.bs ?? CLASSIFIER_DEFAULTS.bs;
    if (!Number.isInteger(bs) || bs < 1) throw usageError(`bs must be a positive integer, got ${bs}`);
    if (labels !== null && labels.length !== docs.length) {
      throw new RangeError(`${labels.length} labels for ${docs.length} documents`);
    }
    const shuffle = options.shuffle ?? false;
    if (shuffle && options.rng === undefined) throw new Error('SortedBatches: shuffle needs an rng');
    this.bs = bs;
    this.docs = docs;
    this.labels = labels;
    this.lengths = Int32Array.from(docs, (doc) => doc.length);
    this.rng = shuffle ? (options.rng as Rng) : null;
    const dropLast = options.dropLast ?? shuffle;
    this.options = {
      padIdx: options.padIdx ?? 1,
      padFirst: options.padFirst ?? true,
      seqLen: options.seqLen ?? TRAINING_DEFAULTS.bptt,
      backwards: options.backwards ?? false,
      dropLast,
    };
    this.numBatches = dropLast ? Math.floor(docs.length / bs) : Math.ceil(docs.length / bs);
  }

  get numDocs(): number {
    return this.docs.length;
  }

  /** One pass. A training source draws its order from the rng here, when called. */
  batches(): IterableIterator<ClasBatch> {
    return this.generate(sortedOrder(this.lengths, this.bs, this.rng));
  }

  private *generate(order: number[]): IterableIterator<ClasBatch> {
    const { padIdx, padFirst, seqLen, backwards } = this.options;
    for (let b = 0; b < this.numBatches; b++) {
      const rows = order.slice(b * this.bs, (b + 1) * this.bs);
      const width = rows.reduce((max, i) => Math.max(max, this.lengths[i] as number), 0);
      const x = new Int32Array(rows.length * width);
      rows.forEach((docIdx, r) => {
        const out = x.subarray(r * width, (r + 1) * width);
        writePadded(this.docs[docIdx] as ArrayLike<number>, out, padIdx, padFirst, seqLen, backwards);
      });
      const y = Int32Array.from(rows, (i) => (this.labels === null ? -1 : (this.labels[i] as number)));
      yield { x, y, bs: rows.length, seqLen: width, indices: Int32Array.from(rows) };
    }
  }
}
