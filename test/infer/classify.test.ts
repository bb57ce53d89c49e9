import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import {
  ClassifierEnsemble,
  classifyInputs,
  evaluate,
  loadClassifier,
  loadEnsemble,
  predictIds,
  topK,
  type LoadedClassifier,
} from '../../src/infer/classify.js';
import { Rng } from '../../src/random.js';
import { makeDoc, writeJsonl } from '../tasks/clas-data.js';
import { writeTinyLm } from './tiny-lm.js';
import { writeTinyClassifier } from './tiny-classifier.js';

let root: string;
let clasDir: string;
let otherDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-classify-'));
  clasDir = join(root, 'clas');
  otherDir = join(root, 'other');
  writeTinyClassifier(clasDir);
  writeTinyClassifier(otherDir, { seed: 8 });
});

/** Documents of very different lengths (1 to 40 tokens), in no particular order. */
function texts(n: number): string[] {
  const rng = new Rng(11);
  return Array.from({ length: n }, (_, i) =>
    makeDoc(rng, ['animal', 'plant', 'vehicle'][i % 3]!, 1 + rng.int(40)),
  );
}

function closeTo(actual: Float32Array, expected: Float32Array, digits = 5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(v, `at ${i}`).toBeCloseTo(expected[i]!, digits));
}

describe('predictIds / ensemble', () => {
  it('batched, length-sorted inference gives each document the probabilities it gets alone, in input order', async () => {
    const clas = await loadClassifier(clasDir, 'wasm');
    try {
      const docs = texts(23).map((t) => clas.vocab.numericalize(clas.tokenizer.tokenize(t)));
      const batched = predictIds(clas, docs, 5);
      const alone = new Float32Array(docs.length * 3);
      docs.forEach((doc, i) => alone.set(predictIds(clas, [doc], 1), i * 3));
      closeTo(batched, alone);
      for (let i = 0; i < docs.length; i++)
        expect(batched[i * 3]! + batched[i * 3 + 1]! + batched[i * 3 + 2]!).toBeCloseTo(1, 5);
      expect(new Set(Array.from(batched, (v) => v.toFixed(4))).size).toBeGreaterThan(20); // not one constant row
    } finally {
      clas.dispose();
    }
  });

  it('a backwards model sees each document reversed; an ensemble averages its members', async () => {
    const forward = await loadClassifier(clasDir, 'wasm');
    const other = await loadClassifier(otherDir, 'wasm');
    try {
      const backward: LoadedClassifier = { ...forward, backwards: true };
      const docs = texts(9).map((t) => forward.vocab.numericalize(forward.tokenizer.tokenize(t)));
      closeTo(
        predictIds(backward, docs, 4),
        predictIds(
          forward,
          docs.map((d) => d.slice().reverse()),
          4,
        ),
      );

      const sample = texts(7);
      const single = (m: LoadedClassifier) => new ClassifierEnsemble([m]).predict(sample, 3);
      const averaged = new ClassifierEnsemble([forward, other]).predict(sample, 3);
      const a = single(forward);
      const b = single(other);
      closeTo(
        averaged,
        a.map((v, i) => (v + b[i]!) / 2),
      );
    } finally {
      forward.dispose();
      other.dispose();
    }
  });

  it('refuses a model directory that is not a classifier and an ensemble with other labels', async () => {
    const lm = join(root, 'lm');
    writeTinyLm(lm);
    await expect(loadClassifier(lm, 'wasm')).rejects.toThrow(/is a 'lm' model, not a classifier/);
    const twoLabels = join(root, 'two');
    writeTinyClassifier(twoLabels, { labels: ['neg', 'pos'] });
    await expect(loadEnsemble([clasDir, twoLabels], 'wasm')).rejects.toThrow(/have different labels/);
    // a pooling this version does not know (a newer ulmfit's) is named, not read as fastai's
    const newer = join(root, 'newer');
    writeTinyClassifier(newer);
    const metaPath = join(newer, 'meta.json');
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { arch: Record<string, unknown> };
    meta.arch.pool = 'attention';
    writeFileSync(metaPath, JSON.stringify(meta));
    await expect(loadClassifier(newer, 'wasm')).rejects.toThrow(
      /meta\.json: arch\.pool "attention" is not one of last, emb\+last, all/,
    );
  });
});

describe('classifyInputs', () => {
  it('streams stdin lines in order, skipping empty ones, with gold labels from a JSONL', async () => {
    const ensemble = await loadEnsemble([clasDir], 'wasm');
    try {
      const lines = texts(6);
      const stdin = Readable.from([`${lines.slice(0, 3).join('\n')}\n\n${lines.slice(3).join('\n')}\n`]);
      const stats = { emptySkipped: 0, warnings: [] as string[] };
      const out = [];
      for await (const chunk of classifyInputs(ensemble, ['-'], { bs: 4, stdin }, stats)) out.push(...chunk);
      expect(out.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(out.map((p) => p.origin)).toEqual([
        'stdin:1',
        'stdin:2',
        'stdin:3',
        'stdin:5',
        'stdin:6',
        'stdin:7',
      ]);
      expect(stats.emptySkipped).toBe(1);
      const direct = ensemble.predict(lines, 64);
      out.forEach((p, i) =>
        expect(p.probability).toBeCloseTo(Math.max(...direct.subarray(i * 3, i * 3 + 3)), 5),
      );
      expect(out.every((p) => p.gold === undefined)).toBe(true);

      const jsonl = writeJsonl(
        join(root, 'gold.jsonl'),
        lines.map((text, i) => ({ text, label: ['animal', 'plant', 'vehicle'][i % 3]! })),
      );
      const labeled = [];
      for await (const chunk of classifyInputs(ensemble, [jsonl], { bs: 4, chunkDocs: 4 }))
        labeled.push(...chunk);
      expect(labeled.map((p) => p.gold)).toEqual([
        'animal',
        'plant',
        'vehicle',
        'animal',
        'plant',
        'vehicle',
      ]);
      expect(labeled.map((p) => p.origin)).toEqual([1, 2, 3, 4, 5, 6].map((line) => `${jsonl}:${line}`));
    } finally {
      ensemble.dispose();
    }
  });
});

describe('evaluate / topK', () => {
  it('scores predictions against gold labels', () => {
    const e = evaluate(['neg', 'pos'], ['pos', 'pos', 'neg', 'neg'], ['pos', 'neg', 'neg', 'neg']);
    expect(e.count).toBe(4);
    expect(e.accuracy).toBe(0.75);
    expect(e.confusion).toEqual([
      [2, 1],
      [0, 1],
    ]);
    expect(e.perClass[0]).toMatchObject({ label: 'neg', precision: 1, recall: 2 / 3, support: 3 });
    expect(e.perClass[1]).toMatchObject({ label: 'pos', precision: 0.5, recall: 1, support: 1 });
    expect(e.f1Macro).toBeCloseTo((0.8 + 2 / 3) / 2, 10);
  });

  it('lists gold labels the model does not know', () => {
    expect(() => evaluate(['neg', 'pos'], ['pos', 'neg', 'pos'], ['pos', 'meh', 'good'])).toThrow(
      /gold labels 'good', 'meh' are not among the model's labels \(neg, pos\)/,
    );
  });

  it('ranks classes by probability', () => {
    expect(topK(['a', 'b', 'c'], [0.2, 0.5, 0.3], 2)).toEqual([
      { label: 'b', probability: 0.5 },
      { label: 'c', probability: 0.3 },
    ]);
  });
});
