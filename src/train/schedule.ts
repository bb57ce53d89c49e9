import { usageError } from '../errors.js';

/**
 * Learning-rate and momentum schedules (fastai `callback/schedule.py`).
 * Pure functions of the training position `pos` in [0, 1): no state, so a resumed run recomputes
 * exactly the values an uninterrupted one used.
 */

/** fastai's text learners train with moms (0.8, 0.7, 0.8), not the Learner default (0.95, 0.85, 0.95). */
export const TEXT_MOMS: readonly [number, number, number] = [0.8, 0.7, 0.8];

/** fastai `sched_cos`: cosine from `start` (pos 0) to `end` (pos 1). */
export function schedCos(start: number, end: number, pos: number): number {
  return start + ((1 + Math.cos(Math.PI * (1 - pos))) * (end - start)) / 2;
}

/** fastai `sched_exp`: exponential from `start` (pos 0) to `end` (pos 1), used by the LR finder. */
export function schedExp(start: number, end: number, pos: number): number {
  return start * (end / start) ** pos;
}

/**
 * fastai `combined_cos(pct, start, middle, end)`: cosine `start → middle` over the first `pct` of
 * training, then cosine `middle → end` over the rest.
 *
 * fastai computes the inner position in float32 (its `pcts` are a torch tensor); this computes it
 * in float64, a difference of about 1e-7 relative in the position.
 */
export function combinedCos(
  pct: number,
  start: number,
  middle: number,
  end: number,
): (pos: number) => number {
  return (pos: number) =>
    pos < pct ? schedCos(start, middle, pos / pct) : schedCos(middle, end, (pos - pct) / (1 - pct));
}

export interface OneCycleOptions {
  /** lr starts at lrMax / div. */
  div?: number;
  /** lr ends at lrMax / divFinal. */
  divFinal?: number;
  /** Fraction of training spent warming up to lrMax. */
  pctStart?: number;
  /** β1 schedule (start, middle, end); the text learners' default. */
  moms?: readonly [number, number, number];
}

/** The hyper-parameters for one training batch. */
export interface StepHypers {
  /** One learning rate per parameter group. */
  lrs: number[];
  /** β1, the same for every group. */
  mom: number;
}

/**
 * fastai `fit_one_cycle`'s schedules: per-group lr `combined_cos(pct_start, lrMax/div, lrMax,
 * lrMax/div_final)` and momentum `combined_cos(pct_start, *moms)`.
 *
 * @param lrMax the peak learning rate of each parameter group
 * @returns the hypers at position `pos` = (batches done) / (epochs · batches per epoch)
 */
export function oneCycle(
  lrMax: readonly number[],
  options: OneCycleOptions = {},
): (pos: number) => StepHypers {
  const div = options.div ?? 25;
  const divFinal = options.divFinal ?? 1e5;
  const pct = options.pctStart ?? 0.25;
  const [momStart, momMid, momEnd] = options.moms ?? TEXT_MOMS;
  const lrScheds = lrMax.map((lr) => combinedCos(pct, lr / div, lr, lr / divFinal));
  const momSched = combinedCos(pct, momStart, momMid, momEnd);
  return (pos: number) => ({ lrs: lrScheds.map((sched) => sched(pos)), mom: momSched(pos) });
}

/**
 * fastai `even_mults(start, stop, n)`: `n` values from `start` to `stop` in geometric steps, used
 * for discriminative learning rates (lowest group gets `start`, the last gets `stop`).
 * With n = 1 fastai divides by zero; this returns `[stop]`.
 */
export function evenMults(start: number, stop: number, n: number): number[] {
  if (n <= 1) return n === 1 ? [stop] : [];
  const step = (stop / start) ** (1 / (n - 1));
  return Array.from({ length: n }, (_, i) => start * step ** i);
}

/**
 * A learning-rate setting as fastai's `set_hyper` accepts it: one lr for every group, one per
 * group, or a `slice(lo, hi)` (`lo` undefined is fastai's `slice(None, hi)`).
 */
export type LrSpec = number | readonly number[] | LrSlice;

export interface LrSlice {
  lo?: number | undefined;
  hi: number;
}

/**
 * The learning rate of each of `nGroups` groups (fastai `_BaseOptimizer.set_hyper`):
 * - a number: every group gets it;
 * - `{lo, hi}`: `evenMults(lo, hi, nGroups)`;
 * - `{hi}`: `hi/10` for every group but the last, which gets `hi`;
 * - an array: used as is (length must be 1 or nGroups).
 */
export function groupLrs(spec: LrSpec, nGroups: number): number[] {
  if (typeof spec === 'number') return new Array<number>(nGroups).fill(spec);
  if (isLrSlice(spec)) {
    if (spec.lo !== undefined) return evenMults(spec.lo, spec.hi, nGroups);
    return [...new Array<number>(Math.max(nGroups - 1, 0)).fill(spec.hi / 10), spec.hi].slice(-nGroups);
  }
  if (spec.length === 1) return new Array<number>(nGroups).fill(spec[0] as number);
  if (spec.length !== nGroups) {
    throw usageError(
      `${spec.length} learning rates given for ${nGroups} parameter groups`,
      `give one lr, ${nGroups} comma-separated lrs, or a range lo:hi`,
    );
  }
  return [...spec];
}

function isLrSlice(spec: LrSpec): spec is LrSlice {
  return typeof spec === 'object' && !Array.isArray(spec);
}

/**
 * Parses a learning rate as written on the command line:
 * - `2e-3` → 2e-3 (every group);
 * - `1e-4:1e-2` → `{lo: 1e-4, hi: 1e-2}` (discriminative, `even_mults`);
 * - `:1e-2` → `{hi: 1e-2}` (fastai `slice(1e-2)`);
 * - `1e-3,2e-3,5e-3` → one lr per group.
 * Expressions like `1e-2/2.6^4` are accepted inside each number (the recipe writes them so).
 */
export function parseLr(text: string): LrSpec {
  const trimmed = text.trim();
  if (trimmed.includes(':')) {
    const parts = trimmed.split(':');
    if (parts.length !== 2) throw badLr(text);
    const [loText, hiText] = parts as [string, string];
    const hi = parseLrNumber(hiText, text);
    if (loText.trim() === '') return { hi };
    const lo = parseLrNumber(loText, text);
    if (lo > hi)
      throw usageError(`learning-rate range ${text} goes down`, 'write it low:high, e.g. 1e-4:1e-2');
    return { lo, hi };
  }
  if (trimmed.includes(',')) return trimmed.split(',').map((part) => parseLrNumber(part, text));
  return parseLrNumber(trimmed, text);
}

/** A positive number, optionally `a/b^c` or `a/b**c` (fastbook writes `1e-2/(2.6**4)`). */
function parseLrNumber(part: string, whole: string): number {
  const match =
    /^\s*\(?\s*([0-9.eE+-]+)\s*(?:\/\s*\(?\s*([0-9.eE+-]+)\s*(?:(?:\^|\*\*)\s*([0-9.eE+-]+))?\s*\)?)?\s*\)?\s*$/.exec(
      part,
    );
  if (!match) throw badLr(whole);
  let value = Number(match[1]);
  if (match[2] !== undefined) value /= Number(match[2]) ** (match[3] !== undefined ? Number(match[3]) : 1);
  if (!Number.isFinite(value) || value <= 0) throw badLr(whole);
  return value;
}

function badLr(text: string) {
  return usageError(
    `cannot read learning rate "${text}"`,
    'write a positive number (2e-3), a range lo:hi (1e-4:1e-2), or one lr per group (1e-3,1e-2)',
  );
}
