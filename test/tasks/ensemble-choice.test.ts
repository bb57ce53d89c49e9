import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Classifier } from '../../src/api/classifier.js';
import { splitValid } from '../../src/data/lm-stream.js';
import { readEnsembleChoice, writeEnsembleChoice } from '../../src/io/ensemble-choice.js';
import { Rng } from '../../src/random.js';
import { trainBaseline } from '../../src/tasks/baseline.js';
import { trainClassifier, type ClassifierTrainOptions } from '../../src/tasks/classifier.js';
import {
  chooseEnsemble,
  describeChoice,
  tallyHeldOut,
  type HeldOutPredictions,
} from '../../src/tasks/ensemble-choice.js';
import { loadClassifiers } from '../../src/tasks/load-classifiers.js';
import { CLASS_WORDS, makeRows, tinyClassifierRun, trainTinyLm, writeCsv } from './clas-data.js';

/** Two classes: row i of `rows` is [p(class 0), p(class 1)]. */
const probs = (rows: [number, number][]) => Float32Array.from(rows.flat());

describe('tallyHeldOut', () => {
  it('counts the documents where exactly one of the default ensemble and the baseline alone is right', () => {
    // Gold 0 everywhere. Doc 0: both right. Doc 1: the network outvotes the baseline (×3) only when
    // sure: (0.99 + 3·0.4)/4 = 0.5475 for class 0, so the ensemble is right and the baseline wrong.
    // Doc 2: the baseline right, the ensemble wrong: (0 + 3·0.55)/4 = 0.41. Doc 3: both wrong.
    const set: HeldOutPredictions = {
      networks: probs([
        [0.9, 0.1],
        [0.99, 0.01],
        [0, 1],
        [0.2, 0.8],
      ]),
      baseline: probs([
        [0.8, 0.2],
        [0.4, 0.6],
        [0.55, 0.45],
        [0.3, 0.7],
      ]),
      gold: Int32Array.from([0, 0, 0, 0]),
    };
    expect(tallyHeldOut([set, set], 2)).toEqual({
      documents: 8,
      baselineRightEnsembleWrong: 2,
      ensembleRightBaselineWrong: 2,
    });
    // With the networks counted as much as the baseline, doc 1 flips and doc 2 still goes to the network.
    expect(tallyHeldOut([set], 2, 1)).toEqual({
      documents: 4,
      baselineRightEnsembleWrong: 1,
      ensembleRightBaselineWrong: 1,
    });
  });
});

describe('chooseEnsemble', () => {
  const tally = (wins: number, losses: number) => ({
    documents: 100,
    baselineRightEnsembleWrong: wins,
    ensembleRightBaselineWrong: losses,
  });

  it('takes the baseline alone only when it wins √(wins + losses) more of the disagreements', () => {
    // 9 − 0 ≥ 3; 6 − 3 = 3 ≥ √9; 5 − 3 = 2 < √8.
    expect(chooseEnsemble(tally(9, 0)).use).toBe('baseline');
    expect(chooseEnsemble(tally(6, 3)).use).toBe('baseline');
    expect(chooseEnsemble(tally(5, 3)).use).toBe('networks+baseline');
    expect(chooseEnsemble(tally(1, 0)).use).toBe('baseline');
    expect(chooseEnsemble(tally(0, 0)).use).toBe('networks+baseline');
    expect(chooseEnsemble(tally(3, 9)).use).toBe('networks+baseline');
  });

  it('records the comparison it decided on, and says it in one line', () => {
    const choice = chooseEnsemble(tally(19, 13), 3);
    expect(choice).toEqual({
      use: 'baseline',
      baseline_weight: 3,
      held_out: { documents: 100, baseline_right_ensemble_wrong: 19, ensemble_right_baseline_wrong: 13 },
    });
    expect(describeChoice(choice, '/runs/r')).toBe(
      'ensemble: classify --model /runs/r uses the NB-SVM baseline alone: on 100 held-out documents the baseline alone was right on 19 where the networks + baseline ×3 were wrong, and wrong on 13 where they were right (clearly better); the networks stay in model-best/ and networks/',
    );
    expect(describeChoice(chooseEnsemble(tally(2, 5), 3), '/runs/r')).toMatch(
      /^ensemble: the average stays: on 100 held-out documents .* \(not clearly better\)$/,
    );
  });
});

describe('a run chooses its ensemble on held-out documents', () => {
  let root: string;
  let lmRun: string;
  let trainCsv: string;
  // Close calls, so that the two sides disagree on some: each document mixes 7 class words of
  // both classes, and its label is the class with more of them.
  const rng = new Rng(11);
  const rows = Array.from({ length: 40 }, () => {
    const words = Array.from({ length: 7 }, () => (rng.next() < 0.5 ? 'animal' : 'vehicle'));
    const animals = words.filter((w) => w === 'animal').length;
    const text = words.map((w) => `the ${CLASS_WORDS[w]![rng.int(8)]}`).join(' and ') + '.';
    return { text, label: animals >= 4 ? 'animal' : 'vehicle' };
  });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ulmfit-ensemble-choice-'));
    lmRun = await trainTinyLm(root);
    trainCsv = writeCsv(join(root, 'train.csv'), rows);
  });

  const options = (out: string, extra: Partial<ClassifierTrainOptions> = {}): ClassifierTrainOptions =>
    tinyClassifierRun(
      { inputs: [trainCsv], out: join(root, out), lm: lmRun },
      // Trained hard enough to be sure of itself, so that it can outvote the baseline.
      { seed: 5, stages: [{ freezeTo: 0, epochs: 6, lr: 5e-2 }], ...extra },
    );

  it("pools each network's own validation share against an NB-SVM trained on that network's training side", async () => {
    const result = await trainClassifier(options('bag', { baseline: true }));
    const run = join(root, 'bag');
    expect(result.networks.map((n) => n.seed)).toEqual([5, 1005, 2005]);
    const saved = readEnsembleChoice(run);
    expect(saved).toEqual(result.ensembleChoice);
    // Rebuilt here from the outside: each network's share of the 40 rows (train-classifier's
    // split for its seed), its model-best/ on those texts, and the baseline for the same seed.
    const sets: HeldOutPredictions[] = [];
    for (const [k, network] of result.networks.entries()) {
      const { valid } = splitValid(rows.length, 0.2, new Rng(network.seed));
      const texts = valid.map((i) => rows[i]!.text);
      const model = await loadClassifiers([join(network.runDir, 'model-best')], 'wasm');
      try {
        const nb = await trainBaseline({
          inputs: [trainCsv],
          out: join(root, `nb-${k}`),
          seed: network.seed,
          noCache: true,
          workers: 0,
        });
        expect(nb.validation!.gold).toEqual(valid.map((i) => rows[i]!.label));
        sets.push({
          networks: model.predict(texts),
          baseline: nb.validation!.probabilities,
          gold: Int32Array.from(valid, (i) => model.labels.indexOf(rows[i]!.label)),
        });
      } finally {
        model.dispose();
      }
    }
    expect(saved).toEqual(chooseEnsemble(tallyHeldOut(sets, 2)));
    expect(saved!.held_out.documents).toBe(3 * 8);
    // The comparison has something to count.
    expect(
      saved!.held_out.baseline_right_ensemble_wrong + saved!.held_out.ensemble_right_baseline_wrong,
    ).toBeGreaterThan(0);
  });

  it('classify --model <run> uses the baseline alone when the run chose it, and the average otherwise', async () => {
    const run = join(root, 'bag');
    const text = makeRows(12, 1)[0]!.text;
    const loaded = async () => {
      const ensemble = await loadClassifiers([run], 'wasm');
      try {
        return { dirs: ensemble.members.map((m) => m.dir), p: ensemble.predict([text]) };
      } finally {
        ensemble.dispose();
      }
    };
    writeEnsembleChoice(run, { ...readEnsembleChoice(run)!, use: 'networks+baseline' });
    const average = await loaded();
    expect(average.dirs).toHaveLength(4);
    const api = await Classifier.load(run, { backend: 'wasm' });
    const before = await api.predict(text);
    writeEnsembleChoice(run, { ...readEnsembleChoice(run)!, use: 'baseline' });
    const alone = await loaded();
    expect(alone.dirs).toEqual([join(run, 'baseline')]);
    const baseline = await loadClassifiers([join(run, 'baseline')], 'wasm');
    try {
      expect(Array.from(alone.p)).toEqual(Array.from(baseline.predict([text])));
    } finally {
      baseline.dispose();
    }
    expect(Array.from(alone.p)).not.toEqual(Array.from(average.p));
    // The library API sees the new choice too (it is part of the run's identity).
    const reloaded = await Classifier.load(run, { backend: 'wasm' });
    try {
      const after = await reloaded.predict(text);
      expect(after.probabilities).not.toEqual(before.probabilities);
      expect(after.probabilities['animal']).toBeCloseTo(alone.p[baseline.labels.indexOf('animal')]!, 6);
    } finally {
      api.dispose();
      reloaded.dispose();
    }
  });

  it('two runs sharing a baseline count it once, at the weight the run that averages it asks for', async () => {
    // A forward and a backward run train the same NB-SVM on the same split; here a copy of one run.
    const run = join(root, 'bag');
    const twin = join(root, 'bag-twin');
    cpSync(run, twin, { recursive: true });
    writeEnsembleChoice(run, { ...readEnsembleChoice(run)!, use: 'baseline' });
    writeEnsembleChoice(twin, { ...readEnsembleChoice(twin)!, use: 'networks+baseline' });
    for (const order of [
      [run, twin],
      [twin, run],
    ]) {
      const ensemble = await loadClassifiers(order, 'wasm');
      try {
        const baselines = ensemble.members.filter((m) => m.dir.endsWith('baseline'));
        expect(baselines).toHaveLength(1);
        expect(baselines[0]!.weight).toBe(3);
        // The twin's three networks (1/3 each) and the baseline: nothing else.
        expect(ensemble.members).toHaveLength(4);
      } finally {
        ensemble.dispose();
      }
    }
  });

  it('a run without a baseline writes no choice; a damaged ensemble.json is a one-line error naming it', async () => {
    const result = await trainClassifier(options('plain', { baseline: false, networks: 1 }));
    expect(result.ensembleChoice).toBeNull();
    expect(existsSync(join(root, 'plain', 'ensemble.json'))).toBe(false);
    const path = join(root, 'bag', 'ensemble.json');
    const good = readFileSync(path, 'utf8');
    writeFileSync(path, '{"use": "networks"}');
    await expect(loadClassifiers([join(root, 'bag')], 'wasm')).rejects.toThrow(
      `${path} is not an ensemble choice: use`,
    );
    writeFileSync(path, good);
  });
});
