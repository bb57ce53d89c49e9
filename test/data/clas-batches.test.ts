import { describe, expect, it } from 'vitest';
import { padChunk, SortedBatches, sortedOrder } from '../../src/data/clas-batches.js';
import { Rng } from '../../src/random.js';

const rowsOf = (x: Int32Array, bs: number, width: number) =>
  Array.from({ length: bs }, (_, r) => Array.from(x.subarray(r * width, (r + 1) * width)));

describe('padChunk (fastai pad_chunk, spec §4.2)', () => {
  it('puts whole seq_len pad chunks first and the remainder last', () => {
    expect(Array.from(padChunk([1, 2, 3], 8, { seqLen: 3, padIdx: 0 }))).toEqual([0, 0, 0, 1, 2, 3, 0, 0]);
    expect(Array.from(padChunk([1, 2, 3], 8, { seqLen: 3, padIdx: 0, padFirst: false }))).toEqual([
      1, 2, 3, 0, 0, 0, 0, 0,
    ]);
    expect(Array.from(padChunk([7], 1))).toEqual([7]);
    expect(Array.from(padChunk([5, 6], 150))).toEqual([...new Array(144).fill(1), 5, 6, 1, 1, 1, 1]);
  });

  it('reproduces the batch vector: [1..6],[1,2,3],[1,2] with seq_len 2', () => {
    const docs = [Int32Array.of(1, 2, 3, 4, 5, 6), Int32Array.of(1, 2, 3), Int32Array.of(1, 2)];
    const [batch] = [...new SortedBatches(docs, [0, 1, 0], { bs: 3, seqLen: 2, padIdx: 0 }).batches()];
    expect(batch!.seqLen).toBe(6);
    expect(rowsOf(batch!.x, 3, 6)).toEqual([
      [1, 2, 3, 4, 5, 6],
      [0, 0, 1, 2, 3, 0],
      [0, 0, 0, 0, 1, 2],
    ]);
    expect(Array.from(batch!.y)).toEqual([0, 1, 0]);
    expect(Array.from(batch!.indices)).toEqual([0, 1, 2]);
  });
});

describe('SortedBatches (fastai SortedDL)', () => {
  const rng = new Rng(11);
  const lengths = Array.from({ length: 1000 }, () => 1 + rng.int(400));
  const docs = lengths.map((n, i) => Int32Array.from({ length: n }, () => i + 2)); // never the pad id 1
  const labels = Int32Array.from(lengths, (n) => n % 3);

  it('validation: every document once, longest first, no drop, y and indices aligned', () => {
    const source = new SortedBatches(docs, labels, { bs: 64 });
    expect(source.numBatches).toBe(16);
    const batches = [...source.batches()];
    const order = batches.flatMap((b) => Array.from(b.indices));
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    for (let i = 1; i < order.length; i++)
      expect(lengths[order[i - 1]!]!).toBeGreaterThanOrEqual(lengths[order[i]!]!);
    for (const b of batches) {
      b.indices.forEach((docIdx, r) => {
        expect(b.y[r]).toBe(labels[docIdx]);
        // the row holds its own document's tokens (document i is filled with i + 2) and pads
        const row = b.x.subarray(r * b.seqLen, (r + 1) * b.seqLen);
        expect(row.filter((t) => t === docIdx + 2).length).toBe(lengths[docIdx]);
      });
    }
    expect(batches[batches.length - 1]!.bs).toBe(1000 - 15 * 64);
  });

  it('ties keep dataset order, as Python sorted', () => {
    expect(sortedOrder([3, 5, 3, 5, 1], 2, null)).toEqual([1, 3, 0, 2, 4]);
  });

  it('training: longest document in the first batch, rows sorted inside batches, random middle, drop_last', () => {
    const source = new SortedBatches(docs, labels, { bs: 64, shuffle: true, rng: new Rng(4) });
    expect(source.numBatches).toBe(15);
    const batches = [...source.batches()];
    expect(batches).toHaveLength(15);
    const longest = lengths.indexOf(Math.max(...lengths));
    expect(batches[0]!.indices[0]).toBe(longest);
    for (const b of batches) {
      expect(b.bs).toBe(64);
      for (let r = 1; r < b.bs; r++)
        expect(lengths[b.indices[r - 1]!]!).toBeGreaterThanOrEqual(lengths[b.indices[r]!]!);
      expect(b.seqLen).toBe(lengths[b.indices[0]!]);
    }
    const seen = new Set(batches.flatMap((b) => Array.from(b.indices)));
    expect(seen.size).toBe(15 * 64);
    // another epoch gives another order; the same rng seed gives the same one
    const again = [...source.batches()].map((b) => Array.from(b.indices));
    expect(again).not.toEqual(batches.map((b) => Array.from(b.indices)));
    const replay = [...new SortedBatches(docs, labels, { bs: 64, shuffle: true, rng: new Rng(4) }).batches()];
    expect(replay.map((b) => Array.from(b.indices))).toEqual(batches.map((b) => Array.from(b.indices)));
  });

  it('training order is sorted within chunks of bs·50 and keeps the last batch last', () => {
    const lens = Array.from({ length: 23 }, (_, i) => (i * 7) % 23);
    const order = sortedOrder(lens, 2, new Rng(2));
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(lens[order[0]!]).toBe(22);
    // 23 items in one chunk (bs·50 = 100): batches are slices of one descending list, so the last
    // (incomplete) batch holds the shortest item and stays last
    expect(order[order.length - 1]).toBe(lens.indexOf(0));
    // ≤ 2 batches: fastai crashes on current numpy; here they are kept in order
    expect(sortedOrder([1, 4, 2], 2, new Rng(1))).toEqual([1, 2, 0]);
  });

  it('unlabeled input gets y = −1; backwards reverses documents before padding', () => {
    const docs2 = [Int32Array.of(2, 7, 8, 9), Int32Array.of(2, 5)];
    const [b] = [...new SortedBatches(docs2, null, { bs: 2, seqLen: 2, backwards: true }).batches()];
    expect(Array.from(b!.y)).toEqual([-1, -1]);
    expect(rowsOf(b!.x, 2, 4)).toEqual([
      [9, 8, 7, 2],
      [1, 1, 5, 2],
    ]);
  });
});
