/**
 * A pure TypeScript encoder for SentencePiece unigram models that gives the same pieces as the
 * C++ library (sentencepiece-js, spm_encode), about 3× faster than sentencepiece-js through its
 * wasm bindings.
 *
 * It follows unigram_model.cc `EncodeOptimized` to the bit: the lattice is walked over UTF-8 bytes,
 * path scores are kept as float32, a candidate path is compared in double precision before it is
 * rounded (the C++ code compares a double sum with the stored float), unknown characters cost the
 * lowest piece score minus 10, user-defined symbols score `length × max score − 0.1`, ties keep the
 * path whose last piece starts first, and consecutive unknown pieces are merged into one.
 */
import { DoubleArrayTrie } from './double-array.js';
import { PieceType, type ModelProto } from './model-proto.js';
import { Normalizer, utf8CharLength } from './normalizer.js';

/** FLT_MAX and FLT_MIN of C++, the initial min and max piece scores. */
const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;
const UNK_PENALTY = 10;
const f32 = Math.fround;

export class UnigramEncoder {
  /** id → piece. */
  readonly pieces: readonly string[];
  readonly unkId: number;
  private readonly normalizer: Normalizer;
  private readonly trie: DoubleArrayTrie;
  private readonly scores: Float32Array;
  private readonly userDefined: Uint8Array;
  private readonly unused: Uint8Array;
  private readonly maxScore: number;
  private readonly unkScore: number;
  private readonly decoder = new TextDecoder();
  // Per-position Viterbi state, reused between calls.
  private bestScore = new Float64Array(256);
  private bestStart = new Int32Array(256);
  private bestId = new Int32Array(256);

  constructor(model: ModelProto) {
    this.pieces = model.pieces.map((p) => p.piece);
    this.scores = Float32Array.from(model.pieces, (p) => p.score);
    this.userDefined = Uint8Array.from(model.pieces, (p) => (p.type === PieceType.USER_DEFINED ? 1 : 0));
    this.unused = Uint8Array.from(model.pieces, (p) => (p.type === PieceType.UNUSED ? 1 : 0));
    let minScore = FLT_MAX;
    let maxScore = FLT_MIN;
    const encoder = new TextEncoder();
    const keys: Int32Array[] = [];
    const ids: number[] = [];
    const userSymbols: string[] = [];
    let unkId = -1;
    model.pieces.forEach((p, id) => {
      if (p.type === PieceType.NORMAL) {
        minScore = Math.min(minScore, p.score);
        maxScore = Math.max(maxScore, p.score);
      }
      if (p.type === PieceType.UNKNOWN) unkId = id;
      if (p.type === PieceType.USER_DEFINED) userSymbols.push(p.piece);
      // Like the C++ model, only normal, user-defined and unused pieces are matched in text.
      if (p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED || p.type === PieceType.UNUSED) {
        keys.push(Int32Array.from(encoder.encode(p.piece), (b) => b + 1));
        ids.push(id);
      }
    });
    this.unkId = unkId;
    this.maxScore = maxScore;
    this.unkScore = f32(minScore - UNK_PENALTY);
    this.trie = DoubleArrayTrie.build(keys, ids);
    this.normalizer = new Normalizer(model.normalizerSpec, {
      treatWhitespaceAsSuffix: model.trainerSpec.treat_whitespace_as_suffix ?? false,
      userDefinedSymbols: userSymbols,
    });
  }

  /** The pieces of `text` (what sentencepiece's EncodeAsPieces returns). */
  encode(text: string): string[] {
    const out: string[] = [];
    this.run(text, (id, bytes, start, end, mergeWithPrevious) => {
      if (id !== this.unkId) out.push(this.pieces[id]!);
      else {
        const surface = this.decoder.decode(bytes.subarray(start, end));
        if (mergeWithPrevious) out[out.length - 1] += surface;
        else out.push(surface);
      }
    });
    return out;
  }

  /** The piece ids of `text` (EncodeAsIds); a run of unknown characters is one unknown id. */
  encodeIds(text: string): number[] {
    const out: number[] = [];
    this.run(text, (id, _bytes, _start, _end, mergeWithPrevious) => {
      if (!mergeWithPrevious) out.push(id);
    });
    return out;
  }

  /** The normalized form of `text` ("▁" for spaces, NFKC, ...). */
  normalize(text: string): string {
    return this.normalizer.normalize(text);
  }

  /**
   * Runs the Viterbi search and calls `emit` for each piece, first to last. `mergeWithPrevious`
   * is set for an unknown piece that follows another unknown piece.
   */
  private run(
    text: string,
    emit: (id: number, bytes: Uint8Array, start: number, end: number, mergeWithPrevious: boolean) => void,
  ): void {
    const size = this.normalizer.normalizeToBytes(text);
    if (size === 0) return;
    const bytes = this.normalizer.normalizedBytes();
    if (this.bestScore.length <= size) {
      const capacity = (size + 1) * 2;
      this.bestScore = new Float64Array(capacity);
      this.bestStart = new Int32Array(capacity);
      this.bestId = new Int32Array(capacity);
    }
    const bestScore = this.bestScore;
    const bestStart = this.bestStart;
    const bestId = this.bestId;
    bestStart.fill(-1, 0, size + 1);
    bestScore[0] = 0;
    const { base, check, value } = this.trie;
    const checkLength = check.length;
    const scores = this.scores;
    const userDefined = this.userDefined;
    const unused = this.unused;
    const maxScore = this.maxScore;

    for (let startsAt = 0; startsAt < size;) {
      const scoreHere = bestScore[startsAt]!;
      const charLength = Math.min(utf8CharLength(bytes[startsAt]!), size - startsAt);
      let hasSingle = false;
      let state = DoubleArrayTrie.ROOT;
      for (let keyPos = startsAt; keyPos < size; keyPos++) {
        const next = base[state]! + bytes[keyPos]! + 1;
        if (next >= checkLength || check[next] !== state) break;
        state = next;
        const id = value[state]!;
        if (id < 0 || unused[id] === 1) continue;
        const length = keyPos + 1 - startsAt;
        // C++: `auto score = user ? length * max_score_ - 0.1 : score` is a double, and so is the sum.
        const score = userDefined[id] === 1 ? f32(length * maxScore) - 0.1 : scores[id]!;
        const candidate = score + scoreHere;
        const target = keyPos + 1;
        if (bestStart[target] === -1 || candidate > bestScore[target]!) {
          bestScore[target] = f32(candidate);
          bestStart[target] = startsAt;
          bestId[target] = id;
        }
        if (length === charLength) hasSingle = true;
      }
      if (!hasSingle) {
        // The unknown score and the path score are both floats here: a float sum.
        const candidate = f32(this.unkScore + scoreHere);
        const target = startsAt + charLength;
        if (bestStart[target] === -1 || candidate > bestScore[target]!) {
          bestScore[target] = candidate;
          bestStart[target] = startsAt;
          bestId[target] = this.unkId;
        }
      }
      startsAt += charLength;
    }

    // Backtrack (ends → starts), then emit in text order.
    const ends: number[] = [];
    for (let end = size; end > 0; end = bestStart[end]!) ends.push(end);
    let previousUnknown = false;
    for (let k = ends.length - 1; k >= 0; k--) {
      const end = ends[k]!;
      const id = bestId[end]!;
      const unknown = id === this.unkId;
      emit(id, bytes, bestStart[end]!, end, unknown && previousUnknown);
      previousUnknown = unknown;
    }
  }
}
