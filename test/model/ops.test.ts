import { describe, expect, it } from 'vitest';
import { timeMajorIds } from '../../src/model/ops.js';

describe('timeMajorIds', () => {
  it('transposes row-major [bs, T] ids to [T, bs]', () => {
    const t = timeMajorIds(Int32Array.from([1, 2, 3, 4, 5, 6]), 2, 3);
    expect(t.arraySync()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    t.dispose();
  });
});
