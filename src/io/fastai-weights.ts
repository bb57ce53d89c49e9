/**
 * fastai AWD-LSTM state dicts (fastai/text/learner.py): unwrap `{'model': …}`, `clean_raw_keys`, infer the
 * architecture from tensor shapes, check every key, and map between fastai's files and ulmfit's
 * weight names.
 *
 * ulmfit's canonical weight names ARE fastai v2's language-model state-dict names, in fastai's
 * order (16 tensors for 3 layers):
 *   0.encoder.weight [V, E]                 0.encoder_dp.emb.weight [V, E] (same values)
 *   0.rnns.{l}.weight_hh_l0_raw [4h, h]     0.rnns.{l}.module.weight_ih_l0 [4h, in]
 *   0.rnns.{l}.module.bias_ih_l0 [4h]       0.rnns.{l}.module.bias_hh_l0 [4h]
 *   1.decoder.weight [V, E] (tied copy)     1.decoder.bias [V]
 * with in = E for layer 0 else H, h = H except the last layer's h = E. An encoder (fastai's
 * `save_encoder`) has the first 14 without the `0.` prefix; ulmfit keeps the prefix for it too.
 *
 * ulmfit stores each distinct tensor once: the copies `0.encoder_dp.emb.weight` and (when tied)
 * `1.decoder.weight` are left out of imported weights when they equal `0.encoder.weight` (the
 * model treats them as aliases), and an export puts them back.
 */
import { UlmfitError } from '../errors.js';
import { loadTorchCheckpoint, tensorMapOf, writeTorchZip } from './torch-pth.js';
import { sameShape, shapeText, type RawTensor, type TensorMap } from './tensors.js';

/** What the tensor shapes say about the model. */
export interface AwdLstmShape {
  vocabSize: number;
  embSize: number;
  /** hidden size of every layer but the last (whose hidden size is embSize); = embSize for 1 layer */
  hiddenSize: number;
  nLayers: number;
  /** the decoder's weight equals the embedding (fastai's tie_weights) */
  tiedDecoder: boolean;
  /** the decoder has a bias (fastai's out_bias) */
  decoderBias: boolean;
}

/** v1 files (fastai ≤ 1.x, e.g. WT103) also hold `rnns.{l}.module.weight_hh_l0`. */
export type FastaiLayout = 'v1' | 'v2';
/** `lm`: a language model (`learn.save`); `encoder`: `learn.save_encoder` (no prefix, no decoder). */
export type FastaiKind = 'lm' | 'encoder';

export interface FastaiImport {
  /** canonical ulmfit names (fastai v2 LM names), in fastai's order */
  weights: TensorMap;
  shape: AwdLstmShape;
  layout: FastaiLayout;
  kind: FastaiKind;
}

const LM_PREFIX = '0.';
const DECODER_WEIGHT = '1.decoder.weight';
const DECODER_BIAS = '1.decoder.bias';

/** v1's duplicate of the raw matrix, placed after weight_ih in fastai v1 order. */
const V1_DUPLICATE = 'module.weight_hh_l0';

function mismatch(source: string, what: string, hint?: string): UlmfitError {
  return new UlmfitError('E_MODEL_MISMATCH', `${source}: ${what}`, hint);
}

/** fastai's load_pretrained: `wgts = wgts['model']` when the file wraps the state dict. */
export function unwrapModelKey(root: unknown): unknown {
  return root instanceof Map && root.has('model') ? root.get('model') : root;
}

/**
 * fastai's `clean_raw_keys`: drop every key k for which `(k with its last '.module' removed) +
 * '_raw'` exists (v1's duplicate `…module.weight_hh_l0`). Order is kept.
 */
export function cleanRawKeys(tensors: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [key, tensor] of tensors) {
    const at = key.lastIndexOf('.module');
    const rawKey = (at >= 0 ? key.slice(0, at) + key.slice(at + '.module'.length) : key) + '_raw';
    if (!tensors.has(rawKey)) out.set(key, tensor);
  }
  return out;
}

/** fastai's AWD-LSTM keys for a shape, in state-dict order, with their expected shapes. */
export function expectedFastaiKeys(
  shape: Pick<AwdLstmShape, 'vocabSize' | 'embSize' | 'hiddenSize' | 'nLayers' | 'decoderBias'>,
  options: { kind: FastaiKind; layout: FastaiLayout },
): Map<string, number[]> {
  const { vocabSize: V, embSize: E, hiddenSize: H, nLayers } = shape;
  const prefix = options.kind === 'lm' ? LM_PREFIX : '';
  const keys = new Map<string, number[]>([
    [`${prefix}encoder.weight`, [V, E]],
    [`${prefix}encoder_dp.emb.weight`, [V, E]],
  ]);
  for (let l = 0; l < nLayers; l++) {
    const input = l === 0 ? E : H;
    const hidden = l === nLayers - 1 ? E : H;
    const base = `${prefix}rnns.${l}.`;
    keys.set(`${base}weight_hh_l0_raw`, [4 * hidden, hidden]);
    keys.set(`${base}module.weight_ih_l0`, [4 * hidden, input]);
    if (options.layout === 'v1') keys.set(`${base}${V1_DUPLICATE}`, [4 * hidden, hidden]);
    keys.set(`${base}module.bias_ih_l0`, [4 * hidden]);
    keys.set(`${base}module.bias_hh_l0`, [4 * hidden]);
  }
  if (options.kind === 'lm') {
    keys.set(DECODER_WEIGHT, [V, E]);
    if (shape.decoderBias) keys.set(DECODER_BIAS, [V]);
  }
  return keys;
}

function firstKeys(tensors: TensorMap, n = 4): string {
  const keys = [...tensors.keys()];
  return keys.length === 0
    ? 'none'
    : keys.slice(0, n).join(', ') + (keys.length > n ? `, … (${keys.length} keys)` : '');
}

function listText(items: string[], n = 6): string {
  return items.slice(0, n).join('; ') + (items.length > n ? `; and ${items.length - n} more` : '');
}

/**
 * Infers the architecture of a fastai AWD-LSTM state dict and checks it key by key. Throws one
 * error that names every missing, unexpected or mis-shaped key (up to a few, then a count).
 */
export function inferAwdLstm(
  tensors: TensorMap,
  source: string,
): { shape: AwdLstmShape; layout: FastaiLayout; kind: FastaiKind } {
  const notAwd = (why: string): UlmfitError =>
    mismatch(
      source,
      `is not a fastai AWD-LSTM state dict: ${why} (keys: ${firstKeys(tensors)})`,
      'pass a language model saved by fastai (learn.save / WT103 lstm_fwd.pth) or an encoder (learn.save_encoder)',
    );
  if (tensors.has('0.module.encoder.weight')) {
    throw notAwd('it is a text classifier (0.module.*); import a language model or an encoder instead');
  }
  const kind: FastaiKind | undefined = tensors.has(`${LM_PREFIX}encoder.weight`)
    ? 'lm'
    : tensors.has('encoder.weight')
      ? 'encoder'
      : undefined;
  if (!kind) throw notAwd("there is no 'encoder.weight' embedding");
  const prefix = kind === 'lm' ? LM_PREFIX : '';
  if ([...tensors.keys()].some((k) => k.endsWith('_reverse')))
    throw notAwd('bidirectional LSTMs are not supported');

  const embedding = tensors.get(`${prefix}encoder.weight`)!;
  if (embedding.shape.length !== 2)
    throw notAwd(`${prefix}encoder.weight has shape ${shapeText(embedding.shape)}, expected [vocab, emb]`);
  const [vocabSize, embSize] = embedding.shape as [number, number];

  // Layers: every index that any `rnns.{l}.` key mentions; gaps show up as missing keys below.
  const layerPattern = new RegExp(`^${prefix.replace('.', '\\.')}rnns\\.(\\d+)\\.`);
  let nLayers = 0;
  for (const key of tensors.keys()) {
    const m = layerPattern.exec(key);
    if (m) nLayers = Math.max(nLayers, Number(m[1]) + 1);
  }
  if (nLayers === 0) throw notAwd(`there are no LSTM layers (${prefix}rnns.0.*)`);
  const layerHidden = (l: number): number | undefined => {
    const base = `${prefix}rnns.${l}.`;
    const square = tensors.get(`${base}weight_hh_l0_raw`) ?? tensors.get(`${base}${V1_DUPLICATE}`);
    if (square?.shape.length === 2) return square.shape[1];
    const bias = tensors.get(`${base}module.bias_ih_l0`);
    return bias?.shape.length === 1 ? bias.shape[0]! / 4 : undefined;
  };
  const hiddenSize = nLayers > 1 ? (layerHidden(0) ?? embSize) : embSize;
  const layout: FastaiLayout = [...tensors.keys()].some((k) => k.endsWith(`.${V1_DUPLICATE}`)) ? 'v1' : 'v2';
  const decoderBias = tensors.has(DECODER_BIAS);

  const expected = expectedFastaiKeys(
    { vocabSize, embSize, hiddenSize, nLayers, decoderBias },
    { kind, layout },
  );
  // A v1 file may lack some duplicates (they are dropped anyway); never demand them.
  const optional = (key: string): boolean => key.endsWith(`.${V1_DUPLICATE}`);
  const problems: string[] = [];
  const missing = [...expected.keys()].filter((k) => !tensors.has(k) && !optional(k));
  if (missing.length) problems.push(`missing ${missing.join(', ')}`);
  for (const [key, tensor] of tensors) {
    const want = expected.get(key);
    if (!want) problems.push(`unexpected ${key} ${shapeText(tensor.shape)}`);
    else if (!sameShape(tensor.shape, want))
      problems.push(`${key} is ${shapeText(tensor.shape)}, expected ${shapeText(want)}`);
    else if (tensor.dtype !== 'float32') problems.push(`${key} holds ${tensor.dtype}, expected floats`);
  }
  if (problems.length) {
    throw mismatch(
      source,
      `is not a consistent AWD-LSTM (vocab ${vocabSize}, emb ${embSize}, hidden ${hiddenSize}, ${nLayers} layers): ${listText(problems)}`,
      'the file is damaged or holds another architecture',
    );
  }
  const decoder = tensors.get(DECODER_WEIGHT);
  const tiedDecoder = kind === 'lm' && decoder !== undefined && sameValues(decoder, embedding);
  return { shape: { vocabSize, embSize, hiddenSize, nLayers, tiedDecoder, decoderBias }, layout, kind };
}

function sameValues(a: RawTensor, b: RawTensor): boolean {
  // Tied copies read from one storage are views of the same bytes: no need to compare them.
  if (
    a.data.buffer === b.data.buffer &&
    a.data.byteOffset === b.data.byteOffset &&
    a.data.length === b.data.length
  )
    return true;
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/**
 * fastai state dict → ulmfit weights: canonical names and order, v1 duplicates dropped, and the
 * copies of the embedding (embedding dropout's, the tied decoder's) dropped when identical.
 */
export function fastaiToUlmfit(tensors: TensorMap, source: string): FastaiImport {
  const { shape, layout, kind } = inferAwdLstm(tensors, source);
  const cleaned = cleanRawKeys(tensors);
  const canonical = expectedFastaiKeys(shape, { kind: 'lm', layout: 'v2' });
  const embedding = cleaned.get(kind === 'lm' ? `${LM_PREFIX}encoder.weight` : 'encoder.weight')!;
  const weights: TensorMap = new Map();
  for (const name of canonical.keys()) {
    const fastaiName = kind === 'lm' ? name : name.slice(LM_PREFIX.length);
    const tensor = cleaned.get(fastaiName);
    if (!tensor) continue;
    const isCopy = name === `${LM_PREFIX}encoder_dp.emb.weight` || name === DECODER_WEIGHT;
    if (isCopy && sameValues(tensor, embedding)) continue;
    weights.set(name, tensor);
  }
  return { weights, shape, layout, kind };
}

/**
 * ulmfit weights → a fastai state dict in fastai's exact key order (its `load_pretrained` loads by
 * position, `load_encoder` by name). `kind: 'encoder'` gives `save_encoder`'s 14 keys without the
 * `0.` prefix; `layout: 'v1'` adds the duplicate `module.weight_hh_l0` entries.
 * Tied decoder / embedding-dropout copies missing from `weights` are filled from `0.encoder.weight`.
 */
export function ulmfitToFastai(
  weights: TensorMap,
  options: { kind?: FastaiKind; layout?: FastaiLayout; source?: string } = {},
): TensorMap {
  const kind = options.kind ?? 'lm';
  const layout = options.layout ?? 'v2';
  const source = options.source ?? 'the model';
  const embedding = weights.get(`${LM_PREFIX}encoder.weight`);
  if (!embedding) throw mismatch(source, `has no ${LM_PREFIX}encoder.weight: not an AWD-LSTM`);
  const filled: TensorMap = new Map(weights);
  if (!filled.has(`${LM_PREFIX}encoder_dp.emb.weight`))
    filled.set(`${LM_PREFIX}encoder_dp.emb.weight`, embedding);
  if (kind === 'lm' && !filled.has(DECODER_WEIGHT)) filled.set(DECODER_WEIGHT, embedding);
  // In fastai's own naming for the kind (an encoder drops the prefix and the decoder), then
  // checked by the same rules as an import.
  const named: TensorMap = new Map();
  for (const [name, tensor] of filled) {
    if (kind === 'lm') named.set(name, tensor);
    else if (name.startsWith(LM_PREFIX)) named.set(name.slice(LM_PREFIX.length), tensor);
  }
  const { shape } = inferAwdLstm(named, source);
  const out: TensorMap = new Map();
  for (const name of expectedFastaiKeys(shape, { kind, layout }).keys()) {
    const tensor = name.endsWith(`.${V1_DUPLICATE}`)
      ? named.get(name.slice(0, -V1_DUPLICATE.length) + 'weight_hh_l0_raw')
      : named.get(name);
    if (!tensor) throw mismatch(source, `has no ${name}`);
    out.set(name, tensor);
  }
  return out;
}

/** An LM's weights without the decoder: what an `encoder/` model directory stores (same names). */
export function encoderWeightsOf(weights: TensorMap): TensorMap {
  return new Map([...weights].filter(([name]) => name.startsWith(LM_PREFIX)));
}

/** Reads a fastai `.pth` (zip or legacy, wrapped in `{'model': …}` or not) as ulmfit weights. */
export function readFastaiCheckpoint(bytes: Uint8Array, source: string): FastaiImport {
  const checkpoint = loadTorchCheckpoint(bytes, source);
  const stateDict = unwrapModelKey(checkpoint.root);
  const what = stateDict === checkpoint.root ? 'the checkpoint' : "the checkpoint's 'model' entry";
  return fastaiToUlmfit(tensorMapOf(stateDict, source, what), source);
}

/** Writes ulmfit weights as a zip-format fastai `.pth` (see ulmfitToFastai for the options). */
export function writeFastaiCheckpoint(
  weights: TensorMap,
  options: { kind?: FastaiKind; layout?: FastaiLayout; archiveName?: string; source?: string } = {},
): Uint8Array {
  return writeTorchZip(ulmfitToFastai(weights, options), { archiveName: options.archiveName ?? 'archive' });
}

/** The itos must have one entry per embedding row (fastai's vocab ↔ weights contract). */
export function checkItosMatches(
  itosLength: number,
  shape: AwdLstmShape,
  files: { weights: string; itos: string },
): void {
  if (itosLength !== shape.vocabSize) {
    throw mismatch(
      files.itos,
      `has ${itosLength} tokens but the embedding in ${files.weights} has ${shape.vocabSize} rows`,
      'pass the itos .pkl that was saved with these weights',
    );
  }
}
