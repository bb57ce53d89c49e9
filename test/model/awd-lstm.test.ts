import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { lstmLayerOp } from '../../src/compute/lstm.js';
import type { LmBatch } from '../../src/data/batches.js';
import {
  AWD_LSTM_CLAS_CONFIG,
  AWD_LSTM_LM_CONFIG,
  type AwdLstmConfig,
  LanguageModel,
  withDropMult,
} from '../../src/model/awd-lstm.js';
import { Rng } from '../../src/random.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const TINY: AwdLstmConfig = { ...AWD_LSTM_LM_CONFIG, emb_sz: 4, n_hid: 6, n_layers: 3 };
const NO_DROPOUT: AwdLstmConfig = { ...withDropMult(TINY, 0) };
const VOCAB = 20;

const models: LanguageModel[] = [];
function makeModel(config: AwdLstmConfig = TINY, seed = 1, alpha = 2, beta = 1): LanguageModel {
  const model = new LanguageModel(VOCAB, config, { seed, alpha, beta });
  models.push(model);
  return model;
}
afterEach(() => {
  for (const m of models.splice(0)) m.dispose();
});

function randomBatch(rng: Rng, bs: number, seqLen: number): LmBatch {
  const stream = Int32Array.from({ length: bs * (seqLen + 1) }, () => rng.int(VOCAB));
  const x = new Int32Array(bs * seqLen);
  const y = new Int32Array(bs * seqLen);
  for (let r = 0; r < bs; r++) {
    for (let t = 0; t < seqLen; t++) {
      x[r * seqLen + t] = stream[r * (seqLen + 1) + t]!;
      y[r * seqLen + t] = stream[r * (seqLen + 1) + t + 1]!;
    }
  }
  return { x, y, bs, seqLen };
}

function values(t: tf.Tensor): number[] {
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}

function expectClose(a: number[], b: number[], tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  expect(worst).toBeLessThan(tol);
}

describe('AWD-LSTM configs', () => {
  it('has fastai defaults and scales every *_p by drop_mult', () => {
    expect(AWD_LSTM_LM_CONFIG).toMatchObject({
      emb_sz: 400,
      n_hid: 1152,
      n_layers: 3,
      pad_token: 1,
      output_p: 0.1,
    });
    const clas = withDropMult(AWD_LSTM_CLAS_CONFIG, 0.5);
    expect(clas.output_p).toBeCloseTo(0.2, 12);
    expect(clas.hidden_p).toBeCloseTo(0.15, 12);
    expect(clas.input_p).toBeCloseTo(0.2, 12);
    expect(clas.embed_p).toBeCloseTo(0.025, 12);
    expect(clas.weight_p).toBeCloseTo(0.25, 12);
    const lm = withDropMult(AWD_LSTM_LM_CONFIG, 0.3);
    expect([lm.output_p, lm.hidden_p, lm.input_p, lm.embed_p, lm.weight_p].map((p) => +p.toFixed(6))).toEqual(
      [0.03, 0.045, 0.075, 0.006, 0.06],
    );
  });
});

describe('LanguageModel', () => {
  it('names and shapes its weights like fastai and groups them like awd_lstm_lm_split', () => {
    const model = makeModel();
    const named = model.namedWeights();
    const shapes = [...named].map(([name, v]) => `${name} ${v.shape.join('x')}`);
    expect(shapes).toEqual([
      '0.encoder.weight 20x4',
      '0.encoder_dp.emb.weight 20x4',
      '0.rnns.0.weight_hh_l0_raw 24x6',
      '0.rnns.0.module.weight_ih_l0 24x4',
      '0.rnns.0.module.bias_ih_l0 24',
      '0.rnns.0.module.bias_hh_l0 24',
      '0.rnns.1.weight_hh_l0_raw 24x6',
      '0.rnns.1.module.weight_ih_l0 24x6',
      '0.rnns.1.module.bias_ih_l0 24',
      '0.rnns.1.module.bias_hh_l0 24',
      '0.rnns.2.weight_hh_l0_raw 16x4',
      '0.rnns.2.module.weight_ih_l0 16x6',
      '0.rnns.2.module.bias_ih_l0 16',
      '0.rnns.2.module.bias_hh_l0 16',
      '1.decoder.weight 20x4',
      '1.decoder.bias 20',
    ]);
    expect(named.get('1.decoder.weight')).toBe(named.get('0.encoder.weight'));
    const groups = model.paramGroups();
    expect(groups.map((g) => g.variables.length)).toEqual([4, 4, 4, 2]);
    expect(groups[3]!.variables).toEqual([named.get('0.encoder.weight'), named.get('1.decoder.bias')]);
    expect(model.noWeightDecay()).toEqual(new Set([named.get('1.decoder.bias')!.name]));
    expect(model.parameterCount()).toBe(80 + (144 + 96 + 48) + (144 + 144 + 48) + (64 + 96 + 32) + 20);
  });

  it('initialises as fastai: embedding U(-0.1,0.1) incl. the pad row, LSTM U(-1/sqrt(H),1/sqrt(H)), zero bias', () => {
    const model = makeModel();
    const named = model.namedWeights();
    const emb = named.get('0.encoder.weight')!.dataSync();
    expect(Math.max(...Array.from(emb, Math.abs))).toBeLessThanOrEqual(0.1);
    expect(Math.max(...Array.from(emb, Math.abs))).toBeGreaterThan(0.08);
    expect(Array.from(emb.slice(4, 8)).some((v) => v !== 0)).toBe(true); // pad row
    const w0 = named.get('0.rnns.0.weight_hh_l0_raw')!.dataSync();
    expect(Math.max(...Array.from(w0, Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(6));
    const w2 = named.get('0.rnns.2.module.bias_hh_l0')!.dataSync();
    expect(Math.max(...Array.from(w2, Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(4));
    expect(Array.from(named.get('1.decoder.bias')!.dataSync())).toEqual(new Array(20).fill(0));
  });

  it("embInit 'normal' draws the tied embedding from N(0, 1) (PyTorch nn.Embedding), deterministically", () => {
    const draw = (seed: number) => {
      const model = new LanguageModel(VOCAB, TINY, { seed, embInit: 'normal' });
      models.push(model);
      expect(model.decoderWeight).toBe(model.encoder.embedding);
      return Array.from(model.encoder.embedding.dataSync());
    };
    const emb = draw(1);
    const mean = emb.reduce((a, b) => a + b, 0) / emb.length;
    const std = Math.sqrt(emb.reduce((a, b) => a + (b - mean) ** 2, 0) / emb.length);
    expect(std).toBeGreaterThan(0.75);
    expect(std).toBeLessThan(1.25);
    expect(Math.max(...emb.map(Math.abs))).toBeGreaterThan(1.5);
    expect(draw(1)).toEqual(emb);
    expect(draw(2)).not.toEqual(emb);
  });

  it('gives the same numbers for the same seed and different ones for another', () => {
    const batch = randomBatch(new Rng(5), 2, 7);
    const loss = (seed: number) => {
      const model = makeModel(TINY, seed);
      return values(tf.tidy(() => model.trainLoss(batch).loss));
    };
    expect(loss(3)).toEqual(loss(3));
    expect(loss(3)).not.toEqual(loss(4));
  });

  it('refreshes its cached inference weights when the weights change', () => {
    const model = makeModel();
    const ids = Int32Array.from([2, 5, 7]);
    const before = values(model.lastLogits(ids, 1, 3));
    const bias = model.namedWeights().get('1.decoder.bias')!;
    const layer = model.encoder.layers[1]!;
    bias.assign(tf.add(bias, 1));
    layer.weightHhRaw.assign(tf.mul(layer.weightHhRaw, 2));
    model.reset();
    const after = values(model.lastLogits(ids, 1, 3));
    const fresh = makeModel();
    for (const [name, v] of model.namedWeights()) fresh.namedWeights().get(name)!.assign(v);
    expectClose(after, values(fresh.lastLogits(ids, 1, 3)));
    expect(Math.abs(after[0]! - before[0]!)).toBeGreaterThan(0.5);
  });

  it('returns logits of shape [bs, seqLen, vocab], deterministic in eval mode', () => {
    const model = makeModel();
    const ids = Int32Array.from([2, 5, 7, 9, 4, 3, 8, 1]);
    const a = model.forwardLogits(ids, 2, 4);
    expect(a.shape).toEqual([2, 4, VOCAB]);
    model.reset();
    const b = model.forwardLogits(ids, 2, 4);
    expect(values(a)).toEqual(values(b));
  });

  it('carries the state across calls: two chunks equal one long call', () => {
    const model = makeModel();
    const ids = [2, 5, 7, 9, 4, 3, 8, 11, 6];
    const whole = values(model.forwardLogits(Int32Array.from(ids), 1, 9));
    model.reset();
    const first = values(model.forwardLogits(Int32Array.from(ids.slice(0, 4)), 1, 4));
    const second = values(model.forwardLogits(Int32Array.from(ids.slice(4)), 1, 5));
    expectClose([...first, ...second], whole);
    model.reset();
    const last = values(model.lastLogits(Int32Array.from(ids), 1, 9));
    expectClose(last, whole.slice(8 * VOCAB));
  });

  it('resizes the state when the batch size changes: new rows start from zeros, a smaller batch keeps the first rows', () => {
    const model = makeModel();
    const rowA = [3, 4, 5];
    const rowB = [6, 7, 8];
    model.forwardLogits(Int32Array.from([...rowA, ...rowB]), 2, 3).dispose();
    // grow to 3 rows: rows 0-1 continue, row 2 is fresh
    const grown = values(model.forwardLogits(Int32Array.from([9, 10, 11, 12, 13, 14]), 3, 2));
    model.reset();
    const fresh = values(model.forwardLogits(Int32Array.from([13, 14]), 1, 2));
    expectClose(grown.slice(2 * 2 * VOCAB), fresh);
    model.reset();
    model.forwardLogits(Int32Array.from([...rowA, ...rowB]), 2, 3).dispose();
    const continued = values(model.forwardLogits(Int32Array.from([9, 10, 11, 12]), 2, 2));
    expectClose(grown.slice(0, 2 * 2 * VOCAB), continued);
    // shrink to 1 row: row 0 continues
    model.reset();
    model.forwardLogits(Int32Array.from([...rowA, ...rowB]), 2, 3).dispose();
    const shrunk = values(model.forwardLogits(Int32Array.from([9, 10]), 1, 2));
    expectClose(shrunk, continued.slice(0, 2 * VOCAB));
  });

  it('adds AR on the dropped and TAR on the raw last-layer output to the training loss', () => {
    const model = makeModel(NO_DROPOUT, 2, 2, 1);
    const batch = randomBatch(new Rng(6), 3, 5);
    const withReg = values(tf.tidy(() => model.trainLoss(batch).loss))[0]!;
    model.reset();
    const ce = model.evalBatch(batch);
    model.reset();
    // Without dropout the last layer's raw and dropped outputs are the same tensor.
    const [ar, tar] = tf.tidy(() => {
      const ids = tf.tensor2d(batch.x, [3, 5], 'int32').transpose() as tf.Tensor2D;
      const { raw } = model.encoder.forward(ids, false);
      const last = raw[2]!;
      const diff = tf.sub(last.slice([1, 0, 0], [4, -1, -1]), last.slice([0, 0, 0], [4, -1, -1]));
      return [tf.mean(tf.square(last)).dataSync()[0]!, tf.mean(tf.square(diff)).dataSync()[0]!];
    });
    expect(withReg).toBeCloseTo(ce.lossSum / ce.count + 2 * ar! + 1 * tar!, 5);
    // The reported loss (fastai's train_loss column) is the plain cross-entropy.
    model.reset();
    const reported = values(tf.tidy(() => model.trainLoss(batch).reported))[0]!;
    expect(reported).toBeCloseTo(ce.lossSum / ce.count, 5);
    model.alpha = 0;
    model.beta = 0;
    model.reset();
    expect(values(tf.tidy(() => model.trainLoss(batch).loss))[0]!).toBeCloseTo(ce.lossSum / ce.count, 5);
  });

  it('hand-written LSTM backward gives the same gradients as autodiff through the whole model', () => {
    const batch = randomBatch(new Rng(7), 3, 6);
    const gradsOf = (fast: boolean) => {
      const model = makeModel(TINY, 11);
      const vars = model.paramGroups().flatMap((g) => g.variables);
      // The default LSTM implementation, or the autodiff reference (src/compute/lstm.ts).
      const { grads, value } = lstmLayerOp.using(fast ? undefined : 'autodiff', () =>
        tf.variableGrads(() => model.trainLoss(batch).loss, vars),
      );
      const out = vars.map((v) => values(grads[v.name]!));
      value.dispose();
      return out;
    };
    const fast = gradsOf(true);
    const plain = gradsOf(false);
    fast.forEach((g, i) => expectClose(g, plain[i]!, 1e-5));
  });

  it('does not leak tensors across training steps', () => {
    const model = makeModel();
    const rng = new Rng(8);
    const vars = model.paramGroups().flatMap((g) => g.variables);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => model.trainLoss(randomBatch(rng, 2, 5)).loss, vars);
      tf.tidy(() => {
        for (const v of vars) v.assign(tf.sub(v, tf.mul(0.1, grads[v.name]!)));
      });
      value.dispose();
      tf.dispose(grads);
    };
    step();
    model.evalBatch(randomBatch(rng, 2, 5)); // creates the inference cache (transposed weights)
    step();
    // Replaced recurrent state is disposed at the start of the next call: release it to compare.
    model.encoder.releaseRetired();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) {
      step();
      model.evalBatch(randomBatch(rng, 2, 5));
    }
    model.forwardLogits(Int32Array.from([1, 2, 3, 4, 5, 6]), 2, 3).dispose();
    model.encoder.releaseRetired();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('learns a repeated sequence (loss falls under Adam)', () => {
    const model = makeModel({ ...NO_DROPOUT, n_hid: 16, emb_sz: 16, n_layers: 2 }, 3, 0, 0);
    const pattern = [2, 5, 9, 3, 7, 11, 4, 8];
    const seq = Array.from({ length: 4 * 9 }, (_, i) => pattern[i % pattern.length]!);
    const batch: LmBatch = { bs: 4, seqLen: 8, x: new Int32Array(32), y: new Int32Array(32) };
    for (let r = 0; r < 4; r++) {
      for (let t = 0; t < 8; t++) {
        batch.x[r * 8 + t] = seq[r * 9 + t]!;
        batch.y[r * 8 + t] = seq[r * 9 + t + 1]!;
      }
    }
    const optimizer = tf.train.adam(0.1);
    const vars = model.paramGroups().flatMap((g) => g.variables);
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) {
      model.reset();
      const loss = optimizer.minimize(() => model.trainLoss(batch).loss, true, vars)!;
      losses.push(values(loss)[0]!);
    }
    optimizer.dispose();
    model.reset();
    const stats = model.evalBatch(batch);
    expect(losses[59]!, losses.map((l) => l.toFixed(2)).join(' ')).toBeLessThan(losses[0]! * 0.2);
    expect(stats.correct / stats.count).toBeGreaterThan(0.9);
  });

  it('loads weights by fastai name, skipping v1 duplicates, and rejects bad names and shapes clearly', () => {
    const source = makeModel(TINY, 21);
    const target = makeModel(TINY, 22);
    const tensors = new Map<string, tf.Tensor>([...source.namedWeights()]);
    tensors.set('0.rnns.1.module.weight_hh_l0', tf.zeros([24, 6])); // fastai v1 duplicate
    target.loadWeights(tensors);
    const ids = Int32Array.from([2, 3, 4, 5]);
    expect(values(target.forwardLogits(ids, 1, 4))).toEqual(values(source.forwardLogits(ids, 1, 4)));

    const missing = new Map(tensors);
    missing.delete('0.rnns.2.module.bias_hh_l0');
    expect(() => target.loadWeights(missing)).toThrow(/missing 0\.rnns\.2\.module\.bias_hh_l0/);
    const unknown = new Map(tensors).set('0.rnns.3.weight_hh_l0_raw', tf.zeros([1]));
    expect(() => target.loadWeights(unknown)).toThrow(
      /unexpected tensor name\(s\) 0\.rnns\.3\.weight_hh_l0_raw/,
    );
    const badShape = new Map(tensors).set('1.decoder.bias', tf.zeros([21]));
    expect(() => target.loadWeights(badShape)).toThrow(
      /1\.decoder\.bias has shape \[21\], the model expects \[20\]/,
    );
    tf.dispose([
      tensors.get('0.rnns.1.module.weight_hh_l0')!,
      unknown.get('0.rnns.3.weight_hh_l0_raw')!,
      badShape.get('1.decoder.bias')!,
    ]);
  });
});
