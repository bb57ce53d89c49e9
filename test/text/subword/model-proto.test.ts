import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../../src/errors.js';
import { decodeModelProto, encodeModelProto, PieceType } from '../../../src/text/subword/model-proto.js';
import { fixtureBytes } from './fixtures.js';

describe('ModelProto reader/writer', () => {
  it('reads a model written by spm_train with fastai settings', () => {
    const model = decodeModelProto(fixtureBytes('spm_train.model'));
    expect(model.pieces).toHaveLength(500);
    expect(model.pieces.slice(0, 9).map((p) => p.piece)).toEqual([
      '▁xxunk',
      '▁xxpad',
      '▁xxbos',
      '▁xxeos',
      '▁xxfld',
      '▁xxrep',
      '▁xxwrep',
      '▁xxup',
      '▁xxmaj',
    ]);
    expect(model.pieces.slice(0, 9).every((p) => p.type === PieceType.USER_DEFINED && p.score === 0)).toBe(
      true,
    );
    expect(model.pieces[9]).toEqual({ piece: '<unk>', score: 0, type: PieceType.UNKNOWN });
    expect(model.pieces.slice(10).every((p) => p.type === PieceType.NORMAL && p.score < 0)).toBe(true);
    // Negative int32 fields are 10-byte varints.
    expect(model.trainerSpec).toMatchObject({
      unk_id: 9,
      bos_id: -1,
      eos_id: -1,
      pad_id: -1,
      vocab_size: 500,
      hard_vocab_limit: false,
    });
    expect(model.normalizerSpec.name).toBe('nmt_nfkc');
    expect(model.normalizerSpec.precompiled_charsmap!.length).toBeGreaterThan(100_000);
  });

  it('writes back the exact bytes it read', () => {
    for (const name of ['spm_train.model', 'ulmfit.model']) {
      const bytes = fixtureBytes(name);
      expect(Buffer.from(encodeModelProto(decodeModelProto(bytes))).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('round-trips pieces, float32 scores and negative ids', () => {
    const bytes = encodeModelProto({
      pieces: [
        { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
        { piece: '▁hello', score: -1.5, type: PieceType.NORMAL },
        { piece: 'é', score: -0.1, type: PieceType.NORMAL },
      ],
      trainerSpec: {
        vocab_size: 3,
        bos_id: -1,
        input_sentence_size: 2 ** 40,
        user_defined_symbols: ['a', 'b'],
      },
      normalizerSpec: { name: 'identity', add_dummy_prefix: false },
    });
    const model = decodeModelProto(bytes);
    expect(model.pieces.map((p) => p.piece)).toEqual(['<unk>', '▁hello', 'é']);
    expect(model.pieces[2]!.score).toBe(Math.fround(-0.1));
    expect(model.trainerSpec).toEqual({
      vocab_size: 3,
      bos_id: -1,
      input_sentence_size: 2 ** 40,
      user_defined_symbols: ['a', 'b'],
    });
    expect(model.normalizerSpec).toEqual({ name: 'identity', add_dummy_prefix: false });
  });

  it('rejects bytes that are not a model, naming the file', () => {
    const bad = (bytes: Uint8Array, why: RegExp): void => {
      let error: unknown;
      try {
        decodeModelProto(bytes, 'corpus/spm.model');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UlmfitError);
      expect((error as UlmfitError).code).toBe('E_CHECKPOINT');
      expect((error as UlmfitError).message).toMatch(/^corpus\/spm\.model is not a SentencePiece model/);
      expect((error as UlmfitError).message).toMatch(why);
    };
    bad(new TextEncoder().encode('this is a text file, not a model\n'), /./);
    bad(new Uint8Array(0), /no pieces/);
    const good = fixtureBytes('spm_train.model');
    bad(good.subarray(0, 1000), /truncated|runs past/);
    // A well-formed proto whose pieces lack the unknown piece.
    bad(
      encodeModelProto({
        pieces: [{ piece: 'a', score: -1, type: PieceType.NORMAL }],
        trainerSpec: {},
        normalizerSpec: {},
      }),
      /unknown pieces/,
    );
  });
});
