import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModelDir, runCompleted } from '../../src/io/artifact.js';
import { toFloat32 } from '../../src/io/tensors.js';
import { trainClassifier, type ClassifierTrainOptions } from '../../src/tasks/classifier.js';
import { loadClassifiers } from '../../src/tasks/load-classifiers.js';
import { argmaxRows } from '../../src/metrics.js';
import { makeRows, trainTinyLm, writeCsv } from './clas-data.js';

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
  return {
    inputs: [trainCsv],
    out: join(root, out),
    lm: lmRun,
    noCache: true,
    workers: 0,
    bs: 8,
    bptt: 8,
    maxLen: 16,
    backend: 'wasm',
    seed: 7,
    stages: [
      { freezeTo: -1, epochs: 1, lr: 2e-2 },
      { freezeTo: 0, epochs: 2, lr: 3e-2 },
    ],
    ...extra,
  };
}

function weightsOf(dir: string): number[][] {
  return [...readModelDir(dir).weights.values()].map((t) => Array.from(toFloat32(t)));
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
});
