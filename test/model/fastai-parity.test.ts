/**
 * Parity with fastai's AWD-LSTM as run by PyTorch (tools/make_fastai_reference.py wrote the
 * fixtures): the same weights give the same logits and the same greedy continuations.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { type AwdLstmConfig, LanguageModel } from '../../src/model/awd-lstm.js';

const DIR = new URL('../../fixtures/fastai/', import.meta.url);

interface WeightsFile {
  config: AwdLstmConfig & { vocab_sz: number };
  tensors: Record<string, { shape: number[]; data: number[] }>;
}
interface ReferenceFile {
  last_logits: { ids: number[]; logits: number[] }[];
  all_logits: { ids: number[]; logits: number[][] };
  greedy: { prompt: number[]; tokens: number[] }[];
}

const weights = JSON.parse(readFileSync(new URL('lm_weights.json', DIR), 'utf8')) as WeightsFile;
const reference = JSON.parse(readFileSync(new URL('reference.json', DIR), 'utf8')) as ReferenceFile;
let model: LanguageModel;

beforeAll(async () => {
  await initBackend('wasm');
  model = new LanguageModel(weights.config.vocab_sz, weights.config, { seed: 0 });
  const tensors = new Map(
    Object.entries(weights.tensors).map(([name, t]) => [name, tf.tensor(t.data, t.shape)]),
  );
  model.loadWeights(tensors);
  tf.dispose([...tensors.values()]);
});

afterAll(() => model.dispose());

function maxDiff(actual: ArrayLike<number>, expected: number[]): number {
  expect(actual.length).toBe(expected.length);
  return expected.reduce((m, v, i) => Math.max(m, Math.abs(v - actual[i]!)), 0);
}

function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

describe('parity with fastai (PyTorch) on fixtures/fastai', () => {
  it('matches the last-position logits of each sequence within 1e-4', () => {
    for (const { ids, logits } of reference.last_logits) {
      model.reset();
      const out = model.lastLogits(Int32Array.from(ids), 1, ids.length);
      expect(maxDiff(out.dataSync(), logits)).toBeLessThan(1e-4);
      out.dispose();
    }
  });

  it('matches the logits at every position, and the same rows batched together', () => {
    const { ids, logits } = reference.all_logits;
    model.reset();
    const out = model.forwardLogits(Int32Array.from(ids), 1, ids.length);
    expect(maxDiff(out.dataSync(), logits.flat())).toBeLessThan(1e-4);
    out.dispose();
    // Two copies of the sequence as a batch of 2 give the same rows.
    model.reset();
    const batched = model.forwardLogits(Int32Array.from([...ids, ...ids]), 2, ids.length);
    expect(maxDiff(batched.dataSync(), [...logits.flat(), ...logits.flat()])).toBeLessThan(1e-4);
    batched.dispose();
  });

  it('reproduces the greedy continuations token for token (state carried between steps)', () => {
    for (const { prompt, tokens } of reference.greedy) {
      model.reset();
      let logits = model.lastLogits(Int32Array.from(prompt), 1, prompt.length);
      const generated: number[] = [];
      for (let i = 0; i < tokens.length; i++) {
        const next = argMax(logits.dataSync());
        logits.dispose();
        generated.push(next);
        logits = model.lastLogits(Int32Array.from([next]), 1, 1);
      }
      logits.dispose();
      expect(generated).toEqual(tokens);
    }
  });
});
