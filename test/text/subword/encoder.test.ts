import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../../src/errors.js';
import {
  loadSentencePieceJs,
  loadSubwordEncoder,
  type SubwordEncoder,
} from '../../../src/text/subword/encoder.js';
import { encodeModelProto, PieceType } from '../../../src/text/subword/model-proto.js';
import { nmtNfkcCharsmap } from '../../../src/text/subword/nmt-nfkc-charsmap.js';
import { expected, fixtureBytes } from './fixtures.js';

async function expectCheckpointError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UlmfitError);
  expect((error as UlmfitError).code).toBe('E_CHECKPOINT');
  expect((error as UlmfitError).message).toMatch(message);
}

describe('loadSubwordEncoder', () => {
  const want = expected();
  const cases = [
    ['spm_train.model', want.spm_train],
    ['ulmfit.model', want.ulmfit],
  ] as const;

  for (const [name, pieces] of cases) {
    it(`gives spm_encode's pieces for ${name}, with both engines`, async () => {
      const bytes = fixtureBytes(name);
      const ours = await loadSubwordEncoder(bytes, { source: name });
      const reference = await loadSubwordEncoder(bytes, { engine: 'sentencepiece-js' });
      expect(ours.engine).toBe('ulmfit');
      expect(reference.engine).toBe('sentencepiece-js');
      want.probes.forEach((probe, i) => {
        expect(ours.encode(probe), probe).toEqual(pieces[i]);
        expect(reference.encode(probe), probe).toEqual(pieces[i]);
        expect(ours.encodeIds(probe), probe).toEqual(reference.encodeIds(probe));
      });
    });
  }

  it('agrees with sentencepiece-js on the training text, piece for piece', async () => {
    const bytes = fixtureBytes('ulmfit.model');
    const ours = await loadSubwordEncoder(bytes);
    const reference = await loadSubwordEncoder(bytes, { engine: 'sentencepiece-js' });
    const text = new TextDecoder().decode(fixtureBytes('train.txt')).split('\n').slice(0, 300);
    for (const line of text) expect(ours.encode(line)).toEqual(reference.encode(line));
  });

  it('keeps the special tokens whole and merges unknown characters', async () => {
    const encoder: SubwordEncoder = await loadSubwordEncoder(fixtureBytes('spm_train.model'));
    const pieces = encoder.encode('xxbos xxmaj the 日本 xxup xxunk');
    expect(pieces.slice(0, 3)).toEqual(['▁xxbos', '▁xxmaj', '▁the']);
    expect(pieces).toContain('日本'); // two unknown characters, one piece
    expect(pieces.slice(-2)).toEqual(['▁xxup', '▁xxunk']);
    const ids = encoder.encodeIds('xxbos 日本');
    expect(ids).toEqual([2, encoder.pieces.indexOf('▁'), encoder.unkId]);
    expect(encoder.unkId).toBe(9);
    expect(encoder.encode('')).toEqual([]);
  });

  it('fails clearly on a file that is not a model', async () => {
    await expectCheckpointError(
      loadSubwordEncoder(new TextEncoder().encode('not a model'), { source: 'data/spm.model' }),
      /data\/spm\.model is not a SentencePiece model/,
    );
    await expectCheckpointError(
      loadSubwordEncoder(fixtureBytes('spm_train.model').subarray(0, 5000)),
      /not a SentencePiece model/,
    );
  });

  it('catches sentencepiece-js silently accepting garbage', async () => {
    // sentencepiece-js "loads" this and would then encode everything to nothing.
    await expectCheckpointError(
      loadSentencePieceJs(new TextEncoder().encode('garbage'), 'x.model'),
      /SentencePiece cannot load x\.model/,
    );
  });

  it('fails when the C++ library rejects a model our reader accepts', async () => {
    // A byte piece in a model without byte fallback: well-formed protobuf, but SentencePiece
    // refuses it when loading.
    const model = encodeModelProto({
      pieces: [
        { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
        { piece: 'a', score: -1, type: PieceType.BYTE },
      ],
      trainerSpec: { model_type: 1, vocab_size: 2 },
      normalizerSpec: { name: 'nmt_nfkc', precompiled_charsmap: nmtNfkcCharsmap() },
    });
    await expectCheckpointError(
      loadSubwordEncoder(model, { source: 'odd.model' }),
      /SentencePiece cannot load odd\.model/,
    );
  });
});
