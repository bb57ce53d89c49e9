/**
 * Limited-memory BFGS (Nocedal & Wright, algorithm 7.4) with a backtracking Armijo line search,
 * for the baseline's smooth convex objectives. Deterministic: plain float64 loops, no randomness,
 * so the same data always gives the same weights.
 */

export interface LbfgsOptions {
  /** Iterations at most (default 500). */
  maxIter?: number;
  /** Correction pairs kept (default 10). */
  memory?: number;
  /** Stop when the largest gradient entry is at most this (default 1e-5). */
  gtol?: number;
  /** Stop when an iteration lowers f by at most `ftol · max(|f|, 1)` (default 1e-9). */
  ftol?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  /** Objective evaluations (line-search trials included). */
  evaluations: number;
  converged: boolean;
}

/**
 * Minimizes `fg`, which returns f(x) and writes ∇f(x) into `grad`.
 * @param x0 the start (not modified)
 */
export function lbfgs(
  fg: (x: Float64Array, grad: Float64Array) => number,
  x0: Float64Array,
  options: LbfgsOptions = {},
): LbfgsResult {
  const maxIter = options.maxIter ?? 500;
  const m = options.memory ?? 10;
  const gtol = options.gtol ?? 1e-5;
  const ftol = options.ftol ?? 1e-9;
  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = fg(x, g);
  let evaluations = 1;
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(m);
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const dot = (a: Float64Array, b: Float64Array): number => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += a[i]! * b[i]!;
    return sum;
  };
  const maxAbs = (a: Float64Array): number => {
    let max = 0;
    for (let i = 0; i < n; i++) max = Math.max(max, Math.abs(a[i]!));
    return max;
  };
  let iterations = 0;
  let converged = maxAbs(g) <= gtol;
  while (!converged && iterations < maxIter) {
    // Two-loop recursion: d = -H·g.
    for (let i = 0; i < n; i++) d[i] = -g[i]!;
    for (let k = s.length - 1; k >= 0; k--) {
      alpha[k] = rho[k]! * dot(s[k]!, d);
      const a = alpha[k]!;
      const yk = y[k]!;
      for (let i = 0; i < n; i++) d[i]! -= a * yk[i]!;
    }
    if (s.length > 0) {
      const last = s.length - 1;
      const gamma = dot(s[last]!, y[last]!) / dot(y[last]!, y[last]!);
      for (let i = 0; i < n; i++) d[i]! *= gamma;
    }
    for (let k = 0; k < s.length; k++) {
      const beta = rho[k]! * dot(y[k]!, d);
      const sk = s[k]!;
      const a = alpha[k]!;
      for (let i = 0; i < n; i++) d[i]! += (a - beta) * sk[i]!;
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      s.length = 0;
      y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i]!;
      slope = dot(g, d);
    }
    // The first step is scaled so that it moves x by at most 1; later ones start at 1.
    let step = s.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = Infinity;
    let accepted = false;
    for (let trial = 0; trial < 40; trial++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * d[i]!;
      fNew = fg(xNew, gNew);
      evaluations++;
      if (fNew <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    iterations++;
    if (!accepted) break; // no progress possible at float64 precision
    const sk = new Float64Array(n);
    const yk = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sk[i] = xNew[i]! - x[i]!;
      yk[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12 * Math.sqrt(dot(sk, sk) * dot(yk, yk))) {
      if (s.length === m) {
        s.shift();
        y.shift();
        rho.shift();
      }
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
    }
    const decrease = f - fNew;
    x.set(xNew);
    g.set(gNew);
    f = fNew;
    converged = maxAbs(g) <= gtol || decrease <= ftol * Math.max(Math.abs(f), 1);
  }
  return { x, f, iterations, evaluations, converged };
}
