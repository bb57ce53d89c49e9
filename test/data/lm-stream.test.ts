import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import { LmStream, splitValid } from '../../src/data/lm-stream.js';
import type { LmBatch } from '../../src/data/batches.js';
import { Rng } from '../../src/random.js';

const range = (a: number, b: number) => Int32Array.from({ length: b - a + 1 }, (_, i) => a + i);
const rows = (m: Int32Array, bs: number, seqLen: number) =>
  Array.from({ length: bs }, (_, r) => Array.from(m.subarray(r * seqLen, (r + 1) * seqLen)));

describe('LmStream (fastai LMDataLoader)', () => {
  it('reproduces spec §3 vector 1: docs 0..22, bs 4, seq_len 3', () => {
    const docs = [range(0, 4), range(5, 10), range(11, 18), range(19, 20), range(21, 22)];
    const stream = new LmStream(docs, { bs: 4, bptt: 3 });
    expect(stream.numBatches).toBe(2);
    expect(stream.lastLength).toBe(2);
    const batches = [...stream.batches()];
    expect(batches).toHaveLength(2);
    const [b0, b1] = batches as [LmBatch, LmBatch];
    expect(rows(b0.x, 4, 3)).toEqual([
      [0, 1, 2],
      [5, 6, 7],
      [10, 11, 12],
      [15, 16, 17],
    ]);
    expect(rows(b0.y, 4, 3)).toEqual([
      [1, 2, 3],
      [6, 7, 8],
      [11, 12, 13],
      [16, 17, 18],
    ]);
    expect(b1.seqLen).toBe(2);
    expect(rows(b1.x, 4, 2)).toEqual([
      [3, 4],
      [8, 9],
      [13, 14],
      [18, 19],
    ]);
    expect(rows(b1.y, 4, 2)).toEqual([
      [4, 5],
      [9, 10],
      [14, 15],
      [19, 20],
    ]);
    // tokens 21 and 22 are dropped
    const seen = new Set(batches.flatMap((b) => [...b.x, ...b.y]));
    expect(seen.has(21) || seen.has(22)).toBe(false);
  });

  it('reproduces spec §3 vector 2: docs 0..24', () => {
    const docs = [range(0, 4), range(5, 10), range(11, 18), range(19, 20), range(21, 23), range(24, 24)];
    const [b0, b1] = [...new LmStream(docs, { bs: 4, bptt: 3 }).batches()] as [LmBatch, LmBatch];
    expect(rows(b0.x, 4, 3)).toEqual([
      [0, 1, 2],
      [6, 7, 8],
      [12, 13, 14],
      [18, 19, 20],
    ]);
    expect(rows(b1.x, 4, 3)).toEqual([
      [3, 4, 5],
      [9, 10, 11],
      [15, 16, 17],
      [21, 22, 23],
    ]);
  });

  it('continues every row across batches (y0[:, -1] == x1[:, 0]) and y is x shifted by one', () => {
    const rng = new Rng(3);
    const docs = Array.from({ length: 40 }, (_, d) =>
      Int32Array.from({ length: 1 + rng.int(30) }, (_, i) => d * 100 + i),
    );
    const stream = new LmStream(docs, { bs: 5, bptt: 7, shuffle: true, rng: new Rng(9) });
    const batches = [...stream.batches()];
    expect(batches).toHaveLength(stream.numBatches);
    for (let k = 0; k + 1 < batches.length; k++) {
      const a = batches[k]!;
      const b = batches[k + 1]!;
      for (let r = 0; r < 5; r++) {
        expect(a.y[r * a.seqLen + a.seqLen - 1]).toBe(b.x[r * b.seqLen]);
        for (let j = 0; j + 1 < a.seqLen; j++) expect(a.y[r * a.seqLen + j]).toBe(a.x[r * a.seqLen + j + 1]);
      }
    }
  });

  it('shuffles document order once per pass from its rng; validation keeps dataset order', () => {
    const docs = Array.from({ length: 30 }, (_, d) => Int32Array.of(d, d, d, d));
    const firstTokens = (s: LmStream) => [...s.batches()].map((b) => Array.from(b.x));
    const valid = new LmStream(docs, { bs: 2, bptt: 4 });
    expect(firstTokens(valid)).toEqual(firstTokens(valid));
    expect([...valid.batches()][0]!.x[0]).toBe(0);

    const train = new LmStream(docs, { bs: 2, bptt: 4, shuffle: true, rng: new Rng(1) });
    const epoch1 = firstTokens(train);
    const epoch2 = firstTokens(train);
    expect(epoch1).not.toEqual(epoch2);
    // same rng state, same epoch
    const again = new LmStream(docs, { bs: 2, bptt: 4, shuffle: true, rng: new Rng(1) });
    expect(firstTokens(again)).toEqual(epoch1);
    // every document's tokens stay together: the stream is a permutation of whole documents
    const stream = epoch1.flat();
    expect(new Set(stream).size).toBeGreaterThan(20);
  });

  it('backwards reverses each document before concatenation', () => {
    const docs = [Int32Array.of(2, 10, 11, 12), Int32Array.of(2, 20, 21)];
    const [b] = [...new LmStream(docs, { bs: 1, bptt: 10 }).batches()];
    expect(Array.from(b!.x)).toEqual([2, 10, 11, 12, 2, 20]);
    const [back] = [...new LmStream(docs, { bs: 1, bptt: 10, backwards: true }).batches()];
    expect(Array.from(back!.x)).toEqual([12, 11, 10, 2, 21, 20]);
    expect(Array.from(back!.y)).toEqual([11, 10, 2, 21, 20, 2]);
  });

  it('handles empty documents, exact multiples, and too-small corpora', () => {
    const docs = [Int32Array.of(), range(0, 8), Int32Array.of(), Int32Array.of()];
    // T = 9 → corpus 8, bl 4, bptt 2 → two full batches
    const s = new LmStream(docs, { bs: 2, bptt: 2 });
    expect([s.numBatches, s.lastLength]).toEqual([2, 2]);
    const batches = [...s.batches()];
    expect(rows(batches[1]!.y, 2, 2)).toEqual([
      [3, 4],
      [7, 8],
    ]);
    expect(new LmStream([range(0, 3)], { bs: 4 }).numBatches).toBe(0);
    expect(new LmStream([], { bs: 4 }).numBatches).toBe(0);
    expect(() => new LmStream(docs, { bs: 0 })).toThrow(UlmfitError);
  });
});

describe('splitValid (fastai RandomSplitter)', () => {
  it('puts floor(pct·n) random documents in valid, the rest in train, reproducibly', () => {
    const split = splitValid(25, 0.1, new Rng(5));
    expect(split.valid).toHaveLength(2);
    expect(split.train).toHaveLength(23);
    expect([...split.train, ...split.valid].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 25 }, (_, i) => i),
    );
    expect(splitValid(25, 0.1, new Rng(5))).toEqual(split);
    expect(splitValid(25, 0.1, new Rng(6))).not.toEqual(split);
    expect(splitValid(10, 0, new Rng(1)).valid).toEqual([]);
    expect(() => splitValid(10, 1, new Rng(1))).toThrow(UlmfitError);
  });
});
