import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import { combinedCos, evenMults, groupLrs, oneCycle, parseLr, schedExp } from '../../src/train/schedule.js';

describe('combinedCos', () => {
  it("matches fastai's notebook vector (spec §6.6)", () => {
    const sched = combinedCos(0.25, 0.5, 1, 0);
    const got = [0, 0.1, 0.25, 0.5, 1].map(sched);
    const want = [0.5, 0.67275, 1, 0.75, 0];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });
});

describe('oneCycle', () => {
  it('gives the lr/mom table of spec §6.6 for lr_max 2e-2 and text moms', () => {
    const sched = oneCycle([2e-2]);
    const table: [number, number, number][] = [
      [0, 8.0e-4, 0.8],
      [0.1, 7.433e-3, 0.76545],
      [0.25, 2e-2, 0.7],
      [0.5, 1.5e-2, 0.725],
      [0.75, 5.0e-3, 0.775],
      [1.0, 2e-7, 0.8],
    ];
    for (const [pos, lr, mom] of table) {
      const h = sched(pos);
      expect(h.lrs[0]! / lr).toBeCloseTo(1, 3);
      expect(h.mom).toBeCloseTo(mom, 5);
    }
  });

  it('schedules every group from its own lr_max and honours div/pct_start/moms', () => {
    const sched = oneCycle([1e-3, 1e-2], { div: 10, divFinal: 100, pctStart: 0.5, moms: [0.95, 0.85, 0.95] });
    expect(sched(0).lrs).toEqual([1e-4, 1e-3]);
    expect(sched(0.5).lrs).toEqual([1e-3, 1e-2]);
    expect(sched(1).lrs[1]).toBeCloseTo(1e-4, 12);
    expect(sched(0).mom).toBeCloseTo(0.95, 12);
    expect(sched(0.5).mom).toBeCloseTo(0.85, 12);
  });
});

describe('evenMults and groupLrs (spec §6.5)', () => {
  it('slice(lr/2.6**4, lr) over 5 classifier groups steps by 2.6', () => {
    const lrs = groupLrs({ lo: 1e-2 / 2.6 ** 4, hi: 1e-2 }, 5);
    const want = [2.1883e-4, 5.6896e-4, 1.4793e-3, 3.8462e-3, 1e-2];
    lrs.forEach((lr, i) => expect(lr / want[i]!).toBeCloseTo(1, 4));
  });

  it('steps by 2.6^(4/3) over the 4 LM groups', () => {
    const lrs = evenMults(1e-2 / 2.6 ** 4, 1e-2, 4);
    expect(lrs[1]! / lrs[0]!).toBeCloseTo(2.6 ** (4 / 3), 10);
    expect(lrs[3]).toBeCloseTo(1e-2, 15);
  });

  it('a plain lr goes to every group; slice(None, hi) gives hi/10 below the last', () => {
    expect(groupLrs(2e-3, 3)).toEqual([2e-3, 2e-3, 2e-3]);
    expect(groupLrs({ hi: 1e-2 }, 4)).toEqual([1e-3, 1e-3, 1e-3, 1e-2]);
    expect(groupLrs([1, 2], 2)).toEqual([1, 2]);
    expect(groupLrs([5], 3)).toEqual([5, 5, 5]);
    expect(evenMults(1, 4, 1)).toEqual([4]);
    expect(() => groupLrs([1, 2], 3)).toThrow(UlmfitError);
  });
});

describe('parseLr', () => {
  it('reads a number, a lo:hi range, :hi, a list, and fastbook-style expressions', () => {
    expect(parseLr('2e-3')).toBe(2e-3);
    expect(parseLr('1e-4:1e-2')).toEqual({ lo: 1e-4, hi: 1e-2 });
    expect(parseLr(':1e-2')).toEqual({ hi: 1e-2 });
    expect(parseLr('1e-3,2e-3')).toEqual([1e-3, 2e-3]);
    const range = parseLr('1e-2/2.6^4:1e-2') as { lo: number; hi: number };
    expect(range.lo).toBeCloseTo(1e-2 / 2.6 ** 4, 15);
    expect((parseLr('5e-3/(2.6**4):5e-3') as { lo: number }).lo).toBeCloseTo(5e-3 / 2.6 ** 4, 15);
  });

  it('rejects nonsense with a usage error', () => {
    for (const bad of ['abc', '-1', '0', '1e-2:1e-4', '1:2:3', '']) {
      expect(() => parseLr(bad), bad).toThrow(UlmfitError);
    }
  });
});

describe('schedExp', () => {
  it('is the LR finder curve from start to end', () => {
    expect(schedExp(1e-7, 10, 0)).toBe(1e-7);
    expect(schedExp(1e-7, 10, 1)).toBeCloseTo(10, 10);
    expect(schedExp(1e-7, 10, 0.5)).toBeCloseTo(Math.sqrt(1e-6), 12);
  });
});
