import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import {
  sampleToken,
  softmax,
  tokenDistribution,
  validateSamplingOptions,
  type SamplingOptions,
} from '../../src/infer/sampling.js';
import { Rng } from '../../src/random.js';

/** Logits whose softmax is exactly `probs` (log of each). */
function logitsOf(probs: number[]): Float32Array {
  return Float32Array.from(probs, (p) => (p === 0 ? -Infinity : Math.log(p)));
}

/** The set of ids drawn in `n` samples. */
function support(logits: Float32Array, options: SamplingOptions, n = 2000, seed = 1): Set<number> {
  const rng = new Rng(seed);
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) seen.add(sampleToken(logits, options, rng));
  return seen;
}

const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);

describe('softmax', () => {
  it('is stable for huge logits and sums to 1', () => {
    const probs = softmax(Float32Array.of(1000, 1000, 999, -Infinity));
    expect(probs[0]).toBeCloseTo(probs[1]!, 12);
    expect(probs[2]! / probs[0]!).toBeCloseTo(Math.exp(-1), 6);
    expect(probs[3]).toBe(0);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('rejects NaN and +Infinity logits', () => {
    expect(() => softmax(Float32Array.of(0, NaN))).toThrow(/NaN/);
    expect(() => softmax(Float32Array.of(0, Infinity))).toThrow(/Infinity/);
  });
});

describe('greedy (temperature 0)', () => {
  const logits = Float32Array.of(0.1, 3, 2.9, -1, 5);

  it('always picks the highest allowed logit and consumes no randomness', () => {
    const rng = new Rng(7);
    const before = rng.getState();
    for (let i = 0; i < 20; i++) expect(sampleToken(logits, { temperature: 0 }, rng)).toBe(4);
    expect(rng.getState()).toEqual(before);
  });

  it('skips banned ids', () => {
    expect(sampleToken(logits, { temperature: 0, bannedIds: [4] }, new Rng(1))).toBe(1);
  });

  it('breaks ties by the lower id', () => {
    expect(sampleToken(Float32Array.of(1, 2, 2), { temperature: 0 }, new Rng(1))).toBe(1);
  });
});

describe('seeded sampling', () => {
  const logits = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i) * 2);

  it('gives the same sequence for the same seed and a different one for another seed', () => {
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 40 }, () => sampleToken(logits, { temperature: 1 }, rng));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it('draws with the softmax frequencies at temperature 1', () => {
    const logitsAbc = logitsOf([0.5, 0.3, 0.2]);
    const counts = [0, 0, 0];
    const rng = new Rng(3);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleToken(logitsAbc, { temperature: 1 }, rng)]!++;
    expect(counts[0]! / n).toBeCloseTo(0.5, 1);
    expect(counts[1]! / n).toBeCloseTo(0.3, 1);
    expect(counts[2]! / n).toBeCloseTo(0.2, 1);
  });

  it('applies temperature as fastai does: p^(1/T), renormalized', () => {
    const d = tokenDistribution(logitsOf([0.5, 0.3, 0.2]), { temperature: 0.5 });
    const raw = [0.25, 0.09, 0.04];
    const sum = raw.reduce((a, b) => a + b, 0);
    expect(Array.from(d.ids)).toEqual([0, 1, 2]);
    d.probs.forEach((p, r) => expect(p).toBeCloseTo(raw[r]! / sum, 6));
  });

  it('stays finite at a tiny temperature', () => {
    const d = tokenDistribution(Float32Array.of(10, 9.99, 0), { temperature: 1e-4 });
    expect(d.ids[0]).toBe(0);
    expect(d.probs[0]).toBeGreaterThan(0.99);
    for (const p of d.probs) expect(Number.isFinite(p)).toBe(true);
  });
});

describe('filters restrict the support', () => {
  const probs = [0.3, 0.25, 0.2, 0.15, 0.06, 0.04];
  const logits = logitsOf(probs);

  it('samples every token without filters', () => {
    expect(sorted(support(logits, { temperature: 1 }))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('top-k keeps the k most probable', () => {
    expect(sorted(support(logits, { temperature: 1, topK: 2 }))).toEqual([0, 1]);
    expect(sorted(support(logits, { temperature: 1, topK: 1 }))).toEqual([0]);
    expect(sorted(support(logits, { temperature: 1, topK: 100 }))).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('top-p keeps the smallest prefix reaching the mass, including the crossing token', () => {
    // 0.3 + 0.25 = 0.55 < 0.6, so token 2 is needed to reach 0.6.
    expect(sorted(support(logits, { temperature: 1, topP: 0.6 }))).toEqual([0, 1, 2]);
    expect(sorted(support(logits, { temperature: 1, topP: 0.5 }))).toEqual([0, 1]);
    expect(sorted(support(logits, { temperature: 1, topP: 0.01 }))).toEqual([0]);
    expect(sorted(support(logits, { temperature: 1, topP: 1 }))).toEqual([0, 1, 2, 3, 4, 5]);
    const d = tokenDistribution(logits, { temperature: 1, topP: 0.6 });
    expect(d.probs[0]).toBeCloseTo(0.3 / 0.75, 6);
  });

  it("min-p is fastai's absolute threshold on the temperature-1 probabilities", () => {
    expect(sorted(support(logits, { temperature: 1, minP: 0.1 }))).toEqual([0, 1, 2, 3]);
    // At temperature 2 the small tokens would be more likely, but min-p looks at T = 1.
    expect(sorted(support(logits, { temperature: 2, minP: 0.18 }))).toEqual([0, 1, 2]);
  });

  it('min-p is skipped (and says so) when it would remove every token', () => {
    const d = tokenDistribution(logits, { temperature: 1, minP: 0.9 });
    expect(d.minPSkipped).toBe(true);
    expect(d.ids.length).toBe(6);
    expect(tokenDistribution(logits, { temperature: 1, minP: 0.1 }).minPSkipped).toBe(false);
  });

  it('matches a brute-force sort on a large random vocabulary', () => {
    const rng = new Rng(5);
    const big = Float32Array.from({ length: 3000 }, () => rng.normal() * 2);
    const weights = Array.from(big, (l, id) => ({ id, w: Math.exp(l / 0.7) })).sort((a, b) => b.w - a.w);
    const total = weights.reduce((sum, t) => sum + t.w, 0);
    let before = 0;
    const nucleus = weights.filter((t) => {
      const keep = before < 0.5 * total;
      before += t.w;
      return keep;
    });
    const d = tokenDistribution(big, { temperature: 0.7, topP: 0.5 });
    expect(Array.from(d.ids)).toEqual(nucleus.map((t) => t.id));
    const top = tokenDistribution(big, { temperature: 0.7, topK: 25 });
    expect(Array.from(top.ids)).toEqual(weights.slice(0, 25).map((t) => t.id));
    expect(top.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('combines top-k and top-p', () => {
    // top-k 4 renormalizes to 0.3/0.9, 0.25/0.9, ...; 0.333 + 0.278 = 0.611 ≥ 0.6.
    expect(sorted(support(logits, { temperature: 1, topK: 4, topP: 0.6 }))).toEqual([0, 1]);
  });
});

describe('banned ids', () => {
  it('are never sampled, even when they are the most likely token', () => {
    const logits = Float32Array.of(5, 5, 0, 0, 0);
    const seen = support(logits, { temperature: 1.5, bannedIds: [0, 1] }, 3000);
    expect(seen.has(0)).toBe(false);
    expect(seen.has(1)).toBe(false);
    expect(sorted(seen)).toEqual([2, 3, 4]);
  });

  it('still count in the temperature-1 probabilities that min-p sees (as fastai)', () => {
    // p = softmax([ln 0.8, ln 0.1, ln 0.06, ln 0.04]); banning 0 leaves 0.1, 0.06, 0.04.
    const d = tokenDistribution(logitsOf([0.8, 0.1, 0.06, 0.04]), {
      temperature: 1,
      bannedIds: [0],
      minP: 0.05,
    });
    expect(Array.from(d.ids)).toEqual([1, 2]);
    expect(d.probs[0]).toBeCloseTo(0.1 / 0.16, 6);
  });

  it('fall back to the allowed tokens when their probabilities underflow', () => {
    const logits = Float32Array.of(2000, 0, 1);
    expect(sorted(support(logits, { temperature: 1, bannedIds: [0] }, 500))).toEqual([1, 2]);
  });

  it('reject ids outside the vocabulary and a vocabulary with nothing allowed', () => {
    expect(() => sampleToken(Float32Array.of(1, 2), { temperature: 1, bannedIds: [2] }, new Rng(1))).toThrow(
      RangeError,
    );
    expect(() =>
      sampleToken(Float32Array.of(1, 2), { temperature: 1, bannedIds: [0, 1] }, new Rng(1)),
    ).toThrow(/every token/);
  });
});

describe('option validation', () => {
  const bad: [SamplingOptions, RegExp][] = [
    [{ temperature: -0.1 }, /temperature/],
    [{ temperature: NaN }, /temperature/],
    [{ temperature: 1, topK: 0 }, /top-k/],
    [{ temperature: 1, topK: 2.5 }, /top-k/],
    [{ temperature: 1, topP: 0 }, /top-p/],
    [{ temperature: 1, topP: 1.01 }, /top-p/],
    [{ temperature: 1, minP: -0.1 }, /min-p/],
    [{ temperature: 1, minP: 2 }, /min-p/],
  ];
  it.each(bad)('rejects %o as a usage error', (options, message) => {
    let caught: unknown;
    try {
      validateSamplingOptions(options);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UlmfitError);
    expect((caught as UlmfitError).exitCode).toBe(2);
    expect((caught as UlmfitError).message).toMatch(message);
  });

  it('accepts the edges of each range', () => {
    expect(() => validateSamplingOptions({ temperature: 0, topK: 1, topP: 1, minP: 0 })).not.toThrow();
  });
});
