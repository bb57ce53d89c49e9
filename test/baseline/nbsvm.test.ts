import { describe, expect, it } from 'vitest';
import {
  encodeDocs,
  evaluateNbsvm,
  FeatureVocab,
  logCountRatios,
  trainNbsvm,
  trainNbsvmTokens,
  type BinaryCsr,
} from '../../src/baseline/index.js';
import { Rng } from '../../src/random.js';

/** Documents of filler words with a class word every third word; `perClass` documents per class. */
function keywordDocs(
  seed: number,
  perClass: number,
  classes: Record<string, string[]>,
): { texts: string[]; labels: string[] } {
  const rng = new Rng(seed);
  const filler = 'the a of and to in it was on with for as at by this that'.split(' ');
  const texts: string[] = [];
  const labels: string[] = [];
  for (let i = 0; i < perClass; i++) {
    for (const [label, words] of Object.entries(classes)) {
      const length = 6 + rng.int(10);
      texts.push(
        Array.from({ length }, (_, k) =>
          k % 3 === 1 ? words[rng.int(words.length)] : filler[rng.int(filler.length)],
        ).join(' '),
      );
      labels.push(label);
    }
  }
  return { texts, labels };
}

describe('features', () => {
  it('keeps unigrams seen once and bigrams seen in two documents, most frequent first', () => {
    const docs = [
      ['new', 'york', 'is', 'big'],
      ['new', 'york', 'city'],
      ['york', 'city', 'is', 'old'],
    ];
    const vocab = FeatureVocab.build(docs);
    const names = vocab.ngrams.map((g) => g.join(' '));
    // df 3: york; df 2: new, is, city (first-seen order), then the bigrams of df 2; df 1: big, old.
    expect(names).toEqual(['york', 'new', 'is', 'city', 'new york', 'york city', 'big', 'old']);
    // 'york is', 'is big', 'is old' occur in one document only: not features.
    expect(names).not.toContain('york is');
    const encoded = vocab.encode(['new', 'york', 'city', 'new', 'york', 'unseen']);
    expect([...encoded]).toEqual([0, 1, 3, 4, 5]);
    expect(Array.from(encoded, (id) => vocab.ngrams[id]!.join(' '))).toEqual([
      'york',
      'new',
      'city',
      'new york',
      'york city',
    ]);
  });

  it('ngrams 1 drops bigrams; minDf and maxFeatures bound the vocabulary', () => {
    const docs = [
      ['a', 'b', 'c'],
      ['a', 'b'],
      ['a', 'd'],
    ];
    expect(FeatureVocab.build(docs, { ngrams: 1 }).ngrams.map((g) => g.join(' '))).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
    expect(FeatureVocab.build(docs, { minDf: [2, 2] }).ngrams.map((g) => g.join(' '))).toEqual([
      'a',
      'b',
      'a b',
    ]);
    expect(FeatureVocab.build(docs, { maxFeatures: 2 }).ngrams.map((g) => g.join(' '))).toEqual(['a', 'b']);
    expect(() => FeatureVocab.build(docs, { minDf: [0, 2] })).toThrow(RangeError);
  });

  it('encodes documents as a binary CSR matrix (presence, not counts)', () => {
    const vocab = FeatureVocab.build([['x', 'y'], ['x', 'y'], ['z']]);
    const x = encodeDocs(vocab, [['x', 'x', 'x'], [], ['x', 'y', 'z']]);
    expect(x.rows).toBe(3);
    expect(x.cols).toBe(4);
    expect([...x.indptr]).toEqual([0, 1, 1, 5]);
    expect(vocab.ngrams.map((g) => g.join(' '))).toEqual(['x', 'y', 'x y', 'z']);
    expect([...x.indices]).toEqual([0, 0, 1, 2, 3]);
  });
});

describe('log-count ratios', () => {
  // pos: {a,b}, {a,c}; neg: {b,c}, {c,d}. Features ordered c (df 3), a, b (df 2), d (df 1).
  const docs = [
    ['a', 'b'],
    ['a', 'a', 'c'],
    ['b', 'c'],
    ['c', 'd'],
  ];
  const labels = ['pos', 'pos', 'neg', 'neg'];

  it('match the hand computation r = log((p/|p|)/(q/|q|))', () => {
    const vocab = FeatureVocab.build(docs, { ngrams: 1 });
    expect(vocab.ngrams.map((g) => g[0])).toEqual(['c', 'a', 'b', 'd']);
    const x = encodeDocs(vocab, docs);
    // alpha 1: p = 1 + [1, 2, 1, 0] = [2, 3, 2, 1], q = 1 + [2, 0, 1, 1] = [3, 1, 2, 2]; |p| = |q| = 8.
    const r = logCountRatios(x, [true, true, false, false], 1);
    expect([...r]).toEqual(
      [Math.log(2 / 3), Math.log(3), 0, Math.log(1 / 2)].map((v) => expect.closeTo(v, 12)),
    );
    // alpha 0.5: p = [1.5, 2.5, 1.5, 0.5], q = [2.5, 0.5, 1.5, 1.5]; both sum to 6.
    const half = logCountRatios(x, [true, true, false, false], 0.5);
    expect([...half]).toEqual(
      [Math.log(0.6), Math.log(5), 0, Math.log(1 / 3)].map((v) => expect.closeTo(v, 12)),
    );
  });

  it("normalize by each side's total when the totals differ", () => {
    const x: BinaryCsr = {
      rows: 3,
      cols: 2,
      indptr: Int32Array.of(0, 2, 3, 4),
      indices: Int32Array.of(0, 1, 0, 1),
    };
    // positive: row 0 → p = 1 + [1, 1] = [2, 2], |p| = 4; negative: rows 1, 2 → q = 1 + [1, 1] = [2, 2], |q| = 4.
    expect([...logCountRatios(x, [true, false, false])]).toEqual([0, 0]);
    // positive: rows 0, 1 → p = [3, 2], |p| = 5; negative: row 2 → q = [1, 2], |q| = 3.
    const r = logCountRatios(x, [true, true, false]);
    expect(r[0]).toBeCloseTo(Math.log(3 / 5 / (1 / 3)), 12);
    expect(r[1]).toBeCloseTo(Math.log(2 / 5 / (2 / 3)), 12);
  });

  it('are what a trained model stores: one r for two classes (the second label positive), one per class beyond', () => {
    const binary = trainNbsvmTokens(docs, labels, { features: { ngrams: 1 } });
    expect(binary.labels).toEqual(['neg', 'pos']);
    expect(binary.heads).toBe(1);
    expect([...binary.r]).toEqual(
      [Math.log(2 / 3), Math.log(3), 0, Math.log(1 / 2)].map((v) => expect.closeTo(v, 6)),
    );

    const three = trainNbsvmTokens([...docs, ['d', 'e']], [...labels, 'other'], { features: { ngrams: 1 } });
    expect(three.heads).toBe(3);
    expect(three.features.ngrams.map((g) => g[0])).toEqual(['c', 'a', 'b', 'd', 'e']);
    // Head 1 ('other' vs the rest): p = 1 + [0, 0, 0, 1, 1] = [1, 1, 1, 2, 2] (|p| 7); q = 1 + [3, 2, 2, 1, 0] = [4, 3, 3, 2, 1] (|q| 13).
    const f = three.features.size;
    const other = [...three.r.subarray(f, 2 * f)];
    expect(other).toEqual(
      [
        [1, 4],
        [1, 3],
        [1, 3],
        [2, 2],
        [2, 1],
      ].map(([p, q]) => expect.closeTo(Math.log(p! / 7 / (q! / 13)), 6)),
    );
  });
});

describe('trainNbsvm', () => {
  const classes = {
    animal: 'cat dog bird horse cow'.split(' '),
    vehicle: 'car bus train truck bike'.split(' '),
    plant: 'tree rose oak fern moss'.split(' '),
  };

  it('learns a keyword task: high held-out accuracy, probabilities that sum to 1, argmax = predict', () => {
    const train = keywordDocs(1, 20, classes);
    const test = keywordDocs(2, 30, classes);
    const model = trainNbsvm(train.texts, train.labels);
    expect(model.labels).toEqual(['animal', 'plant', 'vehicle']);
    const scores = evaluateNbsvm(model, test.texts, test.labels);
    expect(scores.count).toBe(90);
    expect(scores.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(scores.f1Macro).toBeGreaterThanOrEqual(0.95);
    const p = model.predictProbabilities(test.texts.slice(0, 5));
    expect(p).toHaveLength(15);
    for (let i = 0; i < 5; i++) {
      const row = [...p.subarray(i * 3, i * 3 + 3)];
      expect(row.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
      expect(model.labels[row.indexOf(Math.max(...row))]).toBe(model.predict([test.texts[i]!])[0]);
    }
    // Unseen words only: no feature fires, still a distribution.
    const unseen = model.predictProbabilities(['zebra quokka']);
    expect([...unseen].reduce((a, b) => a + b)).toBeCloseTo(1, 5);
  });

  it("tokenizes with fastai's rules: case does not change the features", () => {
    const train = keywordDocs(3, 10, { animal: classes.animal, vehicle: classes.vehicle });
    const model = trainNbsvm(train.texts, train.labels);
    expect(model.tokenize('The CAT')).toEqual(['xxbos', 'xxmaj', 'the', 'xxup', 'cat']);
    expect(model.predict(['A DOG and a COW', 'a BUS'])).toEqual(['animal', 'vehicle']);
  });

  it('uses bigrams: word order alone separates the classes', () => {
    const rng = new Rng(5);
    const nouns = 'dog man cat child bird'.split(' ');
    // 'x bites y' vs 'y bites x' share every unigram; only the bigrams tell them apart.
    const make = (n: number) => {
      const texts: string[] = [];
      const labels: string[] = [];
      for (let i = 0; i < n; i++) {
        const other = nouns[1 + rng.int(nouns.length - 1)]!;
        texts.push(`dog bites ${other}`, `${other} bites dog`);
        labels.push('dog-bites', 'bitten');
      }
      return { texts, labels };
    };
    const train = make(30);
    const test = make(20);
    const bigrams = trainNbsvm(train.texts, train.labels);
    const unigrams = trainNbsvm(train.texts, train.labels, { features: { ngrams: 1 } });
    expect(evaluateNbsvm(bigrams, test.texts, test.labels).accuracy).toBe(1);
    expect(evaluateNbsvm(unigrams, test.texts, test.labels).accuracy).toBeLessThanOrEqual(0.6);
  });

  it('is deterministic, and beta interpolates the weights towards their mean magnitude', () => {
    const train = keywordDocs(4, 8, classes);
    const a = trainNbsvm(train.texts, train.labels);
    const b = trainNbsvm(train.texts, train.labels);
    expect(a.weight).toEqual(b.weight);
    expect(a.bias).toEqual(b.bias);
    expect(a.beta).toBe(0.25);
    const plain = trainNbsvm(train.texts, train.labels, { beta: 1 });
    const f = plain.features.size;
    for (let h = 0; h < plain.heads; h++) {
      const w = plain.weight.subarray(h * f, (h + 1) * f);
      const mean = w.reduce((s, v) => s + Math.abs(v), 0) / f;
      for (const j of [0, 1, f - 1]) expect(a.weight[h * f + j]).toBeCloseTo(0.75 * mean + 0.25 * w[j]!, 5);
    }
    // The intercept is refitted for the interpolated weights.
    expect(a.bias).not.toEqual(plain.bias);
  });

  it('refuses what cannot train, and gold labels it does not know', () => {
    expect(() => trainNbsvm(['a', 'b'], ['x', 'x'])).toThrow(
      expect.objectContaining({ code: 'E_LABELS', message: expect.stringMatching(/single class \('x'\)/) }),
    );
    expect(() => trainNbsvm([], [])).toThrow(expect.objectContaining({ code: 'E_INPUT_EMPTY' }));
    expect(() => trainNbsvm(['a'], ['x', 'y'])).toThrow(RangeError);
    expect(() => trainNbsvm(['a', 'b'], ['x', ''])).toThrow(expect.objectContaining({ code: 'E_LABELS' }));
    expect(() => trainNbsvm(['a', 'b'], ['x', 'y'], { c: 0 })).toThrow(RangeError);
    const model = trainNbsvm(['cat dog', 'car bus'], ['animal', 'vehicle']);
    expect(() => evaluateNbsvm(model, ['cat'], ['plant'])).toThrow(
      expect.objectContaining({
        code: 'E_LABELS',
        message: expect.stringMatching(/'plant' is not among the model's labels/),
      }),
    );
  });
});
