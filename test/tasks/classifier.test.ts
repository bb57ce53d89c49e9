import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BASELINE_ENSEMBLE_WEIGHT } from '../../src/config/inference.js';
import { readModelDir } from '../../src/io/artifact.js';
import { toFloat32 } from '../../src/io/tensors.js';
import {
  checkLabels,
  defaultClassifierStages,
  trainClassifier,
  type ClassifierTrainOptions,
} from '../../src/tasks/classifier.js';
import { loadClassifiers } from '../../src/tasks/load-classifiers.js';
import { trainBaseline } from '../../src/tasks/baseline.js';
import { tokenizeCorpus } from '../../src/text/pipeline.js';
import { makeRows, tinyClassifierRun, trainTinyLm, writeCsv, writeJsonl } from './clas-data.js';

let root: string;
let lmRun: string;
let trainCsv: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-clas-'));
  lmRun = await trainTinyLm(root);
  trainCsv = writeCsv(join(root, 'train.csv'), makeRows(1, 40));
});

function tiny(out: string, extra: Partial<ClassifierTrainOptions> = {}): ClassifierTrainOptions {
  return tinyClassifierRun(
    { inputs: [trainCsv], out: join(root, out), lm: lmRun },
    {
      stages: [
        { freezeTo: -1, epochs: 1, lr: 2e-2 },
        { freezeTo: 0, epochs: 3, lr: 3e-2 },
      ],
      ...extra,
    },
  );
}

function weightsOf(dir: string): Map<string, number[]> {
  const loaded = readModelDir(dir);
  return new Map([...loaded.weights].map(([name, t]) => [name, Array.from(toFloat32(t))]));
}

describe('trainClassifier', () => {
  it('trains on the encoder of an LM run and writes a classifier run directory', async () => {
    // A 16-document validation set and 4 epochs: whether this tiny run learns depends on its
    // dropout masks; seed 1 is one that does (seeds 1-8: six of eight reach 100%).
    const infos: string[] = [];
    const result = await trainClassifier(tiny('run', { seed: 1, onInfo: (m) => infos.push(m) }));
    expect(infos).toContain(
      'validating on a random 20% of the documents (the data has no valid/ split; --valid-pct or --valid to choose)',
    );
    expect(result.labels).toEqual(['animal', 'vehicle']);
    expect(result.encoder).toBe(join(lmRun, 'encoder'));
    expect(result.trainDocs).toBe(64);
    expect(result.validDocs).toBe(16);
    expect(result.history).toHaveLength(4);
    expect(result.history[3]!.trainLoss).toBeLessThan(result.history[0]!.trainLoss);
    expect(result.history.every((row) => row.f1Macro !== undefined)).toBe(true);
    expect(result.best!.accuracy).toBeGreaterThanOrEqual(0.9);
    const best = readModelDir(join(root, 'run', 'model-best'), { kind: ['classifier'] });
    expect(best.labels).toEqual(['animal', 'vehicle']);
    expect(best.meta.arch).toMatchObject({
      emb_sz: 8,
      n_hid: 12,
      n_layers: 2,
      seq_len: 8,
      max_len: 16,
      lin_ftrs: [50],
    });
    expect(best.meta.arch.output_p).toBeCloseTo(0.2); // fastai clas config 0.4 × drop_mult 0.5
    expect(best.vocab).toEqual(readModelDir(join(lmRun, 'encoder')).vocab);
    expect(best.weights.get('1.layers.0.0.num_batches_tracked')!.dtype).toBe('int32');
    const metrics = readFileSync(join(root, 'run', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { f1_macro: number; stage: number });
    expect(metrics).toHaveLength(4);
    expect(metrics.map((m) => m.f1_macro)).toEqual(result.history.map((h) => h.f1Macro));
    expect(metrics.map((m) => m.stage)).toEqual(result.history.map((h) => h.stage + 1));
    expect(JSON.parse(readFileSync(join(root, 'run', 'config.json'), 'utf8'))).toMatchObject({
      lm: lmRun,
      bs: 8,
    });
  });

  it('pool emb+last: the saved model and config.json record it, and the loaded model reads it back', async () => {
    await trainClassifier(
      tiny('pool', { pool: 'emb+last', stages: [{ freezeTo: -1, epochs: 1, lr: 2e-2 }] }),
    );
    const best = readModelDir(join(root, 'pool', 'model-best'), { kind: ['classifier'] });
    expect(best.meta.arch.pool).toBe('emb+last');
    expect(best.weights.get('1.layers.0.2.weight')!.shape).toEqual([50, 3 * 2 * 8]);
    expect(JSON.parse(readFileSync(join(root, 'pool', 'config.json'), 'utf8'))).toMatchObject({
      pool: 'emb+last',
    });
    const loaded = await loadClassifiers([join(root, 'pool', 'model-best')], 'wasm');
    try {
      expect(loaded.members).toHaveLength(1);
      const texts = makeRows(5, 2).map((row) => row.text);
      const probabilities = loaded.predict(texts);
      expect(probabilities).toHaveLength(texts.length * 2);
      for (let i = 0; i < texts.length; i++)
        expect(probabilities[2 * i]! + probabilities[2 * i + 1]!).toBeCloseTo(1, 5);
    } finally {
      loaded.dispose();
    }
  });

  it('a frozen stage keeps the encoder exactly as the language model left it (lm kind, 0. prefix)', async () => {
    await trainClassifier(
      tiny('frozen', { lm: join(lmRun, 'model-best'), stages: [{ freezeTo: -1, epochs: 1, lr: 2e-2 }] }),
    );
    const clas = weightsOf(join(root, 'frozen', 'model-last'));
    const lm = weightsOf(join(lmRun, 'model-best'));
    expect(clas.get('0.module.encoder.weight')).toEqual(lm.get('0.encoder.weight'));
    expect(clas.get('0.module.rnns.1.weight_hh_l0_raw')).toEqual(lm.get('0.rnns.1.weight_hh_l0_raw'));
  });

  it('an interrupted run resumed ends with the same weights as an uninterrupted one', async () => {
    await trainClassifier(tiny('full'));
    let epochs = 0;
    await expect(
      trainClassifier(
        tiny('cut', {
          onEpochEnd: () => {
            epochs += 1;
            if (epochs === 2) throw new Error('simulated crash');
          },
        }),
      ),
    ).rejects.toThrow('simulated crash');
    await trainClassifier(tiny('cut', { resume: true, lm: undefined }));
    const full = weightsOf(join(root, 'full', 'model-last'));
    const resumed = weightsOf(join(root, 'cut', 'model-last'));
    expect([...resumed.keys()]).toEqual([...full.keys()]);
    for (const [name, values] of full) expect(resumed.get(name), name).toEqual(values);
  });

  it('l2sp keeps the encoder near the language model, and a resumed run still pulls it towards the language model', async () => {
    const distanceToLm = (run: string): number => {
      const clas = weightsOf(join(root, run, 'model-last'));
      const lm = weightsOf(join(lmRun, 'model-last'));
      let sum = 0;
      for (const [name, values] of clas) {
        if (!name.startsWith('0.module.')) continue; // the head is new: nothing to pull it towards
        const pretrained = lm.get(name.replace('0.module.', '0.')) as number[];
        values.forEach((v, i) => (sum += (v - (pretrained[i] as number)) ** 2));
      }
      return Math.sqrt(sum);
    };
    await trainClassifier(tiny('sp-off'));
    await trainClassifier(tiny('sp-on', { l2sp: 30 }));
    expect(distanceToLm('sp-on')).toBeLessThan(0.5 * distanceToLm('sp-off'));
    const config = JSON.parse(readFileSync(join(root, 'sp-on', 'config.json'), 'utf8')) as { l2sp: number };
    expect(config.l2sp).toBe(30);

    let epochs = 0;
    const crash = () => {
      epochs += 1;
      if (epochs === 2) throw new Error('simulated crash');
    };
    await expect(trainClassifier(tiny('sp-cut', { l2sp: 30, onEpochEnd: crash }))).rejects.toThrow(
      'simulated crash',
    );
    await trainClassifier(tiny('sp-cut', { resume: true, lm: undefined }));
    const full = weightsOf(join(root, 'sp-on', 'model-last'));
    const resumed = weightsOf(join(root, 'sp-cut', 'model-last'));
    for (const [name, values] of full) expect(resumed.get(name), name).toEqual(values);
  });

  it('from scratch: same architecture, random weights, vocab from the data, valid/ split of a folder', async () => {
    const data = join(root, 'folders');
    makeRows(5, 12).forEach((row, i) => {
      const split = i < 16 ? 'valid' : 'train';
      mkdirSync(join(data, split, row.label), { recursive: true });
      writeFileSync(join(data, split, row.label, `${i}.txt`), row.text);
    });
    const infos: string[] = [];
    const result = await trainClassifier(
      tiny('scratch', {
        inputs: [data],
        lm: undefined,
        fromScratch: true,
        emb: 8,
        hidden: 12,
        layers: 2,
        minFreq: 1,
        stages: defaultClassifierStages({ fromScratch: true, epochs: 1 }),
        onInfo: (m) => infos.push(m),
      }),
    );
    // the split is inferred from the folders, and said
    expect(infos).toContain("validating on the data's valid/ split (--valid-pct draws a random one instead)");
    expect(result.encoder).toBeNull();
    expect(result.validDocs).toBe(16);
    expect(result.history).toHaveLength(4);
    const model = readModelDir(join(root, 'scratch', 'model-last'), { kind: ['classifier'] });
    expect(model.vocab).toContain('truck');
    expect(model.vocab).not.toContain('fern');
  });

  it('aclImdb layout: validates on test/ when there is no valid/, and --ignore-label drops unsup', async () => {
    const messages: string[] = [];
    const options = tiny('imdb', {
      inputs: ['fixtures/inputs/imdb-mini'],
      stages: [{ epochs: 1, lr: 1e-2 }],
      onInfo: (m) => messages.push(m),
      onWarning: (m) => messages.push(`warning: ${m}`),
    });
    const withUnsup = await trainClassifier(options);
    expect(withUnsup.labels).toEqual(['neg', 'pos', 'unsup']);
    expect(messages).toContain(
      'the data has no valid/ split: validating on test/ (as fastbook does for IMDb)',
    );
    expect(messages.some((m) => m.startsWith("warning: no validation documents for class 'unsup'"))).toBe(
      true,
    );
    const result = await trainClassifier({ ...options, out: join(root, 'imdb-2'), ignoreLabels: ['unsup'] });
    expect(result.labels).toEqual(['neg', 'pos']);
    expect([result.trainDocs, result.validDocs]).toEqual([4, 2]);
  });

  it("reads documents in the encoder's direction; a direction given must be the encoder's", async () => {
    await expect(trainClassifier(tiny('bw', { backwards: true }))).rejects.toThrow(
      /forwards encoder but this run is backwards/,
    );
    const back = await trainTinyLm(root, 'lm-back', { backwards: true });
    await expect(trainClassifier(tiny('fw', { lm: back, backwards: false }))).rejects.toThrow(
      /backwards encoder but this run is forwards/,
    );
    const result = await trainClassifier(
      tiny('bw-ok', { lm: back, backwards: true, stages: [{ freezeTo: -1, epochs: 1, lr: 2e-2 }] }),
    );
    expect(readModelDir(join(result.runDir, 'model-last')).meta.backwards).toBe(true);
    // Not given: the backwards encoder makes a backwards classifier (and says so), with the same weights.
    const messages: string[] = [];
    const inferred = await trainClassifier(
      tiny('bw-inferred', {
        lm: back,
        stages: [{ freezeTo: -1, epochs: 1, lr: 2e-2 }],
        onInfo: (m) => messages.push(m),
      }),
    );
    expect(readModelDir(join(inferred.runDir, 'model-last')).meta.backwards).toBe(true);
    expect(messages.some((m) => m.startsWith('backwards encoder ('))).toBe(true);
    expect(inferred.history.map((r) => r.validLoss)).toEqual(result.history.map((r) => r.validLoss));
  });

  it('refuses bad labels and a corpus tokenized with another vocab, naming what is wrong', async () => {
    const one = writeCsv(join(root, 'one.csv'), makeRows(2, 10, ['animal']));
    await expect(trainClassifier(tiny('one', { inputs: [one] }))).rejects.toThrow(
      /single class \('animal'\)/,
    );

    const valid = writeJsonl(join(root, 'valid.jsonl'), makeRows(3, 3, ['animal', 'plant']));
    await expect(trainClassifier(tiny('unseen', { valid: [valid] }))).rejects.toThrow(
      /label 'plant' \(3 validation documents\) has no training documents/,
    );

    const unlabeled = join(root, 'unlabeled.jsonl');
    writeFileSync(
      unlabeled,
      makeRows(4, 5)
        .map((r) => JSON.stringify({ text: r.text }))
        .join('\n'),
    );
    await expect(trainClassifier(tiny('unlabeled', { inputs: [unlabeled] }))).rejects.toThrow(
      /have no labels/,
    );

    const corpus = join(root, 'corpus');
    await tokenizeCorpus([trainCsv], { out: corpus, noCache: true, workers: 0, minFreq: 1 });
    const error = (await trainClassifier(tiny('other-vocab', { inputs: [corpus] })).catch(
      (e: Error) => e,
    )) as Error;
    expect(error.message).toContain(`the corpus ${corpus}`);
    expect(error.message).toContain(`the encoder ${join(lmRun, 'encoder')}`);

    await expect(trainClassifier(tiny('both', { fromScratch: true }))).rejects.toThrow(/exclude each other/);
    await expect(trainClassifier(tiny('neither', { lm: undefined }))).rejects.toThrow(/no encoder given/);
    await expect(
      trainClassifier(tiny('anchorless', { lm: undefined, fromScratch: true, l2sp: 10 })),
    ).rejects.toThrow(
      /--l2sp pulls the encoder towards the language model it came from; --from-scratch has none/,
    );
  });

  it('warns about empty documents and plans the batch size for tiny data', async () => {
    const rows = makeRows(6, 3);
    const path = join(root, 'empties.jsonl');
    writeFileSync(path, [...rows, { text: '   ', label: 'animal' }].map((r) => JSON.stringify(r)).join('\n'));
    const warnings: string[] = [];
    const infos: string[] = [];
    const result = await trainClassifier(
      tiny('empties', {
        inputs: [path],
        validPct: 0.3,
        onInfo: (m) => infos.push(m),
        onWarning: (m) => warnings.push(m),
        stages: [{ epochs: 1, lr: 1e-2 }],
      }),
    );
    expect(warnings).toContain(`1 empty document in ${path} skipped`);
    // A batch size above the document count is lowered to it; the given recipe is kept, no document dropped.
    expect(result.bs).toBe(5);
    expect(infos).toContain('recipe: recipe as given (--schedule), bs 5, every document every epoch');
  });
});

describe('trainClassifier with the planned recipe', () => {
  it('small data: the planned bs and epochs, every training document in every epoch, model-best by accuracy', async () => {
    const infos: string[] = [];
    const batches = new Map<string, number>();
    const result = await trainClassifier(
      tiny('planned', {
        bs: undefined,
        stages: undefined,
        validPct: 0.25,
        baseline: true,
        onInfo: (m) => infos.push(m),
        onBatchEnd: (b) => batches.set(`${b.stage}.${b.epoch}`, b.numBatches),
      }),
    );
    // 40 × 2 rows, a quarter held out: 60 training documents → bs 8 (8 batches, the last of 4), 4+4+4+8 epochs.
    expect(result.trainDocs).toBe(60);
    expect(result.bs).toBe(8);
    expect(result.stages.map((s) => s.epochs)).toEqual([4, 4, 4, 8]);
    expect(result.history).toHaveLength(20);
    expect(new Set(batches.values())).toEqual(new Set([Math.ceil(60 / 8)]));
    expect(
      infos.some((m) =>
        m.startsWith(
          'recipe: 60 training documents: bs 8 (8 batches an epoch, none dropped), 4+4+4+8 epochs',
        ),
      ),
    ).toBe(true);
    const bestAccuracy = Math.max(...result.history.map((r) => r.accuracy ?? 0));
    expect(result.best?.accuracy).toBe(bestAccuracy);
    const config = JSON.parse(readFileSync(join(root, 'planned', 'config.json'), 'utf8')) as {
      bs: number;
      stages: unknown[];
    };
    expect(config.bs).toBe(8);
    expect(config.stages).toEqual(result.stages);
    // The NB-SVM baseline saw the same split, and its model directory classifies.
    expect(result.baseline?.trainDocs).toBe(60);
    expect(result.baseline?.validDocs).toBe(result.validDocs);
    expect(result.baseline?.accuracy).toBeGreaterThan(0.5);
    expect(existsSync(join(root, 'planned', 'baseline', 'meta.json'))).toBe(true);
    expect(
      infos.some((m) =>
        m.startsWith('baseline: NB-SVM on the same 60 training documents: validation accuracy'),
      ),
    ).toBe(true);
    // Scored on the 60, the saved baseline is refit on all 80 labeled documents (the share was drawn from them).
    expect(result.baseline?.savedDocs).toBe(80);
    const baselineMeta = JSON.parse(readFileSync(join(root, 'planned', 'baseline', 'meta.json'), 'utf8')) as {
      training: { train_docs: number; refit_on_all_docs: number };
    };
    expect(baselineMeta.training).toMatchObject({ train_docs: 60, refit_on_all_docs: 80 });
    expect(
      infos.some((m) => m.includes('; refit on all 80 labeled documents (it selects nothing on validation)')),
    ).toBe(true);
    // Small data: three networks, each on its own seed (so its own drawn validation share).
    expect(result.networks.map((n) => [n.runDir, n.seed])).toEqual([
      [join(root, 'planned'), 3],
      [join(root, 'planned', 'networks', '2'), 1003],
      [join(root, 'planned', 'networks', '3'), 2003],
    ]);
    expect(infos).toContain(
      'networks: 3 (small data: each network has its own seed and validation share, and classify averages them; 3× the training time, --networks 1 trains one)',
    );
    expect(JSON.parse(readFileSync(join(root, 'planned', 'config.json'), 'utf8'))).toMatchObject({
      networks: 3,
    });
    // The others trained on part of the first's validation share: only the first is scored with the
    // baseline on it.
    expect(result.ensemble?.networks).toEqual([join(root, 'planned', 'model-best')]);
    // What classify uses by default (model-best/ and the baseline averaged) is scored on the same split.
    expect(result.ensemble).not.toBeNull();
    expect(result.ensemble!.accuracy).toBeGreaterThanOrEqual(0);
    expect(result.ensemble!.accuracy).toBeLessThanOrEqual(1);
    expect(result.ensemble!.accuracy * result.validDocs).toBeCloseTo(
      Math.round(result.ensemble!.accuracy * result.validDocs),
      6,
    );
  });

  it('a run directory classifies as its networks and its baseline averaged; model-best/ alone is one model', async () => {
    const run = join(root, 'planned');
    // Small data: the run trained three networks (its own and networks/2/, networks/3/).
    const best = join(run, 'model-best');
    const others = [join(run, 'networks', '2', 'model-best'), join(run, 'networks', '3', 'model-best')];
    const baseline = join(run, 'baseline');
    const whole = await loadClassifiers([run], 'wasm');
    const alone = await loadClassifiers([best], 'wasm');
    const nbsvm = await loadClassifiers([baseline], 'wasm');
    const singles = await Promise.all(others.map((dir) => loadClassifiers([dir], 'wasm')));
    const twice = await loadClassifiers([run, run], 'wasm');
    try {
      expect(whole.members.map((m) => m.dir)).toEqual([best, ...others, baseline]);
      expect(whole.origins).toEqual([run, run, run, run]);
      expect(alone.members.map((m) => m.dir)).toEqual([best]);
      // Two runs sharing one baseline (the same bytes) count it once.
      expect(twice.members.map((m) => m.dir)).toEqual([best, ...others, baseline, best, ...others]);
      const texts = makeRows(9, 3).map((row) => row.text);
      const [p, a, b] = [whole.predict(texts), alone.predict(texts), nbsvm.predict(texts)];
      const [n2, n3] = singles.map((e) => e.predict(texts));
      // The networks differ (their own seeds and validation shares) and weigh as one together;
      // the baseline counts BASELINE_ENSEMBLE_WEIGHT times in the average.
      expect(Array.from(n2!)).not.toEqual(Array.from(a));
      const w = BASELINE_ENSEMBLE_WEIGHT;
      expect(w).toBe(3);
      for (let i = 0; i < p.length; i++)
        expect(p[i]).toBeCloseTo((a[i]! + n2![i]! + n3![i]!) / 3 / (1 + w) + (w * b[i]!) / (1 + w), 6);
    } finally {
      for (const ensemble of [whole, alone, nbsvm, twice, ...singles]) ensemble.dispose();
    }
  });

  it('without a baseline there is no ensemble score, and the run directory is its networks alone', async () => {
    const result = await trainClassifier(
      tiny('no-baseline', {
        validPct: 0.25,
        baseline: false,
        stages: [{ freezeTo: -1, epochs: 1, lr: 2e-2 }],
      }),
    );
    expect(result.baseline).toBeNull();
    expect(result.ensemble).toBeNull();
    const run = join(root, 'no-baseline');
    const loaded = await loadClassifiers([run], 'wasm');
    try {
      expect(loaded.members.map((m) => m.dir)).toEqual([
        join(run, 'model-best'),
        join(run, 'networks', '2', 'model-best'),
        join(run, 'networks', '3', 'model-best'),
      ]);
    } finally {
      loaded.dispose();
    }
  });
});

describe('trainBaseline refitOnAll', () => {
  it('refits on every labeled document only when the validation share was drawn from them', async () => {
    const validCsv = writeCsv(join(root, 'refit-valid.csv'), makeRows(5, 5));
    const common = { inputs: [trainCsv], workers: 0, noCache: true, refitOnAll: true, overwrite: true };
    const drawn = await trainBaseline({ ...common, out: join(root, 'refit-drawn'), validPct: 0.25 });
    expect([drawn.trainDocs, drawn.validDocs, drawn.savedDocs]).toEqual([60, 20, 80]);
    const given = await trainBaseline({ ...common, out: join(root, 'refit-given'), valid: [validCsv] });
    expect([given.trainDocs, given.validDocs, given.savedDocs]).toEqual([80, 10, 80]);
    // The refit model is the one `ulmfit baseline` trains on all 80 with no validation share.
    const all = await trainBaseline({
      ...common,
      refitOnAll: false,
      out: join(root, 'refit-none'),
      validPct: 0,
    });
    const texts = makeRows(9, 4).map((row) => row.text);
    const [refit, none] = await Promise.all([
      loadClassifiers([join(root, 'refit-drawn')], 'wasm'),
      loadClassifiers([join(root, 'refit-none')], 'wasm'),
    ]);
    try {
      expect(all.savedDocs).toBe(80);
      const [a, b] = [refit.predict(texts), none.predict(texts)];
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 4);
    } finally {
      refit.dispose();
      none.dispose();
    }
  });
});

describe('checkLabels', () => {
  it('sorts classes like fastai Categorize and warns about a class with no validation documents', () => {
    const warnings: string[] = [];
    expect(checkLabels(['pos', 'neg', 'Zed', 'pos'], ['neg', 'pos'], 'x', (m) => warnings.push(m))).toEqual([
      'Zed',
      'neg',
      'pos',
    ]);
    expect(warnings).toEqual([expect.stringContaining("no validation documents for class 'Zed'")]);
  });

  it('refuses documents without labels, one class, and validation-only labels', () => {
    expect(() => checkLabels(['a', undefined], [], 'data.csv')).toThrow(
      /1 of 2 documents in data.csv have no label/,
    );
    expect(() => checkLabels(['a', 'a'], ['a'], 'data.csv')).toThrow(/single class/);
    expect(() => checkLabels(['a', 'b'], ['c', 'd', 'c'], 'data.csv')).toThrow(
      /labels 'c' \(2 validation documents\), 'd' \(1 validation documents\) have no training documents/,
    );
    expect(() => checkLabels([], [], 'data.csv')).toThrow(/no training documents/);
  });
});
