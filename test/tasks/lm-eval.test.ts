import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/random.js';
import { evaluateLanguageModel } from '../../src/tasks/lm-eval.js';
import { trainLanguageModel } from '../../src/tasks/lm.js';

function textFile(dir: string, name: string, words: string[], lines: number, seed: number): string {
  const rng = new Rng(seed);
  const text = Array.from(
    { length: lines },
    () => Array.from({ length: 16 }, () => words[rng.int(words.length)]).join(' ') + '.',
  ).join('\n');
  writeFileSync(join(dir, name), text + '\n');
  return join(dir, name);
}

const A = 'the cat sat on a mat and dog ran to big red house'.split(' ');
const B = 'the ship sailed over a sea and gull flew to far blue island'.split(' ');
const TINY = {
  lineDocs: true,
  minFreq: 1,
  noCache: true,
  workers: 0,
  emb: 8,
  hidden: 12,
  layers: 2,
  bs: 4,
  bptt: 8,
  backend: 'wasm' as const,
  seed: 1,
};

describe('evaluateLanguageModel', () => {
  it("scores a model exactly as its training run's validation did", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-lm-eval-'));
    const train = textFile(dir, 'train.txt', A, 40, 1);
    const valid = textFile(dir, 'valid.txt', A, 10, 2);
    const run = await trainLanguageModel({
      ...TINY,
      inputs: [train],
      valid: [valid],
      out: join(dir, 'run'),
      stages: [{ freezeTo: 0, epochs: 2, lr: 1e-2 }],
    });
    const last = run.history[1]!;
    const scored = await evaluateLanguageModel({
      model: join(dir, 'run', 'model-last'),
      inputs: [valid],
      lineDocs: true,
      bs: 4,
      bptt: 8,
      noCache: true,
      workers: 0,
      backend: 'wasm',
    });
    expect(scored.loss).toBeCloseTo(last.validLoss!, 5);
    expect(scored.accuracy).toBeCloseTo(last.accuracy!, 6);
    expect(scored.perplexity).toBeCloseTo(last.perplexity!, 3);
    // A text shorter than the default 64 streams is scored on fewer streams, not reported as 0/0.
    const short = join(dir, 'short.txt');
    writeFileSync(short, 'the cat sat on a mat.\n');
    const scoredShort = await evaluateLanguageModel({
      model: join(dir, 'run', 'model-last'),
      inputs: [short],
      lineDocs: true,
      noCache: true,
      workers: 0,
      backend: 'wasm',
    });
    expect(Number.isFinite(scoredShort.loss)).toBe(true);
    writeFileSync(short, 'cat\n'); // xxbos cat: the shortest text there is to score
    const two = await evaluateLanguageModel({
      model: join(dir, 'run', 'model-last'),
      inputs: [short],
      lineDocs: true,
      noCache: true,
      workers: 0,
      backend: 'wasm',
    });
    expect([two.tokens, Number.isFinite(two.loss)]).toEqual([2, true]);
    expect(scored.tokens).toBe(run.validTokens);
    expect(scored.transferFound).toBeUndefined();
  });

  it("with vocabFrom, scores in the fine-tuning vocab: the start of fine-tuning's own numbers", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-lm-eval-'));
    const pretrainText = textFile(dir, 'pretrain.txt', A, 40, 3);
    const domain = textFile(dir, 'domain.txt', B, 30, 4);
    const domainValid = textFile(dir, 'domain-valid.txt', B, 8, 5);
    await trainLanguageModel({
      ...TINY,
      inputs: [pretrainText],
      out: join(dir, 'pre'),
      stages: [{ freezeTo: 0, epochs: 1, lr: 1e-2 }],
    });
    const before = await evaluateLanguageModel({
      model: join(dir, 'pre'),
      inputs: [domainValid],
      vocabFrom: [domain],
      minFreq: 1,
      lineDocs: true,
      bs: 4,
      bptt: 8,
      noCache: true,
      workers: 0,
      backend: 'wasm',
    });
    const tuned = await trainLanguageModel({
      ...TINY,
      inputs: [domain],
      valid: [domainValid],
      pretrained: join(dir, 'pre'),
      out: join(dir, 'tuned'),
      stages: [
        { freezeTo: -1, epochs: 1, lr: 2e-2 },
        { freezeTo: 0, epochs: 2, lr: 1e-2 },
      ],
    });
    // Same vocab and transfer as the fine-tuning run, and the same tokens scored.
    expect(before.vocabSize).toBe(tuned.vocabSize);
    expect(before.transferFound).toBe(tuned.transferFound);
    expect(before.tokens).toBe(tuned.validTokens);
    // Half the domain words are new to the pretrained model: fine-tuning must beat the start.
    expect(tuned.history[2]!.validLoss!).toBeLessThan(before.loss);
  });
});
