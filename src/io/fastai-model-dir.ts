/**
 * fastai `.pth` + itos `.pkl` ⇄ ulmfit model directory: what `ulmfit import-fastai` and
 * `ulmfit export-fastai` do, callable from code. The tokenizer settings and the dropout defaults
 * come from the caller (io imports neither text/ nor model/).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { UlmfitError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import {
  readModelDir,
  resolveModelDir,
  writeModelDir,
  type ArchMeta,
  type ModelKind,
  type ModelMeta,
} from './artifact.js';
import { lockDir } from './dir-lock.js';
import {
  checkItosMatches,
  readFastaiCheckpoint,
  ulmfitToFastai,
  type AwdLstmShape,
  type FastaiKind,
  type FastaiLayout,
} from './fastai-weights.js';
import { readFileBytes, readItosPickle, writeItosPickle, writeTorchZip } from './torch-pth.js';

/** The dropouts and flags fastai's config holds but a state dict cannot tell. */
export type ArchDefaults = Pick<
  ArchMeta,
  'pad_token' | 'hidden_p' | 'input_p' | 'embed_p' | 'weight_p' | 'output_p'
>;

export interface ImportFastaiOptions {
  weightsPath: string;
  itosPath: string;
  out: string;
  backwards: boolean;
  overwrite?: boolean;
  /** tokenizer.json's contents (fastai's default English word tokenizer with rules) */
  tokenizer: Record<string, unknown>;
  /** fastai's awd_lstm_lm_config dropouts; pad_token is taken from the itos when it has xxpad */
  archDefaults: ArchDefaults;
}

export interface ImportFastaiResult {
  meta: ModelMeta;
  shape: AwdLstmShape;
  layout: FastaiLayout;
  format: 'zip' | 'legacy';
}

function refuseNonEmpty(path: string, overwrite: boolean | undefined): void {
  if (overwrite || !existsSync(path)) return;
  if (statSync(path).isDirectory() ? readdirSync(path).length > 0 : true) {
    throw new UlmfitError(
      'E_OUT_EXISTS',
      `${path} already exists`,
      'pass --overwrite to replace it, or choose another --out',
    );
  }
}

/** Reads a fastai checkpoint and its itos, checks they agree, and writes an ulmfit model directory. */
export function importFastaiModel(options: ImportFastaiOptions): ImportFastaiResult {
  // A second import into the same --out fails at once instead of racing the first one's rename.
  const lock = lockDir(options.out, 'model directory');
  try {
    return importLocked(options);
  } finally {
    lock.release();
  }
}

function importLocked(options: ImportFastaiOptions): ImportFastaiResult {
  refuseNonEmpty(options.out, options.overwrite);
  const bytes = readFileBytes(options.weightsPath);
  const format = bytes[0] === 0x50 ? 'zip' : 'legacy';
  const imported = readFastaiCheckpoint(bytes, options.weightsPath);
  const itos = readItosPickle(readFileBytes(options.itosPath), options.itosPath);
  checkItosMatches(itos.length, imported.shape, { weights: options.weightsPath, itos: options.itosPath });
  const { shape } = imported;
  const padIndex = itos.indexOf('xxpad');
  const arch: ArchMeta = {
    name: 'awd_lstm',
    emb_sz: shape.embSize,
    n_hid: shape.hiddenSize,
    n_layers: shape.nLayers,
    ...options.archDefaults,
    pad_token: padIndex >= 0 ? padIndex : options.archDefaults.pad_token,
    tie_weights: imported.kind === 'lm' ? shape.tiedDecoder : true,
    out_bias: imported.kind === 'lm' ? shape.decoderBias : true,
  };
  const kind: ModelKind = imported.kind;
  const meta = writeModelDir(options.out, {
    meta: {
      kind,
      arch,
      backwards: options.backwards,
      training: {
        imported_from: basename(options.weightsPath),
        itos: basename(options.itosPath),
        fastai_layout: imported.layout,
        container: format,
      },
    },
    weights: imported.weights,
    vocab: itos,
    tokenizer: options.tokenizer,
  });
  return { meta, shape, layout: imported.layout, format };
}

export interface ExportFastaiOptions {
  /** a model directory or a run directory (its model-best/, else model-last/) */
  model: string;
  /** the .pth to write */
  out: string;
  /** the itos .pkl to write; default: `<out without .pth>_itos.pkl` beside it */
  itosOut?: string;
  /** 'encoder' writes save_encoder's file (what load_encoder reads); default: the model's kind */
  kind?: FastaiKind;
  layout?: FastaiLayout;
  overwrite?: boolean;
}

export interface ExportFastaiResult {
  modelDir: string;
  out: string;
  itosOut: string;
  kind: FastaiKind;
  tensors: number;
}

/** Writes a model directory's weights as a fastai state dict plus its itos pickle. */
export function exportFastaiModel(options: ExportFastaiOptions): ExportFastaiResult {
  const modelDir = resolveModelDir(options.model, options.kind === 'encoder' ? { prefer: 'encoder' } : {});
  const loaded = readModelDir(modelDir, { kind: options.kind === 'lm' ? ['lm'] : ['lm', 'encoder'] });
  const kind: FastaiKind = options.kind ?? (loaded.meta.kind === 'encoder' ? 'encoder' : 'lm');
  const stem = extname(options.out) === '.pth' ? options.out.slice(0, -'.pth'.length) : options.out;
  const itosOut = options.itosOut ?? join(dirname(options.out), `${basename(stem)}_itos.pkl`);
  for (const path of [options.out, itosOut]) refuseNonEmpty(path, options.overwrite);
  const archiveName = basename(stem).replace(/[^A-Za-z0-9_.-]/g, '_') || 'archive';
  const stateDict = ulmfitToFastai(loaded.weights, {
    kind,
    layout: options.layout ?? 'v2',
    source: modelDir,
  });
  writeFileAtomic(options.out, writeTorchZip(stateDict, { archiveName }));
  writeFileAtomic(itosOut, writeItosPickle(loaded.vocab));
  return { modelDir, out: options.out, itosOut, kind, tensors: stateDict.size };
}
