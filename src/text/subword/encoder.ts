/**
 * Loads a SentencePiece `.model` for encoding. Two engines give the same pieces:
 * - 'ulmfit': our TypeScript unigram encoder (unigram-encoder.ts), the fast default;
 * - 'sentencepiece-js': the C++ library compiled to WebAssembly, used for models our encoder does
 *   not handle (BPE, byte fallback) and as the reference.
 *
 * sentencepiece-js accepts any file without complaint and then encodes everything to nothing, so
 * every model is checked twice before use: our protobuf reader must parse it, and the C++ library
 * must report it loaded and encode a probe text to at least one piece.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UlmfitError } from '../../errors.js';
import { decodeModelProto, ModelType, PieceType, type ModelProto } from './model-proto.js';
import { UnigramEncoder } from './unigram-encoder.js';

export type SubwordEngine = 'ulmfit' | 'sentencepiece-js';

export interface SubwordEncoder {
  /** Which engine encodes. */
  readonly engine: SubwordEngine;
  /** id → piece, as in the model. */
  readonly pieces: readonly string[];
  /** The id of the unknown piece. */
  readonly unkId: number;
  /** The parsed model. */
  readonly model: ModelProto;
  /** Text → pieces ("▁" marks a word start), as SentencePiece's EncodeAsPieces. */
  encode(text: string): string[];
  /** Text → piece ids, as SentencePiece's EncodeAsIds. */
  encodeIds(text: string): number[];
}

export interface LoadSubwordOptions {
  /** Where the bytes came from, for error messages (a file path). */
  source?: string;
  /** 'auto' (default): 'ulmfit' when it supports the model, else 'sentencepiece-js'. */
  engine?: 'auto' | SubwordEngine;
  /**
   * Check that the C++ library loads the model (default true). Worker threads that rebuild an
   * encoder the main thread already checked may skip it.
   */
  verify?: boolean;
}

// --- sentencepiece-js (CommonJS, untyped): the parts we use ---------------------------------
interface EmbindObject {
  delete(): void;
}
interface SpjsStatus extends EmbindObject {
  ToString(): string;
}
interface SpjsProcessor {
  load(path: string): Promise<void>;
  encodePieces(text: string): string[];
  encodeIds(text: string): number[];
  processor: { status(): SpjsStatus };
}
interface SpjsModule {
  SentencePieceProcessor: new () => SpjsProcessor;
}
const require = createRequire(import.meta.url);
let spjsModule: SpjsModule | undefined;
function sentencePieceJs(): SpjsModule {
  spjsModule ??= require('sentencepiece-js') as SpjsModule;
  return spjsModule;
}

/** Whether our TypeScript encoder implements this model exactly. */
export function ulmfitEngineSupports(model: ModelProto): boolean {
  const spec = model.trainerSpec;
  return (
    (spec.model_type ?? ModelType.UNIGRAM) === ModelType.UNIGRAM &&
    !(spec.byte_fallback ?? false) &&
    !model.pieces.some((p) => p.type === PieceType.BYTE)
  );
}

/**
 * Loads `modelBytes` into sentencepiece-js and checks that it really loaded. Throws E_CHECKPOINT
 * naming `source` otherwise.
 */
export async function loadSentencePieceJs(modelBytes: Uint8Array, source: string): Promise<SpjsProcessor> {
  const { SentencePieceProcessor } = sentencePieceJs();
  const processor = new SentencePieceProcessor();
  // sentencepiece-js only loads from a file path.
  const dir = mkdtempSync(join(tmpdir(), 'ulmfit-spm-'));
  try {
    const path = join(dir, 'spm.model');
    writeFileSync(path, modelBytes);
    await processor.load(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const status = processor.processor.status();
  const message = status.ToString();
  status.delete();
  if (message !== 'OK') {
    throw new UlmfitError(
      'E_CHECKPOINT',
      `SentencePiece cannot load ${source}: ${message}`,
      'pass a .model file written by ulmfit, spm_train or fastai',
    );
  }
  if (processor.encodePieces('a').length === 0) {
    throw new UlmfitError(
      'E_CHECKPOINT',
      `SentencePiece loaded ${source} but encodes text to nothing`,
      'the model is broken: retrain it or pass another .model file',
    );
  }
  return processor;
}

/** Loads a `.model` file's bytes as an encoder. */
export async function loadSubwordEncoder(
  modelBytes: Uint8Array,
  options: LoadSubwordOptions = {},
): Promise<SubwordEncoder> {
  const source = options.source ?? 'the SentencePiece model';
  const model = decodeModelProto(modelBytes, source);
  const engine = options.engine ?? 'auto';
  const useUlmfit = engine === 'ulmfit' || (engine === 'auto' && ulmfitEngineSupports(model));
  if (engine === 'ulmfit' && !ulmfitEngineSupports(model)) {
    throw new UlmfitError(
      'E_CHECKPOINT',
      `${source} is a kind of SentencePiece model ulmfit's own encoder does not handle (BPE or byte fallback)`,
      "use engine 'sentencepiece-js'",
    );
  }
  const reference =
    options.verify === false && useUlmfit ? undefined : await loadSentencePieceJs(modelBytes, source);
  const pieces = model.pieces.map((p) => p.piece);
  const unkId = model.pieces.findIndex((p) => p.type === PieceType.UNKNOWN);
  if (useUlmfit) {
    const encoder = new UnigramEncoder(model);
    return {
      engine: 'ulmfit',
      pieces,
      unkId,
      model,
      encode: (text) => encoder.encode(text),
      encodeIds: (text) => encoder.encodeIds(text),
    };
  }
  const processor = reference!;
  return {
    engine: 'sentencepiece-js',
    pieces,
    unkId,
    model,
    encode: (text) => processor.encodePieces(text),
    encodeIds: (text) => processor.encodeIds(text),
  };
}
