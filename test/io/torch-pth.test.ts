import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  isTensorRef,
  loadTorchCheckpoint,
  readItosPickle,
  readTorchStateDict,
  tensorMapOf,
  writeTorchZip,
} from '../../src/io/torch-pth.js';
import type { RawTensor, TensorMap } from '../../src/io/tensors.js';
import { errorOf } from '../support/errors.js';

const dir = join(import.meta.dirname, '../../fixtures/torch');
const read = (name: string): Uint8Array => readFileSync(join(dir, name));

type Expected = {
  dtype: 'float32' | 'int32';
  shape: number[];
  values: (number | string)[];
  source_dtype: string;
};
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
  tensors: Record<string, Expected>;
  itos: string[];
};

function expectedValues(e: Expected): Float32Array | Int32Array {
  const numbers = e.values.map((v) => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number)));
  return e.dtype === 'float32' ? Float32Array.from(numbers) : Int32Array.from(numbers);
}

function expectMatchesFixture(tensors: TensorMap): void {
  expect([...tensors.keys()]).toEqual(Object.keys(expected.tensors));
  for (const [name, e] of Object.entries(expected.tensors)) {
    const t = tensors.get(name)!;
    expect(t.dtype, name).toBe(e.dtype);
    expect(t.shape, name).toEqual(e.shape);
    // Bit-exact, including -0 and Infinity: compare as arrays of the same typed kind.
    expect(Array.from(t.data as Float32Array), name).toEqual(Array.from(expectedValues(e)));
  }
}

describe('torch checkpoint reader', () => {
  it.each(['tensors_zip_archive.pth', 'tensors_zip_named.pth', 'tensors_legacy.pth'])(
    'reads every layout in %s exactly (dtypes, strides, offsets, shared storages)',
    (file) => {
      expectMatchesFixture(readTorchStateDict(read(file), file));
    },
  );

  it('finds the top folder of a zip whatever it is called', () => {
    expect(loadTorchCheckpoint(read('tensors_zip_archive.pth')).archiveName).toBe('archive');
    expect(loadTorchCheckpoint(read('tensors_zip_named.pth')).archiveName).toBe('tensors_zip_named');
    expect(loadTorchCheckpoint(read('tensors_legacy.pth')).format).toBe('legacy');
  });

  it.each(['wrapped_zip.pth', 'wrapped_legacy.pth'])(
    'reads nested non-tensor values around tensors in %s',
    (file) => {
      const root = loadTorchCheckpoint(read(file), file).root as Map<string, unknown>;
      expect(root).toBeInstanceOf(Map);
      const opt = root.get('opt') as Map<string, unknown>;
      expect(opt.get('name')).toBe('Adam');
      expect(opt.get('flag')).toBe(true);
      expect(opt.get('nothing')).toBeNull();
      const hypers = opt.get('hypers') as Map<string, number>[];
      expect(hypers[0]!.get('lr')).toBe(0.001);
      expect(hypers[0]!.get('eps')).toBe(1e-5);
      const model = tensorMapOf(root.get('model'), file, "the 'model' entry");
      expect(Array.from(model.get('w')!.data as Float32Array)).toEqual(
        Array.from(expectedValues(expected.tensors.f32!)),
      );
      expect(Array.from(model.get('b')!.data as Int32Array)).toEqual(
        Array.from(expectedValues(expected.tensors.i64!)),
      );
      // The wrapper itself is not a state dict, and the error names the offending entry.
      expect(errorOf(() => tensorMapOf(root, file)).message).toMatch(
        /entry "model" is a dict of 2 entries, not a tensor/,
      );
    },
  );

  it('keeps tensors lazy until materialized', () => {
    const root = loadTorchCheckpoint(read('tensors_legacy.pth')).root as Map<string, unknown>;
    expect(isTensorRef(root.get('f16'))).toBe(true);
  });

  it('refuses int64 values outside the int32 range, naming the tensor', () => {
    const err = errorOf(() => readTorchStateDict(read('int64_overflow.pth'), 'int64_overflow.pth'));
    expect(err.code).toBe('E_CHECKPOINT');
    expect(err.message).toMatch(/int64 tensor big holds 1099511627776/);
  });

  it.each([
    ['bad_not_a_pickle.pkl', /is not a PyTorch checkpoint/],
    ['itos_protocol2.pkl', /is a plain pickle, not a PyTorch checkpoint/],
    ['bad_truncated_zip.pth', /truncated or corrupt/],
    ['bad_truncated_legacy.pth', /truncated/],
  ])('rejects %s with a one-line E_CHECKPOINT error', (file, pattern) => {
    const err = errorOf(() => readTorchStateDict(read(file), file));
    expect(err.code).toBe('E_CHECKPOINT');
    expect(err.message).toMatch(pattern);
    expect(err.message).toContain(file);
    expect(err.toLine()).not.toContain('\n');
  });

  it('rejects an empty file', () => {
    expect(errorOf(() => readTorchStateDict(new Uint8Array(0), 'empty.pth')).message).toMatch(
      /not a PyTorch checkpoint/,
    );
  });
});

describe('itos pickle', () => {
  it.each(['itos_protocol2.pkl', 'itos_protocol4.pkl'])('reads a list of strings from %s', (file) => {
    expect(readItosPickle(read(file), file)).toEqual(expected.itos);
  });

  it.each([
    ['bad_not_a_pickle.pkl', /is not a pickle file/],
    ['bad_truncated.pkl', /truncated or corrupt/],
    ['bad_dict.pkl', /holds a dict of 1 entries, not a list of strings/],
    ['bad_mixed_list.pkl', /item 1 is the value 3/],
  ])('rejects %s', (file, pattern) => {
    const err = errorOf(() => readItosPickle(read(file), file));
    expect(err.code).toBe('E_CHECKPOINT');
    expect(err.message).toMatch(pattern);
  });
});

describe('torch zip writer', () => {
  const sample = (): TensorMap =>
    new Map<string, RawTensor>([
      [
        '0.encoder.weight',
        { dtype: 'float32', shape: [3, 2], data: Float32Array.from([1.5, -0, Infinity, NaN, 1e-40, -3]) },
      ],
      ['half', { dtype: 'float16', shape: [2], data: Uint16Array.from([0x3c00, 0x8001]) }],
      ['ids', { dtype: 'int32', shape: [2, 1], data: Int32Array.from([-7, 2147483647]) }],
      ['longs', { dtype: 'int64', shape: [1], data: BigInt64Array.from([-5n]) }],
      ['scalar', { dtype: 'float32', shape: [], data: Float32Array.from([2]) }],
      ['empty', { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) }],
    ]);

  it('round-trips through our reader bit-exactly, in order', () => {
    const bytes = writeTorchZip(sample(), { archiveName: 'lstm_fwd' });
    const checkpoint = loadTorchCheckpoint(bytes, 'written.pth');
    expect(checkpoint.archiveName).toBe('lstm_fwd');
    const back = tensorMapOf(checkpoint.root, 'written.pth');
    expect([...back.keys()]).toEqual([...sample().keys()]);
    const f = back.get('0.encoder.weight')!;
    expect(f.shape).toEqual([3, 2]);
    const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    expect(bits(f.data as Float32Array)).toEqual(
      bits(sample().get('0.encoder.weight')!.data as Float32Array),
    );
    // The reader widens float16 and narrows int64: values, not bits, survive those.
    expect(Array.from(back.get('half')!.data as Float32Array)).toEqual([1, -(2 ** -24)]);
    expect(Array.from(back.get('ids')!.data as Int32Array)).toEqual([-7, 2147483647]);
    expect(Array.from(back.get('longs')!.data as Int32Array)).toEqual([-5]);
    expect(back.get('scalar')!.shape).toEqual([]);
    expect(back.get('empty')!.shape).toEqual([0, 3]);
  });

  it('lays the archive out as torch does: stored, 64-byte aligned records, version 3', () => {
    const bytes = writeTorchZip(sample());
    const files = unzipSync(bytes);
    expect(Object.keys(files)).toEqual([
      'archive/data.pkl',
      'archive/byteorder',
      'archive/data/0',
      'archive/data/1',
      'archive/data/2',
      'archive/data/3',
      'archive/data/4',
      'archive/data/5',
      'archive/version',
    ]);
    expect(new TextDecoder().decode(files['archive/version'])).toBe('3\n');
    // Every local record's data starts on a multiple of 64.
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    let at = 0;
    while (view.getUint32(at, true) === 0x04034b50) {
      const dataStart = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
      expect(dataStart % 64).toBe(0);
      at = dataStart + view.getUint32(at + 18, true);
    }
  });

  it('stores tensors over the same bytes once (tied weights), like torch.save', () => {
    const shared: RawTensor = { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) };
    const tensors: TensorMap = new Map([
      ['a', shared],
      ['b', { dtype: 'float32', shape: [4], data: Float32Array.from([5, 6, 7, 8]) }],
      ['tied', { ...shared }],
    ]);
    const files = Object.keys(unzipSync(writeTorchZip(tensors)));
    expect(files.filter((f) => f.startsWith('archive/data/'))).toEqual(['archive/data/0', 'archive/data/1']);
    const back = readTorchStateDict(writeTorchZip(tensors));
    expect(Array.from(back.get('tied')!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(back.get('tied')!.shape).toEqual([2, 2]);
  });

  it('re-reads the fixtures and writes them back identically', () => {
    const original = readTorchStateDict(read('tensors_legacy.pth'));
    const again = readTorchStateDict(writeTorchZip(original));
    expectMatchesFixture(again);
  });
});
