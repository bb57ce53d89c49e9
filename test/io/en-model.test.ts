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
    expect(model.meta.arch).toMatchObject({ emb_sz: 100, n_hid: 512, n_layers: 2, tie_weights: true });
    expect(model.vocab).toHaveLength(60000);
    expect(model.vocab.slice(0, 2)).toEqual(['xxunk', 'xxpad']);
    const embedding = model.weights.get('0.encoder.weight');
    expect(embedding?.shape).toEqual([60000, 100]);
    let params = 0;
    for (const tensor of model.weights.values()) {
      expect(tensor.data).toBeInstanceOf(Float32Array);
      const data = tensor.data as Float32Array;
      params += data.length;
      for (let i = 0; i < data.length; i += 97) expect(Number.isFinite(data[i]!)).toBe(true);
    }
    expect(params).toBeGreaterThan(7_000_000);
  });

  it("extends its trained vocab with GloVe's words: their rows sit near related trained words, and it rarely predicts them", () => {
    const model = readModelDir(resolveModelDir('en'), { kind: ['lm'] });
    const extension = model.meta.training?.vocabExtension as { trainedTokens: number; added: number };
    expect(extension.trainedTokens + extension.added).toBe(model.vocab.length);
    const trained = extension.trainedTokens;
    const emb = model.weights.get('0.encoder.weight')!.data as Float32Array;
    const width = emb.length / model.vocab.length;
    const row = (token: string): Float32Array => {
      const i = model.vocab.indexOf(token);
      expect(i).toBeGreaterThanOrEqual(0);
      return emb.subarray(i * width, (i + 1) * width);
    };
    const cosine = (a: Float32Array, b: Float32Array): number => {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let j = 0; j < width; j++) {
        ab += a[j]! * b[j]!;
        aa += a[j]! * a[j]!;
        bb += b[j]! * b[j]!;
      }
      return ab / Math.sqrt(aa * bb);
    };
    // 'kilometers' is not in the training vocab; its mapped row points where 'miles' does.
    expect(model.vocab.indexOf('kilometers')).toBeGreaterThanOrEqual(trained);
    expect(model.vocab.indexOf('miles')).toBeLessThan(trained);
    expect(cosine(row('kilometers'), row('miles'))).toBeGreaterThan(
      Math.max(cosine(row('kilometers'), row('religion')), cosine(row('kilometers'), row('love'))) + 0.2,
    );
    // The decoder bias of an added word is the lowest a trained word has.
    const bias = model.weights.get('1.decoder.bias')!.data as Float32Array;
    const lowest = Math.min(...bias.subarray(0, trained));
    expect(bias[model.vocab.indexOf('kilometers')]).toBe(lowest);
  });
});

describe("the shipped model 'en-bwd'", () => {
  it("reads right to left, with en's tokenizer, vocab and GloVe start", () => {
    const bwd = readModelDir(resolveModelDir('en-bwd'), { kind: ['lm'] });
    const fwd = readModelDir(resolveModelDir('en'), { kind: ['lm'] });
    expect(bwd.meta.backwards).toBe(true);
    expect(fwd.meta.backwards).toBe(false);
    // The same vocab (corpus tokens, then GloVe's) and tokenizer: a corpus tokenized for one
    // fine-tunes the other, and the two classifiers of an ensemble read the same tokens.
    expect(bwd.vocab).toEqual(fwd.vocab);
    expect(bwd.tokenizer).toEqual(fwd.tokenizer);
    expect(bwd.meta.arch).toMatchObject({ emb_sz: 100, n_hid: 512, n_layers: 2 });
    expect(bwd.meta.training?.embeddingInit).toMatchObject({ found: 19176, rows: 20008 });
    const dtypes = new Set(
      Object.values(readSafetensorsHeader(join(bwd.dir, 'weights.safetensors'))).map((t) => t.dtype),
    );
    expect(dtypes).toEqual(new Set(['float16']));
    // Twins, not copies: the weights differ.
    const fwdRow = fwd.weights.get('0.encoder.weight')!.data as Float32Array;
    const bwdRow = bwd.weights.get('0.encoder.weight')!.data as Float32Array;
    expect(Array.from(bwdRow.subarray(0, 100))).not.toEqual(Array.from(fwdRow.subarray(0, 100)));
  });
});
