/**
 * Making a model directory fit to ship in the package (design.md §3, `models/en`): the same
 * model with its float weights stored as float16 (half the bytes; readModelDir widens them back
 * to float32). meta.json is written anew by writeModelDir, so its hashes describe the files
 * written; the training record, created_by and direction are kept, and a description can be set.
 * workbench/en/ship.mjs is the command-line wrapper.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { UlmfitError } from '../errors.js';
import {
  MODEL_FILES,
  readModelDir,
  resolveModelDir,
  writeModelDir,
  type ModelKind,
  type ModelMeta,
} from './artifact.js';
import { countFloat16Overflows, halfToFloat, toFloat16 } from './tensors.js';

export interface ShipModelOptions {
  /** meta.json's one-line description (default: the source's, if any) */
  description?: string;
  /** which model of a run directory (default: the model as resolveModelDir picks it, an lm first) */
  prefer?: ModelKind;
}

export interface ShipModelResult {
  /** the model directory read (a run directory resolves to its model-best/ or model-last/) */
  from: string;
  out: string;
  meta: ModelMeta;
  /** weights.safetensors before and after, in bytes */
  bytesBefore: number;
  bytesAfter: number;
  /** the largest |float16(x) − x| / |x| over the normal-range values (≤ 2^-11 by construction) */
  maxRelativeError: number;
  /** the largest |float16(x) − x| over all values */
  maxAbsoluteError: number;
}

/**
 * Copies the model directory `from` (or a run directory's model) to `out` with float16 weights.
 * Refuses weights that do not fit float16 (|x| > 65504) rather than turning them into Inf.
 */
export function shipModelDir(from: string, out: string, options: ShipModelOptions = {}): ShipModelResult {
  const dir = resolveModelDir(from, { prefer: options.prefer ?? 'lm' });
  const loaded = readModelDir(dir);
  let maxRelativeError = 0;
  let maxAbsoluteError = 0;
  for (const [name, tensor] of loaded.weights) {
    if (tensor.dtype !== 'float32') continue;
    const overflows = countFloat16Overflows(tensor.data);
    if (overflows > 0) {
      throw new UlmfitError(
        'E_MODEL_DIR',
        `${dir}: ${name} holds ${overflows} values beyond float16's range (±65504)`,
        'ship this model with float32 weights',
      );
    }
    const half = toFloat16(tensor.data);
    for (let i = 0; i < half.length; i++) {
      const x = tensor.data[i]!;
      if (!Number.isFinite(x)) continue;
      const error = Math.abs(halfToFloat(half[i]!) - x);
      if (error > maxAbsoluteError) maxAbsoluteError = error;
      if (Math.abs(x) >= 2 ** -14 && error / Math.abs(x) > maxRelativeError)
        maxRelativeError = error / Math.abs(x);
    }
  }
  const { meta } = loaded;
  const description = options.description ?? meta.description;
  const written = writeModelDir(
    out,
    {
      meta: {
        kind: meta.kind,
        arch: meta.arch,
        backwards: meta.backwards,
        ...(meta.training ? { training: meta.training } : {}),
        ...(description !== undefined ? { description } : {}),
        created_by: meta.created_by,
      },
      weights: loaded.weights,
      vocab: loaded.vocab,
      tokenizer: loaded.tokenizer,
      ...(loaded.spmModel ? { spmModel: loaded.spmModel } : {}),
      ...(loaded.labels ? { labels: loaded.labels } : {}),
    },
    { weightsDtype: 'float16' },
  );
  readModelDir(out); // what ships must load
  return {
    from: dir,
    out,
    meta: written,
    bytesBefore: statSync(join(dir, MODEL_FILES.weights)).size,
    bytesAfter: statSync(join(out, MODEL_FILES.weights)).size,
    maxRelativeError,
    maxAbsoluteError,
  };
}
