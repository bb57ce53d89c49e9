import { UlmfitError, usageError } from '../errors.js';
import type { Rng } from '../random.js';

/**
 * Choosing the next token from a language model's logits. Pure functions: no tensors, no I/O; all
 * randomness comes from the caller's Rng, so the same seed picks the same tokens.
 *
 * The order follows fastai's `LMLearner.predict` (fastai/text/learner.py) and adds top-k / top-p:
 *   1. p = softmax(logits) over the whole vocabulary (temperature 1, as fastai)
 *   2. banned ids (xxunk with no-unk, xxpad) get p = 0
 *   3. min-p, fastai's definition: drop every token with p < minP (an absolute threshold, not
 *      relative to the top token), unless that would drop every token, in which case it is
 *      skipped (fastai only warns then)
 *   4. temperature T: q ∝ p^(1/T) on what is left (= softmax(logits / T) restricted to it);
 *      T = 0 is greedy: the highest logit that survived step 2
 *   5. top-k: keep the k most probable tokens
 *   6. top-p (nucleus): keep the smallest most-probable prefix whose mass reaches topP
 *   7. draw one token from what is left, renormalized
 */
export interface SamplingOptions {
  /** ≥ 0; 1 leaves the distribution as is, < 1 sharpens it, 0 is greedy argmax. */
  temperature: number;
  /** Keep only the k most probable tokens (integer ≥ 1); undefined keeps all. */
  topK?: number | undefined;
  /** Nucleus sampling: cumulative probability to keep, in (0, 1]; undefined keeps all. */
  topP?: number | undefined;
  /** fastai's min_p: drop tokens whose probability is below this, in [0, 1]. */
  minP?: number | undefined;
  /** Token ids that are never chosen (xxunk with no-unk, xxpad). */
  bannedIds?: readonly number[] | undefined;
}

/** The tokens that can be drawn at one step and their (normalized) probabilities. */
export interface TokenDistribution {
  /**
   * Candidate token ids: most probable first (ties: lower id first) when top-k or top-p is set,
   * otherwise in id order (sorting a whole vocabulary every step would cost more than the model).
   */
  ids: Int32Array;
  /** probs[i] is the probability of ids[i]; they sum to 1. */
  probs: Float64Array;
  /** True when min-p would have removed every token and was therefore not applied. */
  minPSkipped: boolean;
}

/** Throws a usage error (exit code 2 at the CLI) for options outside their valid ranges. */
export function validateSamplingOptions(options: SamplingOptions): void {
  const { temperature, topK, topP, minP } = options;
  if (!Number.isFinite(temperature) || temperature < 0) {
    throw usageError(
      `temperature must be a number ≥ 0, got ${temperature}`,
      'use 1 for plain sampling, 0 for greedy',
    );
  }
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) {
    throw usageError(
      `top-k must be an integer ≥ 1, got ${topK}`,
      'e.g. 40; leave it out to keep every token',
    );
  }
  if (topP !== undefined && (!Number.isFinite(topP) || topP <= 0 || topP > 1)) {
    throw usageError(`top-p must be in (0, 1], got ${topP}`, 'e.g. 0.9; leave it out to keep every token');
  }
  if (minP !== undefined && (!Number.isFinite(minP) || minP < 0 || minP > 1)) {
    throw usageError(
      `min-p must be in [0, 1], got ${minP}`,
      "it is fastai's absolute probability threshold, e.g. 0.01",
    );
  }
}

/**
 * Numerically stable softmax in float64: subtracts the max before exponentiating, so large
 * logits do not overflow. -Infinity logits get probability 0.
 * @param logits [vocab]
 * @returns [vocab] probabilities summing to 1
 */
export function softmax(logits: Float32Array): Float64Array {
  checkLogits(logits);
  return softmaxUnchecked(logits);
}

function softmaxUnchecked(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  const probs = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i]! - max);
    probs[i] = e;
    sum += e;
  }
  for (let i = 0; i < probs.length; i++) probs[i]! /= sum;
  return probs;
}

/**
 * The distribution the next token is drawn from, after every filter (steps 1-6 above). With
 * temperature 0 it holds the single greedy token.
 * @param logits [vocab] unnormalized scores at the last position
 */
export function tokenDistribution(logits: Float32Array, options: SamplingOptions): TokenDistribution {
  validateSamplingOptions(options);
  checkLogits(logits); // NaN would silently lose every comparison in the greedy argmax
  const allowed = allowedMask(logits, options.bannedIds);

  if (options.temperature === 0) {
    // Greedy: argmax over logits directly (exact even when probabilities underflow). min-p,
    // top-k and top-p never remove the most probable token, so they cannot change it.
    return {
      ids: Int32Array.of(argmaxAllowed(logits, allowed)),
      probs: Float64Array.of(1),
      minPSkipped: false,
    };
  }

  // Steps 2-3: the banned ids removed, then fastai's min-p on the temperature-1 probabilities
  // (banned tokens still count in their sum). Without min-p those probabilities are not needed:
  // step 4 works from the logits, so only one exp pass runs per token.
  let candidates = allowedIds(logits, allowed);
  let minPSkipped = false;
  if (options.minP !== undefined && options.minP > 0) {
    const probs = softmaxUnchecked(logits);
    const minP = options.minP;
    const kept = candidates.filter((i) => probs[i]! >= minP);
    if (kept.length > 0) candidates = kept;
    else minPSkipped = true;
  }

  // Step 4: temperature in log space, q_i ∝ exp((logit_i - maxLogit) / T) (= p_i^(1/T) up to
  // normalization), stable for small T.
  let maxLogit = -Infinity;
  for (let c = 0; c < candidates.length; c++) maxLogit = Math.max(maxLogit, logits[candidates[c]!]!);
  const weights = new Float64Array(candidates.length);
  const inverseT = 1 / options.temperature;
  for (let c = 0; c < candidates.length; c++)
    weights[c] = Math.exp((logits[candidates[c]!]! - maxLogit) * inverseT);

  const filtered = options.topK !== undefined || (options.topP !== undefined && options.topP < 1);
  if (!filtered) return normalized(candidates, weights, minPSkipped);

  // Steps 5-6 on the weights alone: how many tokens survive, and the smallest weight kept. The
  // weights come off a max-heap in descending order, so only as many as survive are ordered
  // (sorting a 60k vocabulary every step would cost more than the model).
  const heap = new MaxHeap(weights);
  const descending: number[] = [];
  const nth = (r: number): number => {
    while (descending.length <= r) descending.push(heap.pop());
    return descending[r]!;
  };
  const m = weights.length;
  let keep = Math.min(m, options.topK ?? m);
  if (options.topP !== undefined && options.topP < 1) {
    let total = 0;
    if (keep < m) for (let r = 0; r < keep; r++) total += nth(r);
    else for (let c = 0; c < m; c++) total += weights[c]!;
    // A token stays while the mass before it is below topP, so the token that crosses the
    // threshold is kept and at least one token always survives.
    let before = 0;
    let r = 0;
    while (r < keep && before < options.topP * total) before += nth(r++);
    keep = Math.max(1, r);
  }
  const threshold = nth(keep - 1);

  // Only the tokens at or above the threshold need ordering: most probable first, ties by id,
  // so which of several equal tokens survives never depends on the sort algorithm.
  const order: number[] = [];
  for (let c = 0; c < m; c++) if (weights[c]! >= threshold) order.push(c);
  order.sort((a, b) => weights[b]! - weights[a]! || candidates[a]! - candidates[b]!);
  order.length = keep;
  return normalized(
    Int32Array.from(order, (c) => candidates[c]!),
    Float64Array.from(order, (c) => weights[c]!),
    minPSkipped,
  );
}

/** A binary max-heap of numbers (a copy of the input, heapified in O(n)). */
class MaxHeap {
  private readonly values: Float64Array;
  private size: number;

  constructor(values: Float64Array) {
    this.values = Float64Array.from(values);
    this.size = values.length;
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** Removes and returns the largest value. */
  pop(): number {
    const top = this.values[0]!;
    this.size--;
    this.values[0] = this.values[this.size]!;
    this.siftDown(0);
    return top;
  }

  private siftDown(start: number): void {
    const v = this.values;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) return;
      const child = left + 1 < this.size && v[left + 1]! > v[left]! ? left + 1 : left;
      if (v[child]! <= v[i]!) return;
      const tmp = v[i]!;
      v[i] = v[child]!;
      v[child] = tmp;
      i = child;
    }
  }
}

/** Draws one id from a distribution with one uniform number from `rng`. */
export function drawToken(distribution: TokenDistribution, rng: Rng): number {
  const { ids, probs } = distribution;
  if (ids.length === 1) return ids[0]!;
  const u = rng.next();
  let cumulative = 0;
  for (let r = 0; r < ids.length; r++) {
    cumulative += probs[r]!;
    if (u < cumulative) return ids[r]!;
  }
  // Rounding left the cumulative sum a hair under 1 and u above it.
  return ids[ids.length - 1]!;
}

/**
 * Picks the next token id: the greedy argmax at temperature 0 (no randomness consumed), else a
 * draw from `tokenDistribution`.
 * @param logits [vocab]
 */
export function sampleToken(logits: Float32Array, options: SamplingOptions, rng: Rng): number {
  return drawToken(tokenDistribution(logits, options), rng);
}

/** A model that produced NaN or +Infinity is broken; sampling from it would hide that. */
function checkLogits(logits: Float32Array): void {
  if (logits.length === 0) throw new Error('sampling: empty logits');
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (Number.isNaN(v) || v === Infinity) {
      throw new UlmfitError(
        'E_NUMERIC',
        `sampling: logit ${i} is ${v}; the model's weights or inputs are broken`,
        'the model overflowed: use another model or a shorter prompt',
      );
    }
  }
}

/** The allowed ids with a finite logit, in id order. */
function allowedIds(logits: Float32Array, allowed: Uint8Array): Int32Array {
  const ids = new Int32Array(logits.length);
  let count = 0;
  for (let i = 0; i < logits.length; i++) if (allowed[i] === 1 && logits[i]! > -Infinity) ids[count++] = i;
  return ids.slice(0, count);
}

/** The first allowed id with the highest logit. */
function argmaxAllowed(logits: Float32Array, allowed: Uint8Array): number {
  let best = -1;
  for (let i = 0; i < logits.length; i++)
    if (allowed[i] && (best < 0 || logits[i]! > logits[best]!)) best = i;
  return best;
}

/** Divides `weights` by their sum. */
function normalized(ids: Int32Array, weights: Float64Array, minPSkipped: boolean): TokenDistribution {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i]!;
  const probs = new Float64Array(weights.length);
  for (let i = 0; i < weights.length; i++) probs[i] = weights[i]! / total;
  return { ids, probs, minPSkipped };
}

/** allowed[i] is 1 unless id i is banned; throws if nothing is allowed. */
function allowedMask(logits: Float32Array, bannedIds: readonly number[] | undefined): Uint8Array {
  checkLogits(logits);
  const allowed = new Uint8Array(logits.length).fill(1);
  for (const id of bannedIds ?? []) {
    if (!Number.isInteger(id) || id < 0 || id >= logits.length) {
      throw new RangeError(`sampling: banned id ${id} is outside the vocabulary of ${logits.length}`);
    }
    allowed[id] = 0;
  }
  let any = false;
  for (let i = 0; i < allowed.length && !any; i++) {
    if (allowed[i] && logits[i]! > -Infinity) any = true;
  }
  if (!any) throw new Error('sampling: every token is banned or has probability 0');
  return allowed;
}
