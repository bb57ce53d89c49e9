/**
 * The AWD-LSTM's architecture, declared once as a field table with fastai's config-dict keys
 * (`awd_lstm_lm_config`): `AwdLstmConfig`, the type model/ builds from, is derived from it, and so
 * is the check of meta.json's `arch` (io/artifact.ts), which io/ could not take from model/ (it
 * sits below it, .dependency-cruiser.cjs). fastai's values are model/awd-lstm.ts's
 * AWD_LSTM_LM_CONFIG and AWD_LSTM_CLAS_CONFIG.
 */

/**
 * What a field holds, which is how meta.json's copy is checked: `size`, a whole number ≥ 1;
 * `index`, a whole number ≥ 0; `probability`, a dropout in [0, 1); `switch`, a boolean.
 */
export type ArchFieldKind = 'size' | 'index' | 'probability' | 'switch';

interface FieldValue {
  size: number;
  index: number;
  probability: number;
  switch: boolean;
}

/** Every field of the architecture, in fastai's order. Dropout probabilities are the final ones (after `drop_mult`). */
export const AWD_LSTM_FIELDS = {
  /** Embedding size; also the last LSTM layer's hidden size (so the decoder can be tied). */
  emb_sz: 'size',
  /** Hidden size of every LSTM layer but the last. */
  n_hid: 'size',
  n_layers: 'size',
  /** Id of the padding token (xxpad): its embedding gets no gradient through the lookup. */
  pad_token: 'index',
  /** RNNDropout between LSTM layers. */
  hidden_p: 'probability',
  /** RNNDropout on the embeddings. */
  input_p: 'probability',
  /** EmbeddingDropout: whole words dropped. */
  embed_p: 'probability',
  /** WeightDropout (DropConnect) on each hidden-to-hidden matrix. */
  weight_p: 'probability',
  /** LM: the decoder's RNNDropout; classifier: the head's first dropout. */
  output_p: 'probability',
  /** LM only: the decoder shares the embedding matrix. */
  tie_weights: 'switch',
  /** LM only: the decoder has a bias. */
  out_bias: 'switch',
} as const satisfies Record<string, ArchFieldKind>;

type Fields = typeof AWD_LSTM_FIELDS;

/** The architecture (the same keys as meta.json's `arch`); each field's comment is in AWD_LSTM_FIELDS. */
export type AwdLstmConfig = { -readonly [K in keyof Fields]: FieldValue[Fields[K]] };

/** The names of the fields of one kind. */
export type ArchFieldsOf<Kind extends ArchFieldKind> = {
  [K in keyof Fields]: Fields[K] extends Kind ? K : never;
}[keyof Fields];

/** The fields of one kind, in fastai's order (`'probability'`: the five dropouts). */
export function archFields<Kind extends ArchFieldKind>(kind: Kind): ArchFieldsOf<Kind>[] {
  const keys = Object.keys(AWD_LSTM_FIELDS) as (keyof Fields)[];
  return keys.filter((key) => AWD_LSTM_FIELDS[key] === kind) as ArchFieldsOf<Kind>[];
}
