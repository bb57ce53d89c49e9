import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readModelDir } from '../../src/io/artifact.js';
import { PACKAGE_ROOT } from '../../src/io/model-names.js';
import { shipModelDir } from '../../src/io/ship-model.js';
import { loadGivenVocab } from '../../src/text/pipeline.js';
import { writeTinyClassifier } from '../infer/tiny-classifier.js';
import { writeTinyLm } from '../infer/tiny-lm.js';
import { runProcess } from '../support/process.js';
import { expectJsonOutput } from '../support/json-output.js';
import { runInProcess } from '../support/in-process.js';

const SHIP = fileURLToPath(new URL('../../workbench/en/ship.mjs', import.meta.url));

let root: string;
let models: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-models-'));
  models = join(root, 'models');
  writeTinyLm(join(root, 'lm'));
  shipModelDir(join(root, 'lm'), join(models, 'tiny'), { description: 'tiny test LM' });
  writeTinyClassifier(join(root, 'clas'));
  shipModelDir(join(root, 'clas'), join(models, 'tiny-clas'));
  vi.stubEnv('ULMFIT_MODELS_DIR', models);
  vi.stubEnv('ULMFIT_HOME', join(root, 'home')); // nothing pulled: the pullable names are listed, not cached
});

afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(root, { recursive: true, force: true });
});

const run = runInProcess;

describe('ulmfit models', () => {
  it('--json lists every name with what it is, its size, where and whether it is installed', async () => {
    const { code, stdout, stderr } = await run('models', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const listed = expectJsonOutput('models', stdout) as Record<string, unknown>[];
    expect(listed.filter((m) => m.kind !== 'dataset').map((m) => m.name)).toEqual([
      'brown-lm',
      'en',
      'en-bwd',
      'tiny',
      'tiny-clas',
      'wt103',
      'wt103-bwd',
      'wt103-fwd',
    ]);
    expect(listed.find((m) => m.name === 'wt103')).toMatchObject({
      installed: false,
      source: 'cache',
      dir: join(root, 'home', 'models', 'wt103-fwd'),
    });
    expect(listed.find((m) => m.name === 'imdb')).toMatchObject({
      installed: false,
      kind: 'dataset',
      download_bytes: 144440600,
    });
    expect(listed.find((m) => m.name === 'tiny')).toEqual({
      name: 'tiny',
      installed: true,
      source: 'env',
      dir: join(models, 'tiny'),
      model_dir: join(models, 'tiny'),
      description: 'tiny test LM',
      kind: 'lm',
      backwards: false,
      emb: 8,
      hidden: 16,
      layers: 2,
      vocab: readModelDir(join(root, 'lm'), { weights: false }).meta.vocab.size,
      weights: 'float16',
      bytes: expect.any(Number),
    });
    expect(listed.find((m) => m.name === 'tiny-clas')).toMatchObject({
      kind: 'classifier',
      weights: 'float16',
    });
    const en = listed.find((m) => m.name === 'en')!;
    expect(en).toMatchObject({
      source: 'package',
      dir: join(PACKAGE_ROOT, 'models', 'en'),
      installed: existsSync(join(PACKAGE_ROOT, 'models', 'en')),
    });
    expect(listed.find((m) => m.name === 'brown-lm')).toMatchObject({
      installed: true,
      kind: 'lm',
      weights: 'float32',
      emb: 64,
    });
  });

  it('prints a table', async () => {
    const { code, stdout } = await run('models');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^name\s+status\s+size\s+where\s+what$/);
    expect(lines.find((l) => l.startsWith('tiny '))).toMatch(
      /^tiny\s+installed\s+\d+(\.\d)? kB\s+\S+\s+tiny test LM; lm, emb 8, hidden 16, 2 layers, vocab \d+, float16$/,
    );
  });
});

describe('model names on the commands', () => {
  const prompt = ['--prompt', 'The cat', '--words', '12', '--seed', '5', '--json', '--backend', 'wasm'];

  it('generate --model <name> is generate --model <its directory>', async () => {
    const byName = await run('generate', '--model', 'tiny', ...prompt);
    const byPath = await run('generate', '--model', join(models, 'tiny'), ...prompt);
    expect(byName.stderr).toBe('');
    expect(byName.code).toBe(0);
    expect(byName.stdout).not.toBe('');
    expect(byName.stdout).toBe(byPath.stdout);
  });

  it('classify --model <name> works on a shipped classifier', async () => {
    const docs = join(root, 'docs.txt');
    writeFileSync(docs, 'The cat sat on the mat.\nIt was happy.\n');
    const byName = await run(
      'classify',
      '--model',
      'tiny-clas',
      docs,
      '--line-docs',
      '--json',
      '--quiet',
      '--backend',
      'wasm',
    );
    const byPath = await run(
      'classify',
      '--model',
      join(models, 'tiny-clas'),
      docs,
      '--line-docs',
      '--json',
      '--quiet',
      '--backend',
      'wasm',
    );
    expect(byName.stderr).toBe('');
    expect(byName.code).toBe(0);
    expect(byName.stdout.trim().split('\n')).toHaveLength(2);
    expect(byName.stdout).toBe(byPath.stdout);
  });

  it("tokenize --vocab <name> takes the named model's vocab and tokenizer", async () => {
    const given = await loadGivenVocab('tiny');
    const model = readModelDir(join(models, 'tiny'), { weights: false });
    expect(given.itos).toEqual(model.vocab);
    expect(given.settings).toEqual(model.tokenizer);
  });

  it('an unknown name is one line naming the known names, with the nearest one, and exit code 1', async () => {
    for (const args of [
      ['generate', '--model', 'tinny', ...prompt],
      ['finetune-lm', 'whatever.txt', '--pretrained', 'tinny', '--out', join(root, 'ft')],
      ['train-classifier', 'whatever.csv', '--lm', 'tinny', '--out', join(root, 'tc')],
    ]) {
      const { code, stderr, stdout } = await run(...args);
      expect(code, args[0]).toBe(1);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n'), args[0]).toHaveLength(1);
      expect(stderr).toMatch(
        /^error \[E_INPUT_MISSING\]: no model or run directory at tinny, and no model is named 'tinny': did you mean 'tiny'\? \(known model names: brown-lm, en, en-bwd, tiny, tiny-clas, wt103, wt103-bwd, wt103-fwd /,
      );
    }
  });
});

describe('workbench/en/ship.mjs', () => {
  it('ships a run directory as float16, loadable by name', async () => {
    const run = join(root, 'run');
    writeTinyLm(join(run, 'model-last'), { seed: 4 });
    const out = join(models, 'shipped');
    const result = await runProcess(process.execPath, [
      SHIP,
      run,
      out,
      '--description',
      'shipped by the script',
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      from: join(run, 'model-last'),
      out,
      kind: 'lm',
      description: 'shipped by the script',
    });
    expect(summary.maxRelativeError as number).toBeLessThanOrEqual(2 ** -11);
    expect(summary.bytesAfter as number).toBeLessThan(summary.bytesBefore as number);
    const listed = await (async () => (await import('../../src/cli/models.js')).listModels())();
    expect(listed.find((m) => m.name === 'shipped')).toMatchObject({
      installed: true,
      weights: 'float16',
      description: 'shipped by the script',
    });
    const usage = await runProcess(process.execPath, [SHIP, run]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^usage: /);
  });
});
