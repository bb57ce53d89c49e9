/**
 * Bytes → text for the input readers: encoding checks (UTF-8 with the byte offset of the first
 * bad byte, or Latin-1), BOM stripping, CRLF normalization and binary-file detection. Large files
 * are read in blocks that end on a newline byte, so memory stays bounded and a multi-byte UTF-8
 * sequence never straddles two blocks (0x0A never occurs inside one).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { UlmfitError } from '../errors.js';

export type TextEncoding = 'utf8' | 'latin1';

/** How many leading bytes are checked for NUL when deciding that a file is binary (git's rule). */
const BINARY_SNIFF_BYTES = 8000;
/** Block size for streamed reads: big enough to amortize syscalls, small enough to bound memory. */
const BLOCK_BYTES = 1 << 20;

/** Thrown (and caught by the readers) for a file that looks binary: it is skipped with a warning. */
export class BinaryFileError extends Error {
  constructor(readonly path: string) {
    super(`${path} looks binary (it contains NUL bytes)`);
  }
}

/**
 * Offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. Rejects
 * overlong forms, surrogates and code points above U+10FFFF, like a strict decoder.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      const [min, max] = k === 1 ? [lo, hi] : [0x80, 0xbf];
      if (c < min || c > max) return i;
    }
    i += need + 1;
  }
  return -1;
}

function hasNul(bytes: Uint8Array): boolean {
  return bytes.subarray(0, BINARY_SNIFF_BYTES).indexOf(0) !== -1;
}

function isUtf16Bom(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 2 &&
    ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
  );
}

function hasUtf8Bom(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

/** Checks the first bytes of a file: UTF-16 is an error, NUL bytes mean binary. */
function sniff(bytes: Uint8Array, path: string): void {
  if (isUtf16Bom(bytes)) {
    throw new UlmfitError(
      'E_INPUT_ENCODING',
      `${path} is UTF-16 text`,
      'convert it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8',
    );
  }
  if (hasNul(bytes)) throw new BinaryFileError(path);
}

/** Decodes one block; `fileOffset` is the block's position in the file, for the error message. */
function decode(bytes: Buffer, encoding: TextEncoding, path: string, fileOffset: number): string {
  if (encoding === 'latin1') return normalizeNewlines(bytes.toString('latin1'));
  // isUtf8 is native and fast; the JS scan only runs to find where a bad byte is.
  if (!isUtf8(bytes)) {
    const at = fileOffset + Math.max(0, firstInvalidUtf8(bytes));
    throw new UlmfitError(
      'E_INPUT_ENCODING',
      `${path}: invalid UTF-8 at byte ${at}`,
      'convert the file to UTF-8, or pass --encoding latin1 if it is Latin-1',
    );
  }
  return normalizeNewlines(bytes.toString('utf8'));
}

/** CRLF → LF (and a lone CR, old Mac style, → LF), so every reader sees one newline form. */
export function normalizeNewlines(text: string): string {
  return text.indexOf('\r') === -1 ? text : text.replace(/\r\n?/g, '\n');
}

/**
 * Reads a whole file as one string. Throws BinaryFileError for a binary file and a UlmfitError
 * for bytes that are invalid in `encoding`.
 */
export async function readTextFile(path: string, encoding: TextEncoding): Promise<string> {
  const bytes = await readFile(path);
  sniff(bytes, path);
  const bom = encoding === 'utf8' && hasUtf8Bom(bytes) ? 3 : 0;
  return decode(bytes.subarray(bom), encoding, path, bom);
}

/**
 * Streams a byte source as decoded text blocks, each ending just after a newline (except the
 * last). The first block is sniffed for binary content and has its BOM removed. `onBytes` is
 * told how many bytes each block consumed (for progress).
 */
export async function* readTextBlocks(
  source: AsyncIterable<Buffer | string>,
  path: string,
  encoding: TextEncoding,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<string> {
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0; // file offset of pending[0]
  let first = true;
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (first) {
      if (pending.length < 4 && pending.length < BINARY_SNIFF_BYTES) continue; // wait for the BOM bytes
      sniff(pending, path);
      if (encoding === 'utf8' && hasUtf8Bom(pending)) {
        pending = pending.subarray(3);
        offset = 3;
        onBytes?.(3);
      }
      first = false;
    }
    const lastNewline = pending.lastIndexOf(0x0a);
    if (lastNewline === -1) continue;
    const block = pending.subarray(0, lastNewline + 1);
    const text = decode(block, encoding, path, offset);
    offset += block.length;
    pending = pending.subarray(lastNewline + 1);
    onBytes?.(block.length);
    yield text;
  }
  if (first && pending.length > 0) {
    sniff(pending, path);
    if (encoding === 'utf8' && hasUtf8Bom(pending)) {
      pending = pending.subarray(3);
      offset = 3;
      onBytes?.(3);
    }
  }
  if (pending.length > 0) {
    const text = decode(pending, encoding, path, offset);
    onBytes?.(pending.length);
    yield text;
  }
}

/** `readTextBlocks` over a file on disk. */
export function readFileBlocks(
  path: string,
  encoding: TextEncoding,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<string> {
  return readTextBlocks(createReadStream(path, { highWaterMark: BLOCK_BYTES }), path, encoding, onBytes);
}

/**
 * Splits text blocks (each ending on a newline) into lines, numbered from 1, one array per block.
 * The trailing newline of the input does not make an extra empty line.
 */
export async function* blocksToLines(
  blocks: AsyncIterable<string>,
): AsyncGenerator<{ texts: string[]; firstLine: number }> {
  let next = 1;
  let carry = '';
  for await (const block of blocks) {
    const texts = (carry + block).split('\n');
    carry = texts.pop()!; // the part after the last newline (usually '')
    if (texts.length > 0) {
      yield { texts, firstLine: next };
      next += texts.length;
    }
  }
  if (carry.length > 0) yield { texts: [carry], firstLine: next };
}
