/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N
 * bytes of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {str: str} }`
 * (may be padded with trailing spaces), then the tensor bytes. Offsets are relative to the end of
 * the header; tensors are little-endian, row-major and must tile the byte buffer without holes or
 * overlaps (the reference implementation rejects anything else, so we do too).
 *
 * F16 tensors are read as their raw half bits (dtype 'float16', bit-exact round trips); model
 * directories widen them to float32 on load (artifact.ts readModelDir, tensors.ts widenFloat16)
 * and write them on request (writeModelDir's `weightsDtype: 'float16'`, tensors.ts toFloat16).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { UlmfitError } from '../errors.js';
import {
  BYTES_PER_ELEMENT,
  copyBytes,
  numelOf,
  readEntry,
  type RawTensor,
  type TensorDType,
  type TensorMap,
  type TensorSource,
} from './tensors.js';

const FORMAT_DTYPE: Record<TensorDType, string> = {
  float32: 'F32',
  float16: 'F16',
  int32: 'I32',
  int64: 'I64',
};
const DTYPE_OF_FORMAT = new Map<string, TensorDType>(
  Object.entries(FORMAT_DTYPE).map(([ours, theirs]) => [theirs, ours as TensorDType]),
);

/** Headers above this size are refused (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsContents {
  tensors: TensorMap;
  metadata: Record<string, string>;
}

/**
 * The 8-byte length plus the space-padded header (so data starts 8-byte aligned), from the
 * tensors' dtypes and shapes alone; their bytes follow in the same order.
 */
function safetensorsHead(tensors: TensorSource, metadata: Record<string, string> | undefined): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, tensor] of tensors) {
    if (name === '__metadata__') throw new Error('a tensor cannot be named __metadata__');
    if (!('read' in tensor)) checkFills(name, tensor.data, tensor);
    const bytes = byteSizeOf(tensor);
    header[name] = {
      dtype: FORMAT_DTYPE[tensor.dtype],
      shape: tensor.shape,
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + headerLength).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, 8);
  return head;
}

function byteSizeOf(tensor: { dtype: TensorDType; shape: readonly number[] }): number {
  return numelOf(tensor.shape) * BYTES_PER_ELEMENT[tensor.dtype];
}

/** `data` must be exactly the bytes the header announces for `shape`. */
function checkFills(
  name: string,
  data: RawTensor['data'],
  announced: { dtype: TensorDType; shape: readonly number[] },
): void {
  if (data.byteLength !== byteSizeOf(announced)) {
    throw new Error(
      `tensor ${name}: ${data.length} elements do not fill shape [${announced.shape.join(', ')}]`,
    );
  }
}

function bytesOf(tensor: RawTensor): Uint8Array {
  return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
}

/**
 * The file as chunks: the header, then a view of each tensor's bytes in map order. Nothing is
 * copied, so a large model can be written to disk chunk by chunk without a second copy in memory.
 */
export function safetensorsChunks(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  writeSafetensorsChunks(tensors, metadata, (bytes) => chunks.push(bytes));
  return chunks;
}

/**
 * The same bytes as `safetensorsChunks`, handed to `write` one chunk at a time: the header (from
 * the shapes), then each tensor's bytes, a reader's read only while `write` takes them. Writing
 * from readers never holds more than one tensor's values.
 */
export function writeSafetensorsChunks(
  tensors: TensorSource,
  metadata: Record<string, string> | undefined,
  write: (bytes: Uint8Array) => void,
): void {
  write(safetensorsHead(tensors, metadata));
  for (const [name, entry] of tensors) {
    readEntry(entry, (tensor) => {
      // A reader's dtype and shape made the header; its values must agree with them.
      if (tensor.dtype !== entry.dtype)
        throw new Error(`tensor ${name}: read as ${tensor.dtype}, announced as ${entry.dtype}`);
      checkFills(name, tensor.data, entry);
      write(bytesOf(tensor));
    });
  }
}

/** The whole file in one array (one copy of every tensor). */
export function serializeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array {
  const chunks = safetensorsChunks(tensors, metadata);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let position = 0;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.length;
  }
  return out;
}

/**
 * Parses a safetensors file. Tensors whose bytes are suitably aligned are zero-copy views into
 * `bytes` (so the result holds one copy of the file, not two); treat them as read-only.
 * `source` names the file in error messages.
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsContents {
  const fail = (what: string): UlmfitError =>
    new UlmfitError(
      'E_CHECKPOINT',
      `${source} is not a valid safetensors file: ${what}`,
      'rewrite it with ulmfit or the safetensors library',
    );
  if (bytes.length < 8) throw fail('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) {
    throw fail(`header length ${headerLength} does not fit in ${bytes.length} bytes (truncated?)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch {
    throw fail('the header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw fail('the header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: TensorDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null) throw fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw fail(`__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof info.dtype === 'string' ? DTYPE_OF_FORMAT.get(info.dtype) : undefined;
    if (!dtype)
      throw fail(`tensor ${name} has dtype ${JSON.stringify(info.dtype)} (ulmfit reads F32, F16, I32, I64)`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw fail(`tensor ${name} has an invalid shape`);
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      throw fail(`tensor ${name} has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    if (end - begin !== numelOf(shape) * BYTES_PER_ELEMENT[dtype]) {
      throw fail(
        `tensor ${name} has ${end - begin} bytes, its shape [${shape.join(', ')}] needs ${numelOf(shape) * BYTES_PER_ELEMENT[dtype]}`,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // The tensors must tile [0, dataLength) exactly.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const entry of byOffset) {
    if (entry.begin !== covered)
      throw fail(`tensor ${entry.name} starts at ${entry.begin}, expected ${covered} (holes or overlaps)`);
    covered = entry.end;
  }
  if (covered !== dataLength)
    throw fail(
      `the tensors cover ${covered} bytes but the file holds ${dataLength} (truncated or trailing bytes)`,
    );

  // Keep the file's (header) order: it is the state dict's order.
  const tensors: TensorMap = new Map();
  for (const entry of entries) {
    tensors.set(entry.name, typedView(bytes, dataStart + entry.begin, entry.dtype, entry.shape));
  }
  return { tensors, metadata };
}

/** A typed array over `bytes[start…]`: a view when aligned, a copy otherwise. */
function typedView(bytes: Uint8Array, start: number, dtype: TensorDType, shape: number[]): RawTensor {
  const length = numelOf(shape);
  const size = BYTES_PER_ELEMENT[dtype];
  let buffer = bytes.buffer;
  let byteOffset = bytes.byteOffset + start;
  if (byteOffset % size !== 0) {
    buffer = copyBytes(bytes.subarray(start, start + length * size)).buffer;
    byteOffset = 0;
  }
  switch (dtype) {
    case 'float32':
      return { dtype, shape, data: new Float32Array(buffer, byteOffset, length) };
    case 'float16':
      return { dtype, shape, data: new Uint16Array(buffer, byteOffset, length) };
    case 'int32':
      return { dtype, shape, data: new Int32Array(buffer, byteOffset, length) };
    case 'int64':
      return { dtype, shape, data: new BigInt64Array(buffer, byteOffset, length) };
  }
}

/**
 * The dtype and shape of each tensor in a safetensors file, from its header alone (the tensor
 * bytes are not read): cheap even for a large model. Throws E_CHECKPOINT like parseSafetensors.
 */
export function readSafetensorsHeader(path: string): { name: string; dtype: TensorDType; shape: number[] }[] {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const lengthBytes = new Uint8Array(8);
    const fail = (what: string): UlmfitError =>
      new UlmfitError(
        'E_CHECKPOINT',
        `${path} is not a valid safetensors file: ${what}`,
        'rewrite it with ulmfit or the safetensors library',
      );
    if (size < 8 || readSync(fd, lengthBytes, 0, 8, 0) !== 8)
      throw fail('shorter than its 8-byte header length');
    const headerLength = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true));
    if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > size)
      throw fail(`header length ${headerLength} does not fit in ${size} bytes (truncated?)`);
    const header = new Uint8Array(headerLength);
    if (readSync(fd, header, 0, headerLength, 8) !== headerLength) throw fail('the header is truncated');
    // Parse the header with an empty data section: only the header's own checks apply.
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(header));
    } catch {
      throw fail('the header is not JSON');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw fail('the header is not a JSON object');
    const out: { name: string; dtype: TensorDType; shape: number[] }[] = [];
    for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') continue;
      const info = value as { dtype?: unknown; shape?: unknown };
      const dtype = typeof info?.dtype === 'string' ? DTYPE_OF_FORMAT.get(info.dtype) : undefined;
      if (!dtype)
        throw fail(
          `tensor ${name} has dtype ${JSON.stringify(info?.dtype)} (ulmfit reads F32, F16, I32, I64)`,
        );
      if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
        throw fail(`tensor ${name} has an invalid shape`);
      out.push({ name, dtype, shape: info.shape as number[] });
    }
    return out;
  } catch (err) {
    if (err instanceof UlmfitError) throw err;
    throw new UlmfitError('E_CHECKPOINT', `cannot read ${path}: ${(err as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function readSafetensors(path: string): SafetensorsContents {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new UlmfitError('E_CHECKPOINT', `cannot read ${path}: ${(err as Error).message}`);
  }
  return parseSafetensors(bytes, path);
}
