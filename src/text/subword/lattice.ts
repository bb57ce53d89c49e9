/**
 * The segmentation lattice of one word under the trainer's current pieces (unigram_model.cc
 * `Lattice` + `PopulateNodes`), with the three passes the trainer needs: forward-backward
 * (expected piece counts for EM), Viterbi (the best segmentation), and the two best
 * segmentations (what a piece would be split into if it were removed).
 *
 * A node is a piece occurrence [begin, end) in symbols. Nodes are stored in flat typed arrays in
 * order of `begin`, so one pass in that order is a valid topological order for every DP here.
 */
import { DoubleArrayTrie } from './double-array.js';

/** SentencePiece gives an unknown character the lowest piece score minus this. */
export const UNK_PENALTY = 10;

/**
 * The id an unknown-character node carries in training. SentencePiece's trainer model leaves its
 * unknown id at the default 0, so expected counts of unknown characters are credited to piece 0
 * (the most frequent character). We do the same, to train the same model.
 */
export const TRAINER_UNK_ID = 0;

const f32 = Math.fround;

/**
 * Words up to this many symbols use plain probabilities in forward-backward: a piece has
 * probability ≥ e^-60 or so, and 64 of them stay far above the smallest double.
 */
const MAX_LINEAR_LENGTH = 64;
/** Below this, a plain-probability Z may have lost precision: recompute in log space. */
const MIN_LINEAR_Z = 1e-250;

export class Lattice {
  nodeCount = 0;
  nodeBegin = new Int32Array(256);
  nodeEnd = new Int32Array(256);
  nodeId = new Int32Array(256);
  nodeScore = new Float64Array(256);
  /** exp(score), filled when `build` is given piece probabilities. */
  nodeProb = new Float64Array(256);
  /** Symbols in the current word. */
  length = 0;
  private posA = new Float64Array(64);
  private posB = new Float64Array(64);
  private posBestNode = new Int32Array(64);

  /**
   * Fills the lattice of symbols[start, end) with every piece the trie holds (`pieceOf[value]`:
   * the piece id, or -1 for a removed piece) and an unknown node wherever no one-symbol piece
   * starts. With `probs` (exp of the scores), node probabilities are filled too.
   */
  build(
    symbols: Int32Array,
    start: number,
    end: number,
    trie: DoubleArrayTrie,
    pieceOf: Int32Array,
    scores: Float32Array,
    unkScore: number,
    probs?: Float64Array,
    unkProb = 0,
  ): void {
    const base = trie.base;
    const check = trie.check;
    const value = trie.value;
    const checkLength = check.length;
    this.length = end - start;
    this.nodeCount = 0;
    for (let begin = start; begin < end; begin++) {
      let state = DoubleArrayTrie.ROOT;
      let hasSingle = false;
      for (let k = begin; k < end; k++) {
        const next = base[state]! + symbols[k]!;
        if (next >= checkLength || check[next] !== state) break;
        state = next;
        const v = value[state]!;
        if (v < 0) continue;
        const id = pieceOf[v]!;
        if (id < 0) continue;
        if (k === begin) hasSingle = true;
        this.push(begin - start, k + 1 - start, id, scores[id]!, probs ? probs[id]! : 0);
      }
      if (!hasSingle) this.push(begin - start, begin + 1 - start, TRAINER_UNK_ID, unkScore, unkProb);
    }
  }

  private push(begin: number, end: number, id: number, score: number, prob: number): void {
    if (this.nodeCount === this.nodeBegin.length) this.grow();
    const i = this.nodeCount++;
    this.nodeBegin[i] = begin;
    this.nodeEnd[i] = end;
    this.nodeId[i] = id;
    this.nodeScore[i] = score;
    this.nodeProb[i] = prob;
  }

  private grow(): void {
    const size = this.nodeBegin.length * 2;
    const nodeBegin = new Int32Array(size);
    nodeBegin.set(this.nodeBegin);
    this.nodeBegin = nodeBegin;
    const nodeEnd = new Int32Array(size);
    nodeEnd.set(this.nodeEnd);
    this.nodeEnd = nodeEnd;
    const nodeId = new Int32Array(size);
    nodeId.set(this.nodeId);
    this.nodeId = nodeId;
    const nodeScore = new Float64Array(size);
    nodeScore.set(this.nodeScore);
    this.nodeScore = nodeScore;
    const nodeProb = new Float64Array(size);
    nodeProb.set(this.nodeProb);
    this.nodeProb = nodeProb;
  }

  private ensurePositions(): void {
    if (this.posA.length > this.length + 1) return;
    const size = (this.length + 1) * 2;
    this.posA = new Float64Array(size);
    this.posB = new Float64Array(size);
    this.posBestNode = new Int32Array(size);
  }

  /**
   * Forward-backward with node probabilities (built with `probs`): adds `freq` × the marginal
   * probability of every node to `expected[node id]` and returns log Z (the log marginal
   * likelihood of the word). Works with plain probabilities, which is exact and needs no
   * exp/log per node, unless the word is so long that they could underflow; then it works with
   * log probabilities like SentencePiece.
   */
  addMarginalsFast(freq: number, expected: Float64Array): number {
    const n = this.length;
    if (n > MAX_LINEAR_LENGTH) return this.addMarginals(freq, expected);
    this.ensurePositions();
    const alpha = this.posA;
    const beta = this.posB;
    alpha.fill(0, 0, n + 1);
    beta.fill(0, 0, n + 1);
    alpha[0] = 1;
    beta[n] = 1;
    const count = this.nodeCount;
    const begin = this.nodeBegin;
    const end = this.nodeEnd;
    const prob = this.nodeProb;
    for (let i = 0; i < count; i++) alpha[end[i]!]! += alpha[begin[i]!]! * prob[i]!;
    for (let i = count - 1; i >= 0; i--) beta[begin[i]!]! += prob[i]! * beta[end[i]!]!;
    const z = alpha[n]!;
    if (!(z > MIN_LINEAR_Z) || !Number.isFinite(z)) return this.addMarginals(freq, expected);
    const id = this.nodeId;
    const scale = freq / z;
    for (let i = 0; i < count; i++)
      expected[id[i]!]! += scale * alpha[begin[i]!]! * prob[i]! * beta[end[i]!]!;
    return Math.log(z);
  }

  /** Forward-backward in log space (see addMarginalsFast). */
  addMarginals(freq: number, expected: Float64Array): number {
    this.ensurePositions();
    const n = this.length;
    const alpha = this.posA;
    const beta = this.posB;
    alpha.fill(-Infinity, 0, n + 1);
    beta.fill(-Infinity, 0, n + 1);
    alpha[0] = 0;
    beta[n] = 0;
    const count = this.nodeCount;
    const begin = this.nodeBegin;
    const end = this.nodeEnd;
    const score = this.nodeScore;
    for (let i = 0; i < count; i++) {
      const e = end[i]!;
      alpha[e] = logSumExp(alpha[e]!, alpha[begin[i]!]! + score[i]!);
    }
    for (let i = count - 1; i >= 0; i--) {
      const b = begin[i]!;
      beta[b] = logSumExp(beta[b]!, score[i]! + beta[end[i]!]!);
    }
    const logZ = alpha[n]!;
    const id = this.nodeId;
    for (let i = 0; i < count; i++) {
      expected[id[i]!]! += freq * Math.exp(alpha[begin[i]!]! + score[i]! + beta[end[i]!]! - logZ);
    }
    return logZ;
  }

  /**
   * The best segmentation (SentencePiece's Viterbi: float32 path scores, and on a tie the node
   * that starts first). Calls `visit(nodeIndex)` for its nodes, last to first; returns how many.
   */
  viterbi(visit?: (node: number) => void): number {
    this.ensurePositions();
    const n = this.length;
    const best = this.posA;
    const bestNode = this.posBestNode;
    bestNode.fill(-1, 0, n + 1);
    best[0] = 0;
    const count = this.nodeCount;
    const begin = this.nodeBegin;
    const end = this.nodeEnd;
    const score = this.nodeScore;
    for (let i = 0; i < count; i++) {
      const b = begin[i]!;
      if (b > 0 && bestNode[b] === -1) continue; // unreachable (cannot happen with unknown nodes)
      const e = end[i]!;
      const candidate = f32(best[b]! + score[i]!);
      if (bestNode[e] === -1 || candidate > best[e]!) {
        best[e] = candidate;
        bestNode[e] = i;
      }
    }
    let pieces = 0;
    for (let pos = n; pos > 0;) {
      const node = bestNode[pos]!;
      if (visit) visit(node);
      pieces++;
      pos = begin[node]!;
    }
    return pieces;
  }

  // Two-best buffers: per position, the two best partial paths (score, last node, the rank of
  // the path it extends).
  private score1 = new Float64Array(0);
  private score2 = new Float64Array(0);
  private node1 = new Int32Array(0);
  private node2 = new Int32Array(0);
  private from1 = new Int8Array(0);
  private from2 = new Int8Array(0);

  /**
   * The two best segmentations (SentencePiece runs an A* n-best search; keeping the two best
   * partial paths per position finds the same two). Returns null when there is only one;
   * otherwise the node count of the best and the piece ids of the second best, in order.
   */
  twoBest(): { bestLength: number; secondIds: number[] } | null {
    const n = this.length;
    if (this.score1.length <= n) {
      const size = (n + 1) * 2;
      this.score1 = new Float64Array(size);
      this.score2 = new Float64Array(size);
      this.node1 = new Int32Array(size);
      this.node2 = new Int32Array(size);
      this.from1 = new Int8Array(size);
      this.from2 = new Int8Array(size);
    }
    const { score1, score2, node1, node2, from1, from2 } = this;
    node1.fill(-1, 0, n + 1);
    node2.fill(-1, 0, n + 1);
    score1[0] = 0;
    node1[0] = -2; // the start
    for (let i = 0; i < this.nodeCount; i++) {
      const b = this.nodeBegin[i]!;
      const e = this.nodeEnd[i]!;
      const s = this.nodeScore[i]!;
      for (let rank = 1; rank <= 2; rank++) {
        if ((rank === 1 ? node1[b] : node2[b]) === -1) continue;
        const candidate = f32((rank === 1 ? score1[b]! : score2[b]!) + s);
        if (node1[e] === -1 || candidate > score1[e]!) {
          score2[e] = score1[e]!;
          node2[e] = node1[e]!;
          from2[e] = from1[e]!;
          score1[e] = candidate;
          node1[e] = i;
          from1[e] = rank;
        } else if (node2[e] === -1 || candidate > score2[e]!) {
          score2[e] = candidate;
          node2[e] = i;
          from2[e] = rank;
        }
      }
    }
    if (node2[n] === -1) return null;
    const path = (rank: number): number[] => {
      const ids: number[] = [];
      let pos = n;
      let r = rank;
      while (pos > 0) {
        const node = r === 1 ? node1[pos]! : node2[pos]!;
        const nextRank = r === 1 ? from1[pos]! : from2[pos]!;
        ids.push(this.nodeId[node]!);
        pos = this.nodeBegin[node]!;
        r = nextRank;
      }
      return ids.reverse();
    };
    return { bestLength: path(1).length, secondIds: path(2) };
  }
}

/** log(exp(x) + exp(y)), as SentencePiece computes it (exact enough, and -Infinity-safe). */
export function logSumExp(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  const vmin = Math.min(x, y);
  const vmax = Math.max(x, y);
  if (vmax > vmin + 50) return vmax;
  return vmax + Math.log1p(Math.exp(vmin - vmax));
}
