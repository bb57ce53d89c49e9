/**
 * Training parity with PyTorch (tools/lm_fit_reference.py wrote the fixture, in float64): a tiny
 * AWD-LSTM language model with every dropout off, loaded with the reference's weights, gives the
 * same first-batch loss and gradients (hand-written LSTM backward, tied decoder, AR/TAR), and one
 * epoch of fit_one_cycle through the real Learner + LmStream (state carried across batches, a
 * shorter last batch, fastai Adam with decoupled wd, one-cycle lr/mom) ends with the same weights
 * and the same validation loss and accuracy.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { LmStream } from '../../src/data/lm-stream.js';
import {
  AWD_LSTM_LM_CONFIG,
  LanguageModel,
  withDropMult,
  type AwdLstmConfig,
} from '../../src/model/awd-lstm.js';
import { Rng } from '../../src/random.js';
import { Learner } from '../../src/train/learner.js';

interface Dumped {
  shape: number[];
  data: number[];
}
interface Reference {
  config: {
    vocab: number;
    emb_sz: number;
    n_hid: number;
    n_layers: number;
    bs: number;
    bptt: number;
    lr: number;
    wd: number;
    alpha: number;
    beta: number;
  };
  train_stream: number[];
  valid_stream: number[];
  init: Record<string, Dumped>;
  first_batch: { loss: number; ce: number; grads: Record<string, Dumped> };
  fit: {
    losses: number[];
    ce: number[];
    hypers: { lr: number; mom: number }[];
    final: Record<string, Dumped>;
    valid_loss: number;
    valid_accuracy: number;
  };
}

const ref = JSON.parse(
  readFileSync(new URL('../../fixtures/train/lm-fit-reference.json', import.meta.url), 'utf8'),
) as Reference;
const { config: c } = ref;
const CONFIG: AwdLstmConfig = withDropMult(
  { ...AWD_LSTM_LM_CONFIG, emb_sz: c.emb_sz, n_hid: c.n_hid, n_layers: c.n_layers },
  0,
);

beforeAll(async () => {
  await initBackend('wasm');
});

function loadedModel(): LanguageModel {
  const model = new LanguageModel(c.vocab, CONFIG, { seed: 1, alpha: c.alpha, beta: c.beta });
  const tensors = new Map(Object.entries(ref.init).map(([name, t]) => [name, tf.tensor(t.data, t.shape)]));
  model.loadWeights(tensors);
  tf.dispose([...tensors.values()]);
  return model;
}

/** Largest |a - b| over the entries, scaled by max(1, |b|). */
function worst(actual: ArrayLike<number>, expected: number[]): number {
  expect(actual.length).toBe(expected.length);
  return expected.reduce((m, v, i) => Math.max(m, Math.abs(v - actual[i]!) / Math.max(1, Math.abs(v))), 0);
}

describe('LM training parity with PyTorch (fixtures/train/lm-fit-reference.json)', () => {
  it('first batch: same loss (CE + AR + TAR) and the same gradient for every parameter', () => {
    const model = loadedModel();
    try {
      const batch = new LmStream([Int32Array.from(ref.train_stream)], { bs: c.bs, bptt: c.bptt })
        .batches()
        .next().value!;
      const named = model.namedWeights();
      const variables = [...new Set(named.values())];
      const { value, grads } = tf.variableGrads(() => model.trainLoss(batch).loss, variables);
      expect(value.dataSync()[0]!).toBeCloseTo(ref.first_batch.loss, 5);
      for (const [name, expected] of Object.entries(ref.first_batch.grads)) {
        const grad = grads[named.get(name)!.name]!;
        expect(grad.shape, name).toEqual(expected.shape);
        expect(worst(grad.dataSync(), expected.data), name).toBeLessThan(1e-6);
      }
      tf.dispose([value, ...Object.values(grads)]);
    } finally {
      model.dispose();
    }
  });

  it('one epoch of fit_one_cycle ends with the same weights and validation numbers', async () => {
    const model = loadedModel();
    const train = new LmStream([Int32Array.from(ref.train_stream)], { bs: c.bs, bptt: c.bptt });
    const valid = new LmStream([Int32Array.from(ref.valid_stream)], { bs: c.bs, bptt: c.bptt });
    expect(train.numBatches).toBe(ref.fit.losses.length);
    const seen: { lr: number; mom: number; loss: number }[] = [];
    const learner = new Learner(model, {
      train,
      valid,
      rng: new Rng(1),
      wd: c.wd,
      onBatchEnd: (info) => seen.push({ lr: info.lr, mom: info.mom, loss: info.loss }),
    });
    try {
      const [row] = await learner.fitOneCycle(1, c.lr);
      expect(seen).toHaveLength(ref.fit.hypers.length);
      seen.forEach((h, i) => {
        expect(h.lr).toBeCloseTo(ref.fit.hypers[i]!.lr, 9);
        expect(h.mom).toBeCloseTo(ref.fit.hypers[i]!.mom, 9);
        expect(h.loss).toBeCloseTo(ref.fit.ce[i]!, 5); // the reported loss is the CE alone, as fastai records it
      });
      const named = model.namedWeights();
      for (const [name, expected] of Object.entries(ref.fit.final)) {
        const initial = ref.init[name]!.data;
        const actual = named.get(name)!.dataSync();
        // The weights moved (by up to ~lr per step), and moved the same way as in PyTorch.
        expect(worst(actual, initial), name).toBeGreaterThan(1e-3);
        expect(worst(actual, expected.data), name).toBeLessThan(1e-6);
      }
      expect(row!.validLoss!).toBeCloseTo(ref.fit.valid_loss, 4);
      expect(row!.accuracy!).toBeCloseTo(ref.fit.valid_accuracy, 6);
    } finally {
      learner.dispose();
      model.dispose();
    }
  });
});
