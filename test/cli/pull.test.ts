import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HubEntry } from '../../src/hub/catalog.js';
import { readModelDir } from '../../src/io/artifact.js';
import { imdbTgz, wikitext2Tgz, wt103Tgz } from '../hub/archives.js';
import { startFileServer, type FileServer } from '../hub/server.js';
import { expectJsonOutput } from '../support/json-output.js';
import { runInProcess } from '../support/in-process.js';

// imdb's published checks replaced by those of the small imdb.tgz served here (test/hub/pull.test.ts
// shows the real checks rejecting other bytes).
const testChecks = vi.hoisted(() => new Map<string, { bytes: number; md5First1MiB: string }>());
vi.mock('../../src/hub/catalog.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/hub/catalog.js')>();
  const withChecks = <T extends HubEntry>(entry: T): T => ({ ...entry, ...testChecks.get(entry.name) });
  return {
    ...real,
    findHubEntry: (name: string) => {
      const entry = real.findHubEntry(name);
      return entry && withChecks(entry);
    },
    get HUB_DATASETS() {
      return real.HUB_DATASETS.map(withChecks);
    },
  };
});

let server: FileServer;
let root: string;
let home: string;

beforeAll(async () => {
  const imdb = await imdbTgz();
  const wikitext = await wikitext2Tgz();
  const checks = (bytes: Uint8Array) => ({
    bytes: bytes.length,
    md5First1MiB: createHash('md5')
      .update(bytes.subarray(0, 2 ** 20))
      .digest('hex'),
  });
  testChecks.set('imdb', checks(imdb));
  testChecks.set('wikitext-2', checks(wikitext));
  server = await startFileServer({
    'wt103-fwd.tgz': await wt103Tgz('wt103-fwd'),
    'imdb.tgz': imdb,
    'wikitext-2.tgz': wikitext,
  });
  root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-pull-'));
  home = join(root, 'home');
  vi.stubEnv('ULMFIT_HOME', home);
  vi.stubEnv('ULMFIT_MIRROR', server.url);
  vi.stubEnv('ULMFIT_OFFLINE', '');
  vi.stubEnv('ULMFIT_CACHE_DIR', join(root, 'corpus-cache'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const run = runInProcess;

const TINY = ['--bs', '2', '--bptt', '8', '--backend', 'wasm', '--workers', '0', '--seed', '3', '--quiet'];

describe('ulmfit pull and names on the commands', () => {
  it('offline, a name not cached is one line naming the URL and import-fastai, exit 1, no request', async () => {
    const { code, stdout, stderr } = await run(
      '--offline',
      'finetune-lm',
      'imdb_sample',
      '--pretrained',
      'wt103',
      '--out',
      join(root, 'x'),
    );
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(
      new RegExp(
        `^error \\[E_OFFLINE\\]: wt103-fwd is not in the cache .* it comes from ${server.url}/wt103-fwd.tgz \\(.*ulmfit import-fastai`,
      ),
    );
    expect(server.requests).toHaveLength(0);
  });

  it('models lists the pullable names as not cached, with the download size', async () => {
    const { code, stdout } = await run('models');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines.find((l) => l.startsWith('wt103-fwd '))).toMatch(
      /^wt103-fwd\s+not cached\s+-\s+\S+wt103-fwd\s+fastai's AWD-LSTM pretrained on WikiText-103/,
    );
    expect(lines.find((l) => l.startsWith('ag_news '))).toMatch(
      /^ag_news\s+not cached\s+11\.8 MB download\s+\S+ag_news\s+dataset: AG News/,
    );
  });

  it('pull --json fetches, then reports the cache hit', async () => {
    const first = await run('pull', 'wt103', '--json');
    // a note on stderr; no progress bar, since stderr is not a terminal here
    expect(first.stderr).toBe(`pulling wt103-fwd from ${server.url}/wt103-fwd.tgz\n`);
    expect(first.code).toBe(0);
    expect(expectJsonOutput('pull', first.stdout)[0]).toMatchObject({
      name: 'wt103-fwd',
      kind: 'model',
      status: 'downloaded',
      dir: join(home, 'models', 'wt103-fwd'),
    });
    const second = await run('pull', 'wt103');
    expect(second.stdout).toBe(
      `wt103-fwd (model): already in the cache → ${join(home, 'models', 'wt103-fwd')}\n`,
    );
    const listed = await run('models', '--json');
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.find((m) => m.name === 'wt103')).toMatchObject({
      installed: true,
      source: 'cache',
      kind: 'lm',
      emb: 4,
      vocab: 8,
    });
    expect(rows.find((m) => m.name === 'imdb')).toMatchObject({
      installed: false,
      kind: 'dataset',
      url: `${server.url}/imdb.tgz`,
    });
  });

  it('a dataset name is an input: finetune-lm imdb --pretrained wt103, then train-classifier imdb', async () => {
    const lmRun = join(root, 'imdb-lm');
    const lm = await run(
      'finetune-lm',
      'imdb',
      '--pretrained',
      'wt103',
      '--out',
      lmRun,
      '--epochs',
      '1',
      '--schedule',
      '1@1e-2',
      ...TINY,
    );
    expect(lm.stderr).toBe('');
    expect(lm.code).toBe(0);
    expect(existsSync(join(home, 'datasets', 'imdb', 'unsup'))).toBe(true);
    // the LM read all of imdb: train/, test/ and unsup/ (8 documents)
    const lmConfig = JSON.parse(readFileSync(join(lmRun, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(lmConfig)).toContain(join(home, 'datasets', 'imdb'));

    const clasRun = join(root, 'imdb-clas');
    const clas = await run(
      'train-classifier',
      'imdb',
      '--lm',
      lmRun,
      '--out',
      clasRun,
      '--schedule',
      '-1:1@2e-2',
      '--max-len',
      '64',
      '--no-baseline',
      '--json',
      ...TINY,
    );
    expect(clas.stderr).toBe('');
    expect(clas.code).toBe(0);
    const result = expectJsonOutput('train-classifier', clas.stdout)[0] as {
      labels: string[];
      train_docs: number;
      valid_docs: number;
    };
    // unsup/ left out, test/ is the validation split: 4 training and 2 validation reviews
    expect(result).toMatchObject({ labels: ['neg', 'pos'], train_docs: 4, valid_docs: 2 });
    expect(readModelDir(join(clasRun, 'model-best'), { weights: false }).labels).toEqual(['neg', 'pos']);
    expect(server.requests.filter((r) => r.path === 'imdb.tgz')).toHaveLength(1); // pulled once, then cached
  });

  it('a language-model dataset: evaluate reads its test text; train-classifier refuses it (no labels)', async () => {
    const evaluated = await run(
      'evaluate',
      'wikitext-2',
      '--model',
      'wt103',
      '--json',
      '--backend',
      'wasm',
      '--bs',
      '1',
      '--bptt',
      '4',
    );
    expect(evaluated.stderr).toMatch(/^pulling wikitext-2 from http:\S+\/wikitext-2.tgz \(\d+ B\)\n$/);
    expect(evaluated.code).toBe(0);
    expect(expectJsonOutput('evaluate', evaluated.stdout)[0]).toMatchObject({
      model: 'wt103',
      vocab_size: 8,
    });
    expect(readFileSync(join(home, 'datasets', 'wikitext-2', 'train.jsonl'), 'utf8')).toBe(
      JSON.stringify({ text: ' = Cats = \n The cat sat on the mat . \n' }) +
        '\n' +
        JSON.stringify({ text: ' = Dogs = \n A dog ran . \n' }) +
        '\n',
    );
    const clas = await run('train-classifier', 'wikitext-2', '--lm', 'wt103', '--out', join(root, 'wt-clas'));
    expect(clas.code).toBe(2);
    expect(clas.stderr).toBe(
      'error [E_USAGE]: wikitext-2 has no labels: it is a language-model dataset (use it with finetune-lm, pretrain or evaluate; a classifier needs labeled data (e.g. imdb, ag_news))\n',
    );
  });
});
