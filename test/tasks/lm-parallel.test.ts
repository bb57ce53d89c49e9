import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../../src/io/artifact.js';
import { toFloat32 } from '../../src/io/tensors.js';
import { Rng } from '../../src/random.js';
import { trainLanguageModel, type LmTrainOptions } from '../../src/tasks/lm.js';

const WORDS = 'the cat sat on a mat and dog ran to big red house while bird sang in tree'.split(' ');

function corpusFile(dir: string, lines: number, seed: number): string {
  const rng = new Rng(seed);
  const text = Array.from(
    { length: lines },
    () => Array.from({ length: 20 }, () => WORDS[rng.int(WORDS.length)]).join(' ') + '.',
  ).join('\n');
  const path = join(dir, 'a.txt');
  writeFileSync(path, text + '\n');
  return path;
}

function tiny(dir: string, input: string, out: string, extra: Partial<LmTrainOptions> = {}): LmTrainOptions {
  return {
    inputs: [input],
    out: join(dir, out),
    lineDocs: true,
    minFreq: 1,
    noCache: true,
    workers: 0,
    emb: 8,
    hidden: 12,
    layers: 2,
    bs: 4,
    bptt: 8,
    backend: 'wasm',
    seed: 1,
    stages: [{ freezeTo: 0, epochs: 2, lr: 1e-2 }],
    trainWorkers: 2,
    ...extra,
  };
}

function weightsOf(dir: string): Map<string, number[]> {
  return new Map([...readModelDir(dir).weights].map(([name, t]) => [name, Array.from(toFloat32(t))]));
}

describe('trainLanguageModel with trainWorkers', () => {
  it('trains data-parallel, records trainWorkers, and resumes to the same weights as an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-lm-dp-'));
    const input = corpusFile(dir, 40, 2);
    const messages: string[] = [];
    const full = await trainLanguageModel(tiny(dir, input, 'full', { onInfo: (m) => messages.push(m) }));
    expect(messages.some((m) => m.includes('2 replicas'))).toBe(true);
    expect(full.history).toHaveLength(2);
    expect(full.history.every((row) => Number.isFinite(row.trainLoss))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'full', 'config.json'), 'utf8')).trainWorkers).toBe(2);
    let epochs = 0;
    await expect(
      trainLanguageModel(
        tiny(dir, input, 'cut', {
          onEpochEnd: () => {
            epochs += 1;
            if (epochs === 1) throw new Error('simulated crash');
          },
        }),
      ),
    ).rejects.toThrow('simulated crash');
    // --resume refuses a different --train-workers (the dropout draws would differ) and continues
    // with the stored one.
    await expect(
      trainLanguageModel(tiny(dir, input, 'cut', { resume: true, trainWorkers: 1 })),
    ).rejects.toThrow(/--train-workers 1 \(the run has 2\)/);
    await trainLanguageModel(tiny(dir, input, 'cut', { resume: true }));
    const expected = weightsOf(join(dir, 'full', 'model-last'));
    const resumed = weightsOf(join(dir, 'cut', 'model-last'));
    for (const [name, values] of expected) expect(resumed.get(name), name).toEqual(values);
  });

  it('refuses more replicas than rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-lm-dp-bad-'));
    const input = corpusFile(dir, 10, 3);
    await expect(trainLanguageModel(tiny(dir, input, 'run', { trainWorkers: 5 }))).rejects.toThrow(
      /--train-workers must be a whole number from 1 to --bs \(4\)/,
    );
  });
});
