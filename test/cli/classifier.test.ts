import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeRows, trainTinyLm, writeCsv, writeJsonl } from '../tasks/clas-data.js';
import { writeTinyLm } from '../infer/tiny-lm.js';
import { runUlmfit, type ProcessResult } from '../support/process.js';
import { BASELINE_ENSEMBLE_WEIGHT } from '../../src/config/inference.js';
import { expectJsonOutput } from '../support/json-output.js';

// The real CLI, as users run it: bin/ulmfit.js → dist/ (npm test builds first).
function ulmfit(args: string[], input?: string): Promise<ProcessResult> {
  return runUlmfit(args, {
    env: { ULMFIT_CACHE_DIR: join(root, 'cache') },
    ...(input !== undefined ? { input } : {}),
  });
}

let root: string;
let lmRun: string;
let train: string;
let test: string;
let clasRun: string;
const TINY = [
  '--bs',
  '8',
  '--bptt',
  '8',
  '--max-len',
  '64',
  '--backend',
  'wasm',
  '--workers',
  '0',
  '--seed',
  '3',
];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-clas-'));
  lmRun = await trainTinyLm(root);
  train = writeCsv(join(root, 'train.csv'), makeRows(1, 40));
  test = writeJsonl(join(root, 'test.jsonl'), makeRows(2, 6));
  clasRun = join(root, 'clas');
  const run = await ulmfit([
    'train-classifier',
    train,
    '--lm',
    lmRun,
    '--out',
    clasRun,
    '--schedule',
    '-1:1@2e-2; 0:3@3e-2',
    ...TINY,
  ]);
  if (run.code !== 0) throw new Error(`training failed: ${run.stderr}`);
  writeFileSync(join(root, 'train-stdout.txt'), run.stdout);
  writeFileSync(join(root, 'train-stderr.txt'), run.stderr);
});

describe('ulmfit train-classifier', () => {
  it('prints one table row per epoch with accuracy and macro-F1, and writes the run directory', () => {
    const table = readFileSync(join(root, 'train-stdout.txt'), 'utf8').trim().split('\n');
    expect(table[0]!.trim().split(/\s+/)).toEqual([
      'stage',
      'epoch',
      'train_loss',
      'valid_loss',
      'accuracy',
      'f1_macro',
      'time',
    ]);
    expect(table).toHaveLength(5);
    expect(table[4]!.trim().split(/\s+/).slice(0, 2)).toEqual(['2', '3']);
    const metrics = expectJsonOutput('metrics.jsonl', readFileSync(join(clasRun, 'metrics.jsonl'), 'utf8'));
    expect(metrics).toHaveLength(4);
    // The output convention: snake_case, stage and epoch from 1 as the table prints them, no perplexity for a classifier.
    expect(metrics[3]).toMatchObject({ stage: 2, epoch: 3, epochs: 3 });
    expect(Object.keys(metrics[3] as object)).toEqual([
      'stage',
      'epoch',
      'epochs',
      'train_loss',
      'valid_loss',
      'accuracy',
      'f1_macro',
      'seconds',
    ]);
    expect(JSON.parse(readFileSync(join(clasRun, 'model-best', 'labels.json'), 'utf8'))).toEqual([
      'animal',
      'vehicle',
    ]);
    // Small data: three networks, each on its own seed and validation share; the last lines say so
    // and score what they can of classify's default (model-best/ and the baseline averaged).
    const stderr = readFileSync(join(root, 'train-stderr.txt'), 'utf8');
    expect(stderr).toContain(`network 3 of 3 (seed 2003) → ${join(clasRun, 'networks', '3')}\n`);
    expect(stderr).toMatch(
      /^networks: 3 \(validation accuracy \d\.\d{4}, \d\.\d{4}, \d\.\d{4}, each on its own validation share\)$/m,
    );
    expect(stderr).toMatch(
      new RegExp(
        `^model-best/ and baseline/ averaged: validation accuracy \\d\\.\\d{4}, macro-F1 \\d\\.\\d{4}; classify --model ${clasRun} averages all 3 networks with baseline/, which these held-out documents cannot score \\(the other networks trained on some of them\\) \\(--model ${join(clasRun, 'model-best')} for the first network alone\\)$`,
        'm',
      ),
    );
  });

  it('--json prints the results; bad input is one error line with exit 1 (2 for usage)', async () => {
    const json = await ulmfit([
      'train-classifier',
      train,
      '--lm',
      lmRun,
      '--out',
      join(root, 'json'),
      '--schedule',
      '-1:1@2e-2',
      '--label-smoothing',
      '0.1',
      '--networks',
      '2',
      '--json',
      '--quiet',
      ...TINY,
    ]);
    expect(json.code).toBe(0);
    expect(json.stderr).toBe('');
    // Every training flag reaches the task, which records it for --resume.
    expect(JSON.parse(readFileSync(join(root, 'json', 'config.json'), 'utf8'))).toMatchObject({
      labelSmoothing: 0.1,
      networks: 2,
    });
    const result = expectJsonOutput('train-classifier', json.stdout)[0] as {
      labels: string[];
      train_docs: number;
      history: unknown[];
      best: unknown;
      encoder: string;
      baseline: { accuracy: number };
      ensemble: { members: string[]; accuracy: number; f1_macro: number };
      networks: { run_dir: string; seed: number; best: unknown }[];
    };
    expect(result.networks.map((n) => [n.run_dir, n.seed])).toEqual([
      [join(root, 'json'), 3],
      [join(root, 'json', 'networks', '2'), 1003],
    ]);
    expect(result.networks[1]!.best).toMatchObject({ stage: 1, epoch: 1 });
    expect(result).toMatchObject({
      labels: ['animal', 'vehicle'],
      train_docs: 64,
      encoder: join(lmRun, 'encoder'),
    });
    expect(result.ensemble.members).toEqual([
      join(root, 'json', 'model-best'),
      join(root, 'json', 'baseline'),
    ]);
    expect(result.ensemble.accuracy).toBeGreaterThanOrEqual(0);
    expect(result.ensemble.accuracy).toBeLessThanOrEqual(1);
    expect(result.history).toHaveLength(1);
    expect(result.best).toMatchObject({ stage: 1, epoch: 1 });

    const single = writeCsv(join(root, 'single.csv'), makeRows(3, 5, ['plant']));
    const one = await ulmfit([
      'train-classifier',
      single,
      '--lm',
      lmRun,
      '--out',
      join(root, 'single'),
      '--quiet',
      ...TINY,
    ]);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(
      /^error \[E_LABELS\]: the training documents in .*single\.csv have a single class \('plant'\)/,
    );
    expect(one.stderr.trim().split('\n')).toHaveLength(1);

    const noLm = await ulmfit(['train-classifier', train, '--out', join(root, 'none'), ...TINY]);
    expect(noLm.code).toBe(2);
    expect(noLm.stderr).toMatch(/error \[E_USAGE\]: no encoder given/);

    const clasAsLm = await ulmfit([
      'train-classifier',
      train,
      '--lm',
      join(clasRun, 'model-best'),
      '--out',
      join(root, 'x'),
      ...TINY,
    ]);
    expect(clasAsLm.code).toBe(1);
    expect(clasAsLm.stderr).toMatch(/is a 'classifier' model; this needs 'encoder' or 'lm'/);
  });
});

describe('ulmfit classify', () => {
  it('prints label and probability per document in input order, then the evaluation on stderr', async () => {
    const run = await ulmfit(['classify', '--model', clasRun, test, '--backend', 'wasm']);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(
      `model: ${clasRun} → ${join(clasRun, 'model-best')} (model-best: the epoch with the best validation score) + ` +
        `${join(clasRun, 'networks', '2', 'model-best')} + ${join(clasRun, 'networks', '3', 'model-best')} (the run's 2 other networks, each trained on its own seed; the run's 3 networks weigh as one) + ` +
        `${join(clasRun, 'baseline')} (the NB-SVM baseline trained on the same split, averaged in; <run>/model-best alone leaves it out)`,
    );
    expect(run.stderr).toContain(`${test}: gold labels from its 'label' field (--no-labels ignores them)`);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(12);
    for (const line of lines) expect(line).toMatch(/^(animal|vehicle)\t(0\.[5-9]\d{3}|1\.0000)$/);
    expect(run.stderr).toMatch(/^accuracy \d\.\d{4} {2}macro-F1 \d\.\d{4} {2}\(12 documents\)$/m);
    expect(run.stderr).toMatch(/^class +precision +recall +f1 +support$/m);
    expect(run.stderr).toMatch(/^animal +\d\.\d{4} +\d\.\d{4} +\d\.\d{4} +6$/m);
    expect(run.stderr).toContain('confusion matrix (rows: gold, columns: predicted)');
    const accuracy = Number(/^accuracy (\S+)/m.exec(run.stderr)![1]);
    expect(accuracy).toBeGreaterThanOrEqual(0.75);
  });

  it('--json gives every class probability and a final evaluation line; --top-k ranks labels', async () => {
    const run = await ulmfit([
      'classify',
      '--model',
      clasRun,
      test,
      '--json',
      '--top-k',
      '2',
      '--backend',
      'wasm',
    ]);
    expect(run.code).toBe(0);
    const rows = [
      ...expectJsonOutput('classify', run.stdout.trim().split('\n').slice(0, -1).join('\n')),
      ...expectJsonOutput('classify (evaluation)', run.stdout.trim().split('\n').at(-1)!),
    ] as Record<string, unknown>[];
    expect(rows).toHaveLength(13);
    const first = rows[0] as {
      label: string;
      probability: number;
      probabilities: Record<string, number>;
      top_k: { label: string }[];
      gold: string;
      origin: string;
    };
    expect(Object.keys(first.probabilities)).toEqual(['animal', 'vehicle']);
    expect(first.probabilities.animal! + first.probabilities.vehicle!).toBeCloseTo(1, 5);
    expect(first.top_k.map((t) => t.label)[0]).toBe(first.label);
    expect(first.gold).toBe('animal');
    expect(first.origin).toBe(`${test}:1`);
    const evaluation = (
      rows[12] as {
        evaluation: { count: number; confusion: number[][]; f1_macro: number; per_class: unknown[] };
      }
    ).evaluation;
    expect(evaluation.count).toBe(12);
    expect(evaluation.per_class).toHaveLength(2);
    expect(evaluation.confusion.flat().reduce((a, b) => a + b, 0)).toBe(12);
  });

  it('reads stdin one document per line, one row per line (an empty line gets an empty row), averages two models', async () => {
    const rows = makeRows(4, 2);
    const input = `${rows[0]!.text}\n\n${rows
      .slice(1)
      .map((r) => r.text)
      .join('\n')}\n`;
    const single = await ulmfit(
      ['classify', '--model', join(clasRun, 'model-best'), '-', '--json', '--backend', 'wasm'],
      input,
    );
    expect(single.code).toBe(0);
    expect(single.stderr).toBe('warning: 1 empty document: its row is {"empty": true}, with no prediction\n');
    const twice = await ulmfit(
      [
        'classify',
        '--model',
        join(clasRun, 'model-best'),
        '--model',
        join(clasRun, 'model-best'),
        '-',
        '--json',
        '--quiet',
        '--backend',
        'wasm',
      ],
      input,
    );
    const [viaRun, baseline, second, third] = await Promise.all(
      [
        clasRun,
        join(clasRun, 'baseline'),
        join(clasRun, 'networks', '2', 'model-best'),
        join(clasRun, 'networks', '3', 'model-best'),
      ].map((model) =>
        ulmfit(['classify', '--model', model, '-', '--json', '--quiet', '--backend', 'wasm'], input),
      ),
    );
    const parse = (out: string) =>
      expectJsonOutput('classify', out) as {
        probabilities: Record<string, number> | null;
        probability: number | null;
        origin: string;
        index: number;
        empty?: true;
      }[];
    expect(parse(single.stdout).map((p) => p.origin)).toEqual([
      'stdin:1',
      'stdin:2',
      'stdin:3',
      'stdin:4',
      'stdin:5',
    ]);
    expect(parse(single.stdout)[1]).toEqual({
      index: 1,
      origin: 'stdin:2',
      empty: true,
      label: null,
      probability: null,
      probabilities: null,
    });
    const plain = await ulmfit(
      ['classify', '--model', clasRun, '-', '--with-ids', '--quiet', '--backend', 'wasm'],
      input,
    );
    const plainRows = plain.stdout.trim().split('\n');
    expect(plainRows).toHaveLength(5);
    expect(plainRows[1]).toBe('stdin:2\t(empty)\t-');
    expect(plainRows[4]).toMatch(/^stdin:5\t(animal|vehicle)\t\d\.\d{4}$/);
    // The average of a model with itself is itself.
    parse(twice.stdout).forEach((p, i) =>
      expect(p.probability ?? -1).toBeCloseTo(parse(single.stdout)[i]!.probability ?? -1, 5),
    );
    // The run directory is its three networks (weighing as one) and the baseline trained beside
    // them, averaged (the baseline counted BASELINE_ENSEMBLE_WEIGHT times).
    const w = BASELINE_ENSEMBLE_WEIGHT;
    parse(viaRun!.stdout).forEach((p, i) => {
      const [one, base] = [parse(single.stdout)[i]!, parse(baseline!.stdout)[i]!];
      const others = [second, third].map((run) => parse(run!.stdout)[i]!);
      for (const label of ['animal', 'vehicle']) {
        const networks =
          one.probabilities === null
            ? -1
            : [one, ...others].reduce((sum, q) => sum + q.probabilities![label]!, 0) / 3;
        expect(p.probabilities?.[label] ?? -1).toBeCloseTo(
          one.probabilities === null ? -1 : (networks + w * base.probabilities![label]!) / (1 + w),
          5,
        );
      }
    });
  });

  it('--with-ids prints the id column; --no-labels predicts without scoring; a CSV without a text column is an error', async () => {
    const csv = join(root, 'ids.csv');
    writeFileSync(
      csv,
      'id,text,label\nd7,"the cat and the dog.",animal\nd9,"",vehicle\nd3,"the car and the bus.",vehicle\n',
    );
    const run = await ulmfit([
      'classify',
      '--model',
      clasRun,
      csv,
      '--with-ids',
      '--no-labels',
      '--backend',
      'wasm',
    ]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines.map((l) => l.split('\t')[0])).toEqual(['d7', 'd9', 'd3']);
    expect(lines[1]).toBe('d9\t(empty)\t-');
    expect(run.stderr).not.toMatch(/accuracy|gold labels/);
    const json = await ulmfit([
      'classify',
      '--model',
      clasRun,
      csv,
      '--json',
      '--quiet',
      '--backend',
      'wasm',
    ]);
    const rows = json.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { id?: string; origin?: string; gold?: string; evaluation?: { count: number } },
      );
    expect(rows.slice(0, 3).map((r) => [r.id, r.origin])).toEqual([
      ['d7', `${csv}:2`],
      ['d9', `${csv}:3`],
      ['d3', `${csv}:4`],
    ]);
    expect(rows[3]!.evaluation!.count).toBe(2); // the empty row is not scored

    const noText = join(root, 'no-text.csv');
    writeFileSync(noText, 'id,body,genre\n1,the cat.,animal\n');
    const bad = await ulmfit(['classify', '--model', clasRun, noText, '--backend', 'wasm']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(
      bad.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('error')),
    ).toEqual([
      `error [E_INPUT_FORMAT]: ${noText} has no column 'text' (columns: id, body, genre) (pass --text-col with the column that holds the text (a name or a 0-based index))`,
    ]);
    const both = await ulmfit(['classify', '--model', clasRun, csv, '--no-labels', '--label-col', 'label']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^error \[E_USAGE\]: --label-col and --no-labels contradict each other/);
  });

  it('exits 1 listing gold labels the model does not know, and refuses a model that is not a classifier', async () => {
    const odd = writeJsonl(join(root, 'odd.jsonl'), [
      ...makeRows(5, 1),
      { text: 'the oak and the fern.', label: 'plant' },
    ]);
    const run = await ulmfit(['classify', '--model', clasRun, odd, '--backend', 'wasm']);
    expect(run.code).toBe(1);
    expect(run.stdout.trim().split('\n')).toHaveLength(3);
    expect(run.stderr).toMatch(
      /error \[E_LABELS\]: gold label 'plant' is not among the model's labels \(animal, vehicle\)/,
    );

    const lm = join(root, 'tiny-lm');
    writeTinyLm(lm);
    const notClas = await ulmfit(['classify', '--model', lm, odd, '--backend', 'wasm']);
    expect(notClas.code).toBe(1);
    expect(notClas.stderr).toMatch(/^error \[E_MODEL_DIR\]: .*tiny-lm is a 'lm' model, not a classifier/);
  });
});
