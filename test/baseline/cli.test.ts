import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/random.js';
import { runUlmfit, type ProcessResult } from '../support/process.js';
import { expectJsonOutput } from '../support/json-output.js';

// The real CLI, as users run it: bin/ulmfit.js → dist/ (npm test builds first).
function ulmfit(args: string[]): Promise<ProcessResult> {
  return runUlmfit(args, { env: { ULMFIT_CACHE_DIR: join(root, 'cache') } });
}

const WORDS: Record<string, string[]> = {
  animal: 'cat dog bird horse cow sheep'.split(' '),
  vehicle: 'car bus train truck bike plane'.split(' '),
};
const FILLER = 'the a of and to in it was on with'.split(' ');

function rows(
  seed: number,
  perClass: number,
  labels = Object.keys(WORDS),
): { text: string; label: string }[] {
  const rng = new Rng(seed);
  const out: { text: string; label: string }[] = [];
  for (let i = 0; i < perClass; i++) {
    for (const label of labels) {
      const words = WORDS[label] ?? ['tree', 'rose'];
      const text = Array.from({ length: 5 + rng.int(8) }, (_, k) =>
        k % 2 ? words[rng.int(words.length)] : FILLER[rng.int(FILLER.length)],
      ).join(' ');
      out.push({ text: text[0]!.toUpperCase() + text.slice(1) + '.', label });
    }
  }
  return out;
}

function writeCsv(path: string, data: { text: string; label: string }[]): string {
  writeFileSync(path, 'text,label\n' + data.map((r) => `"${r.text}",${r.label}`).join('\n') + '\n');
  return path;
}

let root: string;
let train: string;
let test: string;
let model: string;
let trained: ProcessResult;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-baseline-'));
  train = writeCsv(join(root, 'train.csv'), rows(1, 30));
  test = writeCsv(join(root, 'test.csv'), rows(2, 5));
  model = join(root, 'nbsvm');
  trained = await ulmfit(['baseline', train, '--out', model, '--workers', '0']);
});

describe('ulmfit baseline', () => {
  it('trains on the training side of the split, prints the validation scores and writes a model directory', () => {
    expect(trained.stderr).toContain('classes: 2 (animal, vehicle); 48 training and 12 validation documents');
    expect(trained.code).toBe(0);
    const lines = trained.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^NB-SVM baseline: 2 classes, 48 training documents, \d+ features, trained in \d+\.\d\d s$/,
    );
    expect(lines[1]).toMatch(
      /^validation \(12 documents\): accuracy (0\.9\d{3}|1\.0000) {2}macro-F1 \d\.\d{4}$/,
    );
    expect(lines[2]).toBe(`model: ${model}`);
    const meta = JSON.parse(readFileSync(join(model, 'meta.json'), 'utf8')) as {
      kind: string;
      labels: string[];
      training: { valid_docs: number; seed: number };
    };
    expect(meta).toMatchObject({
      kind: 'baseline',
      labels: ['animal', 'vehicle'],
      training: { valid_docs: 12, seed: 42 },
    });
  });

  it('--json prints one object; --valid-pct 0 trains on everything; a folder uses its valid/ split', async () => {
    const all = await ulmfit([
      'baseline',
      train,
      '--out',
      join(root, 'all'),
      '--valid-pct',
      '0',
      '--json',
      '--workers',
      '0',
    ]);
    expect(all.code).toBe(0);
    expect(all.stderr).toContain('60 training and 0 validation documents');
    const result = expectJsonOutput('baseline', all.stdout)[0] as Record<string, unknown>;
    expect(result).toMatchObject({
      labels: ['animal', 'vehicle'],
      train_docs: 60,
      valid_docs: 0,
      accuracy: null,
      f1_macro: null,
    });
    expect(Object.keys(result).sort()).toEqual([
      'accuracy',
      'f1_macro',
      'features',
      'labels',
      'out',
      'seconds',
      'train_docs',
      'train_seconds',
      'valid_docs',
    ]);

    const folder = join(root, 'folder');
    rows(3, 6).forEach((r, i) => {
      const split = i < 8 ? 'valid' : 'train';
      mkdirSync(join(folder, split, r.label), { recursive: true });
      writeFileSync(join(folder, split, r.label, `${i}.txt`), r.text);
    });
    const split = await ulmfit([
      'baseline',
      folder,
      '--out',
      join(root, 'folder-model'),
      '--json',
      '--quiet',
      '--workers',
      '0',
    ]);
    expect(split.stderr).toBe('');
    expect(JSON.parse(split.stdout)).toMatchObject({ train_docs: 4, valid_docs: 8 });
  });

  it('bad input is one error line with its code (exit 1; 2 for usage)', async () => {
    const exists = await ulmfit(['baseline', train, '--out', model, '--workers', '0']);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/^error \[E_OUT_EXISTS\]: .*nbsvm is not empty \(pass --overwrite/);
    expect(exists.stderr.trim().split('\n')).toHaveLength(1);

    const single = writeCsv(join(root, 'single.csv'), rows(4, 5, ['plant']));
    const one = await ulmfit([
      'baseline',
      single,
      '--out',
      join(root, 'single'),
      '--quiet',
      '--workers',
      '0',
    ]);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(
      /^error \[E_LABELS\]: the training documents in .*single\.csv have a single class \('plant'\)/,
    );
    expect(one.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(root, 'single'))).toBe(false);

    const usage = await ulmfit(['baseline', train, '--out', join(root, 'x'), '--ngrams', '3']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--ngrams <n>' argument '3' is invalid\. expected 1 or 2/);

    const asLm = await ulmfit(['train-classifier', train, '--lm', model, '--out', join(root, 'clas')]);
    expect(asLm.code).toBe(1);
    expect(asLm.stderr.trim()).toMatch(
      /^error \[E_MODEL_DIR\]: .*nbsvm: is a 'baseline' \(NB-SVM\) model, not an AWD-LSTM one/,
    );
  });
});

describe('ulmfit classify --model <baseline>', () => {
  it('prints label and probability per document, then the evaluation, as for a ULMFiT classifier', async () => {
    const run = await ulmfit(['classify', '--model', model, test]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(10);
    for (const line of lines) expect(line).toMatch(/^(animal|vehicle)\t(0\.[5-9]\d{3}|1\.0000)$/);
    expect(lines.map((l) => l.split('\t')[0])).toEqual(rows(2, 5).map((r) => r.label));
    expect(run.stderr).toMatch(/^accuracy 1\.0000 {2}macro-F1 1\.0000 {2}\(10 documents\)$/m);
    expect(run.stderr).toContain('confusion matrix (rows: gold, columns: predicted)');
  });

  it('--json gives every probability and the evaluation; two --model average (the same model twice: the same numbers)', async () => {
    const one = await ulmfit(['classify', '--model', model, test, '--json']);
    const two = await ulmfit(['classify', '--model', model, '--model', model, test, '--json']);
    expect(one.code).toBe(0);
    const parse = (r: ProcessResult) =>
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    expectJsonOutput('classify', one.stdout.trim().split('\n').slice(0, -1).join('\n'));
    expectJsonOutput('classify (evaluation)', one.stdout.trim().split('\n').at(-1)!);
    const [first] = parse(one);
    expect(first).toMatchObject({ index: 0, origin: `${test}:2`, gold: 'animal', label: 'animal' });
    const probabilities = first!.probabilities as Record<string, number>;
    expect(probabilities.animal! + probabilities.vehicle!).toBeCloseTo(1, 5);
    expect(parse(one).at(-1)).toMatchObject({ evaluation: { count: 10, accuracy: 1 } });
    expect(parse(two).map((r) => r.label)).toEqual(parse(one).map((r) => r.label));
    expect(parse(two)[0]!.probability as number).toBeCloseTo(first!.probability as number, 6);
  });
});
