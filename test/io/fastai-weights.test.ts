import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkItosMatches,
  cleanRawKeys,
  encoderWeightsOf,
  expectedFastaiKeys,
  fastaiToUlmfit,
  inferAwdLstm,
  readFastaiCheckpoint,
  ulmfitToFastai,
  unwrapModelKey,
  writeFastaiCheckpoint,
} from '../../src/io/fastai-weights.js';
import type { RawTensor, TensorMap } from '../../src/io/tensors.js';
import { loadTorchCheckpoint, readTorchStateDict } from '../../src/io/torch-pth.js';
import { errorOf } from '../support/errors.js';

const fixtures = join(import.meta.dirname, '../../fixtures/torch');

/** A random fastai state dict with the given layout (values: a running counter, all distinct). */
function fastaiStateDict(options: {
  kind: 'lm' | 'encoder';
  layout: 'v1' | 'v2';
  V?: number;
  E?: number;
  H?: number;
  layers?: number;
}): TensorMap {
  const shape = {
    vocabSize: options.V ?? 7,
    embSize: options.E ?? 4,
    hiddenSize: options.H ?? 6,
    nLayers: options.layers ?? 3,
    decoderBias: true,
  };
  let counter = 0;
  const make = (dims: number[]): RawTensor => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).map(() => (counter++ % 997) / 1000);
    return { dtype: 'float32', shape: dims, data };
  };
  const out: TensorMap = new Map();
  const prefix = options.kind === 'lm' ? '0.' : '';
  for (const [key, dims] of expectedFastaiKeys(shape, options)) {
    // Tied copies share the embedding, as in fastai.
    if (key === `${prefix}encoder_dp.emb.weight` || key === '1.decoder.weight')
      out.set(key, out.get(`${prefix}encoder.weight`)!);
    else out.set(key, make(dims));
  }
  return out;
}

const CANONICAL_3_LAYERS = [
  '0.encoder.weight',
  '0.encoder_dp.emb.weight',
  ...[0, 1, 2].flatMap((l) => [
    `0.rnns.${l}.weight_hh_l0_raw`,
    `0.rnns.${l}.module.weight_ih_l0`,
    `0.rnns.${l}.module.bias_ih_l0`,
    `0.rnns.${l}.module.bias_hh_l0`,
  ]),
  '1.decoder.weight',
  '1.decoder.bias',
];

describe('fastai state dicts', () => {
  it('lists the spec §7.3 WT103 keys and shapes in order (v1 layout)', () => {
    const keys = expectedFastaiKeys(
      { vocabSize: 60000, embSize: 400, hiddenSize: 1152, nLayers: 3, decoderBias: true },
      { kind: 'lm', layout: 'v1' },
    );
    expect([...keys.keys()].length).toBe(19);
    expect([...keys.entries()].slice(2, 7)).toEqual([
      ['0.rnns.0.weight_hh_l0_raw', [4608, 1152]],
      ['0.rnns.0.module.weight_ih_l0', [4608, 400]],
      ['0.rnns.0.module.weight_hh_l0', [4608, 1152]],
      ['0.rnns.0.module.bias_ih_l0', [4608]],
      ['0.rnns.0.module.bias_hh_l0', [4608]],
    ]);
    expect(keys.get('0.rnns.1.module.weight_ih_l0')).toEqual([4608, 1152]);
    expect(keys.get('0.rnns.2.weight_hh_l0_raw')).toEqual([1600, 400]);
    expect(keys.get('0.rnns.2.module.weight_ih_l0')).toEqual([1600, 1152]);
    expect(keys.get('1.decoder.bias')).toEqual([60000]);
  });

  it('clean_raw_keys drops exactly v1 duplicates', () => {
    const v1 = fastaiStateDict({ kind: 'lm', layout: 'v1' });
    const cleaned = cleanRawKeys(v1);
    expect([...cleaned.keys()]).toEqual(CANONICAL_3_LAYERS);
    expect(cleanRawKeys(fastaiStateDict({ kind: 'lm', layout: 'v2' })).size).toBe(16);
  });

  it('unwraps the model key only when present', () => {
    const inner = new Map([['a', 1]]);
    expect(
      unwrapModelKey(
        new Map<string, unknown>([
          ['model', inner],
          ['opt', null],
        ]),
      ),
    ).toBe(inner);
    expect(unwrapModelKey(inner)).toBe(inner);
  });

  it.each([
    ['lm', 'v1'],
    ['lm', 'v2'],
    ['encoder', 'v1'],
    ['encoder', 'v2'],
  ] as const)(
    'infers the architecture of a %s in %s layout and maps it to canonical names',
    (kind, layout) => {
      const state = fastaiStateDict({ kind, layout, V: 9, E: 4, H: 6, layers: 3 });
      const imported = fastaiToUlmfit(state, 'x.pth');
      expect(imported.kind).toBe(kind);
      expect(imported.layout).toBe(layout);
      expect(imported.shape).toEqual({
        vocabSize: 9,
        embSize: 4,
        hiddenSize: 6,
        nLayers: 3,
        tiedDecoder: kind === 'lm',
        decoderBias: kind === 'lm',
      });
      // Stored once: the tied copies of the embedding are left out.
      const expectedNames = (kind === 'lm' ? CANONICAL_3_LAYERS : CANONICAL_3_LAYERS.slice(0, 14)).filter(
        (k) => k !== '0.encoder_dp.emb.weight' && k !== '1.decoder.weight',
      );
      expect([...imported.weights.keys()]).toEqual(expectedNames);
      const prefix = kind === 'lm' ? '' : '0.';
      for (const [fastaiName, tensor] of state) {
        if (!expectedNames.includes(prefix + fastaiName)) continue;
        expect(imported.weights.get(prefix + fastaiName)).toBe(tensor);
      }
    },
  );

  it('handles one and two layers (the last layer has the embedding size)', () => {
    for (const layers of [1, 2]) {
      const { shape } = inferAwdLstm(fastaiStateDict({ kind: 'lm', layout: 'v2', E: 3, H: 5, layers }), 'x');
      expect(shape.nLayers).toBe(layers);
      expect(shape.hiddenSize).toBe(layers === 1 ? 3 : 5);
    }
  });

  it('notices an untied decoder and keeps copies that differ from the embedding', () => {
    const state = fastaiStateDict({ kind: 'lm', layout: 'v2' });
    const w = state.get('0.encoder.weight')!;
    state.set('1.decoder.weight', {
      dtype: 'float32',
      shape: w.shape,
      data: (w.data as Float32Array).map((v) => v + 1),
    });
    expect(inferAwdLstm(state, 'x').shape.tiedDecoder).toBe(false);
    expect(fastaiToUlmfit(state, 'x').weights.get('1.decoder.weight')).toBe(state.get('1.decoder.weight'));
    // Equal values in another array (a safetensors round trip) still count as a copy.
    state.set('0.encoder_dp.emb.weight', {
      dtype: 'float32',
      shape: w.shape,
      data: Float32Array.from(w.data as Float32Array),
    });
    expect(fastaiToUlmfit(state, 'x').weights.has('0.encoder_dp.emb.weight')).toBe(false);
  });

  it('names every missing and mis-shaped key', () => {
    const state = fastaiStateDict({ kind: 'lm', layout: 'v2' });
    state.delete('0.rnns.1.module.bias_hh_l0');
    state.delete('1.decoder.weight');
    state.set('0.rnns.2.module.weight_ih_l0', {
      dtype: 'float32',
      shape: [16, 5],
      data: new Float32Array(80),
    });
    const err = errorOf(() => fastaiToUlmfit(state, 'broken.pth'));
    expect(err.code).toBe('E_MODEL_MISMATCH');
    expect(err.message).toContain('broken.pth');
    expect(err.message).toContain('missing 0.rnns.1.module.bias_hh_l0, 1.decoder.weight');
    expect(err.message).toContain('0.rnns.2.module.weight_ih_l0 is [16, 5], expected [16, 6]');
  });

  it('names unexpected keys and reports a layer gap as missing keys', () => {
    const state = fastaiStateDict({ kind: 'lm', layout: 'v2', layers: 2 });
    state.set('0.rnns.3.weight_hh_l0_raw', { dtype: 'float32', shape: [16, 4], data: new Float32Array(64) });
    state.set('0.extra.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    const err = errorOf(() => inferAwdLstm(state, 'x.pth'));
    expect(err.message).toMatch(/missing 0\.rnns\.2\.weight_hh_l0_raw/);
    expect(err.message).toContain('unexpected 0.extra.weight [1]');
  });

  it.each([
    [
      'a ResNet',
      new Map([['conv1.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) } as RawTensor]]),
      /no 'encoder.weight' embedding \(keys: conv1.weight\)/,
    ],
    [
      'a classifier',
      new Map([
        [
          '0.module.encoder.weight',
          { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) } as RawTensor,
        ],
      ]),
      /text classifier/,
    ],
    [
      'an embedding only',
      new Map([
        ['encoder.weight', { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) } as RawTensor],
      ]),
      /no LSTM layers/,
    ],
  ])('refuses %s with a one-line error', (_what, state, pattern) => {
    const err = errorOf(() => inferAwdLstm(state, 'other.pth'));
    expect(err.code).toBe('E_MODEL_MISMATCH');
    expect(err.message).toMatch(pattern);
    expect(err.toLine()).not.toContain('\n');
  });

  it('checks the itos length against the embedding rows', () => {
    const { shape } = inferAwdLstm(fastaiStateDict({ kind: 'lm', layout: 'v2', V: 7 }), 'w.pth');
    expect(() => checkItosMatches(7, shape, { weights: 'w.pth', itos: 'itos.pkl' })).not.toThrow();
    const err = errorOf(() => checkItosMatches(8, shape, { weights: 'w.pth', itos: 'itos.pkl' }));
    expect(err.message).toBe('itos.pkl: has 8 tokens but the embedding in w.pth has 7 rows');
  });
});

describe('fastai export', () => {
  it('writes fastai order for an LM and an encoder, and fills tied copies', () => {
    const { weights } = fastaiToUlmfit(fastaiStateDict({ kind: 'lm', layout: 'v2' }), 'x');
    weights.delete('0.encoder_dp.emb.weight');
    weights.delete('1.decoder.weight');
    const lm = ulmfitToFastai(weights);
    expect([...lm.keys()]).toEqual(CANONICAL_3_LAYERS);
    expect(lm.get('1.decoder.weight')).toBe(weights.get('0.encoder.weight'));
    const encoder = ulmfitToFastai(weights, { kind: 'encoder' });
    expect([...encoder.keys()]).toEqual(CANONICAL_3_LAYERS.slice(0, 14).map((k) => k.slice(2)));
    const v1 = ulmfitToFastai(weights, { layout: 'v1' });
    expect(v1.size).toBe(19);
    expect(v1.get('0.rnns.1.module.weight_hh_l0')).toBe(weights.get('0.rnns.1.weight_hh_l0_raw'));
  });

  it('keeps only the encoder of an LM for an encoder/ directory, which exports as save_encoder', () => {
    const { weights } = fastaiToUlmfit(fastaiStateDict({ kind: 'lm', layout: 'v2' }), 'x');
    const encoder = encoderWeightsOf(weights);
    expect([...encoder.keys()]).toEqual([...weights.keys()].filter((k) => !k.startsWith('1.')));
    expect([...ulmfitToFastai(encoder, { kind: 'encoder' }).keys()]).toEqual(
      CANONICAL_3_LAYERS.slice(0, 14).map((k) => k.slice(2)),
    );
  });

  it.each(['lm', 'encoder'] as const)(
    'export → import round-trips a %s bit-exactly through a .pth',
    (kind) => {
      const { weights } = fastaiToUlmfit(fastaiStateDict({ kind: 'lm', layout: 'v1' }), 'x');
      const bytes = writeFastaiCheckpoint(weights, { kind, archiveName: 'lstm_fwd' });
      const back = readFastaiCheckpoint(bytes, 'exported.pth');
      expect(back.kind).toBe(kind);
      const names = [...weights.keys()].filter((k) => kind === 'lm' || !k.startsWith('1.'));
      expect([...back.weights.keys()]).toEqual(names);
      for (const name of names) {
        expect(Array.from(back.weights.get(name)!.data as Float32Array), name).toEqual(
          Array.from(weights.get(name)!.data as Float32Array),
        );
      }
    },
  );
});

describe('fastai-like fixture from PyTorch (v1 layout, legacy format, {model: …} wrapper)', () => {
  const file = join(fixtures, 'fastai_v1_wrapped_legacy.pth');
  const expected = JSON.parse(readFileSync(join(fixtures, 'fastai_v1_expected.json'), 'utf8')) as Record<
    string,
    { shape: number[]; values: number[] }
  >;

  it('imports with the architecture inferred and every weight equal to PyTorch', () => {
    const imported = readFastaiCheckpoint(readFileSync(file), file);
    expect(imported.layout).toBe('v1');
    expect(imported.kind).toBe('lm');
    expect(imported.shape).toEqual({
      vocabSize: 8,
      embSize: 4,
      hiddenSize: 6,
      nLayers: 2,
      tiedDecoder: true,
      decoderBias: true,
    });
    expect(imported.weights.has('0.rnns.0.module.weight_hh_l0')).toBe(false);
    expect(imported.weights.size).toBe(10); // 12 fastai v2 keys less the two tied copies
    for (const [name, tensor] of imported.weights) {
      expect(expected[name], name).toBeDefined();
      expect(tensor.shape, name).toEqual(expected[name]!.shape);
      expect(Array.from(tensor.data as Float32Array), name).toEqual(
        Array.from(Float32Array.from(expected[name]!.values)),
      );
    }
  });

  it('is not a flat state dict without unwrapping', () => {
    const bytes = readFileSync(file);
    expect(loadTorchCheckpoint(bytes).root).toBeInstanceOf(Map);
    expect(() => readTorchStateDict(bytes, file)).toThrow(/entry "model" is a dict/);
  });
});
