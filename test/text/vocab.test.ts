import { describe, expect, it } from 'vitest';
import { DEFAULT_SPECIALS, FAKE } from '../../src/text/specials.js';
import { countTokens, Vocab } from '../../src/text/vocab.js';
import { Rng } from '../../src/random.js';

function counts(entries: Array<[string, number]>): Map<string, number> {
  return new Map(entries);
}

/** n distinct words, each seen `count` times. */
function words(n: number, count = 5): Map<string, number> {
  return new Map(Array.from({ length: n }, (_, i) => [`w${i}`, count] as [string, number]));
}

describe('Vocab.build (fastai make_vocab)', () => {
  it('reproduces the fastai Numericalize test vector (spec §2)', () => {
    const c = new Map<string, number>();
    countTokens(c, 'This is an example of text'.split(' '));
    countTokens(c, 'this is another text'.split(' '));
    const vocab = Vocab.build(c, { minFreq: 1 });
    expect(Array.from(vocab.numericalize('This is an example of text'.split(' ')))).toEqual([
      11, 9, 12, 13, 14, 10,
    ]);
    const strict = Vocab.build(c, { minFreq: 2 });
    const ids = strict.numericalize('This is an example of text'.split(' '));
    expect(Array.from(ids)).toEqual([0, 9, 0, 0, 0, 10]);
    expect(strict.decode(ids).join(' ')).toBe('xxunk is xxunk xxunk xxunk text');
  });

  it('puts the nine specials first, in fastai v2 order', () => {
    const vocab = Vocab.build(
      counts([
        ['xxmaj', 50],
        ['the', 40],
        ['xxunk', 1],
      ]),
      { minFreq: 1 },
    );
    expect(vocab.itos.slice(0, 10)).toEqual([...DEFAULT_SPECIALS, 'the']);
    expect(DEFAULT_SPECIALS).toEqual([
      'xxunk',
      'xxpad',
      'xxbos',
      'xxeos',
      'xxfld',
      'xxrep',
      'xxwrep',
      'xxup',
      'xxmaj',
    ]);
    expect(vocab.id('xxunk')).toBe(0);
    expect(vocab.id('xxpad')).toBe(1);
  });

  it('orders by count, ties in first-counted order', () => {
    const c = new Map<string, number>();
    countTokens(c, ['b', 'a', 'c', 'a', 'c', 'd']);
    const vocab = Vocab.build(c, { minFreq: 1 });
    expect(vocab.itos.slice(9, 13)).toEqual(['a', 'c', 'b', 'd']);
  });

  it('drops tokens under minFreq (default 3)', () => {
    const vocab = Vocab.build(
      counts([
        ['often', 3],
        ['rare', 2],
      ]),
    );
    expect(vocab.has('often')).toBe(true);
    expect(vocab.has('rare')).toBe(false);
  });

  it('keeps at most maxVocab entries, specials included, before the padding', () => {
    // most_common(12) keeps 12 words, the specials then push the list to 21, truncated to 12.
    // (Cutting before or after the minFreq filter gives the same list: the counts are sorted.)
    const c = counts([...words(20, 10), ['rare', 1]]);
    const vocab = Vocab.build(c, { maxVocab: 12, minFreq: 1 });
    expect(vocab.itos.slice(0, 12)).toEqual([...DEFAULT_SPECIALS, 'w0', 'w1', 'w2']);
    expect(vocab.size).toBe(16);
    const tiny = Vocab.build(
      counts([
        ['a', 9],
        ['b', 8],
      ]),
      { maxVocab: 2 },
    );
    expect(tiny.itos).toEqual(['xxunk', 'xxpad', ...Array<string>(6).fill(FAKE)]);
  });

  it('pads with xxfake to a multiple of 8, always adding 1 to 8', () => {
    // 9 specials + n words → padded size
    const sizes: Array<[number, number]> = [
      [0, 16], // 9 → 16
      [7, 24], // 16 is already a multiple of 8: +8
      [6, 16], // 15 → 16
      [8, 24], // 17 → 24
    ];
    for (const [n, size] of sizes) {
      const vocab = Vocab.build(words(n), { minFreq: 1 });
      expect(vocab.size).toBe(size);
      expect(vocab.itos.slice(9 + n).every((t) => t === FAKE)).toBe(true);
    }
  });

  it('gives fastai sizes at the 60000 cap: 60000 → 60008, 59999 → 60000', () => {
    expect(Vocab.build(words(70000), { minFreq: 1 }).size).toBe(60008);
    expect(Vocab.build(words(59999 - 9), { minFreq: 1 }).size).toBe(60000);
  });

  it('never maps xxfake to an id', () => {
    const vocab = Vocab.build(words(2), { minFreq: 1 });
    expect(vocab.itos).toContain(FAKE);
    expect(vocab.id(FAKE)).toBe(0);
    expect(Vocab.fromItos([...vocab.itos]).id(FAKE)).toBe(0);
  });
});

describe('Vocab lookups and persistence', () => {
  const vocab = Vocab.build(
    counts([
      ['the', 5],
      ['movie', 4],
    ]),
    { minFreq: 1 },
  );

  it('maps unknown tokens to 0 and decodes ids back', () => {
    const ids = vocab.numericalize(['the', 'unseen', 'movie']);
    expect(ids).toBeInstanceOf(Int32Array);
    expect(Array.from(ids)).toEqual([9, 0, 10]);
    expect(vocab.decode(ids)).toEqual(['the', 'xxunk', 'movie']);
    expect(() => vocab.decode([vocab.size])).toThrow(RangeError);
  });

  it('round-trips through JSON with the same hash', () => {
    const json = JSON.stringify(vocab);
    const loaded = Vocab.fromItos(JSON.parse(json) as string[]);
    expect(loaded.itos).toEqual(vocab.itos);
    expect(loaded.sha256()).toBe(vocab.sha256());
    expect(vocab.sha256()).toMatch(/^[0-9a-f]{64}$/);
    expect(Vocab.fromItos(['a', 'b']).sha256()).not.toBe(Vocab.fromItos(['b', 'a']).sha256());
    expect(vocab.toJSON()).toEqual([...vocab.itos]);
  });

  it('maps a duplicated token to its last index (a loaded list, like fastai)', () => {
    expect(Vocab.fromItos(['xxunk', 'a', 'a']).id('a')).toBe(2);
  });
});

/** fastai's make_vocab written out plainly (a stable sort of [token, count] pairs). */
function makeVocab(types: string[], counts: number[], minFreq: number, maxVocab: number): string[] {
  const byCount = types.map((t, i) => [t, counts[i]!] as const).sort((a, b) => b[1] - a[1]);
  const itos = byCount
    .slice(0, maxVocab)
    .filter(([, c]) => c >= minFreq)
    .map(([t]) => t);
  const result = [...DEFAULT_SPECIALS, ...itos.filter((t) => !DEFAULT_SPECIALS.includes(t))].slice(
    0,
    maxVocab,
  );
  const padding = 8 - (result.length % 8);
  for (let i = 0; i < padding; i++) result.push(FAKE);
  return result;
}

describe('Vocab.fromCounts and build (a counting sort)', () => {
  it('give make_vocab’s vocab: count order, ties in first-counted order, cuts and specials', () => {
    const rng = new Rng(17);
    for (let n = 0; n < 50; n++) {
      const size = rng.int(300);
      const types = Array.from({ length: size }, (_, i) =>
        i % 37 === 0 ? DEFAULT_SPECIALS[i % DEFAULT_SPECIALS.length]! + i : `t${i}`,
      );
      if (size > 3) types[3] = 'xxmaj';
      // Few distinct values, so ties are common; sometimes a fraction (the comparison-sort path).
      const counts = types.map(() => rng.int(6) + (n % 10 === 9 ? 0.5 : 0));
      const options = { minFreq: 1 + rng.int(3), maxVocab: 5 + rng.int(200) };
      const expected = makeVocab(types, counts, options.minFreq, options.maxVocab);
      expect(Vocab.fromCounts(types, Float64Array.from(counts), options).itos).toEqual(expected);
      expect(Vocab.build(new Map(types.map((t, i) => [t, counts[i]!])), options).itos).toEqual(expected);
    }
  });
});
