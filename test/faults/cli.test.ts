/**
 * Fault injection through the real CLI (bin/ulmfit.js → dist/, built by npm test): a kill inside
 * the checkpoint swap then --resume, conflicting flags, a second writer, stdout on a full disk,
 * NaN weights, and every numeric flag at 0, negative, NaN, fractional and huge. Each case checks
 * the exit code, one `error [CODE]` line on stderr without a stack, and that the run directory
 * still loads. Tiny models (emb 8): the file runs in well under a minute.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readModelDir, writeModelDir } from '../../src/io/artifact.js';
import { float32Tensor } from '../../src/io/tensors.js';
import { buildProgram, main } from '../../src/cli/main.js';
import { FLAG_RANGES } from '../../src/cli/options.js';
import { runUlmfit, ULMFIT_BIN, type ProcessResult } from '../support/process.js';
import { writeTinyLm } from '../infer/tiny-lm.js';

let root: string;
let text: string;
let ref: string;
const TINY = [
  '--line-docs',
  '--min-freq',
  '1',
  '--emb',
  '8',
  '--hidden',
  '12',
  '--layers',
  '2',
  '--bs',
  '4',
  '--bptt',
  '8',
  '--backend',
  'wasm',
  '--workers',
  '0',
  '--no-cache',
  '--seed',
  '1',
  '--quiet',
];
const RECIPE = ['--schedule', '0:2@1e-2'];

function pretrain(out: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  return runUlmfit(['pretrain', text, '--out', out, ...TINY, ...extra], { env });
}

/** Exit code `code`, exactly one `error [CODE]: …` line on stderr, no stack trace. */
function expectOneLine(result: ProcessResult, code: number, errorCode: string): void {
  expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^error \\[${errorCode}\\]: `));
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-faults-cli-'));
  text = join(root, 'text.txt');
  const words = ['the', 'cat', 'dog', 'sat', 'ran', 'on', 'a', 'mat', 'log', 'and', 'bird', 'flew'];
  const lines: string[] = [];
  for (let i = 0; i < 60; i++)
    lines.push(Array.from({ length: 8 }, (_, j) => words[(i * 7 + j * 5) % words.length]).join(' ') + '.');
  writeFileSync(text, lines.join('\n') + '\n');
  ref = join(root, 'ref');
  const run = await pretrain(ref, RECIPE);
  if (run.code !== 0) throw new Error(`training failed: ${run.stderr}`);
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('kill -9 inside the checkpoint swap, then --resume', () => {
  it('restores the checkpoint put aside and ends bit-identical to an uninterrupted run', async () => {
    const out = join(root, 'crash');
    const crashed = await pretrain(out, RECIPE, { ULMFIT_CRASH_AT: 'checkpoint:old-moved-aside' });
    expect(crashed.code).toBeNull(); // killed by SIGKILL in epoch 2's swap
    // The old checkpoint put aside and the new one complete in its temporary: no `checkpoint`.
    expect(
      readdirSync(out)
        .filter((n) => n.startsWith('checkpoint'))
        .map((n) => n.replace(/\d+$/, 'PID'))
        .sort(),
    ).toEqual(['checkpoint.old-PID', 'checkpoint.tmp-PID']);
    const resumed = await runUlmfit(['pretrain', text, '--out', out, '--resume', '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readdirSync(out).filter((n) => /\.(tmp|old)-\d+$/.test(n))).toEqual([]);
    expect(existsSync(`${out}.lock`)).toBe(false);
    const weights = (dir: string): Buffer => readFileSync(join(dir, 'model-last', 'weights.safetensors'));
    expect(weights(out).equals(weights(ref))).toBe(true);
  }, 120_000);
});

describe('conflicting flags', () => {
  it('--resume with another recipe lists the differences; --resume --overwrite is a usage error; the run still loads', async () => {
    const conflict = await runUlmfit([
      'pretrain',
      text,
      '--out',
      ref,
      '--resume',
      '--bs',
      '16',
      '--emb',
      '16',
    ]);
    expectOneLine(conflict, 2, 'E_USAGE');
    expect(conflict.stderr).toContain('--bs 16 (the run has 4)');
    expect(conflict.stderr).toContain('--emb 16 (the run has 8)');
    expectOneLine(await runUlmfit(['pretrain', text, '--out', ref, '--resume', '--overwrite']), 2, 'E_USAGE');
    const scratchOnly = await runUlmfit([
      'train-classifier',
      text,
      '--lm',
      ref,
      '--out',
      join(root, 'clas'),
      '--emb',
      '8',
      '--no-rules',
    ]);
    expectOneLine(scratchOnly, 2, 'E_USAGE');
    expect(scratchOnly.stderr).toContain('--emb, --no-rules only apply with --from-scratch');
    expect(readModelDir(join(ref, 'model-last')).meta.kind).toBe('lm');
  }, 60_000);

  it('a --drop-mult that pushes a dropout to 1 and a model too large for memory are refused before training', async () => {
    const drop = await pretrain(join(root, 'drop'), ['--drop-mult', '5']);
    expectOneLine(drop, 2, 'E_USAGE');
    expect(drop.stderr).toMatch(/dropout \w+ would be [\d.]+; a dropout probability must be in \[0, 1\)/);
    const huge = await pretrain(join(root, 'huge'), ['--emb', '30000', '--hidden', '60000']);
    expectOneLine(huge, 2, 'E_USAGE');
    expect(huge.stderr).toMatch(/needs about [\d.]+ GB to train; this machine has/);
  }, 60_000);
});

describe('two writers', () => {
  it('a run directory locked by a live process is refused at once and left as it was', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(
        `${ref}.lock`,
        JSON.stringify({ pid: holder.pid, host: hostname(), command: 'pretrain x', since: 'now' }),
      );
      const second = await pretrain(ref, ['--overwrite']);
      expectOneLine(second, 1, 'E_LOCKED');
      const tokenize = await runUlmfit([
        'tokenize',
        text,
        '--out',
        ref,
        '--overwrite',
        '--no-cache',
        '--quiet',
      ]);
      expectOneLine(tokenize, 1, 'E_LOCKED');
      expect(readModelDir(join(ref, 'model-best')).meta.kind).toBe('lm');
    } finally {
      holder.kill();
      rmSync(`${ref}.lock`, { force: true });
    }
  }, 60_000);

  it('baseline and import-fastai refuse a model directory another process is writing', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    const out = join(root, 'locked-model');
    try {
      writeFileSync(
        `${out}.lock`,
        JSON.stringify({ pid: holder.pid, host: hostname(), command: 'baseline x', since: 'now' }),
      );
      const baseline = await runUlmfit([
        'baseline',
        join('fixtures', 'inputs', 'reviews.csv'),
        '--out',
        out,
        '--no-cache',
        '--quiet',
      ]);
      expectOneLine(baseline, 1, 'E_LOCKED');
      const imported = await runUlmfit([
        'import-fastai',
        join('fixtures', 'fastai', 'lm_v2_zip.pth'),
        join('fixtures', 'fastai', 'itos.pkl'),
        '--out',
        out,
      ]);
      expectOneLine(imported, 1, 'E_LOCKED');
      expect(existsSync(out)).toBe(false);
    } finally {
      holder.kill();
      rmSync(`${out}.lock`, { force: true });
    }
  }, 60_000);
});

describe('output and numbers', () => {
  it('stdout on a full disk is one E_OUTPUT line and exit 1', async () => {
    const result = await new Promise<ProcessResult>((resolve) => {
      const child = spawn(process.execPath, [ULMFIT_BIN, 'tokenize', text, '--no-cache', '--workers', '0'], {
        stdio: ['ignore', openSync('/dev/full', 'w'), 'pipe'],
      });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout: '', stderr }));
    });
    expectOneLine(result, 1, 'E_OUTPUT');
    expect(result.stderr).toContain('no space left on the device');
  }, 30_000);

  it('a model with NaN weights is refused by generate (no NaN text, no stack)', async () => {
    const dir = join(root, 'nan-lm');
    writeTinyLm(dir);
    const loaded = readModelDir(dir);
    const weights = new Map(loaded.weights);
    const [name, tensor] = [...weights].find(([, t]) => t.dtype === 'float32')!;
    weights.set(name, float32Tensor(tensor.shape, Float32Array.from(tensor.data as Float32Array).fill(NaN)));
    writeModelDir(dir, {
      meta: { kind: 'lm', arch: loaded.meta.arch, backwards: false },
      weights,
      vocab: loaded.vocab,
      tokenizer: loaded.tokenizer,
    });
    const result = await runUlmfit(['generate', '--model', dir, '--prompt', 'the cat', '--backend', 'wasm']);
    expectOneLine(result, 1, 'E_NUMERIC');
    expect(result.stdout).toBe('');
  }, 30_000);
});

describe('the flag matrix: every numeric flag at 0, negative, NaN, fractional and huge', () => {
  const COMMANDS = [
    'tokenize',
    'pretrain',
    'finetune-lm',
    'lr-find',
    'train-classifier',
    'baseline',
    'classify',
    'generate',
    'evaluate',
    'demo',
    'bench',
  ];
  const VALUES = ['0', '-1', 'NaN', '1.5', '1e16'];
  /** Whether the table accepts `text` for this flag (then the command would run: not tried here). */
  function accepted(key: string, text: string): boolean {
    const range = FLAG_RANGES[key]!;
    const value = Number(text);
    return (
      Number.isFinite(value) &&
      (!range.int || Number.isInteger(value)) &&
      (range.minExclusive ? value > range.min : value >= range.min) &&
      value <= range.max
    );
  }

  it('every rejected value is exit 2 with an error line and no stack; every numeric flag has a range', async () => {
    const program = await buildProgram();
    const stderr: string[] = [];
    const spy = vi
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk) => (stderr.push(String(chunk)), true));
    let tried = 0;
    try {
      for (const name of COMMANDS) {
        const command = program.commands.find((c) => c.name() === name) as Command;
        // Numeric: parsed to a number as it is read, or read as text and checked by the table (generate).
        const parsesToNumber = (o: (typeof command.options)[number]): boolean => {
          try {
            return typeof o.parseArg?.('1', undefined) === 'number';
          } catch {
            return false;
          }
        };
        const numeric = command.options.filter(
          (o) => o.required && (parsesToNumber(o) || FLAG_RANGES[o.attributeName()]?.text),
        );
        for (const option of numeric) {
          const key = option.attributeName();
          expect(FLAG_RANGES[key], `${name} ${option.long} has no range in FLAG_RANGES`).toBeDefined();
          for (const value of VALUES) {
            if (accepted(key, value)) continue;
            // generate parses its text flags itself: non-numbers and low values are its own checks.
            if (FLAG_RANGES[key]!.text && !(Number(value) >= FLAG_RANGES[key]!.min)) continue;
            expect(
              ['1e16'].filter((v) => accepted(key, v)),
              `${option.long}`,
            ).toEqual([]);
            stderr.length = 0;
            // The command's positional input and required options, so only the flag under test is wrong.
            const args = [
              'node',
              'ulmfit',
              name,
              ...(command.registeredArguments.length > 0 ? [join(root, 'none.txt')] : []),
            ];
            for (const required of command.options)
              if (required.mandatory) args.push(required.long!, join(root, 'never'));
            const code = await main([...args, option.long!, value]);
            const output = stderr.join('');
            expect(output).not.toMatch(/unknown option|missing required/);
            expect(code, `${name} ${option.long} ${value}: ${output}`).toBe(2);
            expect(output).toMatch(/^error/);
            expect(output).not.toMatch(/^\s+at /m);
            tried++;
          }
        }
      }
    } finally {
      spy.mockRestore();
    }
    expect(tried).toBeGreaterThan(100);
  }, 60_000);
});
