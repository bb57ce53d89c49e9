import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { UlmfitError } from '../../src/errors.js';
import { generate, type GenerateOptions, type NextTokenModel } from '../../src/infer/generate.js';
import { loadGenerator, type LoadedGenerator } from '../../src/infer/load-generator.js';
import { writeTinyLm } from './tiny-lm.js';

let root: string;
let lmDir: string;
let generator: LoadedGenerator;

beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'ulmfit-loadgen-'));
  lmDir = join(root, 'run', 'model-best');
  mkdirSync(join(root, 'run'));
  writeTinyLm(lmDir);
  generator = await loadGenerator(lmDir, 'wasm');
});

afterAll(() => {
  generator?.dispose();
  rmSync(root, { recursive: true, force: true });
});

/** fastai's way: reset and feed the whole sequence so far at every step. */
function refeeding(model: NextTokenModel): NextTokenModel {
  let fed: number[] = [];
  return {
    reset: () => {
      fed = [];
    },
    nextLogits: (ids) => {
      fed.push(...ids);
      model.reset();
      return model.nextLogits(Int32Array.from(fed));
    },
  };
}

const options: GenerateOptions = { prompt: 'The cat sat', words: 12, temperature: 0, seed: 5 };

describe('loadGenerator with a real AWD-LSTM', () => {
  it('gives the same last-position logits step by step as for the whole sequence', async () => {
    const ids = Int32Array.of(2, 8, 9, 10, 11, 12, 9, 13);
    generator.model.reset();
    const whole = await generator.model.nextLogits(ids);
    generator.model.reset();
    let stepwise = await generator.model.nextLogits(ids.slice(0, 3));
    for (let t = 3; t < ids.length; t++) stepwise = await generator.model.nextLogits(ids.slice(t, t + 1));
    expect(stepwise.length).toBe(whole.length);
    stepwise.forEach((v, i) => expect(v).toBeCloseTo(whole[i]!, 5));
  });

  it('generates the same text carrying state as re-feeding everything (fastai), greedy and sampled', async () => {
    const { model, tokenizer, vocab } = generator;
    for (const variant of [options, { ...options, temperature: 1, words: 20 }]) {
      const carried = await generate(model, tokenizer, vocab, variant);
      const refed = await generate(refeeding(model), tokenizer, vocab, variant);
      expect(carried[0]!.tokens).toEqual(refed[0]!.tokens);
      expect(carried[0]!.tokens.length).toBe(variant.words);
    }
  });

  it('runs the prompt through the model tokenizer and detokenizes the result', async () => {
    const [result] = await generate(generator.model, generator.tokenizer, generator.vocab, options);
    expect(result!.readingOrder.slice(0, 5)).toEqual(['xxbos', 'xxmaj', 'the', 'cat', 'sat']);
    expect(result!.text.startsWith('The cat sat')).toBe(true);
    expect(result!.text).not.toContain('xxbos');
  });

  it('does not leak tensors across generations', async () => {
    const { model, tokenizer, vocab } = generator;
    await generate(model, tokenizer, vocab, options);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await generate(model, tokenizer, vocab, { ...options, samples: 2 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('finds the model in a run directory and reads backwards from meta.json', async () => {
    const fromRun = await loadGenerator(join(root, 'run'), 'wasm');
    expect(fromRun.backwards).toBe(false);
    fromRun.dispose();
    const backDir = join(root, 'back');
    writeTinyLm(backDir, { backwards: true });
    const back = await loadGenerator(backDir, 'wasm');
    expect(back.backwards).toBe(true);
    back.dispose();
  });

  it('refuses a classifier directory with a clear error', async () => {
    const clasDir = join(root, 'clas');
    writeTinyLm(clasDir, { kind: 'classifier' });
    const error = await loadGenerator(clasDir, 'wasm').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UlmfitError);
    expect((error as UlmfitError).code).toBe('E_MODEL_DIR');
    expect((error as UlmfitError).message).toMatch(/'classifier' model/);
  });
});
