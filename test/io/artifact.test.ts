import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendMetrics,
  prepareOutDir,
  readCheckpointDir,
  readMetrics,
  readModelDir,
  readModelMeta,
  resolveModelDir,
  vocabSha256,
  writeCheckpointDir,
  writeJsonAtomic,
  writeModelDir,
  type ModelDirContents,
} from '../../src/io/artifact.js';
import type { RawTensor, TensorEntry, TensorMap, TensorReader, TensorSource } from '../../src/io/tensors.js';
import { AWD_LSTM_FIELDS, type ArchFieldKind } from '../../src/config/awd-lstm.js';
import { errorOf } from '../support/errors.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-artifact-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const f32 = (shape: number[], fill: number): RawTensor => ({
  dtype: 'float32',
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill),
});

/** A tiny 1-layer LM's weights in canonical names. */
function lmWeights(vocab: number, emb = 2, fill = 0.5): TensorMap {
  return new Map([
    ['0.encoder.weight', f32([vocab, emb], fill)],
    ['0.rnns.0.weight_hh_l0_raw', f32([4 * emb, emb], fill)],
    ['1.decoder.bias', f32([vocab], fill)],
  ]);
}

function contents(overrides: Partial<ModelDirContents> = {}): ModelDirContents {
  const vocab = overrides.vocab ?? ['xxunk', 'xxpad', 'the', 'cat'];
  return {
    meta: {
      kind: 'lm',
      arch: {
        name: 'awd_lstm',
        emb_sz: 2,
        n_hid: 2,
        n_layers: 1,
        pad_token: 1,
        hidden_p: 0.15,
        input_p: 0.25,
        embed_p: 0.02,
        weight_p: 0.2,
        output_p: 0.1,
        tie_weights: true,
        out_bias: true,
      },
      backwards: false,
    },
    weights: lmWeights(vocab.length),
    vocab,
    tokenizer: { kind: 'word', rules: true, lang: 'en' },
    ...overrides,
  };
}

describe('model directories', () => {
  it('writes and reads back every file, with hashes in meta.json', () => {
    const dir = join(root, 'lm');
    const meta = writeModelDir(
      dir,
      contents({
        spmModel: Uint8Array.from([1, 2, 3]),
        meta: { ...contents().meta, training: { seed: 42 } },
      }),
    );
    expect(meta).toMatchObject({
      format: 'ulmfit',
      version: 1,
      kind: 'lm',
      backwards: false,
      training: { seed: 42 },
    });
    expect(meta.vocab).toEqual({ size: 4, sha256: vocabSha256(['xxunk', 'xxpad', 'the', 'cat']) });
    expect(meta.tokenizer.kind).toBe('word');
    expect(meta.created_by).toMatch(/^ulmfit \d/);
    expect(readdirSync(dir).sort()).toEqual([
      'meta.json',
      'spm.model',
      'tokenizer.json',
      'vocab.json',
      'weights.safetensors',
    ]);
    const loaded = readModelDir(dir, { kind: ['lm'] });
    expect(loaded.meta).toEqual(meta);
    expect(loaded.vocab).toEqual(['xxunk', 'xxpad', 'the', 'cat']);
    expect(loaded.tokenizer).toEqual({ kind: 'word', rules: true, lang: 'en' });
    expect(Array.from(loaded.spmModel!)).toEqual([1, 2, 3]);
    expect([...loaded.weights.keys()]).toEqual([
      '0.encoder.weight',
      '0.rnns.0.weight_hh_l0_raw',
      '1.decoder.bias',
    ]);
    expect(Array.from(loaded.weights.get('1.decoder.bias')!.data as Float32Array)).toEqual([
      0.5, 0.5, 0.5, 0.5,
    ]);
  });

  it('writes labels for a classifier and checks them on read', () => {
    const dir = join(root, 'clas');
    writeModelDir(
      dir,
      contents({ meta: { ...contents().meta, kind: 'classifier' }, labels: ['neg', 'pos'] }),
    );
    expect(readModelDir(dir).labels).toEqual(['neg', 'pos']);
    writeFileSync(join(dir, 'labels.json'), '["pos","neg"]');
    expect(errorOf(() => readModelDir(dir)).message).toMatch(/labels.json does not match meta.json/);
  });

  it('replaces an existing model directory', () => {
    const dir = join(root, 'lm');
    writeModelDir(dir, contents());
    writeModelDir(dir, contents({ vocab: ['a', 'b'] }));
    expect(readModelDir(dir).vocab).toEqual(['a', 'b']);
    expect(readdirSync(root)).toEqual(['lm']);
  });

  it('keeps the old directory when a write fails before or during the swap', () => {
    const dir = join(root, 'lm');
    writeModelDir(dir, contents());
    for (const stage of ['files-written', 'old-moved-aside'] as const) {
      expect(() =>
        writeModelDir(dir, contents({ vocab: ['new', 'vocab'] }), {
          onStage: (s) => {
            if (s === stage) throw new Error('simulated crash');
          },
        }),
      ).toThrow('simulated crash');
      expect(readModelDir(dir).vocab).toEqual(['xxunk', 'xxpad', 'the', 'cat']);
      expect(readdirSync(root)).toEqual(['lm']);
    }
  });

  it('never loads the leftover of a crashed write', () => {
    const dir = join(root, 'lm');
    writeModelDir(dir, contents());
    // What a killed process leaves: a complete-looking temp dir beside the real one.
    const leftover = `${dir}.tmp-999999`;
    mkdirSync(leftover);
    for (const name of readdirSync(dir)) writeFileSync(join(leftover, name), readFileSync(join(dir, name)));
    expect(errorOf(() => readModelDir(leftover)).message).toMatch(/leftover of an interrupted write/);
    expect(errorOf(() => resolveModelDir(leftover)).code).toBe('E_MODEL_DIR');
    expect(readModelDir(dir).vocab).toHaveLength(4);
    // A temp dir without meta.json (killed mid-write) is not a model either, and a new write works.
    const partial = join(root, 'other');
    mkdirSync(`${partial}.tmp-${process.pid}`);
    writeFileSync(join(`${partial}.tmp-${process.pid}`, 'vocab.json'), '[]');
    expect(errorOf(() => readModelDir(partial)).code).toBe('E_INPUT_MISSING');
    writeModelDir(partial, contents());
    expect(existsSync(`${partial}.tmp-${process.pid}`)).toBe(false);
  });

  it('points to the moved-aside model when a crash hit between the renames', () => {
    const dir = join(root, 'lm');
    writeModelDir(dir, contents());
    // What a process killed between its two renames leaves: the old model moved aside, no new one.
    const aside = `${dir}.old-4242`;
    mkdirSync(aside);
    for (const name of readdirSync(dir)) writeFileSync(join(aside, name), readFileSync(join(dir, name)));
    rmSync(dir, { recursive: true });
    const err = errorOf(() => readModelDir(dir));
    expect(err.code).toBe('E_INPUT_MISSING');
    expect(err.hint).toContain('lm.old-4242');
  });

  it('refuses to replace a directory that is not a model', () => {
    const dir = join(root, 'data');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'precious');
    expect(errorOf(() => writeModelDir(dir, contents())).code).toBe('E_OUT_EXISTS');
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('precious');
  });

  describe('validation names the directory, the file and the fix', () => {
    const cases: [string, (dir: string) => void, RegExp][] = [
      [
        'meta.json missing',
        (d) => rmSync(join(d, 'meta.json')),
        /has no meta.json: not an ulmfit model directory/,
      ],
      ['meta.json not JSON', (d) => writeFileSync(join(d, 'meta.json'), '{'), /meta.json is not valid JSON/],
      ['wrong format', (d) => editMeta(d, (m) => (m.format = 'keras')), /format is not 'ulmfit'/],
      ['newer version', (d) => editMeta(d, (m) => (m.version = 99)), /newer ulmfit \(model format 99/],
      [
        'unknown kind',
        (d) => editMeta(d, (m) => (m.kind = 'gan')),
        /field 'kind' should be one of "lm", "encoder", "classifier"/,
      ],
      [
        'arch without emb_sz',
        (d) => editMeta(d, (m) => delete (m.arch as Record<string, unknown>).emb_sz),
        /field 'arch.emb_sz' should be number but is missing/,
      ],
      [
        'arch without tie_weights',
        (d) => editMeta(d, (m) => delete (m.arch as Record<string, unknown>).tie_weights),
        /field 'arch.tie_weights' should be boolean but is missing/,
      ],
      [
        'vocab edited',
        (d) => writeFileSync(join(d, 'vocab.json'), '["xxunk","xxpad","the","dog"]'),
        /vocab.json \(4 tokens\) does not match meta.json/,
      ],
      [
        'vocab not strings',
        (d) => writeFileSync(join(d, 'vocab.json'), '[1,2]'),
        /vocab.json is not a list of strings/,
      ],
      [
        'tokenizer edited',
        (d) => writeFileSync(join(d, 'tokenizer.json'), '{"kind":"subword"}'),
        /tokenizer.json does not match meta.json/,
      ],
      ['tokenizer missing', (d) => rmSync(join(d, 'tokenizer.json')), /tokenizer.json is missing/],
      ['weights missing', (d) => rmSync(join(d, 'weights.safetensors')), /weights.safetensors is missing/],
      [
        'weights truncated',
        (d) =>
          writeFileSync(
            join(d, 'weights.safetensors'),
            readFileSync(join(d, 'weights.safetensors')).subarray(0, 40),
          ),
        /not a valid safetensors file/,
      ],
      [
        'spm.model edited',
        (d) => writeFileSync(join(d, 'spm.model'), 'x'),
        /spm.model does not match meta.json/,
      ],
      [
        'emb width disagrees',
        (d) => editMeta(d, (m) => ((m.arch as Record<string, unknown>).emb_sz = 3)),
        /0.encoder.weight is \[4, 2\] but meta.json says vocab 4 × emb 3/,
      ],
      [
        'layer count disagrees',
        (d) => editMeta(d, (m) => ((m.arch as Record<string, unknown>).n_layers = 3)),
        /1 LSTM layers but meta.json says 3/,
      ],
    ];
    it.each(cases)('%s', (_what, damage, pattern) => {
      const dir = join(root, 'lm');
      writeModelDir(dir, contents({ spmModel: Uint8Array.from([9]) }));
      damage(dir);
      const err = errorOf(() => readModelDir(dir));
      expect(err.message).toMatch(pattern);
      expect(err.message).toContain(dir);
      expect(err.hint === undefined || err.hint.length > 0).toBe(true);
      expect(err.toLine()).not.toContain('\n');
    });
  });

  it("checks every field of the architecture's one declaration (config/awd-lstm.ts), each in one line", () => {
    const dir = join(root, 'lm');
    writeModelDir(dir, contents());
    const original = readFileSync(join(dir, 'meta.json'), 'utf8');
    // A value just outside each kind's bounds: a size of 0, an index of -1, a dropout of 1, a text flag.
    const wrong: Record<ArchFieldKind, unknown> = { size: 0, index: -1, probability: 1, switch: 'yes' };
    const bad = (field: string, value: unknown) =>
      editMeta(dir, (m) => {
        const arch = m.arch as Record<string, unknown>;
        if (value === undefined) delete arch[field];
        else arch[field] = value;
      });
    for (const [field, kind] of Object.entries(AWD_LSTM_FIELDS)) {
      for (const value of [undefined, wrong[kind]]) {
        writeFileSync(join(dir, 'meta.json'), original);
        bad(field, value);
        const err = errorOf(() => readModelMeta(dir));
        expect(err.code, `${field} = ${String(value)}`).toBe('E_MODEL_DIR');
        expect(err.toLine()).not.toContain('\n');
        expect(err.message).toContain(`field 'arch.${field}'`);
        if (value === undefined) expect(err.message).toContain('but is missing');
      }
    }
    writeFileSync(join(dir, 'meta.json'), original);
    expect(Object.keys(readModelMeta(dir).arch)).toEqual(['name', ...Object.keys(AWD_LSTM_FIELDS)]);
  });

  it('checks the kind a command needs', () => {
    const dir = join(root, 'lm');
    writeModelDir(dir, contents());
    const err = errorOf(() => readModelDir(dir, { kind: ['encoder', 'classifier'] }));
    expect(err.code).toBe('E_MODEL_DIR');
    expect(err.message).toMatch(/is a 'lm' model; this needs 'encoder' or 'classifier'/);
    expect(readModelMeta(dir).kind).toBe('lm');
    expect(readModelDir(dir, { weights: false }).weights.size).toBe(0);
  });

  it('reports a missing path and a run directory passed as a model', () => {
    expect(errorOf(() => readModelDir(join(root, 'nope'))).code).toBe('E_INPUT_MISSING');
    const run = join(root, 'run');
    writeModelDir(join(run, 'model-last'), contents());
    expect(errorOf(() => readModelDir(run)).hint).toContain('model-best');
  });
});

function editMeta(dir: string, edit: (meta: Record<string, unknown>) => void): void {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
  edit(meta);
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
}

describe('run directories', () => {
  it('resolves a run to model-best, else model-last, and prefers encoder/ when asked', () => {
    const run = join(root, 'run');
    writeModelDir(join(run, 'model-last'), contents());
    expect(resolveModelDir(run)).toBe(join(run, 'model-last'));
    writeModelDir(join(run, 'model-best'), contents());
    expect(resolveModelDir(run)).toBe(join(run, 'model-best'));
    expect(resolveModelDir(run, { prefer: 'encoder' })).toBe(join(run, 'model-best'));
    writeModelDir(
      join(run, 'encoder'),
      contents({
        meta: { ...contents().meta, kind: 'encoder' },
        weights: new Map([
          ['0.encoder.weight', f32([4, 2], 1)],
          ['0.rnns.0.weight_hh_l0_raw', f32([8, 2], 1)],
        ]),
      }),
    );
    expect(resolveModelDir(run, { prefer: 'encoder' })).toBe(join(run, 'encoder'));
    expect(resolveModelDir(run)).toBe(join(run, 'model-best'));
    expect(resolveModelDir(join(run, 'model-last'))).toBe(join(run, 'model-last'));
    expect(readModelDir(resolveModelDir(run, { prefer: 'encoder' }), { kind: ['encoder'] }).meta.kind).toBe(
      'encoder',
    );
  });

  it('finds an encoder inside a model directory', () => {
    const lm = join(root, 'lm');
    writeModelDir(lm, contents());
    writeModelDir(join(lm, 'encoder'), contents({ meta: { ...contents().meta, kind: 'encoder' } }));
    expect(resolveModelDir(lm, { prefer: 'encoder' })).toBe(join(lm, 'encoder'));
  });

  it('refuses paths that are neither', () => {
    mkdirSync(join(root, 'empty'));
    expect(errorOf(() => resolveModelDir(join(root, 'empty'))).code).toBe('E_MODEL_DIR');
    expect(errorOf(() => resolveModelDir(join(root, 'missing'))).code).toBe('E_INPUT_MISSING');
  });

  it('prepares --out: new, empty, refused, resumed, overwritten', () => {
    const out = join(root, 'out');
    expect(prepareOutDir(out)).toBe('created');
    expect(prepareOutDir(out)).toBe('empty');
    writeJsonAtomic(join(out, 'config.json'), { lr: 1 });
    mkdirSync(join(out, 'model-last'));
    const refused = errorOf(() => prepareOutDir(out));
    expect(refused.code).toBe('E_OUT_EXISTS');
    expect(refused.hint).toMatch(/--overwrite.*--resume/);
    expect(prepareOutDir(out, { resume: true })).toBe('resumed');
    expect(readdirSync(out).sort()).toEqual(['config.json', 'model-last']);
    expect(prepareOutDir(out, { overwrite: true })).toBe('overwritten');
    expect(readdirSync(out)).toEqual([]);
  });

  it('never clears a directory holding files it did not write, even with --overwrite', () => {
    const out = join(root, 'home');
    mkdirSync(out);
    writeFileSync(join(out, 'thesis.tex'), 'years of work');
    writeFileSync(join(out, 'metrics.jsonl'), '');
    const err = errorOf(() => prepareOutDir(out, { overwrite: true }));
    expect(err.message).toMatch(/thesis.tex/);
    expect(existsSync(join(out, 'thesis.tex'))).toBe(true);
    expect(errorOf(() => prepareOutDir(join(root, 'home', 'thesis.tex'))).message).toMatch(/is a file/);
    expect(errorOf(() => prepareOutDir(join(root, 'new'), { resume: true })).code).toBe('E_INPUT_MISSING');
  });

  it('appends metrics rows and skips a torn last line', () => {
    const run = join(root, 'run');
    mkdirSync(run);
    expect(readMetrics(run)).toEqual([]);
    appendMetrics(run, { epoch: 0, train_loss: 2.5 });
    appendMetrics(run, { epoch: 1, train_loss: 2.1 });
    writeFileSync(
      join(run, 'metrics.jsonl'),
      readFileSync(join(run, 'metrics.jsonl'), 'utf8') + '{"epoch": 2, "tra',
    );
    expect(readMetrics(run)).toEqual([
      { epoch: 0, train_loss: 2.5 },
      { epoch: 1, train_loss: 2.1 },
    ]);
  });

  it('writes JSON atomically', () => {
    const path = join(root, 'config.json');
    writeJsonAtomic(path, { a: 1 });
    writeJsonAtomic(path, { a: 2 });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ a: 2 });
    expect(readdirSync(root)).toEqual(['config.json']);
  });

  it('writes and reads a training checkpoint atomically', () => {
    const dir = join(root, 'run', 'checkpoint');
    const tensors: TensorMap = new Map([['opt.0.exp_avg', f32([2, 2], 0.25)]]);
    writeCheckpointDir(dir, { tensors, state: { epoch: 3, rng: [1, 2, 3, 4] } });
    const back = readCheckpointDir(dir);
    expect(back.state).toEqual({ epoch: 3, rng: [1, 2, 3, 4] });
    expect(Array.from(back.tensors.get('opt.0.exp_avg')!.data as Float32Array)).toEqual([
      0.25, 0.25, 0.25, 0.25,
    ]);
    expect(() =>
      writeCheckpointDir(
        dir,
        { tensors, state: { epoch: 4 } },
        {
          onStage: () => {
            throw new Error('crash');
          },
        },
      ),
    ).toThrow('crash');
    expect(readCheckpointDir(dir).state).toEqual({ epoch: 3, rng: [1, 2, 3, 4] });
    expect(errorOf(() => readCheckpointDir(join(root, 'none'))).code).toBe('E_CHECKPOINT');
  });
});

describe('model and checkpoint directories written tensor by tensor', () => {
  const wave = (shape: number[], seed: number): RawTensor => ({
    dtype: 'float32',
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed + i) / 3),
  });
  const weights = (): TensorMap =>
    new Map<string, RawTensor>([
      ['0.encoder.weight', wave([4, 2], 1)],
      ['0.rnns.0.weight_hh_l0_raw', wave([8, 2], 2)],
      ['0.rnns.0.module.bias', wave([8], 3)],
      ['1.decoder.bias', wave([4], 4)],
      ['2.bn.num_batches_tracked', { dtype: 'int32', shape: [], data: Int32Array.from([7]) }],
    ]);
  const model = (tensors: TensorSource): ModelDirContents => ({
    ...contents(),
    meta: { ...contents().meta, created_by: 'ulmfit test' },
    weights: tensors,
    tokenizer: { kind: 'word' },
  });
  const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

  /**
   * Readers like a backend's (model/persist.ts weightReaders): each hands out a view of one scratch
   * buffer that is overwritten once `use` returns, so a writer keeping a view writes garbage; `active`
   * counts the reads in progress (a writer must hold one tensor at a time).
   */
  function readers(tensors: TensorMap, failAt?: string) {
    const log = { reads: 0, active: 0, mostActive: 0 };
    const scratch = new ArrayBuffer(1024);
    const out = new Map<string, TensorReader>();
    for (const [name, t] of tensors) {
      out.set(name, {
        dtype: t.dtype,
        shape: t.shape,
        read: (use) => {
          if (name === failAt) throw new Error(`cannot read ${name}`);
          log.reads++;
          log.mostActive = Math.max(log.mostActive, ++log.active);
          const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
          const view = new Uint8Array(scratch, 0, bytes.length);
          view.set(bytes);
          const data =
            t.dtype === 'int32' ? new Int32Array(scratch, 0, 1) : new Float32Array(scratch, 0, t.data.length);
          try {
            return use({ ...t, data } as RawTensor);
          } finally {
            view.fill(0xff);
            log.active--;
          }
        },
      });
    }
    return { readers: out, log };
  }

  // The sha256 of the files the writer made before it wrote tensor by tensor (commit 1a304fd, all
  // tensors in memory): the same bytes, from readers or from memory.
  const BEFORE = {
    weights: '513039e9dbd4a2d335445daa917cf233f1d11f3eea852c1bd5ad4dfe16692e38',
    meta: '77fd7313439cf32206616cf468895a522066d7d32b48f917d107906fc0db3028',
    weightsF16: '3772b857836cf2de8fd0db533b24cda73e40ecea22bfcc65bb36e9f257a63a48',
    metaF16: 'f9972172904855cabecab785dee0cfb2c6bce660ba67d7823c253c368bfe27a4',
    checkpointTensors: '31cab7d50f583c30b4f31a359fe7102d42e4c3752736bc12582dec025ea32cb4',
    checkpointState: 'f974878958121a4a371748755f45c29a16d8e0d72f319a23e0d63ddd8c964cc3',
  };

  it('writes the same bytes from readers as from memory, and as before, reading one tensor at a time', () => {
    const { readers: source, log } = readers(weights());
    writeModelDir(join(root, 'memory'), model(weights()));
    const meta = writeModelDir(join(root, 'read'), model(source));
    writeModelDir(join(root, 'read16'), model(source), { weightsDtype: 'float16' });
    expect(log).toEqual({ reads: 10, active: 0, mostActive: 1 });
    for (const name of readdirSync(join(root, 'memory')))
      expect(sha(join(root, 'read', name)), name).toBe(sha(join(root, 'memory', name)));
    expect(sha(join(root, 'read', 'weights.safetensors'))).toBe(BEFORE.weights);
    expect(sha(join(root, 'read', 'meta.json'))).toBe(BEFORE.meta);
    expect(meta.weights_sha256).toBe(BEFORE.weights);
    expect(sha(join(root, 'read16', 'weights.safetensors'))).toBe(BEFORE.weightsF16);
    expect(sha(join(root, 'read16', 'meta.json'))).toBe(BEFORE.metaF16);
    expect(readModelDir(join(root, 'read')).weights).toEqual(weights());

    writeCheckpointDir(join(root, 'checkpoint'), { tensors: source, state: { epoch: 3 } });
    expect(sha(join(root, 'checkpoint', 'tensors.safetensors'))).toBe(BEFORE.checkpointTensors);
    expect(sha(join(root, 'checkpoint', 'state.json'))).toBe(BEFORE.checkpointState);
    expect(readCheckpointDir(join(root, 'checkpoint')).tensors).toEqual(weights());
  });

  it('leaves no directory, and an existing one as it was, when a read fails or disagrees with its shape', () => {
    const failing = readers(weights(), '0.rnns.0.module.bias').readers;
    const short = new Map<string, TensorEntry>([
      ...weights(),
      ['1.decoder.bias', { dtype: 'float32', shape: [5], read: (use) => use(wave([4], 4)) }],
    ]);
    for (const [source, message] of [
      [failing, 'cannot read 0.rnns.0.module.bias'],
      [short, 'tensor 1.decoder.bias: 4 elements do not fill shape [5]'],
    ] as const) {
      expect(() => writeModelDir(join(root, 'new'), model(source))).toThrow(message);
      expect(() => writeCheckpointDir(join(root, 'ckpt-new'), { tensors: source, state: {} })).toThrow(
        message,
      );
      expect(readdirSync(root)).toEqual([]);
    }
    writeModelDir(join(root, 'lm'), model(weights()));
    writeCheckpointDir(join(root, 'checkpoint'), { tensors: weights(), state: { epoch: 1 } });
    expect(() => writeModelDir(join(root, 'lm'), model(failing))).toThrow('cannot read');
    expect(() => writeCheckpointDir(join(root, 'checkpoint'), { tensors: failing, state: {} })).toThrow(
      'cannot read',
    );
    expect(readdirSync(root).sort()).toEqual(['checkpoint', 'lm']);
    expect(sha(join(root, 'lm', 'weights.safetensors'))).toBe(BEFORE.weights);
    expect(readCheckpointDir(join(root, 'checkpoint')).state).toEqual({ epoch: 1 });
  });
});
