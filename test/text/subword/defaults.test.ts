import { describe, expect, it } from 'vitest';
import {
  countUniqueWords,
  fastaiCharacterCoverage,
  fastaiTrainerOptions,
  fastaiUserDefinedSymbols,
  fastaiVocabSize,
} from '../../../src/text/subword/defaults.js';

describe("fastai's SentencePiece defaults (fastai-spec §1.6)", () => {
  it('sizes the vocab from the unique word count', () => {
    expect(fastaiVocabSize(0)).toBe(29);
    expect(fastaiVocabSize(10)).toBe(29);
    expect(fastaiVocabSize(100)).toBe(32); // 25 rounded up to a multiple of 8
    expect(fastaiVocabSize(1000)).toBe(256); // 250 → 256
    expect(fastaiVocabSize(120_003)).toBe(30000); // 30000 is not more than the cap
    expect(fastaiVocabSize(120_004)).toBe(30000); // 30001 > 30000: the cap
    expect(fastaiVocabSize(10_000_000)).toBe(30000);
    expect(fastaiVocabSize(4000, 500)).toBe(500);
  });

  it('counts unique words split on Python whitespace', () => {
    expect(countUniqueWords(['a b  c', 'a\u3000d\te', ''])).toBe(5);
  });

  it('uses 0.99999 coverage for European languages, 0.9998 otherwise', () => {
    expect(fastaiCharacterCoverage('en')).toBe(0.99999);
    expect(fastaiCharacterCoverage('de')).toBe(0.99999);
    expect(fastaiCharacterCoverage('zh')).toBe(0.9998);
    expect(fastaiCharacterCoverage('ja')).toBe(0.9998);
  });

  it('makes the specials ▁-prefixed user-defined symbols with unk right after them', () => {
    expect(fastaiUserDefinedSymbols()).toEqual([
      '▁xxunk',
      '▁xxpad',
      '▁xxbos',
      '▁xxeos',
      '▁xxfld',
      '▁xxrep',
      '▁xxwrep',
      '▁xxup',
      '▁xxmaj',
    ]);
    expect(fastaiTrainerOptions({ vocabSize: 1000, lang: 'fr' })).toEqual({
      vocabSize: 1000,
      characterCoverage: 0.99999,
      userDefinedSymbols: fastaiUserDefinedSymbols(),
      unkId: 9,
      hardVocabLimit: false,
    });
  });
});
