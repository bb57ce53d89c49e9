import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../../src/errors.js';
import { fastaiTrainerOptions } from '../../../src/text/subword/defaults.js';
import { loadSubwordEncoder } from '../../../src/text/subword/encoder.js';
import { decodeModelProto, PieceType } from '../../../src/text/subword/model-proto.js';
import { trainUnigramModel, type TrainProgress } from '../../../src/text/subword/trainer.js';
import { fixtureBytes, trainingLines } from './fixtures.js';

const fastai500 = fastaiTrainerOptions({ vocabSize: 500, lang: 'en' });

function errorOf(run: () => unknown): UlmfitError {
  try {
    run();
  } catch (e) {
    if (e instanceof UlmfitError) return e;
    throw e;
  }
  throw new Error('expected a UlmfitError');
}

/** A small corpus in which every line has a few words. */
function tinyCorpus(lines = 200): string[] {
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'then', 'ran', 'home', 'quickly', 'today'];
  return Array.from(
    { length: lines },
    (_, i) => `xxbos ${words[i % 12]} ${words[(i * 7) % 12]} ${words[(i * 5 + 3) % 12]}ing`,
  );
}

describe('trainUnigramModel', () => {
  it('writes the committed ulmfit.model again, byte for byte (deterministic)', () => {
    const result = trainUnigramModel(trainingLines(), fastai500);
    expect(result.vocabSizeReached).toBe(500);
    expect(Buffer.from(result.model).equals(Buffer.from(fixtureBytes('ulmfit.model')))).toBe(true);
  });

  it("reproduces spm_train 0.1.97's vocabulary and scores when asked to", () => {
    const ours = decodeModelProto(
      trainUnigramModel(trainingLines(), { ...fastai500, sentencepieceVersion: '0.1.97' }).model,
    );
    const reference = decodeModelProto(fixtureBytes('spm_train.model'));
    const referenceScores = new Map(reference.pieces.map((p) => [p.piece, p.score]));
    expect(new Set(ours.pieces.map((p) => p.piece))).toEqual(new Set(referenceScores.keys()));
    for (const p of ours.pieces) expect(Math.abs(p.score - referenceScores.get(p.piece)!)).toBeLessThan(1e-4);
    // The meta pieces sit where fastai puts them.
    expect(ours.pieces.slice(0, 10).map((p) => p.piece)).toEqual(
      reference.pieces.slice(0, 10).map((p) => p.piece),
    );
  });

  it('shares most pieces with spm_train under the current SentencePiece loss', () => {
    const ours = decodeModelProto(fixtureBytes('ulmfit.model'));
    const reference = new Set(decodeModelProto(fixtureBytes('spm_train.model')).pieces.map((p) => p.piece));
    const shared = ours.pieces.filter((p) => reference.has(p.piece)).length;
    expect(shared / reference.size).toBeGreaterThan(0.85);
  });

  it('trains a model whose encoder keeps specials whole, and reports progress', async () => {
    const stages: TrainProgress['stage'][] = [];
    const result = trainUnigramModel(tinyCorpus(), {
      ...fastaiTrainerOptions({ vocabSize: 60, lang: 'en' }),
      onProgress: (p) => stages.push(p.stage),
    });
    expect(stages[0]).toBe('read');
    expect(stages).toContain('seed');
    expect(stages).toContain('em');
    expect(stages.at(-1)).toBe('done');
    const encoder = await loadSubwordEncoder(result.model);
    expect(encoder.encode('xxbos xxmaj the cat')).toEqual(['▁xxbos', '▁xxmaj', '▁the', '▁cat']);
    const model = decodeModelProto(result.model);
    expect(model.pieces[9]).toEqual({ piece: '<unk>', score: 0, type: PieceType.UNKNOWN });
  });

  it('samples input sentences reproducibly from the seed', () => {
    const lines = trainingLines();
    const options = { ...fastaiTrainerOptions({ vocabSize: 200, lang: 'en' }), inputSentenceSize: 300 };
    const a = trainUnigramModel(lines, { ...options, seed: 1 });
    const b = trainUnigramModel(lines, { ...options, seed: 1 });
    const c = trainUnigramModel(lines, { ...options, seed: 2 });
    expect(a.sentences).toBe(300);
    expect(Buffer.from(a.model).equals(Buffer.from(b.model))).toBe(true);
    expect(Buffer.from(a.model).equals(Buffer.from(c.model))).toBe(false);
  });

  it('returns a smaller vocabulary when the text cannot fill the one asked for', () => {
    const result = trainUnigramModel(tinyCorpus(), fastaiTrainerOptions({ vocabSize: 5000, lang: 'en' }));
    expect(result.vocabSizeReached).toBeLessThan(5000);
    const model = decodeModelProto(result.model);
    expect(model.pieces).toHaveLength(result.vocabSizeReached);
    expect(model.trainerSpec.vocab_size).toBe(result.vocabSizeReached);
    const strict = errorOf(() =>
      trainUnigramModel(tinyCorpus(), {
        ...fastaiTrainerOptions({ vocabSize: 5000, lang: 'en' }),
        hardVocabLimit: true,
      }),
    );
    expect(strict.code).toBe('E_TRAINING');
    expect(strict.message).toContain(`supports only ${result.vocabSizeReached} subword pieces`);
  });

  it('skips lines SentencePiece skips: over 4192 bytes, or holding its reserved ▅', () => {
    const lines = [...tinyCorpus(), 'x'.repeat(4193), 'a ▅ b'];
    const result = trainUnigramModel(lines, fastaiTrainerOptions({ vocabSize: 60, lang: 'en' }));
    expect(result.sentences).toBe(200);
    expect(result.skippedTooLong).toBe(1);
  });

  it('rejects empty training text', () => {
    expect(errorOf(() => trainUnigramModel([], fastai500)).code).toBe('E_INPUT_EMPTY');
    const blank = errorOf(() => trainUnigramModel(['', '   ', '\t'], fastai500));
    expect(blank.code).toBe('E_INPUT_EMPTY');
    expect(blank.message).toContain('no usable line (3 read');
  });

  it('rejects text that is not UTF-8, naming the line', () => {
    const bytes = errorOf(() =>
      trainUnigramModel([new TextEncoder().encode('fine'), Uint8Array.of(0x63, 0x61, 0x66, 0xe9)], fastai500),
    );
    expect(bytes.code).toBe('E_INPUT_ENCODING');
    expect(bytes.message).toContain('line 2');
    const surrogate = errorOf(() => trainUnigramModel(['ok', 'ok', 'broken \ud800 text'], fastai500));
    expect(surrogate.code).toBe('E_INPUT_ENCODING');
    expect(surrogate.message).toContain('line 3');
  });

  it('rejects settings SentencePiece rejects', () => {
    expect(errorOf(() => trainUnigramModel(tinyCorpus(), { ...fastai500, vocabSize: 15 })).message).toMatch(
      /smaller than the alphabet/,
    );
    expect(errorOf(() => trainUnigramModel(tinyCorpus(), { vocabSize: 0 })).code).toBe('E_USAGE');
    expect(errorOf(() => trainUnigramModel(tinyCorpus(), { ...fastai500, unkId: 500 })).code).toBe('E_USAGE');
    expect(
      errorOf(() => trainUnigramModel(tinyCorpus(), { vocabSize: 100, userDefinedSymbols: ['▁x', '▁x'] }))
        .message,
    ).toMatch(/listed twice/);
    expect(
      errorOf(() => trainUnigramModel(tinyCorpus(), { vocabSize: 100, characterCoverage: 0.5 })).code,
    ).toBe('E_USAGE');
  });
});
