/**
 * A minimal protobuf reader/writer for SentencePiece's `ModelProto` (sentencepiece_model.proto,
 * proto2), the `.model` file that spm_train writes and every SentencePiece library loads.
 *
 * Only the fields ulmfit needs are typed; fields this reader does not know are skipped on read
 * (so a model from a newer SentencePiece still loads). Writing emits fields in field-number order,
 * as the C++ library does, so a model we write is laid out like one spm_train writes.
 */
import { UlmfitError } from '../../errors.js';

/** `ModelProto.SentencePiece.Type`. */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type PieceTypeValue = (typeof PieceType)[keyof typeof PieceType];

export interface ModelPiece {
  piece: string;
  /** float32 in the file: the log probability for unigram pieces, 0 for special pieces. */
  score: number;
  type: PieceTypeValue;
}

/** `TrainerSpec.ModelType`. */
export const ModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;

/**
 * The TrainerSpec fields, by proto name. A field is present in the file only if it is set here;
 * absent fields take the proto defaults (`TRAINER_SPEC_DEFAULTS`).
 */
export interface TrainerSpec {
  input?: string[];
  input_format?: string;
  model_prefix?: string;
  model_type?: number;
  vocab_size?: number;
  self_test_sample_size?: number;
  character_coverage?: number;
  input_sentence_size?: number;
  shuffle_input_sentence?: boolean;
  seed_sentencepiece_size?: number;
  shrinking_factor?: number;
  num_threads?: number;
  num_sub_iterations?: number;
  max_sentence_length?: number;
  max_sentencepiece_length?: number;
  split_by_unicode_script?: boolean;
  split_by_whitespace?: boolean;
  split_by_number?: boolean;
  treat_whitespace_as_suffix?: boolean;
  split_digits?: boolean;
  allow_whitespace_only_pieces?: boolean;
  control_symbols?: string[];
  user_defined_symbols?: string[];
  vocabulary_output_piece_score?: boolean;
  hard_vocab_limit?: boolean;
  use_all_vocab?: boolean;
  byte_fallback?: boolean;
  required_chars?: string;
  unk_id?: number;
  bos_id?: number;
  eos_id?: number;
  pad_id?: number;
  unk_surface?: string;
  unk_piece?: string;
  bos_piece?: string;
  eos_piece?: string;
  pad_piece?: string;
  train_extremely_large_corpus?: boolean;
  enable_differential_privacy?: boolean;
  differential_privacy_noise_level?: number;
  differential_privacy_clipping_threshold?: number;
}

export interface NormalizerSpec {
  name?: string;
  /** The compiled normalization rules: a Darts double-array trie plus the replacement strings. */
  precompiled_charsmap?: Uint8Array;
  add_dummy_prefix?: boolean;
  remove_extra_whitespaces?: boolean;
  escape_whitespaces?: boolean;
  normalization_rule_tsv?: string;
}

export interface ModelProto {
  pieces: ModelPiece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
  /** Present only in models trained with a denormalization rule. */
  denormalizerSpec?: NormalizerSpec;
}

/** The proto2 defaults of the TrainerSpec fields we read. */
export const TRAINER_SPEC_DEFAULTS = {
  model_type: ModelType.UNIGRAM,
  treat_whitespace_as_suffix: false,
  byte_fallback: false,
  unk_piece: '<unk>',
} as const;

/** The proto2 defaults of NormalizerSpec. */
export const NORMALIZER_SPEC_DEFAULTS = {
  add_dummy_prefix: true,
  remove_extra_whitespaces: true,
  escape_whitespaces: true,
} as const;

type FieldKind = 'string' | 'bytes' | 'int32' | 'uint64' | 'float' | 'bool' | 'enum';
interface FieldDef {
  readonly name: string;
  readonly number: number;
  readonly kind: FieldKind;
  readonly repeated?: boolean;
}

// Field numbers from sentencepiece_model.proto, sorted by number (the order they are written in).
const TRAINER_SPEC_FIELDS: readonly FieldDef[] = [
  { name: 'input', number: 1, kind: 'string', repeated: true },
  { name: 'model_prefix', number: 2, kind: 'string' },
  { name: 'model_type', number: 3, kind: 'enum' },
  { name: 'vocab_size', number: 4, kind: 'int32' },
  { name: 'self_test_sample_size', number: 6, kind: 'int32' },
  { name: 'input_format', number: 7, kind: 'string' },
  { name: 'character_coverage', number: 10, kind: 'float' },
  { name: 'input_sentence_size', number: 11, kind: 'uint64' },
  { name: 'seed_sentencepiece_size', number: 14, kind: 'int32' },
  { name: 'shrinking_factor', number: 15, kind: 'float' },
  { name: 'num_threads', number: 16, kind: 'int32' },
  { name: 'num_sub_iterations', number: 17, kind: 'int32' },
  { name: 'max_sentence_length', number: 18, kind: 'int32' },
  { name: 'shuffle_input_sentence', number: 19, kind: 'bool' },
  { name: 'max_sentencepiece_length', number: 20, kind: 'int32' },
  { name: 'split_by_unicode_script', number: 21, kind: 'bool' },
  { name: 'split_by_whitespace', number: 22, kind: 'bool' },
  { name: 'split_by_number', number: 23, kind: 'bool' },
  { name: 'treat_whitespace_as_suffix', number: 24, kind: 'bool' },
  { name: 'split_digits', number: 25, kind: 'bool' },
  { name: 'allow_whitespace_only_pieces', number: 26, kind: 'bool' },
  { name: 'control_symbols', number: 30, kind: 'string', repeated: true },
  { name: 'user_defined_symbols', number: 31, kind: 'string', repeated: true },
  { name: 'vocabulary_output_piece_score', number: 32, kind: 'bool' },
  { name: 'hard_vocab_limit', number: 33, kind: 'bool' },
  { name: 'use_all_vocab', number: 34, kind: 'bool' },
  { name: 'byte_fallback', number: 35, kind: 'bool' },
  { name: 'required_chars', number: 36, kind: 'string' },
  { name: 'unk_id', number: 40, kind: 'int32' },
  { name: 'bos_id', number: 41, kind: 'int32' },
  { name: 'eos_id', number: 42, kind: 'int32' },
  { name: 'pad_id', number: 43, kind: 'int32' },
  { name: 'unk_surface', number: 44, kind: 'string' },
  { name: 'unk_piece', number: 45, kind: 'string' },
  { name: 'bos_piece', number: 46, kind: 'string' },
  { name: 'eos_piece', number: 47, kind: 'string' },
  { name: 'pad_piece', number: 48, kind: 'string' },
  { name: 'train_extremely_large_corpus', number: 49, kind: 'bool' },
  { name: 'enable_differential_privacy', number: 50, kind: 'bool' },
  { name: 'differential_privacy_noise_level', number: 51, kind: 'float' },
  { name: 'differential_privacy_clipping_threshold', number: 52, kind: 'uint64' },
];

const NORMALIZER_SPEC_FIELDS: readonly FieldDef[] = [
  { name: 'name', number: 1, kind: 'string' },
  { name: 'precompiled_charsmap', number: 2, kind: 'bytes' },
  { name: 'add_dummy_prefix', number: 3, kind: 'bool' },
  { name: 'remove_extra_whitespaces', number: 4, kind: 'bool' },
  { name: 'escape_whitespaces', number: 5, kind: 'bool' },
  { name: 'normalization_rule_tsv', number: 6, kind: 'string' },
];

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Reading

/** Thrown inside the reader; turned into one UlmfitError naming the file by `decodeModelProto`. */
class MalformedProto extends Error {}

class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly end: number = bytes.length,
    start = 0,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /**
   * A varint as its low and high 32-bit halves (a negative int32 is written as a 10-byte,
   * sign-extended 64-bit value, which a JS number cannot hold exactly).
   */
  varint64(): { low: number; high: number } {
    let low = 0;
    let high = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new MalformedProto('truncated varint');
      const b = this.bytes[this.pos++]!;
      const bits = b & 0x7f;
      const shift = 7 * i;
      if (shift < 28) low |= bits << shift;
      else if (shift === 28) {
        low |= bits << 28;
        high |= bits >>> 4;
      } else high |= bits << (shift - 32);
      if ((b & 0x80) === 0) return { low: low >>> 0, high: high >>> 0 };
    }
    throw new MalformedProto('varint longer than 10 bytes');
  }

  /** An unsigned varint as a JS number (exact up to 2^53). */
  varint(): number {
    const { low, high } = this.varint64();
    return high * 2 ** 32 + low;
  }

  /** An int32 field: the low 32 bits, read as signed. */
  int32(): number {
    return this.varint64().low | 0;
  }

  fixed32(): DataView {
    if (this.pos + 4 > this.end) throw new MalformedProto('truncated fixed32');
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4);
    this.pos += 4;
    return view;
  }

  lengthDelimited(): Uint8Array {
    const length = this.varint();
    if (length > this.end - this.pos) throw new MalformedProto('length-delimited field runs past the end');
    const slice = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return slice;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) throw new MalformedProto('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_BYTES:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        this.fixed32();
        return;
      default:
        throw new MalformedProto(`unsupported wire type ${wireType}`);
    }
  }
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new MalformedProto('a string field is not valid UTF-8');
  }
}

function readFieldValue(reader: Reader, def: FieldDef, wireType: number): unknown {
  const expectWire =
    def.kind === 'float'
      ? WIRE_FIXED32
      : def.kind === 'string' || def.kind === 'bytes'
        ? WIRE_BYTES
        : WIRE_VARINT;
  if (wireType !== expectWire) throw new MalformedProto(`field '${def.name}' has wire type ${wireType}`);
  switch (def.kind) {
    case 'string':
      return decodeUtf8(reader.lengthDelimited());
    case 'bytes':
      return reader.lengthDelimited().slice();
    case 'float':
      return reader.fixed32().getFloat32(0, true);
    case 'bool':
      return reader.varint() !== 0;
    case 'int32':
    case 'enum':
      return reader.int32();
    case 'uint64':
      return reader.varint();
  }
}

function readMessage<T>(bytes: Uint8Array, fields: readonly FieldDef[]): T {
  const byNumber = new Map(fields.map((f) => [f.number, f]));
  const out: Record<string, unknown> = {};
  const reader = new Reader(bytes);
  while (!reader.done()) {
    const key = reader.varint();
    const number = Math.floor(key / 8);
    const wireType = key & 7;
    const def = byNumber.get(number);
    if (!def) {
      reader.skip(wireType);
      continue;
    }
    const value = readFieldValue(reader, def, wireType);
    if (def.repeated) {
      const list = (out[def.name] as unknown[] | undefined) ?? [];
      list.push(value);
      out[def.name] = list;
    } else {
      out[def.name] = value;
    }
  }
  return out as T;
}

function readPiece(bytes: Uint8Array): ModelPiece {
  const reader = new Reader(bytes);
  let piece: string | undefined;
  let score = 0;
  let type: number = PieceType.NORMAL;
  while (!reader.done()) {
    const key = reader.varint();
    const number = Math.floor(key / 8);
    const wireType = key & 7;
    if (number === 1 && wireType === WIRE_BYTES) piece = decodeUtf8(reader.lengthDelimited());
    else if (number === 2 && wireType === WIRE_FIXED32) score = reader.fixed32().getFloat32(0, true);
    else if (number === 3 && wireType === WIRE_VARINT) type = reader.int32();
    else reader.skip(wireType);
  }
  if (piece === undefined) throw new MalformedProto('a piece without its text');
  if (type < 1 || type > 6) throw new MalformedProto(`piece '${piece}' has unknown type ${type}`);
  return { piece, score, type: type as PieceTypeValue };
}

/**
 * Parses a `.model` file. Throws E_CHECKPOINT (naming `source`) when the bytes are not a
 * SentencePiece model: not protobuf, no pieces, or no unknown piece.
 */
export function decodeModelProto(bytes: Uint8Array, source = 'the SentencePiece model'): ModelProto {
  const fail = (why: string): UlmfitError =>
    new UlmfitError(
      'E_CHECKPOINT',
      `${source} is not a SentencePiece model (${why})`,
      'pass a .model file written by ulmfit, spm_train or fastai (SentencePieceTokenizer)',
    );
  const model: ModelProto = { pieces: [], trainerSpec: {}, normalizerSpec: {} };
  try {
    const reader = new Reader(bytes);
    while (!reader.done()) {
      const key = reader.varint();
      const number = Math.floor(key / 8);
      const wireType = key & 7;
      if (number === 0) throw new MalformedProto('field number 0');
      if (wireType !== WIRE_BYTES || number > 5) {
        reader.skip(wireType);
        continue;
      }
      const body = reader.lengthDelimited();
      if (number === 1) model.pieces.push(readPiece(body));
      else if (number === 2) model.trainerSpec = readMessage<TrainerSpec>(body, TRAINER_SPEC_FIELDS);
      else if (number === 3) model.normalizerSpec = readMessage<NormalizerSpec>(body, NORMALIZER_SPEC_FIELDS);
      else if (number === 5)
        model.denormalizerSpec = readMessage<NormalizerSpec>(body, NORMALIZER_SPEC_FIELDS);
      // number 4 (self-test data) is not needed for encoding.
    }
  } catch (err) {
    if (err instanceof MalformedProto) throw fail(err.message);
    throw err;
  }
  if (model.pieces.length === 0) throw fail('it has no pieces');
  const seen = new Set<string>();
  let unknownPieces = 0;
  for (const p of model.pieces) {
    if (p.piece.length === 0) throw fail('it has an empty piece');
    if (seen.has(p.piece)) throw fail(`piece '${p.piece}' is defined twice`);
    seen.add(p.piece);
    if (p.type === PieceType.UNKNOWN) unknownPieces++;
  }
  if (unknownPieces !== 1)
    throw fail(`it has ${unknownPieces} unknown pieces, SentencePiece needs exactly one`);
  return model;
}

// ---------------------------------------------------------------------------------------------
// Writing

class Writer {
  private buffer = new Uint8Array(1024);
  private length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  varint(value: number): void {
    // Negative int32 values are sign-extended to 64 bits (10 bytes), as protobuf requires.
    this.ensure(10);
    if (value < 0) {
      let low = value >>> 0;
      let high = Math.floor(value / 2 ** 32) >>> 0;
      for (let i = 0; i < 9; i++) {
        this.buffer[this.length++] = (low & 0x7f) | 0x80;
        low = ((low >>> 7) | (high << 25)) >>> 0;
        high = high >>> 7;
      }
      this.buffer[this.length++] = low & 0x01;
      return;
    }
    let v = value;
    while (v >= 0x80) {
      this.buffer[this.length++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buffer[this.length++] = v;
  }

  key(number: number, wireType: number): void {
    this.varint(number * 8 + wireType);
  }

  float(value: number): void {
    this.ensure(4);
    new DataView(this.buffer.buffer).setFloat32(this.length, value, true);
    this.length += 4;
  }

  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.ensure(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

function writeField(writer: Writer, def: FieldDef, value: unknown): void {
  switch (def.kind) {
    case 'string':
      writer.key(def.number, WIRE_BYTES);
      writer.bytes(utf8Encoder.encode(value as string));
      return;
    case 'bytes':
      writer.key(def.number, WIRE_BYTES);
      writer.bytes(value as Uint8Array);
      return;
    case 'float':
      writer.key(def.number, WIRE_FIXED32);
      writer.float(value as number);
      return;
    case 'bool':
      writer.key(def.number, WIRE_VARINT);
      writer.varint(value ? 1 : 0);
      return;
    case 'int32':
    case 'enum':
    case 'uint64':
      writer.key(def.number, WIRE_VARINT);
      writer.varint(value as number);
      return;
  }
}

function writeMessage(message: object, fields: readonly FieldDef[]): Uint8Array {
  const writer = new Writer();
  const record = message as Record<string, unknown>;
  for (const def of fields) {
    const value = record[def.name];
    if (value === undefined) continue;
    if (def.repeated) for (const item of value as unknown[]) writeField(writer, def, item);
    else writeField(writer, def, value);
  }
  return writer.finish();
}

function writePiece(piece: ModelPiece): Uint8Array {
  const writer = new Writer();
  writer.key(1, WIRE_BYTES);
  writer.bytes(utf8Encoder.encode(piece.piece));
  writer.key(2, WIRE_FIXED32);
  writer.float(piece.score);
  // Like the C++ library, the default type (NORMAL) is written only when it was set explicitly;
  // spm_train never sets it for normal pieces.
  if (piece.type !== PieceType.NORMAL) {
    writer.key(3, WIRE_VARINT);
    writer.varint(piece.type);
  }
  return writer.finish();
}

/** Serializes a model to `.model` bytes. */
export function encodeModelProto(model: ModelProto): Uint8Array {
  const writer = new Writer();
  for (const piece of model.pieces) {
    writer.key(1, WIRE_BYTES);
    writer.bytes(writePiece(piece));
  }
  writer.key(2, WIRE_BYTES);
  writer.bytes(writeMessage(model.trainerSpec, TRAINER_SPEC_FIELDS));
  writer.key(3, WIRE_BYTES);
  writer.bytes(writeMessage(model.normalizerSpec, NORMALIZER_SPEC_FIELDS));
  if (model.denormalizerSpec) {
    writer.key(5, WIRE_BYTES);
    writer.bytes(writeMessage(model.denormalizerSpec, NORMALIZER_SPEC_FIELDS));
  }
  return writer.finish();
}
