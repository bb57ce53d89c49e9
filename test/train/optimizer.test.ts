import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { initBackend } from '../../src/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import { Adam } from '../../src/train/optimizer.js';
import { adamwStepOp } from '../../src/compute/adamw.js';

const reference = JSON.parse(
  readFileSync(new URL('../../fixtures/train/fastai-reference.json', import.meta.url), 'utf8'),
);

beforeAll(async () => {
  await initBackend('wasm'); // the project's default backend (design.md §5)
});

let nextId = 0;
const variable = (values: number[], shape: number[], name = `adam-test-${nextId++}`) =>
  tf.variable(tf.tensor(values, shape), true, name);

function gradsFor(pairs: [tf.Variable, number[]][]): Record<string, tf.Tensor> {
  return Object.fromEntries(pairs.map(([v, g]) => [v.name, tf.tensor(g, v.shape)]));
}

const disposeAll = (grads: Record<string, tf.Tensor>) => Object.values(grads).forEach((g) => g.dispose());

describe('Adam', () => {
  it('takes the same steps, to the bit, with the one-pass wasm kernel as with TF.js ops', () => {
    expect(adamwStepOp.available().map((impl) => impl.name)).toEqual(['wasm', 'tfjs']);
    const run = (fused: boolean) =>
      adamwStepOp.using(fused ? 'wasm' : 'tfjs', () => {
        let seed = 7;
        const random = (n: number) =>
          Array.from({ length: n }, () => {
            seed = (seed * 16807) % 2147483647;
            return seed / 2147483647 - 0.5;
          });
        // 7 and 13 elements: the kernel's SIMD loop and its scalar tail; one parameter without decay
        const a = variable(random(7), [7], `fused-a-${fused}`);
        const b = variable(random(13), [13], `fused-b-${fused}`);
        const c = variable(random(4), [2, 2], `fused-c-${fused}`);
        const adam = new Adam([[a, b], [c]], new Set([b.name]), { lr: 3e-3, wd: 0.1 });
        adam.setHyper('lr', [3e-3, 1e-2]);
        adam.setHyper('mom', [0.9, 0.8]);
        for (let step = 0; step < 4; step++) {
          const grads = gradsFor([
            [a, random(7)],
            [b, random(13)],
            [c, random(4)],
          ]);
          adam.step(grads);
          disposeAll(grads);
        }
        const state = adam.getState();
        const result = [a, b, c]
          .map((v) => Array.from(v.dataSync()))
          .concat(state.params.flatMap((p) => [Array.from(p.gradAvg), Array.from(p.sqrAvg)]));
        adam.dispose();
        tf.dispose([a, b, c]);
        return result;
      });
    expect(run(true)).toEqual(run(false));
  });

  it('steps a parameter whose gradient broadcasts (a scalar) through the TF.js ops, never past the gradient', () => {
    const p = variable([1, 2, 3, 4, 5], [5]);
    const adam = new Adam([[p]], new Set(), { lr: 1e-2, wd: 0 });
    const grads = { [p.name]: tf.scalar(0.5) };
    adam.step(grads);
    const state = adam.getState().params[0]!;
    expect(Array.from(state.gradAvg)).toEqual(new Array(5).fill(Math.fround(0.05)));
    disposeAll(grads);
    adam.dispose();
    p.dispose();
  });

  it("reproduces spec §6.2's two-step example (p=1, g=0.5, lr 1e-3, wd 0.01)", () => {
    const p = variable([1], [1]);
    const adam = new Adam([[p]], new Set(), { lr: 1e-3, wd: 0.01 });
    const grads = gradsFor([[p, [0.5]]]);
    adam.step(grads);
    expect(p.dataSync()[0]).toBeCloseTo(0.99899002, 6);
    adam.step(grads);
    expect(p.dataSync()[0]).toBeCloseTo(0.99798005, 6);
    disposeAll(grads);
    adam.dispose();
    p.dispose();
  });

  it.each(['wasm', 'cpu'])("matches fastai's step functions run in PyTorch (%s backend)", async (backend) => {
    await tf.setBackend(backend);
    const ref = reference.adam as {
      init: number[][];
      shapes: number[][];
      lrs: number[];
      moms: number[];
      wd: number;
      clearAfterStep: number;
      grads: number[][][];
      final: number[][];
    };
    const a = variable(ref.init[0]!, ref.shapes[0]!);
    const b = variable(ref.init[1]!, ref.shapes[1]!);
    // two groups to exercise per-group hypers (set equal here, as the reference uses one set)
    const adam = new Adam([[a], [b]], new Set([b.name]), { wd: ref.wd });
    ref.grads.forEach((stepGrads, s) => {
      if (s === ref.clearAfterStep) adam.clearState();
      adam.setHyper('lr', [ref.lrs[s]!, ref.lrs[s]!]);
      adam.setHyper('mom', ref.moms[s]!);
      const grads = gradsFor([
        [a, stepGrads[0]!],
        [b, stepGrads[1]!],
      ]);
      adam.step(grads);
      disposeAll(grads);
    });
    Array.from(a.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(ref.final[0]![i]!, 6));
    Array.from(b.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(ref.final[1]![i]!, 6));
    adam.dispose();
    a.dispose();
    b.dispose();
    await tf.setBackend('wasm');
  });

  it('anchorTo pulls parameters towards where they were, by lr·decay of the distance a step (at most all of it)', () => {
    const a = variable([1, -2], [2]);
    const free = variable([5], [1]);
    const adam = new Adam([[a, free]], new Set(), { lr: 0.1, wd: 0.01 });
    expect(adam.anchored).toBe(false);
    adam.anchorTo([a], 2);
    expect(adam.anchored).toBe(true);
    a.assign(tf.tensor([3, 0], [2])); // drifted from the anchor [1, -2]; the anchor is a copy
    // zero gradients: Adam's own update is 0, what is left is the decay towards 0 and the pull
    const zeros = gradsFor([
      [a, [0, 0]],
      [free, [0]],
    ]);
    adam.step(zeros);
    const pull = 0.1 * 2;
    expect(a.dataSync()[0]).toBeCloseTo(3 * (1 - 0.1 * 0.01 - pull) + pull * 1, 6);
    expect(a.dataSync()[1]).toBeCloseTo(0 * (1 - 0.1 * 0.01 - pull) + pull * -2, 6);
    expect(free.dataSync()[0]).toBeCloseTo(5 * (1 - 0.1 * 0.01), 6); // not anchored: weight decay only

    // anchored anew where it stands (2.597, -0.4); lr·decay = 100 is capped: the step lands on the
    // anchor, less the weight decay
    adam.anchorTo([a], 1000);
    a.assign(tf.tensor([4, 4], [2]));
    adam.step(zeros);
    expect(a.dataSync()[0]).toBeCloseTo(2.597 - 0.1 * 0.01 * 4, 5);
    expect(a.dataSync()[1]).toBeCloseTo(-0.4 - 0.1 * 0.01 * 4, 5);

    const before = tf.memory().numTensors;
    adam.anchorTo([a], 0); // removes the anchors and frees their copies
    expect(tf.memory().numTensors).toBe(before - 1);
    expect(adam.anchored).toBe(false);
    expect(() => adam.anchorTo([a], -1)).toThrow(UlmfitError);
    disposeAll(zeros);
    adam.dispose();
    tf.dispose([a, free]);
  });

  it('skips parameters without gradients and frozen groups entirely (no weight decay either)', () => {
    const a = variable([1, 2], [2]);
    const b = variable([3], [1]);
    const c = variable([4], [1]);
    const adam = new Adam([[a], [b, c]], new Set(), { wd: 0.5, lr: 0.1 });
    adam.freezeTo(1);
    expect(adam.trainableVariables().map((v) => v.name)).toEqual([b.name, c.name]);
    const grads = gradsFor([
      [a, [1, 1]],
      [b, [1]],
    ]);
    adam.step(grads);
    expect(Array.from(a.dataSync())).toEqual([1, 2]); // frozen group
    expect(c.dataSync()[0]).toBe(4); // no gradient
    expect(b.dataSync()[0]).not.toBe(3);
    expect(adam.getState().params.map((p) => p.name)).toEqual([b.name]);
    disposeAll(grads);
    adam.dispose();
    [a, b, c].forEach((v) => v.dispose());
  });

  it('freezeTo follows Python slice semantics and refuses to freeze everything', () => {
    const vars = [variable([1], [1]), variable([1], [1]), variable([1], [1])];
    const adam = new Adam(vars.map((v) => [v]));
    adam.freezeTo(-1);
    expect(adam.frozenGroups).toBe(2);
    adam.freezeTo(-2);
    expect(adam.frozenGroups).toBe(1);
    adam.freezeTo(-10);
    expect(adam.frozenGroups).toBe(0);
    adam.freezeTo(0);
    expect(adam.trainableVariables()).toHaveLength(3);
    expect(() => adam.freezeTo(3)).toThrow(UlmfitError);
    vars.forEach((v) => v.dispose());
  });

  it('exports and imports its state so a restored optimizer continues identically', () => {
    const make = () => [variable([0.5, -1, 2], [3]), variable([1, 1, 1, 1], [2, 2])];
    const run = (adam: Adam, vars: tf.Variable[], steps: number[]) => {
      for (const s of steps) {
        adam.setHyper('mom', 0.8 - 0.01 * s);
        const grads = gradsFor([
          [vars[0]!, [0.1 * s, -0.2, 0.3]],
          [vars[1]!, [s, -s, 0.5, 0.25]],
        ]);
        adam.step(grads);
        disposeAll(grads);
      }
    };
    const straight = make();
    const adamA = new Adam([[straight[0]!], [straight[1]!]], new Set([straight[1]!.name]), { lr: 0.01 });
    run(adamA, straight, [1, 2, 3, 4, 5]);

    const resumed = make();
    const adamB = new Adam([[resumed[0]!], [resumed[1]!]], new Set([resumed[1]!.name]), { lr: 0.01 });
    run(adamB, resumed, [1, 2, 3]);
    const saved = adamB.getState();
    const weights = resumed.map((v) => Array.from(v.dataSync()));
    // a fresh optimizer over fresh variables (another process, in effect)
    const fresh = make();
    fresh.forEach((v, i) => v.assign(tf.tensor(weights[i]!, v.shape)));
    const adamC = new Adam([[fresh[0]!], [fresh[1]!]], new Set([fresh[1]!.name]), { lr: 0.5 });
    adamC.setState(saved);
    expect(adamC.hypers[0]!.lr).toBe(0.01);
    run(adamC, fresh, [4, 5]);
    fresh.forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(Array.from(straight[i]!.dataSync())));
    [adamA, adamB, adamC].forEach((o) => o.dispose());
    [...straight, ...resumed, ...fresh].forEach((v) => v.dispose());
  });

  it('refuses a state for a different model', () => {
    const a = variable([1, 2], [2]);
    const adam = new Adam([[a]]);
    const grads = gradsFor([[a, [1, 1]]]);
    adam.step(grads);
    const state = adam.getState();
    const other = variable([1, 2, 3], [3]);
    expect(() => new Adam([[other]]).setState(state)).toThrow(UlmfitError);
    expect(() => new Adam([[other], [a]]).setState(state)).toThrow(UlmfitError);
    disposeAll(grads);
    adam.dispose();
    a.dispose();
    other.dispose();
  });

  it('leaks no tensors across steps, clears and restores', () => {
    const a = variable(
      Array.from({ length: 12 }, (_, i) => i / 10),
      [3, 4],
    );
    const b = variable([1, 2], [2]);
    const adam = new Adam([[a], [b]], new Set([b.name]));
    const grads = gradsFor([
      [a, Array.from({ length: 12 }, (_, i) => Math.sin(i))],
      [b, [0.3, -0.3]],
    ]);
    adam.step(grads); // creates the state: 4 moment tensors
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) adam.step(grads);
    expect(tf.memory().numTensors).toBe(before);
    const state = adam.getState();
    adam.clearState();
    expect(tf.memory().numTensors).toBe(before - 4);
    adam.setState(state);
    expect(tf.memory().numTensors).toBe(before);
    adam.dispose();
    disposeAll(grads);
    a.dispose();
    b.dispose();
  });
});
