import { describe, expect, it } from 'vitest';
import { readModelDir, resolveModelDir } from '../../src/io/artifact.js';
import { knownModels, resolveModelRef } from '../../src/io/model-names.js';
import { readSafetensorsHeader } from '../../src/io/safetensors.js';
import { join } from 'node:path';

describe("the shipped model 'en'", () => {
  it('is installed and loads by name: float16 on disk, finite float32 weights of its architecture in memory', () => {
    const entry = knownModels().find((m) => m.name === 'en');
    expect(entry?.installed).toBe(true);
    const dir = resolveModelDir('en');
    expect(dir).toBe(resolveModelRef('en'));
    const header = readSafetensorsHeader(join(dir, 'weights.safetensors'));
    const dtypes = new Set(Object.values(header).map((t) => t.dtype));
    expect(dtypes).toEqual(new Set(['float16']));
    const model = readModelDir(dir, { kind: ['lm'] });
    expect(model.meta.arch).toMatchObject({ emb_sz: 128, n_hid: 512, n_layers: 2, tie_weights: true });
    expect(model.vocab).toHaveLength(20008);
    expect(model.vocab.slice(0, 2)).toEqual(['xxunk', 'xxpad']);
    const embedding = model.weights.get('0.encoder.weight');
    expect(embedding?.shape).toEqual([20008, 128]);
    let params = 0;
    for (const tensor of model.weights.values()) {
      expect(tensor.data).toBeInstanceOf(Float32Array);
      const data = tensor.data as Float32Array;
      params += data.length;
      for (let i = 0; i < data.length; i += 97) expect(Number.isFinite(data[i]!)).toBe(true);
    }
    expect(params).toBeGreaterThan(4_000_000);
  });
});

describe("the shipped model 'en-bwd'", () => {
  it("is en's backwards twin: loads by name, reads right to left, same architecture and vocab as en", () => {
    const bwd = readModelDir(resolveModelDir('en-bwd'), { kind: ['lm'] });
    const fwd = readModelDir(resolveModelDir('en'), { kind: ['lm'] });
    expect(bwd.meta.backwards).toBe(true);
    expect(fwd.meta.backwards).toBe(false);
    expect(bwd.meta.arch).toEqual(fwd.meta.arch);
    // The same vocab and tokenizer: a corpus tokenized for one fine-tunes the other.
    expect(bwd.vocab).toEqual(fwd.vocab);
    expect(bwd.tokenizer).toEqual(fwd.tokenizer);
    const dtypes = new Set(
      Object.values(readSafetensorsHeader(join(bwd.dir, 'weights.safetensors'))).map((t) => t.dtype),
    );
    expect(dtypes).toEqual(new Set(['float16']));
    // Trained separately: not a copy of en's weights.
    const a = bwd.weights.get('0.encoder.weight')!.data as Float32Array;
    const b = fwd.weights.get('0.encoder.weight')!.data as Float32Array;
    expect(a.length).toBe(b.length);
    expect(a.some((x, i) => x !== b[i])).toBe(true);
  });
});
