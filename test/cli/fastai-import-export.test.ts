import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend.js';
import { main } from '../../src/cli/main.js';
import { readModelDir } from '../../src/io/artifact.js';
import { readFastaiCheckpoint } from '../../src/io/fastai-weights.js';
import { readItosPickle } from '../../src/io/torch-pth.js';
import { LanguageModel, type AwdLstmConfig } from '../../src/model/awd-lstm.js';
import { expectJsonOutput } from '../support/json-output.js';

const fixtures = join(import.meta.dirname, '../../fixtures/torch');
const weightsFile = join(fixtures, 'fastai_v1_wrapped_legacy.pth');
const itosFile = join(fixtures, 'fastai_v1_itos.pkl');
const expected = JSON.parse(readFileSync(join(fixtures, 'fastai_v1_expected.json'), 'utf8')) as Record<
  string,
  { shape: number[]; values: number[] }
>;

let root: string;
let stdout: string;
let stderr: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-fastai-cli-'));
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(root, { recursive: true, force: true });
});

const run = (...args: string[]): Promise<number> => main(['node', 'ulmfit', ...args]);

describe('ulmfit import-fastai', () => {
  it('writes an lm model directory with the inferred arch, the itos and fastai tokenizer settings', async () => {
    const out = join(root, 'wt-fwd');
    expect(await run('import-fastai', weightsFile, itosFile, '--out', out)).toBe(0);
    expect(stdout).toMatch(
      /fastai v1 layout, legacy torch.save\): AWD-LSTM vocab 8, emb 4, hidden 6, 2 layers, tied decoder → .*wt-fwd \(lm, forwards\)/,
    );
    const model = readModelDir(out, { kind: ['lm'] });
    expect(model.meta.arch).toMatchObject({
      emb_sz: 4,
      n_hid: 6,
      n_layers: 2,
      pad_token: 1,
      tie_weights: true,
      out_bias: true,
      output_p: 0.1,
    });
    expect(model.meta.backwards).toBe(false);
    expect(model.vocab).toEqual(['xxunk', 'xxpad', 'xxbos', 'xxeos', 'the', '.', 'a', 'cat']);
    expect(model.tokenizer).toMatchObject({ kind: 'word', rules: true, lang: 'en' });
    expect(model.weights.size).toBe(10); // v1 duplicates and the two tied copies of the embedding dropped
    for (const [name, tensor] of model.weights) {
      expect(expected[name], name).toBeDefined();
      expect(Array.from(tensor.data as Float32Array), name).toEqual(
        Array.from(Float32Array.from(expected[name]!.values)),
      );
    }
  });

  it('records --backwards and warns when a bwd file is imported without it', async () => {
    const out = join(root, 'bwd');
    expect(await run('import-fastai', weightsFile, itosFile, '--out', out, '--backwards', '--json')).toBe(0);
    expect(expectJsonOutput('import-fastai', stdout)[0]).toMatchObject({
      kind: 'lm',
      layout: 'v1',
      container: 'legacy',
      vocab_size: 8,
      backwards: true,
    });
    expect(readModelDir(out).meta.backwards).toBe(true);
    const bwdName = join(root, 'lstm_bwd.pth');
    writeFileSync(bwdName, readFileSync(weightsFile));
    expect(await run('import-fastai', bwdName, itosFile, '--out', join(root, 'b2'))).toBe(0);
    expect(stderr).toMatch(/looks like a backwards model/);
  });

  it('gives weights the AWD-LSTM language model accepts', async () => {
    const out = join(root, 'lm');
    expect(await run('import-fastai', weightsFile, itosFile, '--out', out)).toBe(0);
    const { meta, weights, vocab } = readModelDir(out);
    await initBackend('cpu');
    const model = new LanguageModel(vocab.length, meta.arch as unknown as AwdLstmConfig, { seed: 1 });
    const tensors = new Map(
      [...weights].map(([name, t]) => [name, tf.tensor(t.data as Float32Array, t.shape)]),
    );
    model.loadWeights(tensors);
    const named = model.namedWeights();
    expect(Array.from(named.get('0.rnns.1.module.weight_ih_l0')!.dataSync())).toEqual(
      Array.from(weights.get('0.rnns.1.module.weight_ih_l0')!.data as Float32Array),
    );
    tf.dispose([...tensors.values()]);
    model.dispose();
  });

  it.each([
    [
      'a file that is not a checkpoint',
      () => [join(fixtures, 'bad_not_a_pickle.pkl'), itosFile],
      /^error \[E_CHECKPOINT\]: .*bad_not_a_pickle.pkl: is not a PyTorch checkpoint/,
    ],
    [
      'a truncated checkpoint',
      () => [join(fixtures, 'bad_truncated_legacy.pth'), itosFile],
      /^error \[E_CHECKPOINT\]: .*truncated/,
    ],
    [
      'a state dict that is not an AWD-LSTM',
      () => [join(fixtures, 'tensors_zip_archive.pth'), itosFile],
      /^error \[E_MODEL_MISMATCH\]: .*is not a fastai AWD-LSTM state dict: there is no 'encoder.weight' embedding \(keys: f32, f16/,
    ],
    [
      'an itos whose length differs from the embedding',
      () => [weightsFile, join(fixtures, 'itos_protocol2.pkl')],
      /^error \[E_MODEL_MISMATCH\]: .*itos_protocol2.pkl: has 9 tokens but the embedding in .* has 8 rows/,
    ],
    [
      'a .pkl that is not a list of strings',
      () => [weightsFile, join(fixtures, 'bad_mixed_list.pkl')],
      /^error \[E_CHECKPOINT\]: .*bad_mixed_list.pkl: is not a list of strings: item 1 is the value 3/,
    ],
    [
      'an itos .pkl that is not a pickle',
      () => [weightsFile, join(fixtures, 'bad_not_a_pickle.pkl')],
      /^error \[E_CHECKPOINT\]: .*is not a pickle file/,
    ],
    [
      'a missing file',
      () => [join(fixtures, 'nope.pth'), itosFile],
      /^error \[E_INPUT_MISSING\]: cannot read .*nope.pth/,
    ],
  ])('rejects %s with one clear line', async (_what, args, pattern) => {
    const out = join(root, 'out');
    expect(await run('import-fastai', ...args(), '--out', out)).toBe(1);
    expect(stderr).toMatch(pattern);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an existing --out unless --overwrite', async () => {
    const out = join(root, 'lm');
    mkdirSync(out);
    writeFileSync(join(out, 'x'), '');
    expect(await run('import-fastai', weightsFile, itosFile, '--out', out)).toBe(1);
    expect(stderr).toMatch(/error \[E_OUT_EXISTS\].*already exists \(pass --overwrite/);
    rmSync(join(out, 'x'));
    expect(await run('import-fastai', weightsFile, itosFile, '--out', out)).toBe(0);
    expect(
      await run('import-fastai', weightsFile, itosFile, '--out', out, '--overwrite', '--backwards'),
    ).toBe(0);
    expect(readModelDir(out).meta.backwards).toBe(true);
  });

  it('needs --out (usage error, exit 2)', async () => {
    expect(await run('import-fastai', weightsFile, itosFile)).toBe(2);
  });
});

describe('ulmfit export-fastai', () => {
  let model: string;
  beforeAll(async () => {
    model = mkdtempSync(join(tmpdir(), 'ulmfit-export-src-'));
    rmSync(model, { recursive: true });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await main(['node', 'ulmfit', 'import-fastai', weightsFile, itosFile, '--out', model])).toBe(0);
    vi.restoreAllMocks();
  });
  afterAll(() => rmSync(model, { recursive: true, force: true }));

  it('round-trips import → export → import bit-exactly, with the itos', async () => {
    const out = join(root, 'lm.pth');
    expect(await run('export-fastai', model, '--out', out)).toBe(0);
    expect(stdout).toMatch(/\(lm, 12 tensors\)/);
    const back = readFastaiCheckpoint(readFileSync(out), out);
    expect(back.layout).toBe('v2');
    const original = readModelDir(model).weights;
    expect([...back.weights.keys()]).toEqual([...original.keys()]);
    for (const [name, tensor] of original) {
      const bits = (a: Float32Array): number[] =>
        Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
      expect(bits(back.weights.get(name)!.data as Float32Array), name).toEqual(
        bits(tensor.data as Float32Array),
      );
    }
    expect(readItosPickle(readFileSync(join(root, 'lm_itos.pkl')))).toEqual(readModelDir(model).vocab);
    // And the exported pair imports again.
    expect(await run('import-fastai', out, join(root, 'lm_itos.pkl'), '--out', join(root, 'again'))).toBe(0);
    expect(readModelDir(join(root, 'again')).meta.arch).toEqual(readModelDir(model).meta.arch);
  });

  it('writes an encoder (save_encoder names) and the v1 layout on request', async () => {
    const enc = join(root, 'enc.pth');
    expect(
      await run('export-fastai', model, '--out', enc, '--encoder', '--itos', join(root, 'vocab.pkl')),
    ).toBe(0);
    const encoder = readFastaiCheckpoint(readFileSync(enc), enc);
    expect(encoder.kind).toBe('encoder');
    expect(encoder.weights.size).toBe(9); // save_encoder's 10 keys less the embedding-dropout copy
    expect(existsSync(join(root, 'vocab.pkl'))).toBe(true);
    const v1 = join(root, 'v1.pth');
    expect(await run('export-fastai', model, '--out', v1, '--v1')).toBe(0);
    expect(readFastaiCheckpoint(readFileSync(v1), v1).layout).toBe('v1');
  });

  it('refuses to overwrite, and a path that is not a model', async () => {
    const out = join(root, 'lm.pth');
    writeFileSync(out, 'keep');
    expect(await run('export-fastai', model, '--out', out)).toBe(1);
    expect(stderr).toMatch(/error \[E_OUT_EXISTS\]/);
    expect(readFileSync(out, 'utf8')).toBe('keep');
    stderr = '';
    expect(await run('export-fastai', join(root, 'missing'), '--out', join(root, 'x.pth'))).toBe(1);
    expect(stderr).toMatch(/error \[E_INPUT_MISSING\]: no model or run directory/);
  });
});
