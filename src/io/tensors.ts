/**
 * Plain tensors for the io layer: a dtype, a shape and a typed array in row-major order. io never
 * imports TF.js; the model turns these into tf tensors (and back) itself.
 *
 * float16 values are kept as their raw IEEE-754 half bits in a Uint16Array, int64 values in a
 * BigInt64Array, so a round trip through a file is bit-exact.
 */
// Typed arrays use the platform's byte order; every file format here is little-endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('ulmfit io needs a little-endian platform');
}

export type TensorDType = 'float32' | 'float16' | 'int32' | 'int64';

export type RawTensor =
  | { dtype: 'float32'; shape: number[]; data: Float32Array }
  | { dtype: 'float16'; shape: number[]; data: Uint16Array }
  | { dtype: 'int32'; shape: number[]; data: Int32Array }
  | { dtype: 'int64'; shape: number[]; data: BigInt64Array };

/** Named tensors in a meaningful order (a state dict's order matters to fastai's positional loads). */
export type TensorMap = Map<string, RawTensor>;

/**
 * A tensor whose values are read when it is written: `read` hands them to `use`, valid only while
 * `use` runs (they may be a view of a backend's memory: model/persist.ts weightReaders). A model
 * or checkpoint written from readers holds one tensor's values at a time, not a copy of them all.
 */
export interface TensorReader {
  readonly dtype: TensorDType;
  readonly shape: number[];
  read<T>(use: (tensor: RawTensor) => T): T;
}

/** A tensor to write: its values in memory, or read on demand. */
export type TensorEntry = RawTensor | TensorReader;

/** Named tensors to write, in order; a TensorMap is one. */
export type TensorSource = ReadonlyMap<string, TensorEntry>;

/** Runs `use` on the entry's values (a reader's: valid only during the call). */
export function readEntry<T>(entry: TensorEntry, use: (tensor: RawTensor) => T): T {
  return 'read' in entry ? entry.read(use) : use(entry);
}

/**
 * Every tensor of `source` in memory. A reader's values are copied (they may be a view of memory
 * that training overwrites); in-memory tensors are kept as they are.
 */
export function materialize(source: TensorSource): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, entry] of source) {
    out.set(
      name,
      'read' in entry
        ? entry.read((t) => ({ ...t, shape: [...t.shape], data: t.data.slice() }) as RawTensor)
        : entry,
    );
  }
  return out;
}

export const BYTES_PER_ELEMENT: Record<TensorDType, number> = {
  float32: 4,
  float16: 2,
  int32: 4,
  int64: 8,
};

/** Number of elements of a shape; a 0-d shape `[]` holds one. */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function float32Tensor(shape: number[], data: Float32Array): RawTensor {
  checkLength(shape, data.length);
  return { dtype: 'float32', shape, data };
}

export function int32Tensor(shape: number[], data: Int32Array): RawTensor {
  checkLength(shape, data.length);
  return { dtype: 'int32', shape, data };
}

function checkLength(shape: readonly number[], length: number): void {
  if (numelOf(shape) !== length) {
    throw new Error(
      `tensor data has ${length} elements but shape [${shape.join(', ')}] needs ${numelOf(shape)}`,
    );
  }
}

// One shared scratch word converts between float bits and float values without allocation.
const scratch = new DataView(new ArrayBuffer(4));

/** IEEE half bits → float32 value (exact: every half is representable as a float32). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero or subnormal
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** float value → IEEE half bits, rounding to nearest even (what PyTorch's `.half()` does). */
export function floatToHalf(value: number): number {
  scratch.setFloat32(0, value, true);
  return halfBitsOf(scratch.getUint32(0, true));
}

/**
 * float32 bits → IEEE half bits, rounding to nearest even: overflow (|x| ≥ 65520) becomes ±Inf,
 * values below the half subnormals become ±0, NaN stays a (quiet) NaN.
 */
function halfBitsOf(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exponent = (f >>> 23) & 0xff;
  let mantissa = f & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf or NaN
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign; // underflow → ±0
    mantissa |= 0x800000; // make the implicit bit explicit, then shift into a subnormal
    const shift = 14 - halfExponent;
    let half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half += 1;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half += 1; // may carry into the exponent: correct
  return sign | half;
}

/**
 * float32 values → IEEE half bits (round to nearest even, as PyTorch's `.half()`). Values beyond
 * ±65504 become ±Inf: callers that must not lose them check with `countFloat16Overflows` first.
 */
export function toFloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = halfBitsOf(bits[i]!);
  return out;
}

/** How many finite values would become ±Inf as float16 (|x| ≥ 65520 after rounding). */
export function countFloat16Overflows(values: Float32Array): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v) && Math.abs(v) >= 65520) n++;
  }
  return n;
}

/** Every half value as a float32, built on first use (256 KB): widening is one lookup per value. */
let halfTable: Float32Array | undefined;

function widenHalves(bits: Uint16Array): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) halfTable[b] = halfToFloat(b);
  }
  const table = halfTable;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < out.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

/** A float32 copy of any tensor (float16 widened exactly; int64 must fit a double exactly). */
export function toFloat32(tensor: RawTensor): Float32Array {
  switch (tensor.dtype) {
    case 'float32':
      return tensor.data;
    case 'float16':
      return widenHalves(tensor.data);
    case 'int32':
      return Float32Array.from(tensor.data);
    case 'int64':
      return Float32Array.from(tensor.data, (v) => Number(v));
  }
}

/** The map with every float16 tensor widened to float32 (exact); other tensors as they are. */
export function widenFloat16(tensors: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, t] of tensors)
    out.set(
      name,
      t.dtype === 'float16' ? { dtype: 'float32', shape: t.shape, data: widenHalves(t.data) } : t,
    );
  return out;
}

/**
 * The tensors with every float32 one narrowed to float16 (round to nearest even); others as they
 * are. A reader stays a reader: it is narrowed when read.
 */
export function narrowToFloat16(tensors: TensorMap): TensorMap;
export function narrowToFloat16(tensors: TensorSource): Map<string, TensorEntry>;
export function narrowToFloat16(tensors: TensorSource): Map<string, TensorEntry> {
  const narrow = (t: RawTensor): RawTensor =>
    t.dtype === 'float32' ? { dtype: 'float16', shape: t.shape, data: toFloat16(t.data) } : t;
  const out = new Map<string, TensorEntry>();
  for (const [name, entry] of tensors) {
    if (!('read' in entry)) out.set(name, narrow(entry));
    else if (entry.dtype !== 'float32') out.set(name, entry);
    else
      out.set(name, {
        dtype: 'float16',
        shape: entry.shape,
        read: (use) => entry.read((t) => use(narrow(t))),
      });
  }
  return out;
}

/**
 * A copy of `bytes` at offset 0 of a fresh buffer (so any typed array can view it). `set` is a
 * memcpy; `new Uint8Array(typedArray)` copies element by element (10× slower on large tensors),
 * and Buffer#slice is a view, not a copy.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** Shapes equal element by element. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
