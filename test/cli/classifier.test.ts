import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeRows, trainTinyLm, writeCsv, writeJsonl } from '../tasks/clas-data.js';
import { writeTinyLm } from '../infer/tiny-lm.js';
import { runUlmfit, type ProcessResult } from '../support/process.js';

// The real CLI, as users run it: bin/ulmfit.js → dist/ (npm test builds first).
function ulmfit(args: string[], input?: string): Promise<ProcessResult> {
  return runUlmfit(args, { env: { ULMFIT_CACHE_DIR: join(root, 'cache') }, ...(input !== undefined ? { input } : {}) });
}

let root: string;
let lmRun: string;
let train: string;
let test: string;
let clasRun: string;
const TINY = ['--bs', '8', '--bptt', '8', '--max-len', '64', '--backend', 'wasm', '--workers', '0', '--seed', '3'];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-clas-'));
  lmRun = await trainTinyLm(root);
  train = writeCsv(join(root, 'train.csv'), makeRows(1, 40));
  test = writeJsonl(join(root, 'test.jsonl'), makeRows(2, 6));
  clasRun = join(root, 'clas');
  const run = await ulmfit(['train-classifier', train, '--lm', lmRun, '--out', clasRun, '--schedule', '-1:1@2e-2; 0:3@3e-2', ...TINY]);
  if (run.code !== 0) throw new Error(`training failed: ${run.stderr}`);
  writeFileSync(join(root, 'train-stdout.txt'), run.stdout);
});

describe('ulmfit train-classifier', () => {
  it('prints one table row per epoch with accuracy and macro-F1, and writes the run directory', () => {
    const table = readFileSync(join(root, 'train-stdout.txt'), 'utf8').trim().split('\n');
    expect(table[0]!.trim().split(/\s+/)).toEqual(['stage', 'epoch', 'train_loss', 'valid_loss', 'accuracy', 'f1_macro', 'time']);
    expect(table).toHaveLength(5);
    expect(table[4]!.trim().split(/\s+/).slice(0, 2)).toEqual(['2', '3']);
    expect(readFileSync(join(clasRun, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
    expect(JSON.parse(readFileSync(join(clasRun, 'model-best', 'labels.json'), 'utf8'))).toEqual(['animal', 'vehicle']);
  });

  it('--json prints the results; bad input is one error line with exit 1 (2 for usage)', async () => {
    const json = await ulmfit(['train-classifier', train, '--lm', lmRun, '--out', join(root, 'json'), '--schedule', '-1:1@2e-2', '--json', '--quiet', ...TINY]);
    expect(json.code).toBe(0);
    expect(json.stderr).toBe('');
    const result = JSON.parse(json.stdout) as { labels: string[]; train_docs: number; history: unknown[]; encoder: string };
    expect(result).toMatchObject({ labels: ['animal', 'vehicle'], train_docs: 64, encoder: join(lmRun, 'encoder') });
    expect(result.history).toHaveLength(1);

    const single = writeCsv(join(root, 'single.csv'), makeRows(3, 5, ['plant']));
    const one = await ulmfit(['train-classifier', single, '--lm', lmRun, '--out', join(root, 'single'), '--quiet', ...TINY]);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(/^error \[E_LABELS\]: the training documents in .*single\.csv have a single class \('plant'\)/);
    expect(one.stderr.trim().split('\n')).toHaveLength(1);

    const noLm = await ulmfit(['train-classifier', train, '--out', join(root, 'none'), ...TINY]);
    expect(noLm.code).toBe(2);
    expect(noLm.stderr).toMatch(/error \[E_USAGE\]: no encoder given/);

    const clasAsLm = await ulmfit(['train-classifier', train, '--lm', join(clasRun, 'model-best'), '--out', join(root, 'x'), ...TINY]);
    expect(clasAsLm.code).toBe(1);
    expect(clasAsLm.stderr).toMatch(/is a 'classifier' model; this needs 'encoder' or 'lm'/);
  });
});

describe('ulmfit classify', () => {
  it('prints label and probability per document in input order, then the evaluation on stderr', async () => {
    const run = await ulmfit(['classify', '--model', clasRun, test, '--backend', 'wasm']);
    expect(run.code).toBe(0);
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
    const run = await ulmfit(['classify', '--model', clasRun, test, '--json', '--top-k', '2', '--backend', 'wasm']);
    expect(run.code).toBe(0);
    const rows = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(13);
    const first = rows[0] as { label: string; probability: number; probabilities: Record<string, number>; top_k: { label: string }[]; gold: string; origin: string };
    expect(Object.keys(first.probabilities)).toEqual(['animal', 'vehicle']);
    expect(first.probabilities.animal! + first.probabilities.vehicle!).toBeCloseTo(1, 5);
    expect(first.top_k.map((t) => t.label)[0]).toBe(first.label);
    expect(first.gold).toBe('animal');
    expect(first.origin).toBe(`${test}:1`);
    const evaluation = (rows[12] as { evaluation: { count: number; confusion: number[][] } }).evaluation;
    expect(evaluation.count).toBe(12);
    expect(evaluation.confusion.flat().reduce((a, b) => a + b, 0)).toBe(12);
  });

  it('reads stdin one document per line, averages two models, and warns about empty lines', async () => {
    const rows = makeRows(4, 2);
    const input = `${rows[0]!.text}\n\n${rows.slice(1).map((r) => r.text).join('\n')}\n`;
    const single = await ulmfit(['classify', '--model', clasRun, '-', '--json', '--backend', 'wasm'], input);
    expect(single.code).toBe(0);
    expect(single.stderr).toBe('warning: 1 empty document skipped (no prediction printed for it)\n');
    const twice = await ulmfit(['classify', '--model', clasRun, '--model', join(clasRun, 'model-best'), '-', '--json', '--quiet', '--backend', 'wasm'], input);
    const parse = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as { probability: number; origin: string });
    expect(parse(single.stdout).map((p) => p.origin)).toEqual(['stdin:1', 'stdin:3', 'stdin:4', 'stdin:5']);
    // model-best is what the run directory resolves to: the average of a model with itself is itself.
    parse(twice.stdout).forEach((p, i) => expect(p.probability).toBeCloseTo(parse(single.stdout)[i]!.probability, 5));
  });

  it('exits 1 listing gold labels the model does not know, and refuses a model that is not a classifier', async () => {
    const odd = writeJsonl(join(root, 'odd.jsonl'), [...makeRows(5, 1), { text: 'the oak and the fern.', label: 'plant' }]);
    const run = await ulmfit(['classify', '--model', clasRun, odd, '--backend', 'wasm']);
    expect(run.code).toBe(1);
    expect(run.stdout.trim().split('\n')).toHaveLength(3);
    expect(run.stderr).toMatch(/error \[E_LABELS\]: gold label 'plant' is not among the model's labels \(animal, vehicle\)/);

    const lm = join(root, 'tiny-lm');
    writeTinyLm(lm);
    const notClas = await ulmfit(['classify', '--model', lm, odd, '--backend', 'wasm']);
    expect(notClas.code).toBe(1);
    expect(notClas.stderr).toMatch(/^error \[E_MODEL_DIR\]: .*tiny-lm is a 'lm' model, not a classifier/);
  });
});
