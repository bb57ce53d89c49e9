import { expect } from 'vitest';

/** Deterministic pseudo-random floats in [-1, 1). */
export function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = ((state >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** Float64 reference `a · b` for row-major `[m, k]`, `[k, n]`. */
export function matMulRef(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p]!;
      for (let j = 0; j < n; j++) out[i * n + j]! += x * b[p * n + j]!;
    }
  }
  return out;
}

export function expectClose(
  actual: Float32Array | Int32Array | Uint8Array,
  expected: Float64Array,
  k: number,
): void {
  expect(actual.length).toBe(expected.length);
  // float32 accumulation over k terms of size <= 1: error grows ~ sqrt(k) ulps of the sum's scale
  const tolerance = 1e-6 * Math.max(1, k);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThanOrEqual(tolerance);
}
