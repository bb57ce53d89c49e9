/**
 * Model directories and run directories (design.md §3).
 *
 * A model directory is the unit that moves between commands:
 *   meta.json            ModelMeta (written last: a directory without it never loads)
 *   weights.safetensors  float32 (or float16: shipped models) tensors named like fastai's state
 *                        dict (see fastai-weights.ts); float16 is widened to float32 on load
 *   vocab.json           the itos array
 *   tokenizer.json       the tokenizer settings (src/text/settings.ts), opaque JSON here
 *   spm.model            only for subword tokenizers
 *   labels.json          only for classifiers
 * Writes go to `<dir>.tmp-<pid>` and are renamed into place, so a crash leaves either the old
 * directory or the new one, never a half-written one that loads.
 *
 * A run directory (`--out` of a training command) holds model-last/, model-best/, encoder/,
 * checkpoint/, metrics.jsonl and config.json.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AWD_LSTM_FIELDS, type ArchFieldKind, type AwdLstmConfig } from '../config/awd-lstm.js';
import { firstNonFinite, UlmfitError } from '../errors.js';
import { PACKAGE_VERSION } from '../version.js';
import {
  textWhenWritten,
  writeDirAtomic,
  type AtomicWriteOptions,
  type ChunkStream,
  type FileData,
} from './atomic.js';
import { existsAfterRecovery, lockDir, recoverSwaps, type DirLock } from './dir-lock.js';

// Their home was this module; tests import them from here.
export { writeDirAtomic, writeJsonAtomic } from './atomic.js';
import { resolveModelRef } from './model-names.js';
import { parseSafetensors, writeSafetensorsChunks } from './safetensors.js';
import { narrowToFloat16, shapeText, widenFloat16, type TensorMap, type TensorSource } from './tensors.js';
import { checkShape, count, probability, sha256Hex, z } from './validate.js';

/** Bump when meta.json or the files change incompatibly; readers refuse newer versions. */
export const MODEL_FORMAT_VERSION = 1;

export const MODEL_FILES = {
  meta: 'meta.json',
  weights: 'weights.safetensors',
  vocab: 'vocab.json',
  tokenizer: 'tokenizer.json',
  spm: 'spm.model',
  labels: 'labels.json',
} as const;

export const RUN_LAYOUT = {
  modelLast: 'model-last',
  modelBest: 'model-best',
  encoder: 'encoder',
  checkpoint: 'checkpoint',
  metrics: 'metrics.jsonl',
  config: 'config.json',
  /** train-classifier's NB-SVM baseline on the same split. */
  baseline: 'baseline',
  /** train-classifier's further networks on small data: networks/2/, networks/3/, … (each a run directory). */
  networks: 'networks',
  /** The training curves (tasks/training-plot.ts), drawn when a run completes. */
  plot: 'training.svg',
} as const;

export type ModelKind = 'lm' | 'encoder' | 'classifier';
const MODEL_KINDS: readonly ModelKind[] = ['lm', 'encoder', 'classifier'];
/** The NB-SVM baseline's kind (src/baseline/persist.ts reads and writes its directories; no AWD-LSTM). */
export const BASELINE_KIND = 'baseline';

/**
 * meta.json's `arch`: the model's `AwdLstmConfig` (config/awd-lstm.ts, fastai's config-dict keys),
 * so it can be passed to the model as is, and the architecture's name. Dropouts are the final
 * values (after drop_mult). Extra keys (a classifier head…) are kept.
 */
export type ArchMeta = AwdLstmConfig & {
  /** 'awd_lstm' (the only architecture so far) */
  name?: string;
  [extra: string]: unknown;
};

export interface ModelMeta {
  format: 'ulmfit';
  version: number;
  kind: ModelKind;
  arch: ArchMeta;
  /** size and sha256 of JSON.stringify(itos): ties the weights to their vocabulary */
  vocab: { size: number; sha256: string };
  /** the tokenizer's kind and the hash of tokenizer.json (and spm.model when present) */
  tokenizer: { kind?: string; sha256: string; spm_sha256?: string };
  labels?: string[];
  backwards: boolean;
  training?: Record<string, unknown>;
  /** one line saying what the model is (shipped models; `ulmfit models` shows it) */
  description?: string;
  /**
   * sha256 of weights.safetensors, checked on load (flipped bytes in tensor data are otherwise
   * invisible). Absent in directories written before it existed: those load unchecked.
   */
  weights_sha256?: string;
  created_by: string;
}

/** What a caller supplies; the hashes, format, version and created_by are filled in. */
export interface NewModelMeta {
  kind: ModelKind;
  arch: ArchMeta;
  backwards: boolean;
  training?: Record<string, unknown>;
  description?: string;
  created_by?: string;
}

export interface ModelDirContents {
  meta: NewModelMeta;
  /** In memory, or read tensor by tensor as written (a training run's: model/persist.ts weightReaders). */
  weights: TensorSource;
  /** itos */
  vocab: string[];
  /** tokenizer settings, stored as tokenizer.json */
  tokenizer: Record<string, unknown>;
  spmModel?: Uint8Array;
  labels?: string[];
}

export interface LoadedModelDir {
  dir: string;
  meta: ModelMeta;
  /** empty when read with `weights: false` */
  weights: TensorMap;
  vocab: string[];
  tokenizer: Record<string, unknown>;
  spmModel?: Uint8Array;
  labels?: string[];
}

// ---------------------------------------------------------------------------------------------
// Hashes

function sha256(data: string | Uint8Array | readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  if (typeof data === 'string' || data instanceof Uint8Array) hash.update(data);
  else for (const chunk of data) hash.update(chunk);
  return hash.digest('hex');
}

/** The vocabulary's identity: sha256 of JSON.stringify(itos). */
export function vocabSha256(itos: readonly string[]): string {
  return sha256(JSON.stringify(itos));
}

/** JSON with object keys sorted, so formatting or key order never changes a hash. */
function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

export function tokenizerSha256(settings: Record<string, unknown>): string {
  return sha256(stableStringify(settings));
}

export interface ModelWriteOptions extends AtomicWriteOptions {
  /**
   * 'float16' stores the float weights as IEEE half (round to nearest even; half the size, for
   * shipped models); readModelDir widens them back to float32. Default: as given (float32).
   */
  weightsDtype?: 'float32' | 'float16';
}

const TMP_SUFFIX = /\.(tmp|old)-\d+$/;

// ---------------------------------------------------------------------------------------------
// Model directories

function dirError(dir: string, what: string, hint?: string): UlmfitError {
  return new UlmfitError('E_MODEL_DIR', `${dir}: ${what}`, hint);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/**
 * Writes a complete model directory atomically and returns the meta.json it wrote. Refuses to
 * replace an existing non-empty directory that is not a model directory (E_OUT_EXISTS).
 */
export function writeModelDir(
  dir: string,
  contents: ModelDirContents,
  options: ModelWriteOptions = {},
): ModelMeta {
  const { meta: partial, vocab, tokenizer, spmModel, labels } = contents;
  const weights = options.weightsDtype === 'float16' ? narrowToFloat16(contents.weights) : contents.weights;
  if (!MODEL_KINDS.includes(partial.kind)) throw new Error(`unknown model kind ${String(partial.kind)}`);
  if (!isStringArray(vocab) || vocab.length === 0)
    throw new Error('vocab must be a non-empty list of strings');
  if (partial.kind === 'classifier' && !isStringArray(labels))
    throw new Error('a classifier needs its labels');
  if (existsSync(dir) && !existsSync(join(dir, MODEL_FILES.meta)) && readdirSync(dir).length > 0) {
    throw new UlmfitError(
      'E_OUT_EXISTS',
      `${dir} exists, is not empty and is not a model directory; refusing to replace it`,
      'choose another output path or remove it',
    );
  }
  const tokenizerJson = JSON.stringify(tokenizer, null, 2) + '\n';
  const meta: ModelMeta = {
    format: 'ulmfit',
    version: MODEL_FORMAT_VERSION,
    kind: partial.kind,
    arch: partial.arch,
    vocab: { size: vocab.length, sha256: vocabSha256(vocab) },
    tokenizer: {
      ...(typeof tokenizer.kind === 'string' ? { kind: tokenizer.kind } : {}),
      sha256: tokenizerSha256(tokenizer),
      ...(spmModel ? { spm_sha256: sha256(spmModel) } : {}),
    },
    ...(labels ? { labels: [...labels] } : {}),
    backwards: partial.backwards,
    ...(partial.training ? { training: partial.training } : {}),
    ...(partial.description !== undefined ? { description: partial.description } : {}),
    created_by: partial.created_by ?? `ulmfit ${PACKAGE_VERSION}`,
  };
  // Hashed as written (~1 s a GB); it makes flipped bytes visible at load. meta.json, written
  // last, is made after.
  const weightsFile = hashedSafetensors(weights, { format: 'pt', producer: meta.created_by });
  const files: { name: string; data: FileData }[] = [
    { name: MODEL_FILES.weights, data: weightsFile.stream },
    { name: MODEL_FILES.vocab, data: JSON.stringify(vocab) + '\n' },
    { name: MODEL_FILES.tokenizer, data: tokenizerJson },
  ];
  if (spmModel) files.push({ name: MODEL_FILES.spm, data: spmModel });
  if (labels) files.push({ name: MODEL_FILES.labels, data: JSON.stringify(labels, null, 2) + '\n' });
  files.push({
    name: MODEL_FILES.meta, // last: marks completeness
    data: textWhenWritten(() => {
      meta.weights_sha256 = weightsFile.sha256();
      return JSON.stringify(meta, null, 2) + '\n';
    }),
  });
  writeDirAtomic(dir, files, options);
  return meta;
}

/**
 * A safetensors file written tensor by tensor (readers read one at a time: a model or checkpoint
 * at WT103 size is never all in memory at once) and hashed as written; `sha256` once it is.
 */
function hashedSafetensors(
  tensors: TensorSource,
  metadata?: Record<string, string>,
): { stream: ChunkStream; sha256: () => string } {
  const hash = createHash('sha256');
  let digest: string | undefined;
  return {
    stream: {
      emit: (write) => {
        writeSafetensorsChunks(tensors, metadata, (bytes) => {
          hash.update(bytes);
          write(bytes);
        });
        digest = hash.digest('hex');
      },
    },
    sha256: () => {
      if (digest === undefined) throw new Error('the safetensors file is not written yet');
      return digest;
    },
  };
}

function readJson(dir: string, name: string): unknown {
  const path = join(dir, name);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw dirError(dir, `${name} is missing`, 'the model directory is incomplete; write it again');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw dirError(dir, `${name} is not valid JSON`, 'the model directory is damaged; write it again');
  }
}

function kindList(kinds: readonly string[]): string {
  return kinds.map((k) => `'${k}'`).join(' or ');
}

/**
 * meta.json's schema (what validateMeta accepts). Loose objects: extra keys (a classifier head's
 * arch, training history…) are kept; what the loaders use is checked.
 */
/** How each kind of architecture field (config/awd-lstm.ts) is checked. */
const ARCH_FIELD_CHECKS = {
  size: count.min(1),
  index: count,
  probability,
  switch: z.boolean(),
} as const satisfies Record<ArchFieldKind, z.ZodType>;

type ArchFieldChecks = {
  [K in keyof typeof AWD_LSTM_FIELDS]: (typeof ARCH_FIELD_CHECKS)[(typeof AWD_LSTM_FIELDS)[K]];
};

const ARCH_SCHEMA = z.looseObject({
  name: z.string().optional(),
  ...(Object.fromEntries(
    Object.entries(AWD_LSTM_FIELDS).map(([field, kind]) => [field, ARCH_FIELD_CHECKS[kind]]),
  ) as ArchFieldChecks),
});

const META_SCHEMA = z.looseObject({
  format: z.literal('ulmfit'),
  version: count,
  kind: z.enum(MODEL_KINDS),
  arch: ARCH_SCHEMA,
  vocab: z.looseObject({ size: count.min(1), sha256: z.string() }),
  tokenizer: z.looseObject({
    kind: z.string().optional(),
    sha256: z.string(),
    spm_sha256: z.string().optional(),
  }),
  labels: z.array(z.string()).optional(),
  backwards: z.boolean(),
  training: z.record(z.string(), z.unknown()).optional(),
  description: z.string().optional(),
  weights_sha256: sha256Hex.optional(),
  created_by: z.string().optional(),
});

/** Checks meta.json's fields; returns it typed. */
function validateMeta(dir: string, value: unknown): ModelMeta {
  const head = (value !== null && typeof value === 'object' ? value : {}) as {
    format?: unknown;
    version?: unknown;
    kind?: unknown;
  };
  if (head.format !== 'ulmfit')
    throw dirError(dir, "meta.json is not an ulmfit model description (format is not 'ulmfit')");
  if (typeof head.version === 'number' && head.version > MODEL_FORMAT_VERSION) {
    throw dirError(
      dir,
      `was written by a newer ulmfit (model format ${head.version}; this ulmfit reads up to ${MODEL_FORMAT_VERSION})`,
      'upgrade ulmfit',
    );
  }
  if (head.kind === BASELINE_KIND) {
    throw dirError(
      dir,
      `is a '${BASELINE_KIND}' (NB-SVM) model, not an AWD-LSTM one`,
      'only ulmfit classify takes a baseline model directory',
    );
  }
  const meta = checkShape(META_SCHEMA, value, join(dir, MODEL_FILES.meta), {
    code: 'E_MODEL_DIR',
    hint: 'the model directory is damaged; write it again',
  });
  return meta as ModelMeta;
}

/** Reads and checks meta.json only (cheap: for kind checks before loading weights). */
export function readModelMeta(dir: string): ModelMeta {
  checkModelDirPath(dir);
  return validateMeta(dir, readJson(dir, MODEL_FILES.meta));
}

/** The kind in a model directory's meta.json, the baseline's included (for commands that take both). */
export function readModelKind(dir: string): ModelKind | typeof BASELINE_KIND {
  checkModelDirPath(dir);
  const value = readJson(dir, MODEL_FILES.meta) as { format?: unknown; kind?: unknown } | null;
  if (value && typeof value === 'object' && value.format === 'ulmfit' && value.kind === BASELINE_KIND)
    return BASELINE_KIND;
  return validateMeta(dir, value).kind;
}

function checkModelDirPath(dir: string): void {
  if (TMP_SUFFIX.test(basename(dir))) {
    throw dirError(
      dir,
      'is the leftover of an interrupted write, not a model',
      'delete it and use the directory without the suffix',
    );
  }
  if (!existsSync(dir)) {
    const parent = dirname(dir);
    const leftover = existsSync(parent)
      ? readdirSync(parent).find((name) => name.startsWith(`${basename(dir)}.old-`))
      : undefined;
    throw new UlmfitError(
      'E_INPUT_MISSING',
      `no model directory at ${dir}`,
      leftover
        ? `a write was interrupted; the previous model is at ${join(parent, leftover)}: rename it back`
        : 'check the path',
    );
  }
  if (!statSync(dir).isDirectory()) throw dirError(dir, 'is a file, not a model directory');
  if (!existsSync(join(dir, MODEL_FILES.meta))) {
    const isRun = existsSync(join(dir, RUN_LAYOUT.modelBest)) || existsSync(join(dir, RUN_LAYOUT.modelLast));
    throw dirError(
      dir,
      'has no meta.json: not an ulmfit model directory',
      isRun
        ? `it is a run directory: use ${join(dir, RUN_LAYOUT.modelBest)} or ${join(dir, RUN_LAYOUT.modelLast)}`
        : 'pass a directory written by ulmfit (e.g. <run>/model-best)',
    );
  }
}

/**
 * Reads a model directory and checks that its files agree with meta.json (vocab size and hash,
 * tokenizer hash, spm.model, labels, embedding rows) and that its kind is one `expect.kind` allows.
 * float16 weights (shipped models) come back widened to float32, so callers see float32 only.
 */
export function readModelDir(
  dir: string,
  expect: { kind?: readonly ModelKind[]; weights?: boolean } = {},
): LoadedModelDir {
  const meta = readModelMeta(dir);
  if (expect.kind && !expect.kind.includes(meta.kind)) {
    throw dirError(
      dir,
      `is a '${meta.kind}' model; this needs ${kindList(expect.kind)}`,
      'pass a model directory of the right kind',
    );
  }

  const vocab = readJson(dir, MODEL_FILES.vocab);
  if (!isStringArray(vocab)) throw dirError(dir, 'vocab.json is not a list of strings');
  if (vocab.length !== meta.vocab.size || vocabSha256(vocab) !== meta.vocab.sha256) {
    throw dirError(
      dir,
      `vocab.json (${vocab.length} tokens) does not match meta.json (${meta.vocab.size} tokens, sha256 ${meta.vocab.sha256.slice(0, 12)}…)`,
      'the files come from different models; write the directory again',
    );
  }

  const tokenizer = readJson(dir, MODEL_FILES.tokenizer);
  if (!tokenizer || typeof tokenizer !== 'object' || Array.isArray(tokenizer))
    throw dirError(dir, 'tokenizer.json is not a JSON object');
  if (tokenizerSha256(tokenizer as Record<string, unknown>) !== meta.tokenizer.sha256) {
    throw dirError(
      dir,
      'tokenizer.json does not match meta.json (sha256 differs)',
      'the tokenizer settings were edited or come from another model; write the directory again',
    );
  }

  let spmModel: Uint8Array | undefined;
  if (meta.tokenizer.spm_sha256) {
    const path = join(dir, MODEL_FILES.spm);
    if (!existsSync(path))
      throw dirError(dir, 'spm.model is missing (meta.json lists a SentencePiece model)');
    spmModel = readFileSync(path);
    if (sha256(spmModel) !== meta.tokenizer.spm_sha256)
      throw dirError(dir, 'spm.model does not match meta.json (sha256 differs)');
  }

  let labels: string[] | undefined;
  if (meta.kind === 'classifier') {
    const value = readJson(dir, MODEL_FILES.labels);
    if (!isStringArray(value)) throw dirError(dir, 'labels.json is not a list of strings');
    if (meta.labels && JSON.stringify(meta.labels) !== JSON.stringify(value))
      throw dirError(dir, 'labels.json does not match meta.json');
    labels = value;
  }

  let weights: TensorMap = new Map();
  if (expect.weights !== false) {
    const path = join(dir, MODEL_FILES.weights);
    if (!existsSync(path)) throw dirError(dir, 'weights.safetensors is missing');
    const bytes = readFileSync(path);
    const parsed = parseSafetensors(bytes, path).tensors; // first: a truncated file gets the more specific message
    if (meta.weights_sha256 !== undefined && sha256(bytes) !== meta.weights_sha256) {
      throw dirError(
        dir,
        'weights.safetensors does not match the sha256 in meta.json (the file is damaged)',
        'copy or write the model directory again',
      );
    }
    weights = widenFloat16(parsed);
    checkWeightsAgainstMeta(dir, meta, weights);
    checkWeightsFinite(dir, weights);
  }
  return {
    dir,
    meta,
    weights,
    vocab,
    tokenizer: tokenizer as Record<string, unknown>,
    ...(spmModel ? { spmModel } : {}),
    ...(labels ? { labels } : {}),
  };
}

/** NaN or Inf in any float weight makes every output NaN: refuse the model once, at load. */
function checkWeightsFinite(dir: string, weights: TensorMap): void {
  for (const [name, tensor] of weights) {
    if (tensor.dtype !== 'float32') continue;
    const at = firstNonFinite(tensor.data as Float32Array);
    if (at >= 0) {
      throw new UlmfitError(
        'E_NUMERIC',
        `${join(dir, MODEL_FILES.weights)}: tensor ${name} holds ${String((tensor.data as Float32Array)[at])} at index ${at}`,
        'the model diverged or the file is damaged; use an earlier model (model-best/, a checkpoint) or train again',
      );
    }
  }
}

/** The embedding must have one row per vocab entry and the arch's width; layers must match. */
function checkWeightsAgainstMeta(dir: string, meta: ModelMeta, weights: TensorMap): void {
  const embeddingName = [...weights.keys()].find(
    (k) => /(^|\.)encoder\.weight$/.test(k) && !k.includes('decoder'),
  );
  if (!embeddingName) return; // not an AWD-LSTM layout we know; the model's loader names what is missing
  const shape = weights.get(embeddingName)!.shape;
  if (shape.length !== 2 || shape[0] !== meta.vocab.size || shape[1] !== meta.arch.emb_sz) {
    throw dirError(
      dir,
      `weights.safetensors's ${embeddingName} is ${shapeText(shape)} but meta.json says vocab ${meta.vocab.size} × emb ${meta.arch.emb_sz}`,
      'the files come from different models; write the directory again',
    );
  }
  const prefix = embeddingName.slice(0, -'encoder.weight'.length);
  const layers = new Set(
    [...weights.keys()]
      .map((k) => new RegExp(`^${prefix.replace(/\./g, '\\.')}rnns\\.(\\d+)\\.`).exec(k)?.[1])
      .filter((x) => x !== undefined),
  );
  if (layers.size !== meta.arch.n_layers) {
    throw dirError(
      dir,
      `weights.safetensors has ${layers.size} LSTM layers but meta.json says ${meta.arch.n_layers}`,
      'the files come from different models; write the directory again',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Run directories

function isModelDir(path: string): boolean {
  return existsSync(join(path, MODEL_FILES.meta));
}

/**
 * The model directory a user's path means: a model directory itself, or a run directory's
 * `model-best/` (else `model-last/`), or a model name (`en`, a folder of $ULMFIT_MODELS_DIR: see
 * model-names.ts; an existing path wins over a name). With `prefer: 'encoder'`, an `encoder/`
 * directory beside or inside the chosen model wins (what the classifier loads). Leftover temp
 * directories never match. Every command that takes a model resolves it here.
 */
export function resolveModelDir(ref: string, options: { prefer?: ModelKind } = {}): string {
  checkNotLeftover(ref);
  const path = resolveModelRef(ref);
  const wantEncoder = options.prefer === 'encoder';
  const encoderOf = (dir: string): string | undefined => {
    const candidate = join(dir, RUN_LAYOUT.encoder);
    return wantEncoder && isModelDir(candidate) ? candidate : undefined;
  };
  if (isModelDir(path)) {
    if (wantEncoder && readModelMeta(path).kind !== 'encoder') return encoderOf(path) ?? path;
    return path;
  }
  const best = join(path, RUN_LAYOUT.modelBest);
  const last = join(path, RUN_LAYOUT.modelLast);
  const chosen = isModelDir(best) ? best : isModelDir(last) ? last : undefined;
  const runEncoder = encoderOf(path);
  if (runEncoder) return runEncoder;
  if (chosen) return encoderOf(chosen) ?? chosen;
  throw new UlmfitError(
    'E_MODEL_DIR',
    `${path} is neither a model directory (no meta.json) nor a run directory with ${RUN_LAYOUT.modelBest}/ or ${RUN_LAYOUT.modelLast}/`,
    'pass the --out directory of a training command or a model directory inside it',
  );
}

function checkNotLeftover(path: string): void {
  if (TMP_SUFFIX.test(basename(path))) {
    throw dirError(
      path,
      'is the leftover of an interrupted write, not a model',
      'delete it and use the directory without the suffix',
    );
  }
}

/** Names that mark a directory as ulmfit's own output (safe to clear with --overwrite). */
const OUR_ENTRIES = new Set<string>([...Object.values(RUN_LAYOUT), ...Object.values(MODEL_FILES)]);

export type OutDirState = 'created' | 'empty' | 'resumed' | 'overwritten';

export interface OutDirPolicy {
  overwrite?: boolean;
  resume?: boolean;
  /** The names `overwrite` may clear (default: a run directory's and a model directory's). */
  ours?: ReadonlySet<string>;
  /** The fix for a non-empty directory (default: a training command's --overwrite / --resume). */
  hint?: string;
}

/**
 * Makes `dir` ready as a training command's `--out`. A non-empty directory is refused unless
 * `resume` (kept as it is) or `overwrite` (cleared, but only if it looks like ulmfit's output:
 * a mistyped `--out ~` never deletes a home directory).
 */
export function prepareOutDir(dir: string, options: OutDirPolicy = {}): OutDirState {
  checkNotLeftover(dir);
  if (options.resume && options.overwrite) {
    throw new UlmfitError(
      'E_USAGE',
      '--resume and --overwrite exclude each other',
      'pass --resume to continue the run in --out, or --overwrite to start it again',
    );
  }
  if (!existsSync(dir)) {
    if (options.resume)
      throw new UlmfitError(
        'E_INPUT_MISSING',
        `cannot resume: ${dir} does not exist`,
        'drop --resume to start a new run',
      );
    mkdirSync(dir, { recursive: true });
    return 'created';
  }
  if (!statSync(dir).isDirectory())
    throw new UlmfitError('E_OUT_EXISTS', `${dir} is a file, not a directory`, 'choose another --out');
  const entries = readdirSync(dir);
  if (entries.length === 0) return 'empty';
  if (options.resume) return 'resumed';
  if (!options.overwrite) {
    throw new UlmfitError(
      'E_OUT_EXISTS',
      `${dir} is not empty`,
      options.hint ?? 'pass --overwrite to replace it, --resume to continue its run, or choose another --out',
    );
  }
  const ours = options.ours ?? OUR_ENTRIES;
  const foreign = entries.filter((name) => !ours.has(name) && !TMP_SUFFIX.test(name));
  if (foreign.length > 0) {
    throw new UlmfitError(
      'E_OUT_EXISTS',
      `${dir} holds files ulmfit did not write (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); refusing to clear it even with --overwrite`,
      'choose an empty or new --out directory',
    );
  }
  for (const name of entries) rmSync(join(dir, name), { recursive: true, force: true });
  return 'overwritten';
}

/** A run directory opened for writing: its lock (release it when the run ends) and its state. */
export interface OpenRunDir {
  state: OutDirState;
  lock: DirLock;
  /** Interrupted swaps that were repaired (one line each, for the caller to report). */
  recovered: string[];
}

/**
 * `prepareOutDir` under the run directory's lock (io/dir-lock.ts): a second process writing the
 * same `--out` fails at once with E_LOCKED. With `resume`, interrupted swaps are repaired and stale
 * temporaries removed first, so a kill between the renames of a checkpoint swap still resumes.
 */
export function openRunDir(dir: string, options: OutDirPolicy = {}): OpenRunDir {
  checkNotLeftover(dir);
  if (options.resume && options.overwrite) prepareOutDir(dir, options); // the usage error, before any lock
  const lock = lockDir(dir, 'run directory');
  try {
    const recovered = options.resume ? recoverSwaps(dir) : [];
    return { state: prepareOutDir(dir, options), lock, recovered };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** Appends one JSON line to `<runDir>/metrics.jsonl`, flushed to disk. */
export function appendMetrics(runDir: string, row: Record<string, unknown>): void {
  const fd = openSync(join(runDir, RUN_LAYOUT.metrics), 'a');
  try {
    writeSync(fd, JSON.stringify(row) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Whether a run directory has a checkpoint for `--resume` (one a kill left put aside mid-swap counts: opening the run restores it). */
export function hasCheckpoint(runDir: string): boolean {
  return existsAfterRecovery(runDir, RUN_LAYOUT.checkpoint);
}

/**
 * Whether a training run completed: tasks/run-end.ts `finishRun` records `completedAt` in its
 * config.json. A missing or unreadable config.json is a run that did not.
 */
export function runCompleted(runDir: string): boolean {
  try {
    const config = JSON.parse(readFileSync(join(runDir, RUN_LAYOUT.config), 'utf8')) as {
      completedAt?: unknown;
    };
    return typeof config.completedAt === 'string';
  } catch {
    return false;
  }
}

/** The rows of `<runDir>/metrics.jsonl`; a torn last line (a crash mid-append) is skipped. */
export function readMetrics(runDir: string): Record<string, unknown>[] {
  const path = join(runDir, RUN_LAYOUT.metrics);
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const rows: Record<string, unknown>[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      rows.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Only the final, unterminated line of an interrupted append may be torn.
      if (i !== lines.length - 1)
        throw new UlmfitError(
          'E_INPUT_FORMAT',
          `${path}: line ${i + 1} is not JSON`,
          'the metrics file is damaged',
        );
    }
  });
  return rows;
}

/**
 * A training checkpoint (`<run>/checkpoint/`): tensors (optimizer moments…) and JSON state
 * (schedule position, RNG state…), written atomically like a model directory. state.json also
 * records the sha256 of tensors.safetensors (`tensors_sha256`), checked on read.
 */
export function writeCheckpointDir(
  dir: string,
  checkpoint: { tensors: TensorSource; state: object },
  options: AtomicWriteOptions = {},
): void {
  const tensorsFile = hashedSafetensors(checkpoint.tensors);
  writeDirAtomic(
    dir,
    [
      { name: 'tensors.safetensors', data: tensorsFile.stream },
      {
        name: 'state.json', // last: marks completeness
        data: textWhenWritten(
          () => JSON.stringify({ ...checkpoint.state, tensors_sha256: tensorsFile.sha256() }) + '\n',
        ),
      },
    ],
    options,
  );
}

/** Reads a checkpoint; `state` is parsed JSON, for the caller to check against its schema. */
export function readCheckpointDir(dir: string): { tensors: TensorMap; state: unknown } {
  checkNotLeftover(dir);
  const fix = 'start without --resume (or with --overwrite) to train from the beginning';
  if (!existsSync(join(dir, 'state.json'))) {
    throw new UlmfitError('E_CHECKPOINT', `${dir} holds no checkpoint (state.json is missing)`, fix);
  }
  let state: unknown;
  try {
    state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  } catch {
    throw new UlmfitError('E_CHECKPOINT', `${join(dir, 'state.json')} is not valid JSON`, fix);
  }
  const path = join(dir, 'tensors.safetensors');
  if (!existsSync(path)) throw new UlmfitError('E_CHECKPOINT', `${path} is missing`, fix);
  const bytes = readFileSync(path);
  const tensors = parseSafetensors(bytes, path).tensors;
  if (state !== null && typeof state === 'object' && 'tensors_sha256' in state) {
    const { tensors_sha256: recorded, ...rest } = state as { tensors_sha256: unknown };
    if (sha256(bytes) !== recorded) {
      throw new UlmfitError(
        'E_CHECKPOINT',
        `${path} does not match the sha256 in state.json (the file is damaged)`,
        fix,
      );
    }
    state = rest;
  }
  return { tensors, state };
}
