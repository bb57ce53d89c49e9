/**
 * Trains a SentencePiece unigram model (`.model` bytes) the way `spm_train --model_type=unigram`
 * does, in TypeScript: normalize (nmt_nfkc), keep characters up to the coverage, seed with the
 * frequent substrings, then EM and pruning down to the vocab size. The result loads in
 * spm_encode, sentencepiece-js and Python's sentencepiece.
 *
 * Deterministic: the same sentences, options and seed give the same bytes. The seed only matters
 * when `inputSentenceSize` samples the sentences.
 */
import { UlmfitError, usageError } from '../../errors.js';
import { encodeModelProto, ModelType, PieceType, type ModelPiece, type TrainerSpec } from './model-proto.js';
import { nmtNfkcCharsmap } from './nmt-nfkc-charsmap.js';
import { Normalizer } from './normalizer.js';
import { makeSeedPieces } from './seed-pieces.js';
import { buildTrainingCorpus, type TrainingCorpus } from './training-corpus.js';
import { finalizePieces, prunePieces, runEStep, runMStep, TrainerModel } from './unigram-em.js';

export interface TrainProgress {
  stage: 'read' | 'seed' | 'em' | 'prune' | 'done';
  /** Lines read so far ('read'). */
  lines?: number;
  /** Current number of pieces ('seed', 'em', 'prune', 'done'). */
  pieces?: number;
  /** EM objective: the negative mean log likelihood per word ('em'). */
  objective?: number;
}

export interface TrainUnigramOptions {
  /** The vocabulary size asked for, special pieces included. */
  vocabSize: number;
  /** Share of character occurrences the kept alphabet must cover (SentencePiece default 0.9995). */
  characterCoverage?: number;
  /** Pieces kept whole and never split or learned over (fastai: "▁xxbos", ...). */
  userDefinedSymbols?: readonly string[];
  /** Id of the unknown piece (default: right after the user-defined symbols, as fastai does). */
  unkId?: number;
  /** Sample this many sentences when there are more (0: use all). */
  inputSentenceSize?: number;
  /** Seed of the sampling. */
  seed?: number;
  /** Lines longer than this many UTF-8 bytes are skipped (SentencePiece: 4192). */
  maxSentenceLength?: number;
  /** Longest piece, in characters (16). */
  maxSentencePieceLength?: number;
  /** EM iterations between prunings (2). */
  numSubIterations?: number;
  /** Share of pieces kept by each pruning (0.75). */
  shrinkingFactor?: number;
  /** Most seed pieces (1,000,000). */
  seedSentencePieceSize?: number;
  /**
   * Fail when the corpus cannot fill `vocabSize` (true), or return a smaller vocabulary and
   * report its size (false, fastai's setting and the default here).
   */
  hardVocabLimit?: boolean;
  /**
   * The SentencePiece release whose trainer to reproduce: '0.2' (default: 0.1.99 and later, what
   * `pip install sentencepiece` gives) or '0.1.97' (Debian's spm_train), which weighed the pruning
   * loss with the vocabulary size (a bug fixed in 0.1.99). With '0.1.97' we reproduce spm_train
   * 0.1.97's vocabulary on Brown exactly.
   */
  sentencepieceVersion?: '0.2' | '0.1.97';
  onProgress?: (progress: TrainProgress) => void;
}

export interface TrainUnigramResult {
  /** The `.model` file. */
  model: Uint8Array;
  /** Pieces in the model (≤ vocabSize when hardVocabLimit is false). */
  vocabSizeReached: number;
  /** Sentences trained on, after skipping and sampling. */
  sentences: number;
  /** Lines skipped for being longer than maxSentenceLength. */
  skippedTooLong: number;
}

const UNK_PIECE = '<unk>';

interface MetaPiece {
  piece: string;
  type: ModelPiece['type'];
}

/** Meta pieces by id: the unknown piece at unkId, user-defined symbols in the free ids from 0. */
function placeMetaPieces(
  vocabSize: number,
  unkId: number,
  userDefined: readonly string[],
): Map<number, MetaPiece> {
  if (!Number.isInteger(unkId) || unkId < 0 || unkId >= vocabSize) {
    throw usageError(
      `the unknown piece id ${unkId} is outside the vocabulary (size ${vocabSize})`,
      'use an id below the vocab size',
    );
  }
  const meta = new Map<number, MetaPiece>([[unkId, { piece: UNK_PIECE, type: PieceType.UNKNOWN }]]);
  const seen = new Set<string>();
  let id = 0;
  for (const piece of userDefined) {
    if (piece.length === 0) throw usageError('a user-defined symbol is empty', 'remove the empty symbol');
    if (piece === UNK_PIECE)
      throw usageError(`'${UNK_PIECE}' cannot be a user-defined symbol`, 'remove it from the list');
    if (seen.has(piece))
      throw usageError(`user-defined symbol '${piece}' is listed twice`, 'list each symbol once');
    seen.add(piece);
    while (meta.has(id)) id++;
    meta.set(id, { piece, type: PieceType.USER_DEFINED });
  }
  return meta;
}

/** Trains a unigram model on `sentences` (one sentence or document per item, strings or UTF-8 bytes). */
export function trainUnigramModel(
  sentences: Iterable<string | Uint8Array>,
  options: TrainUnigramOptions,
): TrainUnigramResult {
  const vocabSize = options.vocabSize;
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) {
    throw usageError(
      `the subword vocab size must be a positive integer, got ${vocabSize}`,
      'pass e.g. --vocab-size 8000',
    );
  }
  const characterCoverage = options.characterCoverage ?? 0.9995;
  if (!(characterCoverage >= 0.98 && characterCoverage <= 1)) {
    throw usageError(
      `character coverage ${characterCoverage} is outside [0.98, 1]`,
      'SentencePiece accepts 0.98 to 1',
    );
  }
  const userDefined = options.userDefinedSymbols ?? [];
  const unkId = options.unkId ?? userDefined.length;
  const meta = placeMetaPieces(vocabSize, unkId, userDefined);
  const hardVocabLimit = options.hardVocabLimit ?? false;
  const spec = {
    inputSentenceSize: options.inputSentenceSize ?? 0,
    seed: options.seed ?? 42,
    maxSentenceLength: options.maxSentenceLength ?? 4192,
    maxPieceLength: options.maxSentencePieceLength ?? 16,
    numSubIterations: options.numSubIterations ?? 2,
    shrinkingFactor: options.shrinkingFactor ?? 0.75,
    seedSize: options.seedSentencePieceSize ?? 1_000_000,
  };
  const progress = options.onProgress ?? (() => undefined);

  const charsmap = nmtNfkcCharsmap();
  // Training text is normalized without the user-defined-symbol escape: the symbols are cut out
  // of the normalized text instead (as spm_train does).
  const normalizer = new Normalizer({ name: 'nmt_nfkc', precompiled_charsmap: charsmap });
  const corpus = buildTrainingCorpus(sentences, normalizer, {
    characterCoverage,
    inputSentenceSize: spec.inputSentenceSize,
    maxSentenceLength: spec.maxSentenceLength,
    metaPieces: [...[...meta.values()].map((m) => m.piece)],
    seed: spec.seed,
    onSentence: (lines) => progress({ stage: 'read', lines }),
  });
  progress({ stage: 'read', lines: corpus.linesRead });
  if (corpus.requiredChars.length + meta.size > vocabSize) {
    throw usageError(
      `the subword vocab size ${vocabSize} is smaller than the alphabet (${corpus.requiredChars.length} characters + ${meta.size} special pieces)`,
      'raise the vocab size or lower the character coverage',
    );
  }

  const seeds = makeSeedPieces(corpus, {
    seedSize: spec.seedSize,
    maxPieceLength: spec.maxPieceLength,
    splitByUnicodeScript: true,
    splitByNumber: true,
    splitDigits: false,
  });
  const model = new TrainerModel(seeds.pieces);
  model.setPieces(
    seeds.pieces.map((_, i) => i),
    seeds.scores,
  );
  progress({ stage: 'seed', pieces: model.size });

  const desiredVocabSize = Math.trunc(vocabSize * 1.1);
  for (;;) {
    for (let iteration = 0; iteration < spec.numSubIterations; iteration++) {
      const { expected, objective } = runEStep(model, corpus);
      runMStep(model, expected);
      progress({ stage: 'em', pieces: model.size, objective });
    }
    if (model.size <= desiredVocabSize) break;
    prunePieces(model, corpus, {
      desiredVocabSize,
      shrinkingFactor: spec.shrinkingFactor,
      legacyLoss: options.sentencepieceVersion === '0.1.97',
    });
    progress({ stage: 'prune', pieces: model.size });
  }

  const text = (symbols: Int32Array): string => pieceText(corpus, symbols);
  const final = finalizePieces(model, corpus, vocabSize - meta.size, text);
  const pieces: ModelPiece[] = [];
  let next = 0;
  for (let id = 0; id < vocabSize; id++) {
    const m = meta.get(id);
    if (m) pieces.push({ piece: m.piece, score: 0, type: m.type });
    else if (next < final.length) pieces.push({ ...final[next++]!, type: PieceType.NORMAL });
  }
  if (hardVocabLimit && pieces.length !== vocabSize) {
    throw new UlmfitError(
      'E_TRAINING',
      `the training text supports only ${pieces.length} subword pieces, fewer than the ${vocabSize} asked for`,
      `lower the vocab size to ${pieces.length} or less, or train on more text`,
    );
  }
  const trainerSpec = makeTrainerSpec(pieces.length, {
    characterCoverage,
    userDefined,
    unkId,
    hardVocabLimit,
    ...spec,
  });
  const bytes = encodeModelProto({
    pieces,
    trainerSpec,
    normalizerSpec: {
      name: 'nmt_nfkc',
      precompiled_charsmap: charsmap,
      add_dummy_prefix: true,
      remove_extra_whitespaces: true,
      normalization_rule_tsv: '',
    },
  });
  progress({ stage: 'done', pieces: pieces.length });
  return {
    model: bytes,
    vocabSizeReached: pieces.length,
    sentences: corpus.sentenceCount,
    skippedTooLong: corpus.tooLongLines,
  };
}

function pieceText(corpus: TrainingCorpus, symbols: Int32Array): string {
  let text = '';
  for (let i = 0; i < symbols.length; i++) text += String.fromCodePoint(corpus.symbolChars[symbols[i]!]!);
  return text;
}

/** The TrainerSpec recorded in the model: every field spm_train records, with our values. */
function makeTrainerSpec(
  vocabSize: number,
  s: {
    characterCoverage: number;
    userDefined: readonly string[];
    unkId: number;
    hardVocabLimit: boolean;
    inputSentenceSize: number;
    maxSentenceLength: number;
    maxPieceLength: number;
    numSubIterations: number;
    shrinkingFactor: number;
    seedSize: number;
  },
): TrainerSpec {
  return {
    model_type: ModelType.UNIGRAM,
    vocab_size: vocabSize,
    self_test_sample_size: 0,
    input_format: '',
    character_coverage: s.characterCoverage,
    input_sentence_size: s.inputSentenceSize,
    seed_sentencepiece_size: s.seedSize,
    shrinking_factor: s.shrinkingFactor,
    num_threads: 1,
    num_sub_iterations: s.numSubIterations,
    max_sentence_length: s.maxSentenceLength,
    shuffle_input_sentence: true,
    max_sentencepiece_length: s.maxPieceLength,
    split_by_unicode_script: true,
    split_by_whitespace: true,
    split_by_number: true,
    treat_whitespace_as_suffix: false,
    split_digits: false,
    allow_whitespace_only_pieces: false,
    user_defined_symbols: [...s.userDefined],
    vocabulary_output_piece_score: true,
    hard_vocab_limit: s.hardVocabLimit,
    use_all_vocab: false,
    byte_fallback: false,
    required_chars: '',
    unk_id: s.unkId,
    bos_id: -1,
    eos_id: -1,
    pad_id: -1,
    unk_surface: ' \u2047 ',
    unk_piece: UNK_PIECE,
    bos_piece: '<s>',
    eos_piece: '</s>',
    pad_piece: '<pad>',
    train_extremely_large_corpus: false,
    enable_differential_privacy: false,
    differential_privacy_noise_level: 0,
    differential_privacy_clipping_threshold: 0,
  };
}
