import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import { readModelDir, writeModelDir } from '../../src/io/artifact.js';
import { readSafetensorsHeader } from '../../src/io/safetensors.js';
import { shipModelDir } from '../../src/io/ship-model.js';
import { writeTinyLm } from '../infer/tiny-lm.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-ship-'));
  writeTinyLm(join(root, 'lm'));
  writeTinyLm(join(root, 'run', 'model-last'), { seed: 3 });
  writeTinyLm(join(root, 'clas'), { kind: 'classifier' });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('shipModelDir', () => {
  it('writes the model with float16 weights that load as float32 within half precision', () => {
    const source = readModelDir(join(root, 'lm'));
    const out = join(root, 'shipped');
    const result = shipModelDir(join(root, 'lm'), out, { description: 'a tiny test model' });
    expect(result.from).toBe(join(root, 'lm'));
    expect(result.maxRelativeError).toBeGreaterThan(0);
    expect(result.maxRelativeError).toBeLessThanOrEqual(2 ** -11);
    expect(result.bytesAfter).toBeLessThan(0.55 * result.bytesBefore);

    // Every float tensor is F16 on disk…
    const header = readSafetensorsHeader(join(out, 'weights.safetensors'));
    expect(header.map((t) => t.name)).toEqual([...source.weights.keys()]);
    expect(new Set(header.map((t) => t.dtype))).toEqual(new Set(['float16']));

    // …and float32 again once loaded (ulmfit's own validation passes: hashes, shapes, layers).
    const shipped = readModelDir(out);
    let worst = 0;
    for (const [name, original] of source.weights) {
      const back = shipped.weights.get(name)!;
      expect(back.dtype).toBe('float32');
      expect(back.shape).toEqual(original.shape);
      const a = original.data as Float32Array;
      const b = back.data as Float32Array;
      for (let i = 0; i < a.length; i++) {
        const bound = Math.max(Math.abs(a[i]!) * 2 ** -11, 2 ** -25);
        const error = Math.abs(b[i]! - a[i]!);
        expect(error).toBeLessThanOrEqual(bound);
        worst = Math.max(worst, error);
      }
    }
    expect(worst).toBeLessThanOrEqual(result.maxAbsoluteError);

    // meta.json: the same model, hashes consistent with the files, the description added.
    // The float16 file has its own checksum.
    const { description, weights_sha256: shippedSha, ...rest } = shipped.meta;
    const { weights_sha256: sourceSha, ...sourceRest } = source.meta;
    expect(description).toBe('a tiny test model');
    expect(rest).toEqual(sourceRest);
    expect(shippedSha).toMatch(/^[0-9a-f]{64}$/);
    expect(shippedSha).not.toBe(sourceSha);
    expect(shipped.vocab).toEqual(source.vocab);
    expect(shipped.tokenizer).toEqual(source.tokenizer);
    expect(result.meta).toEqual(shipped.meta);
  });

  it('is idempotent on float16 weights (half → float → half is exact)', () => {
    const once = join(root, 'once');
    const twice = join(root, 'twice');
    shipModelDir(join(root, 'lm'), once);
    const again = shipModelDir(once, twice);
    expect(again.maxRelativeError).toBe(0);
    expect(readFileSync(join(twice, 'weights.safetensors'))).toEqual(
      readFileSync(join(once, 'weights.safetensors')),
    );
    expect(readModelDir(twice).meta.description).toBeUndefined();
  });

  it("takes a run directory's model and keeps a classifier's labels", () => {
    const fromRun = shipModelDir(join(root, 'run'), join(root, 'run-shipped'));
    expect(fromRun.from).toBe(join(root, 'run', 'model-last'));
    const clas = shipModelDir(join(root, 'clas'), join(root, 'clas-shipped'));
    expect(clas.meta.kind).toBe('classifier');
    expect(readModelDir(join(root, 'clas-shipped'), { kind: ['classifier'] }).labels).toEqual(['neg', 'pos']);
  });

  it('refuses weights beyond float16 range instead of writing Inf', () => {
    const loaded = readModelDir(join(root, 'lm'));
    const weights = new Map(loaded.weights);
    const [name, tensor] = [...weights].find(([, t]) => t.dtype === 'float32')!;
    const data = Float32Array.from(tensor.data as Float32Array);
    data[0] = 1e5;
    weights.set(name, { dtype: 'float32', shape: tensor.shape, data });
    const { meta } = loaded;
    writeModelDir(join(root, 'huge'), {
      meta: { kind: meta.kind, arch: meta.arch, backwards: meta.backwards },
      weights,
      vocab: loaded.vocab,
      tokenizer: loaded.tokenizer,
    });
    let error: unknown;
    try {
      shipModelDir(join(root, 'huge'), join(root, 'huge-shipped'));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UlmfitError);
    expect((error as UlmfitError).message).toMatch(/1 values beyond float16's range/);
    expect(() => statSync(join(root, 'huge-shipped'))).toThrow();
  });
});
