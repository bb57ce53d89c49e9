import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/compute/backend.js';
import { customOp } from '../../src/compute/custom-op.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Plain-JS reference for x[begin : begin+size] of a row-major array. */
function sliceRef(values: number[], shape: number[], begin: number[], size: number[]): number[] {
  const out: number[] = [];
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const walk = (d: number, offset: number): void => {
    if (d === shape.length) {
      out.push(values[offset]!);
      return;
    }
    for (let i = 0; i < size[d]!; i++) walk(d + 1, offset + (begin[d]! + i) * strides[d]!);
  };
  walk(0, 0);
  return out;
}

describe('initBackend', () => {
  it('starts wasm, is idempotent, and auto keeps the backend already set up', async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    expect(await initBackend('auto')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('refuses the tensorflow backend when tfjs-node is not installed, with a fix', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(/tensorflow backend is not installed/);
    expect(await initBackend('wasm')).toBe('wasm');
  });

  it('declares tfjs-node and tfjs-node-gpu as optional peers, so npm ci never downloads libtensorflow', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    for (const name of ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
      expect(pkg.dependencies[name]).toBeUndefined();
      expect(pkg.peerDependencies[name]).toBe(pkg.dependencies['@tensorflow/tfjs']);
      expect(pkg.peerDependenciesMeta[name]?.optional).toBe(true);
    }
  });
});

describe('the TF.js version the wasm patches were written for', () => {
  it('pins every @tensorflow package to one minor version (~4.22.0), and that version is installed', () => {
    const read = (url: string) =>
      JSON.parse(readFileSync(new URL(url, import.meta.url), 'utf8')) as Record<
        string,
        Record<string, string>
      >;
    const pkg = read('../../package.json');
    const ranges = Object.entries({ ...pkg['dependencies'], ...pkg['peerDependencies'] }).filter(([name]) =>
      name.startsWith('@tensorflow/'),
    );
    expect(ranges.map(([name]) => name).sort()).toEqual([
      '@tensorflow/tfjs',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-node',
      '@tensorflow/tfjs-node-gpu',
    ]);
    for (const [, range] of ranges) expect(range).toBe('~4.22.0');
    for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']) {
      expect(read(`../../node_modules/${name}/package.json`)['version']).toMatch(/^4\.22\./);
    }
  });
});

describe('wasm kernel patches', () => {
  it('trains an embedding: the gather gradient (UnsortedSegmentSum) sums repeated ids', () => {
    const emb = tf.variable(tf.ones([5, 2]));
    const ids = tf.tensor1d([4, 1, 4, 4], 'int32');
    const { grads } = tf.variableGrads(() => tf.sum(tf.gather(emb, ids)) as tf.Scalar, [emb]);
    expect(grads[emb.name]!.arraySync()).toEqual([
      [0, 0],
      [1, 1],
      [0, 0],
      [0, 0],
      [3, 3],
    ]);
    tf.dispose([emb, ids, ...Object.values(grads)]);
  });

  it('gathers whole rows (float32 and int32, any trailing shape), and leaves other gathers and bad ids to TF.js', () => {
    tf.tidy(() => {
      const table = tf.tensor3d(
        Array.from({ length: 24 }, (_, i) => i),
        [4, 3, 2],
      );
      expect(tf.gather(table, tf.tensor1d([3, 0, 3], 'int32')).arraySync()).toEqual([
        [
          [18, 19],
          [20, 21],
          [22, 23],
        ],
        [
          [0, 1],
          [2, 3],
          [4, 5],
        ],
        [
          [18, 19],
          [20, 21],
          [22, 23],
        ],
      ]);
      expect(
        tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor1d([1], 'int32')).arraySync(),
      ).toEqual([[3, 4]]);
      expect(tf.gather(tf.tensor1d([5, 6, 7]), tf.tensor1d([2, 2, 0], 'int32')).arraySync()).toEqual([
        7, 7, 5,
      ]);
      expect(
        tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([1, 0], 'int32'), -1).arraySync(),
      ).toEqual([
        [2, 1],
        [4, 3],
      ]);
      expect(
        tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2], 'int32')).arraySync(),
      ).toEqual([
        [
          [3, 4],
          [1, 2],
        ],
        [
          [1, 2],
          [3, 4],
        ],
      ]);
      expect(tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([], 'int32')).shape).toEqual([0, 2]);
      expect(() =>
        tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([2], 'int32')).dataSync(),
      ).toThrow();
    });
  });

  it('gives the same matMul results and gradients with transpose flags as without', () => {
    tf.tidy(() => {
      const a = tf.randomUniform([3, 4], -1, 1, 'float32', 1);
      const b = tf.randomUniform([5, 4], -1, 1, 'float32', 2);
      const flagged = tf.matMul(a, b, false, true);
      const explicit = tf.matMul(a, tf.transpose(b));
      expect(tf.max(tf.abs(tf.sub(flagged, explicit))).dataSync()[0]).toBeLessThan(1e-6);
      const both = tf.matMul(tf.transpose(a), b, true, true); // (aᵀ)ᵀ · bᵀ
      expect(tf.max(tf.abs(tf.sub(both, explicit))).dataSync()[0]).toBeLessThan(1e-6);
      const grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, false, true))))(
        [a, b],
      );
      const fromCpuMath = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.square(tf.matMul(x, tf.transpose(y)))),
      )([a, b]);
      for (let i = 0; i < 2; i++)
        expect(tf.max(tf.abs(tf.sub(grads[i]!, fromCpuMath[i]!))).dataSync()[0]).toBeLessThan(1e-5);
    });
  });

  it('clones without copying, and frees the shared data only when the last holder is disposed', () => {
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = backend.numDataIds();
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    const words = tf.tensor1d(['a', 'b'], 'string');
    const strings = tf.clone(words);
    expect(y.dataId).toBe(x.dataId);
    expect(Array.from(strings.dataSync() as unknown as string[])).toEqual(['a', 'b']);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    // custom gradients save clones of their tensors: values and gradients are unchanged
    const square = customOp(([t], save) => {
      save([t!]);
      return {
        value: tf.square(t!),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.mul(saved[0]!, 2)),
      };
    });
    const grad = tf.grad((t: tf.Tensor) => tf.sum(square(t)))(y);
    expect(Array.from(grad.dataSync())).toEqual([2, 4, 6, 8]);
    tf.dispose([y, words, strings, grad]);
    expect(backend.numDataIds()).toBe(before);
  });

  it('slices, splits and unstacks correctly for every rank and axis', () => {
    const cases: { shape: number[]; begin: number[]; size: number[] }[] = [
      { shape: [7], begin: [2], size: [3] },
      { shape: [4, 6], begin: [1, 2], size: [2, 3] },
      { shape: [4, 6], begin: [1, 0], size: [2, 6] },
      { shape: [3, 4, 5], begin: [1, 1, 2], size: [2, 2, 3] },
      { shape: [2, 3, 4, 5], begin: [0, 1, 1, 0], size: [2, 2, 3, 5] },
      { shape: [2, 3, 4, 5], begin: [1, 2, 3, 4], size: [1, 1, 1, 1] },
    ];
    for (const { shape, begin, size } of cases) {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: n }, (_, i) => i);
      const x = tf.tensor(values, shape);
      const sliced = tf.slice(x, begin, size);
      expect(Array.from(sliced.dataSync())).toEqual(sliceRef(values, shape, begin, size));
      expect(sliced.shape).toEqual(size);
      tf.dispose([x, sliced]);
    }
    const x = tf.tensor(
      Array.from({ length: 60 }, (_, i) => i),
      [3, 4, 5],
    );
    const parts = tf.split(x, [1, 3, 1], 2);
    expect(parts.map((p) => p.shape)).toEqual([
      [3, 4, 1],
      [3, 4, 3],
      [3, 4, 1],
    ]);
    expect(Array.from(parts[1]!.dataSync())).toEqual(
      sliceRef(
        Array.from({ length: 60 }, (_, i) => i),
        [3, 4, 5],
        [0, 0, 1],
        [3, 4, 3],
      ),
    );
    const rows = tf.unstack(x, 1);
    expect(rows.length).toBe(4);
    expect(rows[2]!.shape).toEqual([3, 5]);
    expect(Array.from(rows[2]!.dataSync())).toEqual(
      sliceRef(
        Array.from({ length: 60 }, (_, i) => i),
        [3, 4, 5],
        [0, 2, 0],
        [3, 1, 5],
      ),
    );
    const ints = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
    const col = tf.slice(ints, [0, 1], [2, 1]);
    expect(col.dtype).toBe('int32');
    expect(Array.from(col.dataSync())).toEqual([2, 4]);
    tf.dispose([x, ...parts, ...rows, ints, col]);
  });
});
