import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import { parseSafetensors, serializeSafetensors } from '../../src/io/safetensors.js';
import { floatToHalf, halfToFloat, type RawTensor, type TensorMap } from '../../src/io/tensors.js';

const sample = (): TensorMap =>
  new Map<string, RawTensor>([
    ['b.weight', { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1.5, -0, NaN, Infinity, 1e-45, -3]) }],
    ['a.half', { dtype: 'float16', shape: [3], data: Uint16Array.from([0x3c00, 0x7bff, 0x0001]) }],
    ['ids', { dtype: 'int32', shape: [1, 2], data: Int32Array.from([-2147483648, 2147483647]) }],
    ['big', { dtype: 'int64', shape: [2], data: BigInt64Array.from([-(2n ** 62n), 2n ** 40n]) }],
    ['scalar', { dtype: 'float32', shape: [], data: Float32Array.from([7]) }],
    ['empty', { dtype: 'int32', shape: [0], data: new Int32Array(0) }],
  ]);

const bytesOf = (t: RawTensor): number[] => Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));

function errorOf(fn: () => unknown): UlmfitError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UlmfitError);
    return err as UlmfitError;
  }
  throw new Error('expected an error');
}

/** A file with a hand-made header (for malformed inputs). */
function withHeader(header: unknown, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors', () => {
  it('round-trips every dtype bit-exactly, keeping order and metadata', () => {
    const bytes = serializeSafetensors(sample(), { format: 'pt', note: 'ünïcode' });
    const { tensors, metadata } = parseSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt', note: 'ünïcode' });
    expect([...tensors.keys()]).toEqual([...sample().keys()]);
    for (const [name, original] of sample()) {
      const back = tensors.get(name)!;
      expect(back.dtype).toBe(original.dtype);
      expect(back.shape).toEqual(original.shape);
      expect(bytesOf(back)).toEqual(bytesOf(original));
    }
  });

  it('aligns the data section to 8 bytes with a space-padded header', () => {
    const bytes = serializeSafetensors(sample());
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    expect(bytes[8 + headerLength - 1]).toBe(0x20);
  });

  it('reads a file written by the Python safetensors library', () => {
    const file = join(import.meta.dirname, '../../fixtures/torch/reference.safetensors');
    const { tensors, metadata } = parseSafetensors(readFileSync(file), file);
    expect(metadata).toEqual({ format: 'pt', note: 'é' });
    const f32 = tensors.get('f32')!;
    expect(f32.shape).toEqual([2, 3]);
    expect(Array.from(f32.data as Float32Array)).toEqual([1.5, -2, 3.25, 0, -0, Math.fround(1e-30)]);
    expect(Array.from(tensors.get('f16')!.data as Uint16Array).map(halfToFloat)).toEqual([1, -0.5, 65504]);
    expect(Array.from(tensors.get('i32')!.data as Int32Array)).toEqual([-1, 2, 2147483647]);
    expect(tensors.get('i64')!.shape).toEqual([2, 1]);
    expect(Array.from(tensors.get('i64')!.data as BigInt64Array)).toEqual([-(2n ** 40n), 7n]);
    expect(tensors.get('scalar')!.shape).toEqual([]);
    expect(tensors.get('empty')!.shape).toEqual([0, 2]);
  });

  it('reads tensors at unaligned offsets by copying', () => {
    const bytes = serializeSafetensors(sample());
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    const back = parseSafetensors(shifted).tensors.get('b.weight')!;
    expect(bytesOf(back)).toEqual(bytesOf(sample().get('b.weight')!));
  });

  it.each([
    ['shorter than 8 bytes', new Uint8Array(4), /shorter than its 8-byte header/],
    ['a header longer than the file', withHeader({}, 0).subarray(0, 9), /does not fit/],
    ['a header that is not JSON', (() => { const b = withHeader({}, 0); b[8] = 0x7b; b[9] = 0x7b; return b; })(), /not JSON/],
    ['an unknown dtype', withHeader({ x: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, 2), /dtype "BF16"/],
    ['a size mismatch', withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4), /needs 8/],
    ['a hole', withHeader({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /holes or overlaps/],
    ['trailing bytes', withHeader({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), /trailing bytes/],
  ])('rejects %s', (_what, bytes, pattern) => {
    const err = errorOf(() => parseSafetensors(bytes, 'w.safetensors'));
    expect(err.code).toBe('E_CHECKPOINT');
    expect(err.message).toMatch(pattern);
    expect(err.message).toContain('w.safetensors');
  });

  it('rejects a truncated file', () => {
    const bytes = serializeSafetensors(sample());
    expect(errorOf(() => parseSafetensors(bytes.subarray(0, bytes.length - 3))).message).toMatch(/truncated/);
  });
});

describe('float16 conversion', () => {
  it('round-trips every half value through float32', () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = halfToFloat(bits);
      const ok = Number.isNaN(value) ? Number.isNaN(halfToFloat(floatToHalf(value))) : floatToHalf(value) === bits;
      if (!ok) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest even like PyTorch', () => {
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway, rounds to even (down)
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway, rounds to even (up)
    expect(floatToHalf(65520)).toBe(0x7c00); // overflows to infinity
    expect(floatToHalf(2 ** -25)).toBe(0); // halfway to the smallest subnormal: even is 0
    expect(floatToHalf(1.5 * 2 ** -25)).toBe(1);
  });
});
