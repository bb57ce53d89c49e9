import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DemoResult } from '../../src/tasks/demo.js';
import { runUlmfit, type ProcessResult } from '../support/process.js';

// The real CLI, as users run it: bin/ulmfit.js → dist/ (npm test builds first).
function ulmfit(args: string[]): Promise<ProcessResult> {
  return runUlmfit(args, { env: { ULMFIT_CACHE_DIR: join(root, 'cache') } });
}

/** A printed command line back into argv (the demo quotes with '…' only). */
function argv(command: string): string[] {
  const args = [...command.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]!,
  );
  expect(args[0]).toBe('ulmfit');
  return args.slice(1);
}

let root: string;
let out: string;
let stdout: string;
let stderr: string;
let result: DemoResult;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-demo-'));
  out = join(root, 'demo');
  const run = await ulmfit(['demo', '--quick', '--out', out, '--backend', 'wasm']);
  if (run.code !== 0) throw new Error(`demo failed (${run.code}): ${run.stderr}`);
  ({ stdout, stderr } = run);
  result = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as DemoResult;
}, 600_000);

describe('ulmfit demo --quick', () => {
  it('prints the tokenized corpus, the perplexity before and after fine-tuning, two samples and the side-by-side accuracies', () => {
    expect(stdout).toMatch(/1\. Tokenize .*: \d+ documents, \d+ tokens, vocab \d+/);
    expect(stdout).toMatch(/^ {3}text +text_$/m);
    expect(stdout).toMatch(/^ {3}xxbos /m);

    const lm = (label: string) => new RegExp(`^ {3}${label} +([\\d.]+) +([\\d.]+)$`, 'm').exec(stdout);
    const before = lm('before fine-tuning');
    const after = lm('after fine-tuning');
    expect(Number(before![1])).toBeCloseTo(result.genre.before.perplexity, 1);
    expect(Number(after![1])).toBeCloseTo(result.genre.after.perplexity, 1);
    expect(Number(after![2])).toBeCloseTo(result.genre.after.accuracy, 3);

    expect(result.samples).toHaveLength(2);
    for (const [i, sample] of result.samples.entries()) {
      expect(sample.startsWith('The jury said')).toBe(true);
      expect(stdout).toContain(`   ${i + 1}. ${sample.replace(/\s*\n\s*/g, ' ')}`);
    }

    const side = (label: string) =>
      new RegExp(`^ {3}${label.replace(/[()+]/g, '\\$&')} +([\\d.]+) +([\\d.]+)$`, 'm').exec(stdout);
    const transfer = side('ULMFiT (fine-tuned encoder)');
    const scratch = side('from scratch (same model, same recipe)');
    // The row of what classify uses (the run's choice on held-out documents) says so.
    const usesBaseline = result.classifier.classifyUses === 'baseline';
    const baseline = side(`NB-SVM baseline (${usesBaseline ? 'what classify uses' : 'word 1-2-grams'})`);
    expect(transfer).not.toBeNull();
    expect(scratch).not.toBeNull();
    expect(baseline).not.toBeNull();
    expect(Number(transfer![1])).toBeCloseTo(result.classifier.transfer.accuracy, 3);
    expect(Number(scratch![1])).toBeCloseTo(result.classifier.scratch.accuracy, 3);
    expect(Number(baseline![1])).toBeCloseTo(result.classifier.baseline.accuracy, 3);
    const ensemble = side(`ULMFiT + NB-SVM averaged${usesBaseline ? '' : ' (what classify uses)'}`);
    expect(JSON.parse(readFileSync(join(out, 'classifier', 'ensemble.json'), 'utf8')).use).toBe(
      usesBaseline ? 'baseline' : 'networks+baseline',
    );
    expect(Number(ensemble![1])).toBeCloseTo(result.classifier.ensemble.accuracy, 3);
    // The winner is named plainly: the best accuracy of the four rows.
    const scores = {
      ULMFiT: result.classifier.transfer.accuracy,
      'NB-SVM baseline': result.classifier.baseline.accuracy,
      'ULMFiT \\+ NB-SVM averaged': result.classifier.ensemble.accuracy,
      'from scratch': result.classifier.scratch.accuracy,
    };
    const ranked = Object.entries(scores).sort((a, b) => b[1] - a[1]);
    expect(stdout).toMatch(
      ranked[0]![1] - ranked[1]![1] < 0.005 ? / tie at the top / : new RegExp(`\\) ${ranked[0]![0]} wins, `),
    );
    for (const score of Object.values(result.classifier)) {
      if (typeof score !== 'object' || !('accuracy' in score)) continue;
      expect(score.accuracy).toBeGreaterThanOrEqual(0);
      expect(score.accuracy).toBeLessThanOrEqual(1);
    }
    expect(stdout).toMatch(/Done in \d+:\d\d \(CPU \d+:\d\d\)/);
  });

  it('shows progress on stderr: the steps and one line per epoch', () => {
    for (const step of ['[1/5]', '[2/5]', '[3/5]', '[4/5]', '[5/5]']) expect(stderr).toContain(step);
    expect(stderr).toMatch(/pretrain stage 1 epoch 1\/1: train loss [\d.]+, valid loss [\d.]+/);
    expect(stderr).toMatch(/classifier-scratch stage 1 epoch 2\/2: .*macro-F1/);
  });

  it('writes the run directory: data, corpus, every model, results and the commands', () => {
    for (const path of [
      'data/pretrain',
      'data/news-train',
      'data/news-valid',
      'data/genres/train/religion',
      'data/genres/valid/romance',
      'corpus/meta.json',
      'lm-pretrained/model-last/weights.safetensors',
      'lm-finetuned/model-last/meta.json',
      'lm-finetuned/encoder/meta.json',
      'classifier/model-last/labels.json',
      'classifier-scratch/model-last/labels.json',
      'generated.txt',
      'commands.sh',
    ]) {
      expect(existsSync(join(out, path)), path).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(out, 'classifier', 'model-last', 'labels.json'), 'utf8'))).toEqual([
      'news',
      'religion',
      'romance',
    ]);
    // One metrics line per epoch of each recipe (pretrain 1, fine-tune 1+1, classifiers 2 each).
    const lines = (run: string) =>
      readFileSync(join(out, run, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n').length;
    expect([
      lines('lm-pretrained'),
      lines('lm-finetuned'),
      lines('classifier'),
      lines('classifier-scratch'),
    ]).toEqual([1, 2, 2, 2]);
    expect(result.pretrained.shipped).toBe(false);
    expect(result.timing.total!.seconds).toBeGreaterThan(0);
    expect(
      readFileSync(join(out, 'commands.sh'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('ulmfit ')),
    ).toEqual(result.commands);
  });

  it('prints commands that reproduce its steps with the real CLI', async () => {
    const printed = result.commands.map((c) => c.replace(/\s+#.*$/, ''));
    expect(printed.map((c) => argv(c)[0])).toEqual([
      'tokenize',
      'pretrain',
      'finetune-lm',
      'generate',
      'train-classifier',
      'train-classifier',
      'classify',
    ]);
    for (const command of printed) expect(stdout).toContain(`   ${command}`);

    // The same samples from `ulmfit generate` …
    const generated = await ulmfit(argv(printed[3]!));
    expect(generated.code).toBe(0);
    expect(generated.stdout.trim()).toBe(result.samples.join('\n\n'));
    // … and the same accuracy from `ulmfit classify` on the pair the demo scored (network + NB-SVM).
    const classified = await ulmfit(argv(printed[6]!));
    expect(classified.code).toBe(0);
    const accuracy = /accuracy\D*([\d.]+)/.exec(classified.stderr);
    expect(Number(accuracy![1])).toBeCloseTo(result.classifier.ensemble.accuracy, 3);
  });

  it('refuses a non-empty --out without --overwrite, and clears only its own entries with it', async () => {
    const refused = await ulmfit(['demo', '--quick', '--out', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \[E_OUT_EXISTS\]: .* is not empty \(pass --overwrite/);
    const other = join(root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'mine\n');
    const foreign = await ulmfit(['demo', '--quick', '--out', other, '--overwrite']);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain('notes.txt');
    expect(readFileSync(join(other, 'notes.txt'), 'utf8')).toBe('mine\n');
  });
});
