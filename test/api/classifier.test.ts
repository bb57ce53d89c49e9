import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Classifier, type ClassPrediction } from '../../src/api/classifier.js';
import { UlmfitError } from '../../src/errors.js';
import { loadClassifier, predictIds } from '../../src/infer/classify.js';
import { Rng } from '../../src/random.js';
import { makeDoc } from '../tasks/clas-data.js';
import { writeTinyClassifier } from '../infer/tiny-classifier.js';
import { writeTinyLm } from '../infer/tiny-lm.js';

let root: string;
let clasDir: string;
let otherDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-api-clas-'));
  clasDir = join(root, 'clas');
  otherDir = join(root, 'other');
  writeTinyClassifier(clasDir);
  writeTinyClassifier(otherDir, { seed: 8 });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Documents of very different lengths (1 to 40 tokens), in no particular order. */
function texts(n: number, seed = 11): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) =>
    makeDoc(rng, ['animal', 'plant', 'vehicle'][i % 3]!, 1 + rng.int(40)),
  );
}

async function rejection(promise: Promise<unknown>): Promise<UlmfitError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UlmfitError);
    return error as UlmfitError;
  }
  throw new Error('expected a rejection');
}

const probabilitiesOf = (p: ClassPrediction, labels: readonly string[]): number[] =>
  labels.map((label) => p.probabilities[label]!);

describe('Classifier', () => {
  it('predicts one text or many, in input order, each as it is predicted alone by the CLI path', async () => {
    const clf = await Classifier.load(clasDir, { backend: 'wasm' });
    const reference = await loadClassifier(clasDir, 'wasm');
    try {
      expect(clf.labels).toEqual(['animal', 'plant', 'vehicle']);
      const docs = texts(23);
      const many = await clf.predict(docs, { bs: 5 });
      expect(many).toHaveLength(23);
      docs.forEach((text, i) => {
        const alone = predictIds(
          reference,
          [reference.vocab.numericalize(reference.tokenizer.tokenize(text))],
          1,
        );
        probabilitiesOf(many[i]!, clf.labels).forEach((p, c) =>
          expect(p, `text ${i} class ${c}`).toBeCloseTo(alone[c]!, 5),
        );
        const best = clf.labels[alone.indexOf(Math.max(...alone))]!;
        expect(many[i]!.label).toBe(best);
        expect(many[i]!.probability).toBe(many[i]!.probabilities[best]);
      });
      const one = await clf.predict(docs[3]!);
      expect(Array.isArray(one)).toBe(false);
      probabilitiesOf(one, clf.labels).forEach((p, c) =>
        expect(p).toBeCloseTo(probabilitiesOf(many[3]!, clf.labels)[c]!, 5),
      );
      expect(new Set(many.map((p) => p.probability.toFixed(4))).size).toBeGreaterThan(15); // not one constant row
    } finally {
      reference.dispose();
      await clf.dispose();
    }
  });

  it('lists the top k labels, most probable first; an empty text and an empty list are fine', async () => {
    const clf = await Classifier.load(clasDir, { backend: 'wasm' });
    try {
      const [p] = await clf.predict(['the cat and the dog'], { topK: 2 });
      expect(p!.top).toHaveLength(2);
      expect(p!.top![0]).toEqual({ label: p!.label, probability: p!.probability });
      expect(p!.top![1]!.probability).toBeLessThanOrEqual(p!.top![0]!.probability);
      const empty = await clf.predict('');
      expect(Object.values(empty.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(await clf.predict([])).toEqual([]);
    } finally {
      await clf.dispose();
    }
  });

  it('gives concurrent callers exactly what sequential calls give (no interleaving)', async () => {
    const clf = await Classifier.load(clasDir, { backend: 'wasm' });
    try {
      // 150 texts at bs 4 take several turns of the lock, so other callers queue in between.
      const inputs = [texts(40, 1), texts(3, 2), texts(150, 3), texts(1, 4), texts(17, 5)];
      const sequential: ClassPrediction[][] = [];
      for (const input of inputs) sequential.push(await clf.predict(input, { bs: 4 }));
      const concurrent = await Promise.all(
        [...inputs, ...inputs].map((input) => clf.predict(input, { bs: 4 })),
      );
      expect(concurrent).toEqual([...sequential, ...sequential]);
    } finally {
      await clf.dispose();
    }
  });

  it('shares one loaded model between handles; each handle disposes on its own', async () => {
    const first = await Classifier.load(clasDir, { backend: 'wasm' });
    const second = await Classifier.load(clasDir, { backend: 'wasm' });
    const expected = await first.predict(texts(5));
    await first.dispose();
    await first.dispose(); // twice is harmless
    expect(await second.predict(texts(5))).toEqual(expected);
    expect((await rejection(first.predict('the cat'))).code).toBe('E_USAGE');
    await second.dispose();
    const third = await Classifier.load(clasDir, { backend: 'wasm' }); // loads afresh after the last dispose
    expect(await third.predict(texts(5))).toEqual(expected);
    await third.dispose();
  });

  it('averages several models (an ensemble) and refuses what is not a classifier, with codes', async () => {
    const both = await Classifier.load([clasDir, otherDir], { backend: 'wasm' });
    const a = await Classifier.load(clasDir, { backend: 'wasm' });
    const b = await Classifier.load(otherDir, { backend: 'wasm' });
    try {
      const docs = texts(6);
      const [pa, pb, pboth] = await Promise.all([a.predict(docs), b.predict(docs), both.predict(docs)]);
      pboth.forEach((p, i) => {
        for (const label of both.labels)
          expect(p.probabilities[label]).toBeCloseTo(
            (pa[i]!.probabilities[label]! + pb[i]!.probabilities[label]!) / 2,
            6,
          );
      });
    } finally {
      await Promise.all([both.dispose(), a.dispose(), b.dispose()]);
    }
    const lmDir = join(root, 'lm');
    writeTinyLm(lmDir);
    expect((await rejection(Classifier.load(lmDir, { backend: 'wasm' }))).code).toBe('E_MODEL_DIR');
    expect((await rejection(Classifier.load(join(root, 'missing'), { backend: 'wasm' }))).code).toBe(
      'E_INPUT_MISSING',
    );
    expect((await rejection(Classifier.load('brown-lm', { backend: 'wasm' }))).code).toBe('E_MODEL_DIR');
    expect((await rejection(Classifier.load([]))).code).toBe('E_USAGE');
    const clf = await Classifier.load(clasDir, { backend: 'wasm' });
    try {
      expect((await rejection(clf.predict([1 as unknown as string]))).code).toBe('E_USAGE');
      expect((await rejection(clf.predict('x', { topK: 0 }))).code).toBe('E_USAGE');
    } finally {
      await clf.dispose();
    }
  });
});
