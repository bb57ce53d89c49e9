/**
 * The baseline's model directory (design.md §3), written atomically like every model directory:
 *
 *   features.json        the kept n-grams, each a list of tokens (feature id = position)
 *   weights.safetensors  float32 `nb.r` [heads × features], `linear.weight` [heads × features],
 *                        `linear.bias` [heads]
 *   meta.json            written last: format 'ulmfit', kind 'baseline', model 'nbsvm', labels,
 *                        tokenizer settings, feature settings (with the size and sha256 of
 *                        features.json), nb.alpha, linear.{c, beta, heads}
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UlmfitError } from '../errors.js';
import { BASELINE_KIND, MODEL_FILES, resolveModelDir, writeDirAtomic } from '../io/artifact.js';
import { parseSafetensors, safetensorsChunks } from '../io/safetensors.js';
import type { TensorMap } from '../io/tensors.js';
import type { TokenizerSettings } from '../text/settings.js';
import { PACKAGE_VERSION } from '../version.js';
import { featureSettings, FeatureVocab } from './features.js';
import { NbsvmModel } from './nbsvm.js';

/** Bump when the baseline's files change incompatibly; readers refuse newer versions. */
export const BASELINE_FORMAT_VERSION = 1;

export const BASELINE_FILES = {
  meta: MODEL_FILES.meta,
  weights: MODEL_FILES.weights,
  features: 'features.json',
} as const;

/** meta.json of a baseline model directory. */
export interface BaselineMeta {
  format: 'ulmfit';
  version: number;
  kind: typeof BASELINE_KIND;
  model: 'nbsvm';
  labels: string[];
  tokenizer: TokenizerSettings;
  features: { ngrams: 1 | 2; min_df: [number, number]; max_features: number; size: number; sha256: string };
  nb: { alpha: number };
  linear: { loss: 'logistic'; multiclass: 'binary' | 'one-vs-rest'; heads: number; c: number; beta: number };
  /** What the caller recorded about the training run (documents, scores, time, seed…). */
  training?: Record<string, unknown>;
  backwards: false;
  created_by: string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function dirError(
  dir: string,
  what: string,
  hint = 'write the model directory again (ulmfit baseline)',
): UlmfitError {
  return new UlmfitError('E_MODEL_DIR', `${dir}: ${what}`, hint);
}

/**
 * Writes `model` as a baseline model directory at `dir` (atomically: a crash leaves the old
 * directory or the new one). An existing model directory there is replaced; any other non-empty
 * directory is refused (E_OUT_EXISTS). Returns the meta.json written.
 * @param training extra facts stored in meta.json's `training`
 */
export function saveNbsvm(dir: string, model: NbsvmModel, training?: Record<string, unknown>): BaselineMeta {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory())
      throw new UlmfitError(
        'E_OUT_EXISTS',
        `${dir} is a file, not a directory`,
        'choose another output path',
      );
    if (!existsSync(join(dir, MODEL_FILES.meta)) && readdirSync(dir).length > 0) {
      throw new UlmfitError(
        'E_OUT_EXISTS',
        `${dir} exists, is not empty and is not a model directory; refusing to replace it`,
        'choose another output path or remove it',
      );
    }
  }
  const featuresJson = JSON.stringify(model.features.ngrams) + '\n';
  const s = model.featureSettings;
  const meta: BaselineMeta = {
    format: 'ulmfit',
    version: BASELINE_FORMAT_VERSION,
    kind: BASELINE_KIND,
    model: 'nbsvm',
    labels: [...model.labels],
    tokenizer: model.tokenizerSettings,
    features: {
      ngrams: s.ngrams,
      min_df: [...s.minDf],
      max_features: s.maxFeatures,
      size: model.features.size,
      sha256: sha256(featuresJson),
    },
    nb: { alpha: model.alpha },
    linear: {
      loss: 'logistic',
      multiclass: model.heads === 1 ? 'binary' : 'one-vs-rest',
      heads: model.heads,
      c: model.c,
      beta: model.beta,
    },
    ...(training ? { training } : {}),
    backwards: false,
    created_by: `ulmfit ${PACKAGE_VERSION}`,
  };
  const shape = [model.heads, model.features.size];
  const tensors: TensorMap = new Map([
    ['nb.r', { dtype: 'float32', shape, data: model.r }],
    ['linear.weight', { dtype: 'float32', shape, data: model.weight }],
    ['linear.bias', { dtype: 'float32', shape: [model.heads], data: model.bias }],
  ]);
  writeDirAtomic(dir, [
    { name: BASELINE_FILES.features, data: featuresJson },
    {
      name: BASELINE_FILES.weights,
      data: safetensorsChunks(tensors, { format: 'pt', producer: meta.created_by }),
    },
    { name: BASELINE_FILES.meta, data: JSON.stringify(meta, null, 2) + '\n' }, // last: marks completeness
  ]);
  return meta;
}

function readJsonFile(dir: string, name: string): unknown {
  let text: string;
  try {
    text = readFileSync(join(dir, name), 'utf8');
  } catch {
    throw dirError(dir, `${name} is missing`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw dirError(dir, `${name} is not valid JSON`);
  }
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks a baseline meta.json (`dir` for messages). */
export function validateBaselineMeta(dir: string, value: unknown): BaselineMeta {
  const meta = value as Partial<BaselineMeta> | null;
  if (!meta || typeof meta !== 'object' || meta.format !== 'ulmfit')
    throw dirError(dir, "meta.json is not an ulmfit model description (format is not 'ulmfit')");
  if (meta.kind !== BASELINE_KIND) {
    throw dirError(
      dir,
      `is ${meta.kind === 'encoder' ? 'an' : 'a'} '${String(meta.kind)}' model, not a baseline`,
      'pass the --out directory of ulmfit baseline',
    );
  }
  if (!isNumber(meta.version) || !Number.isInteger(meta.version))
    throw dirError(dir, 'meta.json has no integer version');
  if (meta.version > BASELINE_FORMAT_VERSION) {
    throw dirError(
      dir,
      `was written by a newer ulmfit (baseline format ${meta.version}; this ulmfit reads up to ${BASELINE_FORMAT_VERSION})`,
      'upgrade ulmfit',
    );
  }
  if (meta.model !== 'nbsvm')
    throw dirError(dir, `meta.json has an unknown baseline model ${JSON.stringify(meta.model)}`);
  if (!isStringArray(meta.labels) || meta.labels.length < 2)
    throw dirError(dir, "meta.json's labels are not a list of at least two strings");
  if (!meta.tokenizer || typeof meta.tokenizer !== 'object' || meta.tokenizer.kind !== 'word')
    throw dirError(dir, "meta.json's tokenizer is not a word tokenizer's settings");
  const f = meta.features;
  if (
    !f ||
    !isNumber(f.size) ||
    typeof f.sha256 !== 'string' ||
    !Array.isArray(f.min_df) ||
    !isNumber(f.max_features) ||
    (f.ngrams !== 1 && f.ngrams !== 2)
  ) {
    throw dirError(dir, "meta.json's features lack ngrams, min_df, max_features, size or sha256");
  }
  if (!meta.nb || !isNumber(meta.nb.alpha)) throw dirError(dir, "meta.json's nb lacks alpha");
  const l = meta.linear;
  if (!l || !isNumber(l.heads) || !isNumber(l.c) || !isNumber(l.beta))
    throw dirError(dir, "meta.json's linear lacks heads, c or beta");
  if (l.heads !== (meta.labels.length === 2 ? 1 : meta.labels.length))
    throw dirError(dir, `meta.json's linear.heads (${l.heads}) does not fit ${meta.labels.length} labels`);
  return meta as BaselineMeta;
}

/**
 * Loads a baseline model directory written by `saveNbsvm` (or `ulmfit baseline`), checking that
 * its files agree with meta.json. Any other kind of directory is an E_MODEL_DIR error.
 */
export function loadNbsvm(path: string): NbsvmModel {
  const dir = resolveModelDir(path);
  const meta = validateBaselineMeta(dir, readJsonFile(dir, BASELINE_FILES.meta));
  let featuresText: string;
  try {
    featuresText = readFileSync(join(dir, BASELINE_FILES.features), 'utf8');
  } catch {
    throw dirError(dir, `${BASELINE_FILES.features} is missing`);
  }
  if (sha256(featuresText) !== meta.features.sha256)
    throw dirError(dir, `${BASELINE_FILES.features} does not match meta.json (sha256 differs)`);
  const ngrams = JSON.parse(featuresText) as unknown;
  if (!Array.isArray(ngrams) || ngrams.length !== meta.features.size || !ngrams.every(isStringArray)) {
    throw dirError(dir, `${BASELINE_FILES.features} is not a list of ${meta.features.size} n-grams`);
  }
  const weightsPath = join(dir, BASELINE_FILES.weights);
  if (!existsSync(weightsPath)) throw dirError(dir, `${BASELINE_FILES.weights} is missing`);
  const tensors = parseSafetensors(readFileSync(weightsPath), weightsPath).tensors;
  const heads = meta.linear.heads;
  const float32 = (name: string, shape: number[]): Float32Array => {
    const t = tensors.get(name);
    if (
      !t ||
      t.dtype !== 'float32' ||
      t.shape.length !== shape.length ||
      t.shape.some((d, i) => d !== shape[i])
    ) {
      throw dirError(dir, `${BASELINE_FILES.weights} lacks a float32 ${name} of shape [${shape.join(', ')}]`);
    }
    return t.data;
  };
  let features: FeatureVocab;
  try {
    features = new FeatureVocab(ngrams as string[][]);
  } catch (error) {
    throw dirError(dir, `${BASELINE_FILES.features}: ${(error as Error).message}`);
  }
  return new NbsvmModel({
    labels: meta.labels,
    features,
    featureSettings: featureSettings({
      ngrams: meta.features.ngrams,
      minDf: meta.features.min_df,
      maxFeatures: meta.features.max_features,
    }),
    tokenizer: meta.tokenizer,
    alpha: meta.nb.alpha,
    c: meta.linear.c,
    beta: meta.linear.beta,
    r: float32('nb.r', [heads, features.size]),
    weight: float32('linear.weight', [heads, features.size]),
    bias: float32('linear.bias', [heads]),
  });
}
