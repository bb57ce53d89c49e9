import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import {
  dropoutMask,
  embeddingDropout,
  fillDropoutMask,
  rnnDropout,
  weightDropout,
} from '../../src/model/dropout.js';
import { Rng } from '../../src/random.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('dropout masks', () => {
  it('are 0 or 1/(1-p), drop about p, and repeat for the same seed', () => {
    const a = dropoutMask([200, 50], 0.3, new Rng(1));
    const b = dropoutMask([200, 50], 0.3, new Rng(1));
    const values = a.dataSync();
    const distinct = new Set(Array.from(values, (v) => v.toFixed(5)));
    expect([...distinct].sort()).toEqual([(0).toFixed(5), (1 / 0.7).toFixed(5)]);
    const dropped = values.filter((v) => v === 0).length / values.length;
    expect(dropped).toBeGreaterThan(0.27);
    expect(dropped).toBeLessThan(0.33);
    expect(Array.from(b.dataSync())).toEqual(Array.from(values));
    tf.dispose([a, b]);
  });

  it("draw their entries from xoshiro128** seeded by one draw of the model's generator (the same stream as Rng)", () => {
    const out = new Float32Array(1000);
    fillDropoutMask(out, 0.25, 12345);
    const reference = new Rng(12345);
    const expected = Array.from({ length: out.length }, () =>
      reference.nextUint32() < 0.75 * 2 ** 32 ? Math.fround(1 / 0.75) : 0,
    );
    expect(Array.from(out)).toEqual(expected);
    fillDropoutMask(out, 1, 7);
    expect(out.every((v) => v === 0)).toBe(true);
    // dropoutMask takes its seed from the caller's generator: one draw per mask.
    const rng = new Rng(5);
    const mask = dropoutMask([10, 10], 0.5, rng);
    const seeds = new Rng(5);
    const again = new Float32Array(100);
    fillDropoutMask(again, 0.5, seeds.seedForOp());
    expect(Array.from(mask.dataSync())).toEqual(Array.from(again));
    expect(rng.nextUint32()).toBe(seeds.nextUint32());
    mask.dispose();
  });

  it('RNNDropout shares one mask over time and draws a new one per call', () => {
    const rng = new Rng(2);
    const x = tf.ones([6, 3, 10]) as tf.Tensor3D;
    const first = rnnDropout(x, 0.5, true, rng);
    const second = rnnDropout(x, 0.5, true, rng);
    const steps = tf.unstack(first).map((t) => Array.from(t.dataSync()));
    for (const step of steps) expect(step).toEqual(steps[0]);
    expect(steps[0]!.some((v) => v === 0)).toBe(true);
    expect(Array.from(second.dataSync())).not.toEqual(Array.from(first.dataSync()));
    expect(rnnDropout(x, 0.5, false, rng)).toBe(x);
    expect(rnnDropout(x, 0, true, rng)).toBe(x);
    tf.dispose([x, first, second]);
  });

  it('WeightDropout resamples the recurrent mask on every training call and uses the raw weight in eval', () => {
    const rng = new Rng(3);
    const raw = tf.ones([8, 2]) as tf.Tensor2D;
    const a = weightDropout(raw, 0.5, true, rng);
    const b = weightDropout(raw, 0.5, true, rng);
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(b.dataSync()));
    expect(new Set(a.dataSync())).toEqual(new Set([0, 2]));
    expect(weightDropout(raw, 0.5, false, rng)).toBe(raw);
    // The gradient reaches the raw weight through the mask.
    const rawVar = tf.variable(raw);
    const { grads } = tf.variableGrads(
      () => tf.sum(weightDropout(rawVar, 0.5, true, new Rng(9))) as tf.Scalar,
      [rawVar],
    );
    const mask = dropoutMask([8, 2], 0.5, new Rng(9));
    expect(Array.from(grads[rawVar.name]!.dataSync())).toEqual(Array.from(mask.dataSync()));
    tf.dispose([raw, a, b, rawVar, mask, ...Object.values(grads)]);
  });

  it('EmbeddingDropout drops whole words everywhere in the batch, scaled', () => {
    const vocab = 40;
    const weight = tf.ones([vocab, 3]) as tf.Tensor2D;
    const ids = tf.tensor2d(
      Array.from({ length: 4 * 10 }, (_, i) => (i * 7) % vocab),
      [4, 10],
      'int32',
    );
    const out = embeddingDropout(weight, ids, 0.5, 1, true, new Rng(4));
    expect(out.shape).toEqual([4, 10, 3]);
    const rows = out.reshape([40, 3]).arraySync() as number[][];
    const idList = Array.from(ids.dataSync());
    const valueOf = new Map<number, number>();
    rows.forEach((row, i) => {
      expect(new Set(row).size).toBe(1); // a whole vector is kept or dropped
      const id = idList[i]!;
      if (valueOf.has(id)) expect(row[0]).toBe(valueOf.get(id));
      valueOf.set(id, row[0]!);
    });
    expect(new Set(valueOf.values())).toEqual(new Set([0, 2]));
    tf.dispose([weight, ids, out]);
  });

  it('embedding lookup sends no gradient to the pad row but the right one elsewhere', () => {
    const weight = tf.variable(tf.randomUniform([6, 2], -1, 1, 'float32', 5)) as tf.Variable<tf.Rank.R2>;
    const ids = tf.tensor1d([1, 3, 3, 1, 5], 'int32');
    const { grads } = tf.variableGrads(
      () => tf.sum(embeddingDropout(weight, ids, 0, 1, true, new Rng(1))) as tf.Scalar,
      [weight],
    );
    expect(grads[weight.name]!.arraySync()).toEqual([
      [0, 0],
      [0, 0], // pad: blocked like PyTorch's padding_idx
      [0, 0],
      [2, 2],
      [0, 0],
      [1, 1],
    ]);
    // eval: the pad row's real values come out
    const evalOut = embeddingDropout(weight, ids, 0.5, 1, false, new Rng(1));
    expect(Array.from(evalOut.slice([0, 0], [1, 2]).dataSync())).toEqual(
      Array.from(weight.slice([1, 0], [1, 2]).dataSync()),
    );
    tf.dispose([weight, ids, evalOut, ...Object.values(grads)]);
  });
});
