/**
 * The EM loop of SentencePiece's unigram trainer (unigram_model_trainer.cc): E-step
 * (forward-backward over every word), M-step (Bayesian EM with a digamma prior, dropping pieces
 * expected less than half a time), pruning by likelihood loss, and the final vocabulary.
 */
import { compareCodePoints } from './compare.js';
import { DoubleArrayTrie } from './double-array.js';
import { Lattice, UNK_PENALTY } from './lattice.js';
import type { TrainingCorpus } from './training-corpus.js';

const f32 = Math.fround;

/** The trainer's current vocabulary: a subset of the seed pieces, with float32 scores. */
export class TrainerModel {
  /** A trie over (a superset of) the current pieces; its values are seed indices. */
  private trie: DoubleArrayTrie;
  private trieKeys: number;
  /** seed index → current piece id, or -1 once the piece is gone. */
  readonly pieceOf: Int32Array;
  /** piece id → seed index. */
  seedOf: Int32Array = new Int32Array(0);
  scores: Float32Array = new Float32Array(0);
  /** exp(score) per piece, for forward-backward in plain probabilities. */
  probs: Float64Array = new Float64Array(0);
  minScore = 0;

  constructor(readonly seeds: readonly Int32Array[]) {
    this.trie = DoubleArrayTrie.build(
      seeds,
      seeds.map((_, i) => i),
    );
    this.trieKeys = seeds.length;
    this.pieceOf = new Int32Array(seeds.length).fill(-1);
  }

  get size(): number {
    return this.seedOf.length;
  }

  /** Replaces the vocabulary: `seedIndices[id]` with `scores[id]`. */
  setPieces(seedIndices: ArrayLike<number>, scores: ArrayLike<number>): void {
    this.pieceOf.fill(-1);
    this.seedOf = Int32Array.from(seedIndices);
    this.scores = Float32Array.from(scores);
    this.probs = Float64Array.from(this.scores, Math.exp);
    let minScore = Infinity;
    for (let id = 0; id < this.seedOf.length; id++) {
      this.pieceOf[this.seedOf[id]!] = id;
      minScore = Math.min(minScore, this.scores[id]!);
    }
    this.minScore = minScore;
    // Removed pieces stay in the trie (their values map to -1), but walking their branches costs
    // time: rebuild the trie once it holds many of them.
    if (this.seedOf.length < 0.8 * this.trieKeys) {
      this.trie = DoubleArrayTrie.build(
        Array.from(this.seedOf, (seed) => this.seeds[seed]!),
        this.seedOf,
      );
      this.trieKeys = this.seedOf.length;
    }
  }

  get unkScore(): number {
    return f32(this.minScore - UNK_PENALTY);
  }

  /** Fills `lattice` with the segmentations of corpus word `w` (with node probabilities). */
  buildLattice(lattice: Lattice, corpus: TrainingCorpus, w: number): void {
    const unkScore = this.unkScore;
    lattice.build(
      corpus.wordSymbols,
      corpus.wordStarts[w]!,
      corpus.wordStarts[w + 1]!,
      this.trie,
      this.pieceOf,
      this.scores,
      unkScore,
      this.probs,
      Math.exp(unkScore),
    );
  }

  /** Fills `lattice` with the segmentations of a piece's own text. */
  buildPieceLattice(lattice: Lattice, id: number): void {
    const symbols = this.seeds[this.seedOf[id]!]!;
    lattice.build(symbols, 0, symbols.length, this.trie, this.pieceOf, this.scores, this.unkScore);
  }
}

/** SentencePiece's digamma approximation (asymptotic series after shifting x above 7). */
export function digamma(x: number): number {
  let result = 0;
  let v = x;
  for (; v < 7; v++) result -= 1 / v;
  v -= 0.5;
  const xx = 1 / v;
  const xx2 = xx * xx;
  const xx4 = xx2 * xx2;
  result +=
    Math.log(v) + (1 / 24) * xx2 - (7 / 960) * xx4 + (31 / 8064) * xx4 * xx2 - (127 / 30720) * xx4 * xx4;
  return result;
}

/** E-step: expected count of every piece, and the objective (negative mean log likelihood). */
export function runEStep(
  model: TrainerModel,
  corpus: TrainingCorpus,
): { expected: Float64Array; objective: number } {
  const expected = new Float64Array(model.size);
  const lattice = new Lattice();
  const freqs = corpus.wordFreqs;
  let totalFreq = 0;
  for (let w = 0; w < freqs.length; w++) totalFreq += freqs[w]!;
  let objective = 0;
  for (let w = 0; w < freqs.length; w++) {
    model.buildLattice(lattice, corpus, w);
    const logZ = lattice.addMarginalsFast(freqs[w]!, expected);
    objective -= (freqs[w]! * logZ) / totalFreq;
  }
  return { expected, objective };
}

/**
 * M-step: pieces expected fewer than 0.5 times are dropped; the others get
 * digamma(count) - digamma(total) (a sparse Dirichlet prior instead of plain log(count/total)).
 */
export function runMStep(model: TrainerModel, expected: Float64Array): void {
  const keptSeeds: number[] = [];
  const keptFreqs: number[] = [];
  let sum = 0;
  for (let id = 0; id < expected.length; id++) {
    const freq = f32(expected[id]!);
    if (freq < 0.5) continue;
    keptSeeds.push(model.seedOf[id]!);
    keptFreqs.push(freq);
    sum += freq;
  }
  const logSum = digamma(sum);
  model.setPieces(
    keptSeeds,
    keptFreqs.map((freq) => digamma(freq) - logSum),
  );
}

export interface PruneOptions {
  /** The size below which pruning stops (vocab_size × 1.1). */
  desiredVocabSize: number;
  /** shrinking_factor: each round keeps this share of the pieces. */
  shrinkingFactor: number;
  /** Reproduce the loss of SentencePiece ≤ 0.1.98 (see `TrainUnigramOptions.sentencepieceVersion`). */
  legacyLoss: boolean;
}

/**
 * Keeps the pieces whose removal would cost the most likelihood (unigram_model_trainer.cc
 * `PruneSentencePieces`): a piece's loss assumes each of its uses is replaced by its second-best
 * segmentation.
 */
export function prunePieces(model: TrainerModel, corpus: TrainingCorpus, options: PruneOptions): void {
  const size = model.size;
  const lattice = new Lattice();

  // How each piece would be segmented without itself.
  const alwaysKeep = new Uint8Array(size).fill(1);
  const alternatives: Array<number[] | undefined> = new Array(size);
  for (let id = 0; id < size; id++) {
    model.buildPieceLattice(lattice, id);
    const best = lattice.twoBest();
    if (best === null) continue; // no other segmentation: always keep
    if (best.bestLength >= 2)
      alwaysKeep[id] = 0; // it is not even its own best segmentation
    else alternatives[id] = best.secondIds;
  }

  // How often each piece is used in the Viterbi segmentation of the corpus.
  const freq = new Float64Array(size);
  let totalWordFreq = 0;
  const wordFreqs = corpus.wordFreqs;
  let wordFreq = 0;
  const count = (node: number): void => {
    freq[lattice.nodeId[node]!]! += wordFreq;
  };
  for (let w = 0; w < wordFreqs.length; w++) {
    wordFreq = wordFreqs[w]!;
    totalWordFreq += wordFreq;
    model.buildLattice(lattice, corpus, w);
    lattice.viterbi(count);
  }
  let sum = 0;
  for (let id = 0; id < size; id++) sum += freq[id]!;
  const logSum = Math.log(sum);

  const keptSeeds: number[] = [];
  const keptScores: number[] = [];
  const candidates: Array<{ id: number; loss: number }> = [];
  for (let id = 0; id < size; id++) {
    if (freq[id] === 0 || alwaysKeep[id] === 0) continue; // unused or never its own best: drop
    const alternative = alternatives[id];
    if (alternative === undefined) {
      keptSeeds.push(model.seedOf[id]!);
      keptScores.push(model.scores[id]!);
      continue;
    }
    // The piece's share of all uses, and the log likelihood with it and with its alternative.
    const share = freq[id]! / totalWordFreq;
    const logProbPiece = Math.log(freq[id]!) - logSum;
    // The total count once the piece's uses are replaced by its alternative. SentencePiece up to
    // 0.1.98 multiplied by the vocabulary size minus one instead of the alternative's length.
    const replacedBy = options.legacyLoss ? size : alternative.length;
    const logSumAlt = Math.log(sum + freq[id]! * (replacedBy - 1));
    let logProbAlt = 0;
    for (const n of alternative) logProbAlt += Math.log(freq[n]! + freq[id]!) - logSumAlt;
    candidates.push({ id, loss: share * (logProbPiece - logProbAlt) });
  }

  const prunedSize = Math.max(options.desiredVocabSize, Math.trunc(options.shrinkingFactor * size));
  candidates.sort((a, b) => b.loss - a.loss || a.id - b.id);
  for (const { id } of candidates) {
    if (keptSeeds.length >= prunedSize) break;
    keptSeeds.push(model.seedOf[id]!);
    keptScores.push(model.scores[id]!);
  }
  model.setPieces(keptSeeds, keptScores);
}

/**
 * The final vocabulary (`FinalizeSentencePieces`): every required character (a missing one gets
 * the lowest score, minus a little more for each rarer one), then the best-scored pieces, up to
 * `size`. Returned best score first (ties: by text).
 */
export function finalizePieces(
  model: TrainerModel,
  corpus: TrainingCorpus,
  size: number,
  pieceText: (symbols: Int32Array) => string,
): Array<{ piece: string; score: number }> {
  const current = new Map<string, number>();
  for (let id = 0; id < model.size; id++)
    current.set(pieceText(model.seeds[model.seedOf[id]!]!), model.scores[id]!);
  const final = new Map<string, number>();
  let penalty = 0;
  for (const [cp] of corpus.requiredChars) {
    const piece = String.fromCodePoint(cp);
    const score = current.get(piece);
    if (score !== undefined) final.set(piece, score);
    else {
      final.set(piece, f32(model.minScore + penalty));
      penalty = f32(penalty + 0.0001);
    }
  }
  const byScore = [...current].sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]));
  for (const [piece, score] of byScore) {
    if (final.has(piece)) continue;
    if (final.size >= size) break;
    final.set(piece, score);
  }
  return [...final]
    .sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]))
    .map(([piece, score]) => ({ piece, score }));
}
