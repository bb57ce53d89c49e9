import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModelDir } from '../../src/io/artifact.js';
import {
  knownModels,
  looksLikeName,
  nearestName,
  PACKAGE_ROOT,
  resolveModelRef,
  SHIPPED_MODELS,
} from '../../src/io/model-names.js';
import { writeTinyLm } from '../infer/tiny-lm.js';
import { errorOf } from '../support/errors.js';

let root: string;
let modelsA: string;
let modelsB: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-names-'));
  modelsA = join(root, 'a');
  modelsB = join(root, 'b');
  writeTinyLm(join(modelsA, 'tiny'));
  writeTinyLm(join(modelsA, 'run', 'model-last')); // a run directory is a name too
  mkdirSync(join(modelsA, '.hidden'));
  mkdirSync(join(modelsA, 'tiny.tmp-123'));
  writeFileSync(join(modelsA, 'notes.txt'), 'not a model\n');
  writeTinyLm(join(modelsB, 'tiny'), { seed: 2 }); // shadowed by a's
  writeTinyLm(join(modelsB, 'en')); // shadows the shipped en
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const fakeShipped = [{ name: 'en', path: 'models/en', description: 'general English' }];

describe('model names', () => {
  it('lists $ULMFIT_MODELS_DIR folders (first directory wins) and the shipped models, sorted', () => {
    const env = { ULMFIT_MODELS_DIR: [modelsA, '', modelsB].join(delimiter) };
    const known = knownModels({ env, shipped: fakeShipped, packageRoot: join(root, 'pkg'), pulled: [] });
    expect(known.map((m) => m.name)).toEqual(['en', 'run', 'tiny']);
    expect(known.find((m) => m.name === 'tiny')).toEqual({
      name: 'tiny',
      dir: join(modelsA, 'tiny'),
      source: 'env',
      installed: true,
    });
    expect(known.find((m) => m.name === 'en')!.dir).toBe(join(modelsB, 'en')); // the env folder shadows the shipped one
    const plain = knownModels({ env: {}, shipped: fakeShipped, packageRoot: join(root, 'pkg'), pulled: [] });
    expect(plain).toEqual([
      {
        name: 'en',
        dir: join(root, 'pkg', 'models/en'),
        source: 'package',
        installed: false,
        description: 'general English',
      },
    ]);
    // a missing $ULMFIT_MODELS_DIR directory adds nothing and breaks nothing
    expect(
      knownModels({ env: { ULMFIT_MODELS_DIR: join(root, 'absent') }, shipped: [], pulled: [] }),
    ).toEqual([]);
  });

  it('resolves a name to its directory, and an existing path before any name', () => {
    const env = { ULMFIT_MODELS_DIR: modelsA };
    expect(resolveModelRef('tiny', { env })).toBe(join(modelsA, 'tiny'));
    const cwd = process.cwd();
    process.chdir(modelsB);
    try {
      expect(resolveModelRef('tiny', { env })).toBe('tiny'); // ./tiny exists here: the path wins
    } finally {
      process.chdir(cwd);
    }
    expect(resolveModelRef(join(modelsB, 'tiny'), { env })).toBe(join(modelsB, 'tiny'));
  });

  it('says in one line that a known model is not installed, and where it would be', () => {
    const err = errorOf(() =>
      resolveModelRef('en', { env: {}, shipped: fakeShipped, packageRoot: join(root, 'pkg') }),
    );
    expect(err.code).toBe('E_INPUT_MISSING');
    expect(err.message).toBe(`model 'en' is not installed at ${join(root, 'pkg', 'models/en')}`);
    expect(err.toLine()).not.toContain('\n');
  });

  it('names the known models for an unknown name, with the nearest one', () => {
    const env = { ULMFIT_MODELS_DIR: modelsA };
    const typo = errorOf(() =>
      resolveModelRef('tinny', { env, shipped: fakeShipped, packageRoot: root, pulled: [] }),
    );
    expect(typo.code).toBe('E_INPUT_MISSING');
    expect(typo.exitCode).toBe(1);
    expect(typo.toLine()).toBe(
      "error [E_INPUT_MISSING]: no model or run directory at tinny, and no model is named 'tinny': did you mean 'tiny'? " +
        "(known model names: en, run, tiny (ulmfit models lists them); or pass a model directory's path)",
    );
    const far = errorOf(() =>
      resolveModelRef('wikitext', { env, shipped: fakeShipped, packageRoot: root, pulled: [] }),
    );
    expect(far.message).not.toContain('did you mean');
    expect(far.hint).toContain('en, run, tiny');
    // a path that does not exist keeps the path message, and still names the models
    const path = errorOf(() =>
      resolveModelRef(join(root, 'nowhere', 'model-best'), { env, shipped: [], pulled: [] }),
    );
    expect(path.message).toBe(`no model or run directory at ${join(root, 'nowhere', 'model-best')}`);
    expect(path.hint).toContain('known: run, tiny');
  });

  it('tells names from paths, and finds near misses', () => {
    expect(['en', 'wt103-fwd', 'brown-lm', 'a.b_c'].every(looksLikeName)).toBe(true);
    expect(['./en', 'runs/lm', '../x', '.', '', '/abs', 'a\\b'].some(looksLikeName)).toBe(false);
    expect(nearestName('EN', ['en', 'tiny'])).toBe('en');
    expect(nearestName('wt103-fw', ['wt103-fwd', 'wt103-bwd'])).toBe('wt103-fwd');
    expect(nearestName('xyz', ['en'])).toBeUndefined();
  });

  it('ships en (models/en) and brown-lm from the package root', () => {
    expect(existsSync(join(PACKAGE_ROOT, 'package.json'))).toBe(true);
    const known = knownModels({ env: {} });
    const en = known.find((m) => m.name === 'en')!;
    expect(en.dir).toBe(join(PACKAGE_ROOT, 'models', 'en'));
    expect(en.installed).toBe(existsSync(en.dir));
    if (en.installed) expect(resolveModelRef('en', { env: {} })).toBe(en.dir);
    else expect(() => resolveModelRef('en', { env: {} })).toThrow(/^model 'en' is not installed at /);
    expect(known.find((m) => m.name === 'brown-lm')).toMatchObject({ installed: true, source: 'package' });
    // and the pullable models (ulmfit pull), listed before they are pulled
    const pulled = knownModels({ env: { ULMFIT_HOME: join(root, 'home') } }).filter(
      (m) => m.source === 'cache',
    );
    expect(pulled.map((m) => [m.name, m.dir, m.installed])).toEqual([
      ['wt103', join(root, 'home', 'models', 'wt103-fwd'), false],
      ['wt103-bwd', join(root, 'home', 'models', 'wt103-bwd'), false],
      ['wt103-fwd', join(root, 'home', 'models', 'wt103-fwd'), false],
    ]);
    expect(SHIPPED_MODELS.map((m) => m.name)).toContain('en');
  });

  it('is what resolveModelDir does with a name (model and run directories alike)', () => {
    const saved = process.env.ULMFIT_MODELS_DIR;
    process.env.ULMFIT_MODELS_DIR = modelsA;
    try {
      expect(resolveModelDir('tiny')).toBe(join(modelsA, 'tiny'));
      expect(resolveModelDir('run')).toBe(join(modelsA, 'run', 'model-last'));
      expect(() => resolveModelDir('tiny-lm')).toThrow(/no model is named 'tiny-lm'/);
    } finally {
      if (saved === undefined) delete process.env.ULMFIT_MODELS_DIR;
      else process.env.ULMFIT_MODELS_DIR = saved;
    }
  });
});
