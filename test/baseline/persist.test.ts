import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNbsvm, saveNbsvm, trainNbsvm, type NbsvmModel } from '../../src/baseline/index.js';
import { readModelKind, readModelMeta } from '../../src/io/artifact.js';

let root: string;
let model: NbsvmModel;
let dir: string;
const texts = [
  'the cat sat on the mat',
  'a dog and a cat',
  'my horse eats hay',
  'the bus is late',
  'a car and a truck',
  'the train left',
  'a rose and a fern',
  'the oak tree',
];
const labels = ['animal', 'animal', 'animal', 'vehicle', 'vehicle', 'vehicle', 'plant', 'plant'];
const probe = ['a cat on a bus', 'the oak and the dog', 'nothing known here', 'THE TRAIN'];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-baseline-'));
  model = trainNbsvm(texts, labels);
  dir = join(root, 'model');
  saveNbsvm(dir, model, { train_docs: texts.length });
});

describe('saveNbsvm / loadNbsvm', () => {
  it('round-trips: the loaded model predicts exactly the same probabilities', () => {
    const loaded = loadNbsvm(dir);
    expect(loaded.labels).toEqual(['animal', 'plant', 'vehicle']);
    expect(loaded.features.ngrams).toEqual(model.features.ngrams);
    expect(loaded.predictProbabilities(probe)).toEqual(model.predictProbabilities(probe));
    expect(loaded.predict(probe)).toEqual(model.predict(probe));
    expect(loaded.tokenizerSettings).toEqual(model.tokenizerSettings);
    expect([loaded.alpha, loaded.c, loaded.beta, loaded.heads]).toEqual([1, 1, 0.25, 3]);
  });

  it('writes meta.json (kind baseline, labels, settings), features.json and float32 weights', () => {
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({
      format: 'ulmfit',
      version: 1,
      kind: 'baseline',
      model: 'nbsvm',
      labels: ['animal', 'plant', 'vehicle'],
      tokenizer: { kind: 'word', rules: true, lowercase: true },
      features: { ngrams: 2, min_df: [1, 2], max_features: 200000, size: model.features.size },
      nb: { alpha: 1 },
      linear: { loss: 'logistic', multiclass: 'one-vs-rest', heads: 3, c: 1, beta: 0.25 },
      training: { train_docs: 8 },
      backwards: false,
    });
    expect(JSON.parse(readFileSync(join(dir, 'features.json'), 'utf8'))).toEqual(model.features.ngrams);
  });

  it('is a model directory of its own kind: readModelKind knows it, the AWD-LSTM readers refuse it by name', () => {
    expect(readModelKind(dir)).toBe('baseline');
    expect(() => readModelMeta(dir)).toThrow(
      expect.objectContaining({
        code: 'E_MODEL_DIR',
        message: expect.stringMatching(/is a 'baseline' \(NB-SVM\) model, not an AWD-LSTM one/),
      }),
    );
  });

  it('replaces a model directory but never a foreign one', () => {
    const again = join(root, 'again');
    saveNbsvm(again, trainNbsvm(['x y', 'z w'], ['a', 'b']));
    saveNbsvm(again, model);
    expect(loadNbsvm(again).labels).toEqual(model.labels);
    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    expect(() => saveNbsvm(foreign, model)).toThrow(expect.objectContaining({ code: 'E_OUT_EXISTS' }));
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('refuses damaged or other directories with one E_MODEL_DIR line', () => {
    const copy = (name: string, edit: (files: Record<string, string | Buffer>) => void): string => {
      const target = join(root, name);
      mkdirSync(target);
      const files: Record<string, string | Buffer> = {
        'meta.json': readFileSync(join(dir, 'meta.json'), 'utf8'),
        'features.json': readFileSync(join(dir, 'features.json'), 'utf8'),
        'weights.safetensors': readFileSync(join(dir, 'weights.safetensors')),
      };
      edit(files);
      for (const [file, data] of Object.entries(files)) writeFileSync(join(target, file), data);
      return target;
    };
    const tampered = copy(
      'tampered',
      (f) => (f['features.json'] = JSON.stringify([['cat'], ...model.features.ngrams.slice(1)]) + '\n'),
    );
    expect(() => loadNbsvm(tampered)).toThrow(
      expect.objectContaining({
        code: 'E_MODEL_DIR',
        message: expect.stringMatching(/features\.json does not match meta\.json/),
      }),
    );
    const newer = copy(
      'newer',
      (f) => (f['meta.json'] = (f['meta.json'] as string).replace('"version": 1', '"version": 99')),
    );
    expect(() => loadNbsvm(newer)).toThrow(
      expect.objectContaining({ code: 'E_MODEL_DIR', message: expect.stringMatching(/newer ulmfit/) }),
    );
    const classifier = copy(
      'classifier',
      (f) =>
        (f['meta.json'] = (f['meta.json'] as string).replace('"kind": "baseline"', '"kind": "classifier"')),
    );
    expect(() => loadNbsvm(classifier)).toThrow(
      expect.objectContaining({
        code: 'E_MODEL_DIR',
        message: expect.stringMatching(/is a 'classifier' model, not a baseline/),
      }),
    );
    const noWeights = join(root, 'no-weights');
    mkdirSync(noWeights);
    writeFileSync(join(noWeights, 'meta.json'), readFileSync(join(dir, 'meta.json')));
    writeFileSync(join(noWeights, 'features.json'), readFileSync(join(dir, 'features.json')));
    expect(() => loadNbsvm(noWeights)).toThrow(
      expect.objectContaining({
        code: 'E_MODEL_DIR',
        message: expect.stringMatching(/weights\.safetensors is missing/),
      }),
    );
    expect(() => loadNbsvm(join(root, 'nowhere'))).toThrow(
      expect.objectContaining({ code: 'E_INPUT_MISSING' }),
    );
  });
});
