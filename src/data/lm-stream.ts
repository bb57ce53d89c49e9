import { usageError } from '../errors.js';
import type { Rng } from '../random.js';
import type { LmBatch } from './batches.js';
import { LM_DEFAULTS, TRAINING_DEFAULTS } from '../config/training.js';

/**
 * fastai's `LMDataLoader` (fastai/text/data.py): documents are concatenated (no separator; each
 * already starts with xxbos) into one stream, which is cut into `bs` parallel rows of length
 * `bl`; batch k holds columns [k·bptt, k·bptt + bptt) of every row, so row r of batch k+1
 * continues exactly where row r of batch k stopped and the model's hidden state can carry over.
 *
 * Geometry, T = total tokens:
 *   corpus = floor((T−1)/bs)·bs     (the −1 keeps one token for the last target)
 *   bl = corpus/bs,  numBatches = ceil(bl/bptt),  last batch length = bl − (numBatches−1)·bptt
 * The T−1−corpus tokens at the end of the stream are dropped for the epoch.
 *
 * The stream is never materialized: rows are read through the (shuffled) document order with a
 * binary search over document offsets, so a 100M-token corpus costs no extra copy per epoch.
 */
export interface LmStreamOptions {
  /** Parallel streams per batch (fastai default 64). */
  bs?: number;
  /** Tokens per batch (fastai `seq_len`, default 72). */
  bptt?: number;
  /** Shuffle document order at the start of every pass: true for training only. */
  shuffle?: boolean;
  /** Owns the shuffles (required when shuffle is on); drawn from once per pass. */
  rng?: Rng;
  /** Reverse every document before concatenation (fastai `backwards=True`): each then ends with xxbos. */
  backwards?: boolean;
}

export class LmStream {
  readonly bs: number;
  readonly bptt: number;
  readonly totalTokens: number;
  /** Length of each of the bs parallel rows (fastai `bl`). */
  readonly rowLength: number;
  /** Batches per pass (fastai `n_batches`); 0 when the corpus has fewer than bs + 1 tokens. */
  readonly numBatches: number;
  /** Length of the last batch (≤ bptt). */
  readonly lastLength: number;
  private readonly docs: readonly Int32Array[];
  private readonly shuffle: boolean;
  private readonly backwards: boolean;
  private readonly rng: Rng | undefined;

  /** @param docs token ids of each document (views into a flat array are fine; never modified) */
  constructor(docs: readonly Int32Array[], options: LmStreamOptions = {}) {
    this.bs = positiveInt(options.bs ?? LM_DEFAULTS.bs, 'bs');
    this.bptt = positiveInt(options.bptt ?? TRAINING_DEFAULTS.bptt, 'bptt');
    this.shuffle = options.shuffle ?? false;
    this.backwards = options.backwards ?? false;
    this.rng = options.rng;
    if (this.shuffle && this.rng === undefined) throw new Error('LmStream: shuffle needs an rng');
    this.docs = docs;
    this.totalTokens = docs.reduce((sum, doc) => sum + doc.length, 0);
    const corpus = Math.max(0, Math.floor((this.totalTokens - 1) / this.bs) * this.bs);
    this.rowLength = corpus / this.bs;
    this.numBatches = Math.ceil(this.rowLength / this.bptt);
    this.lastLength = this.rowLength - (this.numBatches - 1) * this.bptt;
  }

  /**
   * One pass over the data. A training stream draws a new document order from its rng here (when
   * called, not lazily), so the rng's state at the start of an epoch fixes the whole epoch.
   */
  batches(): IterableIterator<LmBatch> {
    const order = this.shuffle ? (this.rng as Rng).permutation(this.docs.length) : this.docs.map((_, i) => i);
    return this.generate(order);
  }

  private *generate(order: number[]): IterableIterator<LmBatch> {
    const starts = new Float64Array(order.length + 1);
    order.forEach((doc, i) => {
      starts[i + 1] = (starts[i] as number) + (this.docs[doc] as Int32Array).length;
    });
    const { bs, bptt, rowLength } = this;
    for (let k = 0; k < this.numBatches; k++) {
      const seqLen = k === this.numBatches - 1 ? this.lastLength : bptt;
      const x = new Int32Array(bs * seqLen);
      const y = new Int32Array(bs * seqLen);
      const text = new Int32Array(seqLen + 1);
      for (let r = 0; r < bs; r++) {
        this.read(order, starts, r * rowLength + k * bptt, text);
        x.set(text.subarray(0, seqLen), r * seqLen);
        y.set(text.subarray(1), r * seqLen);
      }
      yield { x, y, bs, seqLen };
    }
  }

  /** Fills `out` with stream tokens [start, start + out.length). */
  private read(order: number[], starts: Float64Array, start: number, out: Int32Array): void {
    let i = upperBound(starts, start) - 1; // the last document starting at or before `start`
    let offset = start - (starts[i] as number);
    let filled = 0;
    while (filled < out.length) {
      const doc = this.docs[order[i] as number] as Int32Array;
      const n = Math.min(doc.length - offset, out.length - filled);
      if (this.backwards) {
        for (let j = 0; j < n; j++) out[filled + j] = doc[doc.length - 1 - offset - j] as number;
      } else {
        out.set(doc.subarray(offset, offset + n), filled);
      }
      filled += n;
      offset = 0;
      i += 1;
    }
  }
}

/** The first index whose value is > `value` (starts is ascending, starts[0] = 0). */
function upperBound(starts: Float64Array, value: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((starts[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * fastai `RandomSplitter(valid_pct)`: a random permutation of the documents; the first
 * floor(validPct·n) are validation, the rest training (both in permutation order, as fastai).
 */
export function splitValid(
  numDocs: number,
  validPct: number,
  rng: Rng,
): { train: number[]; valid: number[] } {
  if (!(validPct >= 0 && validPct < 1)) {
    throw usageError(
      `--valid-pct must be in [0, 1), got ${validPct}`,
      'e.g. 0.1 keeps 10% of the documents for validation',
    );
  }
  const permutation = rng.permutation(numDocs);
  const cut = Math.floor(validPct * numDocs);
  return { train: permutation.slice(cut), valid: permutation.slice(0, cut) };
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw usageError(`${name} must be a positive integer, got ${value}`);
  return value;
}
