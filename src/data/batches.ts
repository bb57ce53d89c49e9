/**
 * Batch shapes shared by the data loaders (which produce them) and the models (which consume
 * them). They hold plain typed arrays so the data layer stays free of TF.js; a model turns them
 * into tensors itself and owns those tensors.
 */

/** One language-model batch: `y` is `x` shifted by one token. Row-major `[bs, seqLen]`. */
export interface LmBatch {
  /** Input token ids, `[bs, seqLen]` row-major. */
  x: Int32Array;
  /** Target token ids, `[bs, seqLen]` row-major. */
  y: Int32Array;
  bs: number;
  seqLen: number;
}

/** One classifier batch: padded documents (pad first, fastai `pad_chunk`) and their labels. */
export interface ClasBatch {
  /** Token ids, `[bs, seqLen]` row-major, padded with the pad id. */
  x: Int32Array;
  /** Class index per document, `[bs]`. */
  y: Int32Array;
  bs: number;
  seqLen: number;
  /** Position of each row in the dataset, so predictions can be put back in input order. */
  indices: Int32Array;
}
