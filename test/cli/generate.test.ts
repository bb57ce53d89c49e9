import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyLm } from '../infer/tiny-lm.js';
import { runUlmfit } from '../support/process.js';
import { runInProcess } from '../support/in-process.js';

let root: string;
let lmDir: string;
let backDir: string;
let clasDir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-generate-'));
  lmDir = join(root, 'lm');
  backDir = join(root, 'back');
  clasDir = join(root, 'clas');
  writeTinyLm(lmDir);
  writeTinyLm(backDir, { backwards: true });
  writeTinyLm(clasDir, { kind: 'classifier' });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** `ulmfit generate --backend wasm ...args` in process. */
const run = (...args: string[]) => runInProcess('generate', '--backend', 'wasm', ...args);

const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { prompt: string; tokens: string[]; text: string });

describe('ulmfit generate', () => {
  it('prints the prompt and its continuation as prose', async () => {
    const { code, stdout, stderr } = await run('--model', lmDir, '--prompt', 'The cat sat', '--words', '10');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.startsWith('The cat sat')).toBe(true);
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stdout).not.toMatch(/xxbos|xxpad/);
  });

  it('--json prints one object per sample with the generated tokens only', async () => {
    const { code, stdout } = await run(
      '--model',
      lmDir,
      '--prompt',
      'The cat',
      '--tokens',
      '7',
      '--samples',
      '3',
      '--json',
      '--temperature',
      '2',
    );
    expect(code).toBe(0);
    const samples = jsonLines(stdout);
    expect(samples).toHaveLength(3);
    for (const sample of samples) {
      expect(Object.keys(sample).sort()).toEqual(['prompt', 'text', 'tokens']);
      expect(sample.prompt).toBe('The cat');
      expect(sample.tokens).toHaveLength(7);
      expect(sample.text.startsWith('The cat')).toBe(true);
      expect(sample.tokens).not.toContain('xxunk');
    }
  });

  it('is repeatable for a seed, differs across seeds, and greedy ignores the seed', async () => {
    const args = ['--model', lmDir, '--prompt', 'It was', '--words', '15', '--json', '--temperature', '1.5'];
    const a = await run(...args, '--seed', '1');
    const b = await run(...args, '--seed', '1');
    const c = await run(...args, '--seed', '2');
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).not.toBe(c.stdout);
    const greedy1 = await run(...args, '--temperature', '0', '--seed', '1');
    const greedy2 = await run(...args, '--temperature', '0', '--seed', '2');
    expect(greedy1.stdout).toBe(greedy2.stdout);
  });

  it('streams to a terminal token by token, ending with the same text', async () => {
    const args = ['--model', lmDir, '--prompt', 'The cat', '--words', '12', '--samples', '2', '--seed', '9'];
    const piped = await run(...args);
    const isTTY = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
    Object.defineProperty(process.stdout, 'isTTY', { value: true, configurable: true });
    try {
      const tty = await run(...args);
      expect(tty.stdout).toBe(piped.stdout);
      // Piped output is written once per sample (plus the separator); a terminal gets pieces.
      expect(piped.writes).toBe(3);
      expect(tty.writes).toBeGreaterThan(12);
    } finally {
      if (isTTY) Object.defineProperty(process.stdout, 'isTTY', isTTY);
      else delete (process.stdout as { isTTY?: boolean }).isTTY;
    }
  });

  it('--words counts words of the printed text; --tokens counts model tokens; not both', async () => {
    const words = jsonLines(
      (
        await run(
          '--model',
          lmDir,
          '--prompt',
          'The cat',
          '--words',
          '6',
          '--json',
          '--samples',
          '3',
          '--temperature',
          '1.5',
        )
      ).stdout,
    );
    for (const sample of words) expect(sample.text.trim().split(/\s+/).length - 2).toBeLessThanOrEqual(6);
    expect(words.some((sample) => sample.text.trim().split(/\s+/).length - 2 === 6)).toBe(true);
    const tokens = jsonLines(
      (await run('--model', lmDir, '--prompt', 'The cat', '--tokens', '6', '--json')).stdout,
    );
    expect(tokens[0]!.tokens).toHaveLength(6);
    const both = await run('--model', lmDir, '--words', '3', '--tokens', '3');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^error \[E_USAGE\]: --words and --tokens exclude each other/);
  });

  it('--prompt - reads the prompt from stdin (the real CLI, trailing newline dropped)', async () => {
    const piped = await runUlmfit(
      ['generate', '--model', lmDir, '--prompt', '-', '--tokens', '4', '--json', '--backend', 'wasm'],
      { input: 'The cat sat\n' },
    );
    expect(piped.code, piped.stderr).toBe(0);
    const [sample] = jsonLines(piped.stdout);
    expect(sample!.prompt).toBe('The cat sat');
    expect(sample!.text.startsWith('The cat sat')).toBe(true);
  });

  it('--raw prints the tokens, prompt included', async () => {
    const { code, stdout } = await run('--model', lmDir, '--prompt', 'The cat', '--tokens', '4', '--raw');
    expect(code).toBe(0);
    const tokens = stdout.trim().split(' ');
    expect(tokens.slice(0, 4)).toEqual(['xxbos', 'xxmaj', 'the', 'cat']);
    expect(tokens).toHaveLength(8);
  });

  it('never generates xxunk by default, and can with --allow-unk', async () => {
    const args = ['--model', lmDir, '--tokens', '120', '--json', '--temperature', '3', '--seed', '3'];
    expect(jsonLines((await run(...args)).stdout)[0]!.tokens).not.toContain('xxunk');
    expect(jsonLines((await run(...args, '--allow-unk')).stdout)[0]!.tokens).toContain('xxunk');
  });

  it('starts from xxbos alone without a prompt', async () => {
    const { code, stdout } = await run('--model', lmDir, '--tokens', '5', '--json', '--prompt', '');
    expect(code).toBe(0);
    const [sample] = jsonLines(stdout);
    expect(sample!.prompt).toBe('');
    expect(sample!.tokens).toHaveLength(5);
  });

  it('--stop-at-eos ends a sample at a document boundary', async () => {
    const { stdout } = await run(
      '--model',
      lmDir,
      '--tokens',
      '300',
      '--json',
      '--temperature',
      '3',
      '--stop-at-eos',
    );
    const [sample] = jsonLines(stdout);
    expect(sample!.tokens.length).toBeLessThan(300);
    expect(sample!.tokens).not.toContain('xxbos');
    expect(sample!.tokens).not.toContain('xxeos');
  });

  it('writes the text before the prompt with a backwards model', async () => {
    const json = await run('--model', backDir, '--prompt', 'on the mat.', '--tokens', '6', '--json');
    expect(json.code).toBe(0);
    const [sample] = jsonLines(json.stdout);
    expect(sample!.tokens).toHaveLength(6);
    expect(sample!.text).toMatch(/mat\.$/);
    // In reading order: six generated tokens, then the prompt (its xxbos dropped: not the start).
    const raw = (await run('--model', backDir, '--prompt', 'on the mat.', '--tokens', '6', '--raw')).stdout
      .trim()
      .split(' ');
    expect(raw).toEqual([...sample!.tokens, 'on', 'the', 'mat', '.']);
  });

  it('refuses a classifier directory with one clear line', async () => {
    const { code, stdout, stderr } = await run('--model', clasDir, '--prompt', 'hi');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error \[E_MODEL_DIR\]: .*'classifier' model/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  const usage: [string[], RegExp][] = [
    [['--words', '0'], /words must be an integer ≥ 1/],
    [['--temperature', '-1'], /temperature must be a number ≥ 0/],
    [['--top-p', '0'], /top-p must be in \(0, 1\]/],
    [['--top-p', '1.5'], /top-p must be in \(0, 1\]/],
    [['--top-k', '0'], /top-k must be an integer ≥ 1/],
    [['--words', 'many'], /--words must be a number/],
    [['--backend', 'gpu'], /--backend must be one of/],
  ];
  it.each(usage)('exits 2 for %j', async (args, message) => {
    const { code, stderr } = await run('--model', lmDir, ...args);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error \[E_USAGE\]: /);
    expect(stderr).toMatch(message);
  });

  it('exits 2 without --model', async () => {
    const { code } = await run('--prompt', 'x');
    expect(code).toBe(2);
  });
});
