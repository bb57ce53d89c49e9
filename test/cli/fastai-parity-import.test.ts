/**
 * The proof end to end: `ulmfit import-fastai` each fixtures/fastai checkpoint, load the
 * model directory into the AWD-LSTM, and match PyTorch's logits (1e-4) and greedy tokens.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { main } from '../../src/cli/main.js';
import { readModelDir } from '../../src/io/artifact.js';
import { LanguageModel, type AwdLstmConfig } from '../../src/model/awd-lstm.js';

const dir = join(import.meta.dirname, '../../fixtures/fastai');
const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as {
  last_logits: { ids: number[]; logits: number[] }[];
  greedy: { prompt: number[]; tokens: number[] }[];
};

let root: string;
beforeAll(async () => {
  await initBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'ulmfit-parity-import-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function loadModel(modelDir: string): LanguageModel {
  const { meta, weights, vocab } = readModelDir(modelDir, { kind: ['lm'] });
  const model = new LanguageModel(vocab.length, meta.arch as unknown as AwdLstmConfig, { seed: 0 });
  const tensors = new Map(
    [...weights].map(([name, t]) => [name, tf.tensor(t.data as Float32Array, t.shape)]),
  );
  model.loadWeights(tensors);
  tf.dispose([...tensors.values()]);
  return model;
}

function maxDiff(actual: ArrayLike<number>, expected: number[]): number {
  expect(actual.length).toBe(expected.length);
  return expected.reduce((m, v, i) => Math.max(m, Math.abs(v - actual[i]!)), 0);
}

describe('import-fastai → LanguageModel matches PyTorch', () => {
  it.each(['lm_v1_legacy.pth', 'lm_v1_zip.pth', 'lm_v2_legacy.pth', 'lm_v2_zip.pth'])('%s', async (file) => {
    const out = join(root, file);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const code = await main([
      'node',
      'ulmfit',
      'import-fastai',
      join(dir, file),
      join(dir, 'itos.pkl'),
      '--out',
      out,
    ]);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    const model = loadModel(out);
    for (const { ids, logits } of reference.last_logits) {
      model.reset();
      const out = model.lastLogits(Int32Array.from(ids), 1, ids.length);
      expect(maxDiff(out.dataSync(), logits)).toBeLessThan(1e-4);
      out.dispose();
    }
    // Greedy decoding as fastai's predict (re-feed the whole sequence each step).
    for (const { prompt, tokens } of reference.greedy) {
      const sequence = [...prompt];
      for (let step = 0; step < tokens.length; step++) {
        model.reset();
        const out = model.lastLogits(Int32Array.from(sequence), 1, sequence.length);
        const values = out.dataSync();
        out.dispose();
        let best = 0;
        for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
        sequence.push(best);
      }
      expect(sequence.slice(prompt.length)).toEqual(tokens);
    }
    model.dispose();
  });
});
