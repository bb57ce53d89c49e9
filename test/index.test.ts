import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ulmfit from '../src/index.js';

describe("the library API (import { … } from 'ulmfit')", () => {
  it('runs the README example on a tiny model: train a language model, then generate from it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-api-'));
    writeFileSync(
      join(dir, 'wiki.txt'),
      Array.from({ length: 30 }, (_, i) => `The history of ${i % 5} is a long story .`).join('\n'),
    );
    await ulmfit.trainLanguageModel({
      inputs: [join(dir, 'wiki.txt')],
      out: join(dir, 'lm'),
      lineDocs: true,
      minFreq: 1,
      noCache: true,
      workers: 0,
      emb: 8,
      hidden: 8,
      layers: 1,
      bs: 4,
      bptt: 8,
      backend: 'wasm',
      stages: [{ freezeTo: 0, epochs: 1, lr: 1e-2 }],
    });
    const { model, tokenizer, vocab, dispose } = await ulmfit.loadGenerator(join(dir, 'lm'));
    const [sample] = await ulmfit.generate(model, tokenizer, vocab, {
      prompt: 'The history of',
      words: 5,
      temperature: 0,
    });
    dispose();
    expect(sample!.tokens).toHaveLength(5);
    expect(sample!.text.startsWith('The history of')).toBe(true);
  });
});
