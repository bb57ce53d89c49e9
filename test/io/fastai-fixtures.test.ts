/**
 * fixtures/fastai (written by tools/make_fastai_reference.py from a PyTorch transcription of
 * fastai's AWD-LSTM): every .pth layout imports, with the weights of lm_weights.json.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFastaiCheckpoint } from '../../src/io/fastai-weights.js';
import { loadTorchCheckpoint, readItosPickle } from '../../src/io/torch-pth.js';

const dir = join(import.meta.dirname, '../../fixtures/fastai');
const reference = JSON.parse(readFileSync(join(dir, 'lm_weights.json'), 'utf8')) as {
  config: { emb_sz: number; n_hid: number; n_layers: number; vocab_sz: number };
  tensors: Record<string, { shape: number[]; data: number[] }>;
};

describe('fastai reference checkpoints', () => {
  it.each([
    ['lm_v1_legacy.pth', 'v1', 'legacy'],
    ['lm_v1_zip.pth', 'v1', 'zip'],
    ['lm_v2_legacy.pth', 'v2', 'legacy'],
    ['lm_v2_zip.pth', 'v2', 'zip'],
  ] as const)(
    '%s imports with the inferred architecture and PyTorch’s exact weights',
    (file, layout, container) => {
      const bytes = readFileSync(join(dir, file));
      expect(loadTorchCheckpoint(bytes, file).format).toBe(container);
      const imported = readFastaiCheckpoint(bytes, file);
      expect(imported.layout).toBe(layout);
      expect(imported.kind).toBe('lm');
      const { config } = reference;
      expect(imported.shape).toEqual({
        vocabSize: config.vocab_sz,
        embSize: config.emb_sz,
        hiddenSize: config.n_hid,
        nLayers: config.n_layers,
        tiedDecoder: true,
        decoderBias: true,
      });
      // The 14 distinct tensors: v1's weight-dropped duplicates and the tied copies are gone.
      expect([...imported.weights.keys()].sort()).toEqual(Object.keys(reference.tensors).sort());
      for (const [name, { shape, data }] of Object.entries(reference.tensors)) {
        const tensor = imported.weights.get(name)!;
        expect(tensor.shape, name).toEqual(shape);
        expect(Array.from(tensor.data as Float32Array), name).toEqual(Array.from(Float32Array.from(data)));
      }
    },
  );

  it('reads the itos with one entry per embedding row', () => {
    const itos = readItosPickle(readFileSync(join(dir, 'itos.pkl')), 'itos.pkl');
    expect(itos).toHaveLength(reference.config.vocab_sz);
    expect(itos.slice(0, 3)).toEqual(['xxunk', 'xxpad', 'xxbos']);
  });
});
