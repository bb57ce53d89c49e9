/**
 * Fault injection, in process: every artifact file ulmfit reads, damaged every way a disk, an
 * editor or a kill can damage it (truncated, flipped bytes, wrong JSON shapes, NaN weights), must
 * give one coded UlmfitError line naming the file, never a TypeError or a silent wrong result;
 * locks and interrupted swaps must recover. The CLI half (exit codes, stderr) is cli.test.ts.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import { lockDir, recoverSwaps } from '../../src/io/dir-lock.js';
import {
  openRunDir,
  readModelDir,
  writeCheckpointDir,
  writeDirAtomic,
  writeModelDir,
} from '../../src/io/artifact.js';
import { float32Tensor } from '../../src/io/tensors.js';
import { openCorpus } from '../../src/text/corpus.js';
import { tokenizeCorpus } from '../../src/text/pipeline.js';
import { restoreConfig } from '../../src/tasks/run-dir.js';
import { reportError } from '../../src/cli/fatal.js';
import { writeTinyLm } from '../infer/tiny-lm.js';

let root: string;
let model: string;
let corpus: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-faults-'));
  model = join(root, 'lm');
  writeTinyLm(model);
  const text = join(root, 'text.csv');
  writeFileSync(text, 'text,label\nthe cat sat,a\nthe dog ran,b\na bird flew,a\n');
  corpus = (
    await tokenizeCorpus([text], { workers: 0, noCache: true, out: join(root, 'corpus'), minFreq: 1 })
  ).dir;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The UlmfitError `fn` throws, checked to be one line. */
function faultOf(fn: () => unknown): UlmfitError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UlmfitError);
    const line = (err as UlmfitError).toLine();
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^error \[E_[A-Z_]+\]: /);
    return err as UlmfitError;
  }
  throw new Error('expected an error');
}

/** A copy of `dir` under a new name, damaged by `damage`. */
function damaged(dir: string, name: string, damage: (copy: string) => void): string {
  const copy = join(root, name);
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy);
  for (const file of readdirSync(dir)) writeFileSync(join(copy, file), readFileSync(join(dir, file)));
  damage(copy);
  return copy;
}

const truncate = (path: string): void =>
  writeFileSync(path, readFileSync(path).subarray(0, Math.floor(readFileSync(path).length / 2)));
/** Flips one byte near the end (tensor data in a safetensors file, a value in JSON). */
const flipByte = (path: string): void => {
  const bytes = readFileSync(path);
  bytes[bytes.length - 3]! ^= 0x5a;
  writeFileSync(path, bytes);
};
const editJson = (path: string, edit: (value: Record<string, unknown>) => void): void => {
  const value = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(value);
  writeFileSync(path, JSON.stringify(value));
};

describe('a model directory, damaged', () => {
  const file = (name: string) => (d: string) => join(d, name);
  const cases: [string, (d: string) => void, string, RegExp][] = [
    [
      'meta.json truncated',
      (d) => truncate(file('meta.json')(d)),
      'E_MODEL_DIR',
      /meta.json is not valid JSON/,
    ],
    [
      'meta.json arch.emb_sz a string',
      (d) => editJson(file('meta.json')(d), (m) => ((m.arch as Record<string, unknown>).emb_sz = '8')),
      'E_MODEL_DIR',
      /field 'arch.emb_sz' should be number/,
    ],
    [
      'meta.json vocab an array',
      (d) => editJson(file('meta.json')(d), (m) => (m.vocab = [])),
      'E_MODEL_DIR',
      /field 'vocab'/,
    ],
    [
      'meta.json dropout ≥ 1',
      (d) => editJson(file('meta.json')(d), (m) => ((m.arch as Record<string, unknown>).weight_p = 1.5)),
      'E_MODEL_DIR',
      /field 'arch.weight_p'/,
    ],
    [
      'meta.json null',
      (d) => writeFileSync(file('meta.json')(d), 'null'),
      'E_MODEL_DIR',
      /format is not 'ulmfit'/,
    ],
    [
      'weights truncated',
      (d) => truncate(file('weights.safetensors')(d)),
      'E_CHECKPOINT',
      /not a valid safetensors file/,
    ],
    [
      'weights with a flipped byte',
      (d) => flipByte(file('weights.safetensors')(d)),
      'E_MODEL_DIR',
      /does not match the sha256 in meta.json/,
    ],
    [
      'vocab.json truncated',
      (d) => truncate(file('vocab.json')(d)),
      'E_MODEL_DIR',
      /vocab.json is not valid JSON/,
    ],
    [
      'vocab.json an object',
      (d) => writeFileSync(file('vocab.json')(d), '{"a":1}'),
      'E_MODEL_DIR',
      /vocab.json is not a list of strings/,
    ],
    [
      'tokenizer.json an array',
      (d) => writeFileSync(file('tokenizer.json')(d), '[]'),
      'E_MODEL_DIR',
      /tokenizer.json is not a JSON object/,
    ],
  ];
  it.each(cases)('%s: one coded line naming the file', (what, damage, code, pattern) => {
    const dir = damaged(model, what.replace(/\W+/g, '-'), damage);
    const err = faultOf(() => readModelDir(dir));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(pattern);
    expect(err.message).toContain(dir);
    expect(readModelDir(model).meta.kind).toBe('lm'); // the original is untouched
  });

  it('NaN or Inf weights (with a matching checksum) are refused at load, naming the tensor', () => {
    const loaded = readModelDir(model);
    for (const bad of [NaN, Infinity]) {
      const weights = new Map(loaded.weights);
      const [name, tensor] = [...weights].find(([, t]) => t.dtype === 'float32')!;
      const data = Float32Array.from(tensor.data as Float32Array);
      data[1] = bad;
      weights.set(name, float32Tensor(tensor.shape, data));
      const dir = join(root, `nan-${bad}`);
      writeModelDir(dir, {
        meta: { kind: 'lm', arch: loaded.meta.arch, backwards: false },
        weights,
        vocab: loaded.vocab,
        tokenizer: loaded.tokenizer,
      });
      const err = faultOf(() => readModelDir(dir));
      expect(err.code).toBe('E_NUMERIC');
      expect(err.message).toContain(`tensor ${name} holds ${bad} at index 1`);
    }
  });

  it('a directory written before checksums existed still loads', () => {
    const dir = damaged(model, 'no-checksum', (d) =>
      editJson(join(d, 'meta.json'), (m) => delete m.weights_sha256),
    );
    expect(readModelDir(dir).weights.size).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(model, 'meta.json'), 'utf8')).weights_sha256).toMatch(
      /^[0-9a-f]{64}$/,
    );
  });
});

describe('a tokenized corpus directory, damaged', () => {
  const cases: [string, (d: string) => void, RegExp][] = [
    [
      'meta.json numDocs a string',
      (d) => editJson(join(d, 'meta.json'), (m) => (m.numDocs = '3')),
      /meta.json: field 'numDocs' should be number/,
    ],
    ['meta.json truncated', (d) => truncate(join(d, 'meta.json')), /meta.json is not valid JSON/],
    [
      'labels.json ids strings',
      (d) => editJson(join(d, 'labels.json'), (l) => (l.ids = ['a', 'b', 'a'])),
      /labels.json: field 'ids\[0\]' should be number/,
    ],
    [
      'labels.json too few ids',
      (d) => editJson(join(d, 'labels.json'), (l) => (l.ids = [0])),
      /labels.json has 1 ids for 3 documents/,
    ],
    [
      'labels.json id past the names',
      (d) => editJson(join(d, 'labels.json'), (l) => (l.ids = [0, 7, 1])),
      /ids\[1\] is 7 but there are 2 names/,
    ],
    [
      'vocab.json numbers',
      (d) => writeFileSync(join(d, 'vocab.json'), '[1,2,3]'),
      /vocab.json: field '\[0\]' should be string/,
    ],
    [
      'tokenizer.json kind unknown',
      (d) => editJson(join(d, 'tokenizer.json'), (t) => (t.kind = 'bpe')),
      /tokenizer.json: field 'kind' should be one of "word", "subword"/,
    ],
    ['offsets.bin truncated', (d) => truncate(join(d, 'offsets.bin')), /offsets.bin has the wrong size/],
  ];
  it.each(cases)('%s: one E_INPUT_FORMAT line', (what, damage, pattern) => {
    const dir = damaged(corpus, `corpus-${what.replace(/\W+/g, '-')}`, damage);
    const err = faultOf(() => openCorpus(dir).ids());
    expect(err.code).toBe('E_INPUT_FORMAT');
    expect(err.message).toMatch(pattern);
    expect(openCorpus(corpus).numDocs).toBe(3);
  });

  it('a token id outside the vocab (flipped bytes in ids.bin) is caught when the ids are read', () => {
    const dir = damaged(corpus, 'corpus-ids', (d) => {
      const bytes = readFileSync(join(d, 'ids.bin'));
      bytes[3] = 0x7f; // the high byte of the first id
      writeFileSync(join(d, 'ids.bin'), bytes);
    });
    expect(faultOf(() => openCorpus(dir).ids()).message).toMatch(
      /ids.bin holds token id \d+ at position 0, outside the vocab/,
    );
  });
});

describe('run state: checkpoint and config.json', () => {
  it('a config.json of the wrong shape is one E_CHECKPOINT line, not a TypeError', () => {
    const run = join(root, 'run-config');
    mkdirSync(run, { recursive: true });
    for (const [text, pattern] of [
      ['[]', /the top level should be object/],
      ['{"inputs":"a.txt"}', /field 'inputs' should be array/],
      ['{"inputs":["a"],"bs":"64"}', /field 'bs' should be number/],
      ['{"inputs":["a"],"stages":[{"epochs":0,"lr":1}]}', /field 'stages\[0\].epochs'/],
      ['{', /config.json is not valid JSON/],
    ] as const) {
      writeFileSync(join(run, 'config.json'), text);
      const err = faultOf(() => restoreConfig({ out: run, inputs: ['a'] }, ['inputs', 'bs'] as never));
      expect(err.code).toBe('E_CHECKPOINT');
      expect(err.message).toMatch(pattern);
    }
  });

  it('--resume with flags that differ from config.json lists every difference (E_USAGE)', () => {
    const run = join(root, 'run-conflict');
    mkdirSync(run, { recursive: true });
    writeFileSync(
      join(run, 'config.json'),
      JSON.stringify({ inputs: ['a.txt'], bs: 8, emb: 8, dropMult: 1 }),
    );
    const given = { out: run, inputs: ['a.txt'], bs: 16, emb: 8, dropMult: 2, seed: 42 };
    const err = faultOf(() =>
      restoreConfig(
        given,
        ['inputs', 'bs', 'emb', 'dropMult', 'seed'],
        new Set(['inputs', 'bs', 'emb', 'dropMult']),
      ),
    );
    expect(err.code).toBe('E_USAGE');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('--bs 16 (the run has 8)');
    expect(err.message).toContain('--drop-mult 2 (the run has 1)');
    expect(err.message).not.toContain('--emb');
    expect(err.message).not.toContain('--seed'); // a default the user did not type is not a conflict
    expect(
      restoreConfig(
        { ...given, bs: 8, dropMult: 1 },
        ['inputs', 'bs', 'emb', 'dropMult'],
        new Set(['inputs', 'bs']),
      ).bs,
    ).toBe(8);
  });

  it('checkpoint state.json of the wrong shape, or tensors with flipped bytes, are E_CHECKPOINT lines', async () => {
    const { resumeFrom } = await import('../../src/tasks/run-dir.js');
    const run = join(root, 'run-ckpt');
    const tensors = new Map([['model.w', float32Tensor([2], Float32Array.of(1, 2))]]);
    writeCheckpointDir(join(run, 'checkpoint'), {
      tensors,
      state: { learner: { format: 'ulmfit-learner-state', version: 1 }, bestLoss: 'low' },
    });
    const resume = (): unknown => resumeFrom(run, {} as never, {} as never);
    expect(faultOf(resume).message).toMatch(/state.json: field 'learner.position' should be object/);
    const path = join(run, 'checkpoint', 'tensors.safetensors');
    flipByte(path);
    expect(faultOf(resume).message).toMatch(/does not match the sha256 in state.json/);
  });
});

describe('locks and interrupted swaps', () => {
  it("a second writer of a run directory fails at once; a dead holder's lock is taken over", async () => {
    const run = join(root, 'run-locked');
    const first = openRunDir(run);
    try {
      expect(faultOf(() => openRunDir(run)).code).toBe('E_LOCKED');
    } finally {
      first.lock.release();
    }
    // A lock left by a process that was killed (a pid that no longer exists) is stale.
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)));
    writeFileSync(
      `${run}.lock`,
      JSON.stringify({
        pid: deadPid,
        host: (await import('node:os')).hostname(),
        command: 'pretrain',
        since: 'x',
      }),
    );
    const taken = openRunDir(run, { overwrite: true });
    taken.lock.release();
    expect(existsSync(`${run}.lock`)).toBe(false);
  });

  it('a lock held by a live process names it', async () => {
    const dir = join(root, 'corpus-locked');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      writeFileSync(
        `${dir}.lock`,
        JSON.stringify({
          pid: child.pid,
          host: (await import('node:os')).hostname(),
          command: 'tokenize x',
          since: 'now',
        }),
      );
      const err = faultOf(() => lockDir(dir, 'corpus directory'));
      expect(err.code).toBe('E_LOCKED');
      expect(err.message).toContain(`pid ${child.pid}`);
    } finally {
      child.kill();
      rmSync(`${dir}.lock`, { force: true });
    }
  });

  it('a kill between the two renames of a swap leaves X.old-PID; recovery puts it back and removes temporaries', () => {
    const run = join(root, 'run-swap');
    writeDirAtomic(join(run, 'checkpoint'), [{ name: 'state.json', data: '{"epoch":1}' }]);
    writeDirAtomic(join(run, 'model-last'), [{ name: 'meta.json', data: '{}' }]);
    // What a kill at 'checkpoint:old-moved-aside' leaves (test/faults/cli.test.ts kills a real run there).
    renameSync(join(run, 'checkpoint'), join(run, 'checkpoint.old-99999'));
    mkdirSync(join(run, 'checkpoint.tmp-99999'));
    writeFileSync(join(run, 'checkpoint.tmp-99999', 'state.json'), '{"epoch":2}');
    writeFileSync(join(run, 'config.json.tmp-99998'), '{');
    mkdirSync(join(run, 'model-last.old-99997')); // aside, but the new one is in place: just stale
    const done = recoverSwaps(run);
    expect(done).toHaveLength(1);
    expect(done[0]).toMatch(/restored .*checkpoint from checkpoint.old-99999/);
    expect(readFileSync(join(run, 'checkpoint', 'state.json'), 'utf8')).toBe('{"epoch":1}');
    expect(readdirSync(run).sort()).toEqual(['checkpoint', 'model-last']);
  });
});

describe('the last line of defence', () => {
  it('an unexpected error is one E_INTERNAL line asking for a report; the stack only with ULMFIT_DEBUG=1', () => {
    const written: string[] = [];
    const spy = vi
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk) => (written.push(String(chunk)), true));
    try {
      expect(reportError(new TypeError("Cannot read properties of undefined (reading 'emb_sz')"))).toBe(1);
      expect(written.join('')).toMatch(
        /^error \[E_INTERNAL\]: unexpected TypeError: Cannot read .* \(this is a bug in ulmfit: please report it.*\)\n$/,
      );
      written.length = 0;
      const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), {
        code: 'ENOSPC',
        syscall: 'write',
      });
      expect(reportError(enospc)).toBe(1);
      expect(written.join('')).toBe(
        'error [E_OUTPUT]: cannot write to the output: no space left on the device (free space or write the output elsewhere)\n',
      );
      written.length = 0;
      vi.stubEnv('ULMFIT_DEBUG', '1');
      reportError(new RangeError('boom'));
      expect(written.join('')).toContain('    at ');
    } finally {
      vi.unstubAllEnvs();
      spy.mockRestore();
    }
  });
});
