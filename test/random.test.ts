import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';

describe('Rng', () => {
  it('repeats the same stream for the same seed and differs for another', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const seqA = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(seqA);
  });

  it('resumes from a saved state', () => {
    const a = new Rng(1);
    a.next();
    const saved = a.getState();
    const expected = [a.next(), a.next()];
    const b = new Rng(saved);
    expect([b.next(), b.next()]).toEqual(expected);
  });

  it('permutes without losing or duplicating items and stays in range', () => {
    const rng = new Rng(3);
    const perm = rng.permutation(100);
    expect([...perm].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (let i = 0; i < 1000; i++) {
      const v = rng.next();
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
  });
});
