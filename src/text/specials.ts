/**
 * fastai's special tokens (fastai/text/core.py). The order of `DEFAULT_SPECIALS` is fastai v2's
 * `defaults.text_spec_tok`; `Vocab.build` puts them first, so it fixes their ids (xxunk = 0,
 * xxpad = 1, ...). Do not reorder.
 */

/** Unknown word: every out-of-vocab token maps to id 0. */
export const UNK = 'xxunk';
/** Padding: id 1 (fastai's pad_idx). */
export const PAD = 'xxpad';
/** Beginning of stream: added at the start of every document by the lowercase rule. */
export const BOS = 'xxbos';
/** End of stream: only added when `addEos` is set. */
export const EOS = 'xxeos';
/** Field marker when several text columns are joined. */
export const FLD = 'xxfld';
/** Character repetition: `xxrep N c`. */
export const REP = 'xxrep';
/** Word repetition: `xxwrep N word`. */
export const WREP = 'xxwrep';
/** The next word was ALL CAPS. */
export const UP = 'xxup';
/** The next word was Capitalized. */
export const MAJ = 'xxmaj';
/** Filler appended by `Vocab.build` to pad the vocab to a multiple of 8 (never a real token). */
export const FAKE = 'xxfake';

/** fastai v2 order: [UNK, PAD, BOS, EOS, FLD, REP, WREP, UP, MAJ]. */
export const DEFAULT_SPECIALS: readonly string[] = Object.freeze([
  UNK,
  PAD,
  BOS,
  EOS,
  FLD,
  REP,
  WREP,
  UP,
  MAJ,
]);

export const UNK_ID = 0;
export const PAD_ID = 1;
