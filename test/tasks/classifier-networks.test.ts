import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModelDir, runCompleted } from '../../src/io/artifact.js';
import { toFloat32 } from '../../src/io/tensors.js';
import { trainClassifier, type ClassifierTrainOptions } from '../../src/tasks/classifier.js';
import { loadClassifiers } from '../../src/tasks/load-classifiers.js';
import { argmaxRows } from '../../src/metrics.js';
import { Classifier } from '../../src/api/classifier.js';
import { resolvedModels } from '../../src/cli/classify-output.js';
import { makeRows, tinyClassifierRun, trainTinyLm, writeCsv } from './clas-data.js';

// A run's bag of networks (recipe-plan.ts planClassifierNetworks): trained, scored, loaded and resumed.
let root: string;
let lmRun: string;
let trainCsv: string;
let validCsv: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-networks-'));
  lmRun = await trainTinyLm(root);
  trainCsv = writeCsv(join(root, 'train.csv'), makeRows(1, 24));
  validCsv = writeCsv(join(root, 'valid.csv'), makeRows(5, 8));
});

function tiny(out: string, extra: Partial<ClassifierTrainOptions> = {}): ClassifierTrainOptions {
  return tinyClassifierRun(
    { inputs: [trainCsv], out: join(root, out), lm: lmRun },
    {
      seed: 7,
      stages: [
        { freezeTo: -1, epochs: 1, lr: 2e-2 },
        { freezeTo: 0, epochs: 2, lr: 3e-2 },
      ],
      ...extra,
    },
  );
}

function weightsOf(dir: string): number[][] {
  return [...readModelDir(dir).weights.values()].map((t) => Array.from(toFloat32(t)));
}

/** A from-scratch run of the smallest network on `rows` (written to `<name>.csv`); `warnings` collects its warnings. */
function tinyScratchRun(
  name: string,
  rows: { text: string; label: string }[],
  warnings: string[],
  extra: Partial<ClassifierTrainOptions> = {},
): ClassifierTrainOptions {
  return tinyClassifierRun(
    { inputs: [writeCsv(join(root, `${name}.csv`), rows)], out: join(root, name) },
    {
      fromScratch: true,
      emb: 4,
      hidden: 4,
      layers: 1,
      minFreq: 1,
      stages: [{ freezeTo: 0, epochs: 1, lr: 1e-2 }],
      onWarning: (m) => warnings.push(m),
      ...extra,
    },
  );
}

describe('a bag of networks', () => {
  it('with a given validation set, every network is scored with the baseline, as classify averages them', async () => {
    const result = await trainClassifier(tiny('given', { valid: [validCsv], baseline: true }));
    const run = join(root, 'given');
    const networkDirs = [run, join(run, 'networks', '2'), join(run, 'networks', '3')];
    expect(result.validFrom).toBe('given');
    expect(result.networks.map((n) => n.runDir)).toEqual(networkDirs);
    for (const dir of networkDirs) expect(runCompleted(dir)).toBe(true);
    // Each network is a run directory of its own, one network and no baseline.
    expect(existsSync(join(run, 'networks', '2', 'baseline'))).toBe(false);
    expect(result.ensemble?.networks).toEqual(networkDirs.map((dir) => join(dir, 'model-best')));
    // The score is classify's on the same documents.
    const rows = makeRows(5, 8);
    const ensemble = await loadClassifiers([run], 'wasm');
    try {
      const predicted = argmaxRows(ensemble.predict(rows.map((r) => r.text)), 2);
      const correct = predicted.filter((p, i) => ensemble.labels[p] === rows[i]!.label).length;
      expect(result.ensemble!.accuracy).toBeCloseTo(correct / rows.length, 6);
    } finally {
      ensemble.dispose();
    }
  });

  it('--networks 1 trains the run alone', async () => {
    const result = await trainClassifier(tiny('one', { networks: 1 }));
    expect(result.networks).toHaveLength(1);
    expect(existsSync(join(root, 'one', 'networks'))).toBe(false);
  });

  it('a run from before --networks (no networks in its config.json) resumes with one network', async () => {
    const run = join(root, 'old');
    let batches = 0;
    await expect(
      trainClassifier(
        tiny('old', {
          networks: 1,
          onBatchEnd: () => {
            batches += 1;
            if (batches === 7) throw new Error('simulated crash');
          },
        }),
      ),
    ).rejects.toThrow('simulated crash');
    const configPath = join(run, 'config.json');
    const { networks, ...config } = JSON.parse(readFileSync(configPath, 'utf8')) as { networks: number };
    expect(networks).toBe(1);
    writeFileSync(configPath, JSON.stringify(config));
    const result = await trainClassifier(tiny('old', { resume: true, lm: undefined }));
    expect(result.networks).toHaveLength(1);
    expect(existsSync(join(run, 'networks'))).toBe(false);
  });

  it('a run killed inside its second and third networks resumes each where it stopped, and ends as an uninterrupted one', async () => {
    await trainClassifier(tiny('full'));
    const run = join(root, 'cut');
    // 38 training documents, bs 8: 5 batches an epoch, 15 a network.
    let batches = 0;
    const crashAt = (n: number) => () => {
      batches += 1;
      if (batches === n) throw new Error('simulated crash');
    };
    await expect(trainClassifier(tiny('cut', { onBatchEnd: crashAt(15 + 12) }))).rejects.toThrow(
      'simulated crash',
    );
    // Not completed: classify uses the networks that did (the first).
    expect(runCompleted(run)).toBe(false);
    const partial = await loadClassifiers([run], 'wasm');
    expect(partial.members.map((m) => m.dir)).toEqual([join(run, 'model-best')]);
    partial.dispose();
    // A kill inside the second network's checkpoint swap leaves its checkpoint put aside: still resumable.
    const networkDir = join(run, 'networks', '2');
    renameSync(join(networkDir, 'checkpoint'), join(networkDir, 'checkpoint.old-999999'));
    // Resumed: the first network has nothing left; the second resumes after its first epoch (10
    // batches left); the kill comes inside the third.
    const infos: string[] = [];
    batches = 0;
    await expect(
      trainClassifier(
        tiny('cut', {
          resume: true,
          lm: undefined,
          onBatchEnd: crashAt(10 + 7),
          onInfo: (m) => infos.push(m),
        }),
      ),
    ).rejects.toThrow('simulated crash');
    expect(infos).toContain(`network 2 of 3 (seed 1007) → ${join(run, 'networks', '2')} (resumed)`);
    infos.length = 0;
    batches = 0;
    const result = await trainClassifier(
      tiny('cut', { resume: true, lm: undefined, onInfo: (m) => infos.push(m) }),
    );
    expect(infos).toContain(`network 2 of 3: trained before → ${join(run, 'networks', '2')}`);
    expect(infos).toContain(`network 3 of 3 (seed 2007) → ${join(run, 'networks', '3')} (resumed)`);
    expect(result.networks.map((n) => n.seed)).toEqual([7, 1007, 2007]);
    expect(result.networks[1]!.best).not.toBeNull();
    expect(runCompleted(run)).toBe(true);
    for (const k of ['2', '3'])
      expect(weightsOf(join(run, 'networks', k, 'model-last'))).toEqual(
        weightsOf(join(root, 'full', 'networks', k, 'model-last')),
      );
  });

  it('Classifier.load tells a run (its networks and baseline) from its model-best/ (its first network)', async () => {
    const run = join(root, 'given');
    const first = await Classifier.load(join(run, 'model-best'), { backend: 'wasm' });
    const whole = await Classifier.load(run, { backend: 'wasm' });
    const reference = await loadClassifiers([run], 'wasm');
    try {
      const text = makeRows(9, 1)[0]!.text;
      const [a, b] = [await first.predict(text), await whole.predict(text)];
      expect(a.probabilities).not.toEqual(b.probabilities);
      const expected = reference.predict([text]);
      expect(b.probabilities[reference.labels[0]!]).toBeCloseTo(expected[0]!, 6);
    } finally {
      first.dispose();
      whole.dispose();
      reference.dispose();
    }
  });

  it('a network whose own validation draw leaves a class without training documents is skipped, and the run says so', async () => {
    // 12 + 12 documents and one of a third class: seed 2's first network keeps it in training,
    // one of the others draws it into validation.
    const rows = [
      ...Array.from({ length: 12 }, () => [
        { text: 'the cat and the dog.', label: 'animal' },
        { text: 'the car and the bus.', label: 'vehicle' },
      ]).flat(),
      { text: 'the tree and the rose.', label: 'plant' },
    ];
    const warnings: string[] = [];
    const result = await trainClassifier(tinyScratchRun('rare', rows, warnings, { seed: 2 }));
    expect(result.networks).toHaveLength(2);
    const skipped = warnings.filter((w) => / of 3 skipped: /.test(w));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(
      /^network [23] of 3 skipped: its validation share \(seed [12]002\) leaves a class without training documents \(label 'plant' \(1 validation documents\) has no training documents in .*\); the run goes on without it \(--networks 1 trains the first network alone\)$/,
    );
    const loaded = await loadClassifiers([join(root, 'rare')], 'wasm');
    try {
      expect(loaded.members.map((m) => m.dir)).toEqual(
        result.networks.map((n) => join(n.runDir, 'model-best')),
      );
    } finally {
      loaded.dispose();
    }
  });

  it("the data's warnings are given once, not once per network", async () => {
    const rows = [
      ...Array.from({ length: 8 }, () => [
        { text: 'the cat and the dog.', label: 'animal' },
        { text: 'the car and the bus.', label: 'vehicle' },
      ]).flat(),
      { text: '', label: 'animal' },
    ];
    const warnings: string[] = [];
    const result = await trainClassifier(tinyScratchRun('empty-row', rows, warnings));
    expect(result.networks).toHaveLength(3);
    expect(warnings.filter((w) => /empty document/.test(w))).toEqual([
      `1 empty document in ${join(root, 'empty-row.csv')} skipped`,
    ]);
  });

  it("classify's stderr line says why a run resolved to its baseline alone", () => {
    const baseline = join('/runs', 'r', 'baseline');
    expect(resolvedModels([baseline])).toBe(
      `${baseline} (the NB-SVM baseline alone: train-classifier found it clearly better than with the networks on held-out documents, ${join('/runs', 'r', 'ensemble.json')}; <run>/model-best for the first network)`,
    );
  });

  it("classify's stderr line lists a run's other networks together, and a network given alone as one model", () => {
    const run = join('/runs', 'r');
    const best = join(run, 'model-best');
    const others = [2, 3].map((k) => join(run, 'networks', String(k), 'model-best'));
    expect(resolvedModels([best, ...others, join(run, 'baseline')])).toBe(
      `${best} (model-best: the epoch with the best validation score) + ${others[0]} + ${others[1]} ` +
        "(the run's 2 other networks, each trained on its own seed; the run's 3 networks weigh as one) + " +
        `${join(run, 'baseline')} (the NB-SVM baseline trained on the same split, averaged in; <run>/model-best alone leaves it out)`,
    );
    expect(resolvedModels([others[0]!])).toBe(
      `${others[0]} (model-best: the epoch with the best validation score)`,
    );
  });
});
