import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, readSafetensorsHeader, serializeSafetensors } from '../../src/io/safetensors.js';
import {
  countFloat16Overflows,
  floatToHalf,
  halfToFloat,
  narrowToFloat16,
  toFloat16,
  toFloat32,
  widenFloat16,
  type RawTensor,
  type TensorMap,
} from '../../src/io/tensors.js';
import { Rng } from '../../src/random.js';
import { errorOf } from '../support/errors.js';

const sample = (): TensorMap =>
  new Map<string, RawTensor>([
    [
      'b.weight',
      { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1.5, -0, NaN, Infinity, 1e-45, -3]) },
    ],
    ['a.half', { dtype: 'float16', shape: [3], data: Uint16Array.from([0x3c00, 0x7bff, 0x0001]) }],
    ['ids', { dtype: 'int32', shape: [1, 2], data: Int32Array.from([-2147483648, 2147483647]) }],
    ['big', { dtype: 'int64', shape: [2], data: BigInt64Array.from([-(2n ** 62n), 2n ** 40n]) }],
    ['scalar', { dtype: 'float32', shape: [], data: Float32Array.from([7]) }],
    ['empty', { dtype: 'int32', shape: [0], data: new Int32Array(0) }],
  ]);

const bytesOf = (t: RawTensor): number[] =>
  Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));

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
    [
      'a header that is not JSON',
      (() => {
        const b = withHeader({}, 0);
        b[8] = 0x7b;
        b[9] = 0x7b;
        return b;
      })(),
      /not JSON/,
    ],
    [
      'an unknown dtype',
      withHeader({ x: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, 2),
      /dtype "BF16"/,
    ],
    ['a size mismatch', withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4), /needs 8/],
    ['a hole', withHeader({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /holes or overlaps/],
    [
      'trailing bytes',
      withHeader({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8),
      /trailing bytes/,
    ],
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
      const ok = Number.isNaN(value)
        ? Number.isNaN(halfToFloat(floatToHalf(value)))
        : floatToHalf(value) === bits;
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

describe('float16 weights (toFloat16 and widening)', () => {
  it('keeps the relative error within 2^-11 over the normal range and the absolute error within 2^-25 below it', () => {
    const rng = new Rng(7);
    const values = new Float32Array(200_000);
    for (let i = 0; i < values.length; i++) {
      // log-uniform magnitudes from 2^-30 to 2^15.9, both signs
      const magnitude = 2 ** (-30 + rng.next() * 45.9);
      values[i] = (rng.next() < 0.5 ? -1 : 1) * magnitude;
    }
    const back = toFloat32({ dtype: 'float16', shape: [values.length], data: toFloat16(values) });
    let worstRelative = 0;
    let worstAbsolute = 0;
    for (let i = 0; i < values.length; i++) {
      const x = values[i]!;
      const error = Math.abs(back[i]! - x);
      if (Math.abs(x) >= 2 ** -14) worstRelative = Math.max(worstRelative, error / Math.abs(x));
      else worstAbsolute = Math.max(worstAbsolute, error);
    }
    expect(worstRelative).toBeGreaterThan(0);
    expect(worstRelative).toBeLessThanOrEqual(2 ** -11);
    expect(worstAbsolute).toBeLessThanOrEqual(2 ** -25);
  });

  it('agrees with floatToHalf value by value and rounds to nearest even', () => {
    const values = Float32Array.from([
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      2 ** -25,
      1.5 * 2 ** -25,
      0.1,
      -123.456,
      65504,
      3e-8,
    ]);
    expect(Array.from(toFloat16(values))).toEqual(Array.from(values, floatToHalf));
    expect(Array.from(toFloat16(values.subarray(1, 3)))).toEqual([0x3c02, 0]); // a view at an offset
  });

  it('maps the special values: ±0, subnormals, ±Inf, NaN, overflow', () => {
    const values = Float32Array.from([
      0,
      -0,
      2 ** -24,
      -(2 ** -24),
      2 ** -14 - 2 ** -24,
      Infinity,
      -Infinity,
      NaN,
      65520,
      -1e6,
      1e-45,
    ]);
    const half = toFloat16(values);
    expect(Array.from(half)).toEqual([
      0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x7c00, 0xfc00, 0x0000,
    ]);
    const back = toFloat32({ dtype: 'float16', shape: [half.length], data: half });
    expect(Object.is(back[1], -0)).toBe(true);
    expect(back[2]).toBe(2 ** -24);
    expect(back[4]).toBe(2 ** -14 - 2 ** -24); // the largest subnormal, exact
    expect(back[5]).toBe(Infinity);
    expect(back[6]).toBe(-Infinity);
    expect(Number.isNaN(back[7])).toBe(true);
    expect(countFloat16Overflows(values)).toBe(2); // 65520 and -1e6; ±Inf and NaN were not finite
    // every half value widens exactly, through the table, as halfToFloat says
    const all = new Uint16Array(65536).map((_, i) => i);
    const widened = toFloat32({ dtype: 'float16', shape: [65536], data: all });
    const wrong = Array.from(all).filter((bits) => !Object.is(widened[bits], Math.fround(halfToFloat(bits))));
    expect(wrong).toEqual([]);
  });

  it('reads a file mixing F32, F16 and I32 tensors, widening only the float16 ones', () => {
    const f32 = Float32Array.from([0.1, -2.5, 3e-5]);
    const mixed: TensorMap = new Map<string, RawTensor>([
      ['a', { dtype: 'float32', shape: [3], data: f32 }],
      ['b', { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, -0.333, 1000.1, 2 ** -20]) }],
      ['ids', { dtype: 'int32', shape: [2], data: Int32Array.from([3, -4]) }],
    ]);
    const halved = narrowToFloat16(new Map([...mixed].filter(([name]) => name === 'b')));
    const file = new Map([...mixed, ...halved]);
    const bytes = serializeSafetensors(file);
    const header = JSON.parse(
      new TextDecoder().decode(
        bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))),
      ),
    );
    expect([header.a.dtype, header.b.dtype, header.ids.dtype]).toEqual(['F32', 'F16', 'I32']);

    const raw = parseSafetensors(bytes).tensors;
    expect(raw.get('b')!.dtype).toBe('float16'); // the parser keeps the bits
    const widened = widenFloat16(raw);
    expect(widened.get('a')).toBe(raw.get('a')); // untouched
    expect(widened.get('ids')).toBe(raw.get('ids'));
    const b = widened.get('b')!;
    expect(b.dtype).toBe('float32');
    expect(b.shape).toEqual([2, 2]);
    expect(Array.from(b.data as Float32Array)).toEqual([
      1,
      Math.fround(halfToFloat(floatToHalf(-0.333))),
      1000,
      2 ** -20,
    ]);
    expect(Array.from(widened.get('a')!.data as Float32Array)).toEqual(Array.from(f32));

    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-f16-'));
    try {
      const path = join(dir, 'mixed.safetensors');
      writeFileSync(path, bytes);
      expect(readSafetensorsHeader(path)).toEqual([
        { name: 'a', dtype: 'float32', shape: [3] },
        { name: 'b', dtype: 'float16', shape: [2, 2] },
        { name: 'ids', dtype: 'int32', shape: [2] },
      ]);
      writeFileSync(path, bytes.subarray(0, 12));
      expect(errorOf(() => readSafetensorsHeader(path)).message).toMatch(/does not fit/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
