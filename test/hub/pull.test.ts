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
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import type { HubEntry } from '../../src/hub/catalog.js';
import { download } from '../../src/hub/download.js';
import { withLock } from '../../src/hub/lock.js';
import { readModelDir } from '../../src/io/artifact.js';
import { resolveModelRef } from '../../src/io/model-names.js';
import { pull, type PullOptions } from '../../src/tasks/pull.js';
import { runProcess } from '../support/process.js';
import { agNewsTgz, imdbTgz, wt103Tgz } from './archives.js';
import { startFileServer, type FileServer } from './server.js';

// The real catalog, with the checks of some datasets replaced by those of the small archives
// served here (fastai's real sizes and MD5s would reject them, as they should).
const testChecks = vi.hoisted(() => new Map<string, { bytes: number; md5First1MiB: string }>());
vi.mock('../../src/hub/catalog.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/hub/catalog.js')>();
  const withChecks = <T extends HubEntry>(entry: T): T => {
    const checks = testChecks.get(entry.name);
    return checks ? { ...entry, ...checks } : entry;
  };
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

const md5First1MiB = (bytes: Uint8Array): string =>
  createHash('md5')
    .update(bytes.subarray(0, 2 ** 20))
    .digest('hex');

let server: FileServer;
let root: string;
let home: string;
let env: NodeJS.ProcessEnv;
let archives: Record<string, Uint8Array>;
const FAST: PullOptions = { retryDelayMs: 10, idleTimeoutMs: 5000 };

beforeAll(async () => {
  archives = {
    'wt103-fwd.tgz': await wt103Tgz('wt103-fwd'),
    'wt103-bwd.tgz': await wt103Tgz('wt103-bwd'),
    'imdb.tgz': await imdbTgz(),
    'ag_news_csv.tgz': await agNewsTgz(),
  };
  testChecks.set('imdb', {
    bytes: archives['imdb.tgz']!.length,
    md5First1MiB: md5First1MiB(archives['imdb.tgz']!),
  });
  testChecks.set('ag_news', {
    bytes: archives['ag_news_csv.tgz']!.length,
    md5First1MiB: md5First1MiB(archives['ag_news_csv.tgz']!),
  });
});

beforeEach(async () => {
  server = await startFileServer(archives);
  root = mkdtempSync(join(tmpdir(), 'ulmfit-pull-'));
  home = join(root, 'home');
  env = { ULMFIT_HOME: home, ULMFIT_MIRROR: server.url };
});

afterEach(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

/** The UlmfitError a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<UlmfitError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(UlmfitError);
    return err as UlmfitError;
  }
  throw new Error('expected a rejection');
}

/** Every file and folder left under the cache, relative. */
function leftInCache(): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      out.push(prefix + name.name);
      if (name.isDirectory()) walk(join(dir, name.name), `${prefix}${name.name}/`);
    }
  };
  walk(home, '');
  return out;
}

describe('pull a model', () => {
  it('downloads from the mirror, imports once into the cache, and is a cache hit after', async () => {
    const first = await pull('wt103', { ...FAST, env });
    expect(first).toMatchObject({
      name: 'wt103-fwd',
      kind: 'model',
      status: 'downloaded',
      dir: join(home, 'models', 'wt103-fwd'),
      url: `${server.url}/wt103-fwd.tgz`,
    });
    expect(server.requests.map((r) => r.path)).toEqual(['wt103-fwd.tgz']);
    const model = readModelDir(first.dir, { kind: ['lm'] });
    expect(model.meta.arch).toMatchObject({ emb_sz: 4, n_hid: 6, n_layers: 2 });
    expect(model.meta.backwards).toBe(false);
    expect(model.vocab).toEqual(['xxunk', 'xxpad', 'xxbos', 'xxeos', 'the', '.', 'a', 'cat']);
    // the archive and the unpacked files are gone: only the model, an empty downloads/ and locks/
    expect(leftInCache().filter((p) => !p.startsWith('models/wt103-fwd/'))).toEqual([
      'downloads',
      'locks',
      'models',
      'models/wt103-fwd',
    ]);

    const again = await pull('wt103-fwd', { ...FAST, env });
    expect(again.status).toBe('cache');
    expect(server.requests).toHaveLength(1);
    // the name now resolves wherever a model directory is accepted
    expect(resolveModelRef('wt103', { env })).toBe(first.dir);
    expect(resolveModelRef('wt103-fwd', { env })).toBe(first.dir);
  });

  it('wt103-bwd is imported as a backwards model', async () => {
    const result = await pull('wt103-bwd', { ...FAST, env });
    expect(readModelDir(result.dir, { weights: false }).meta.backwards).toBe(true);
  });

  it('offline (--offline or ULMFIT_OFFLINE=1): one line naming the URL and import-fastai, no request', async () => {
    for (const [options, extraEnv] of [
      [{ offline: true }, {}],
      [{}, { ULMFIT_OFFLINE: '1' }],
    ] as const) {
      const err = await rejection(pull('wt103', { ...FAST, ...options, env: { ...env, ...extraEnv } }));
      expect(err.code).toBe('E_OFFLINE');
      expect(err.toLine()).not.toContain('\n');
      expect(err.toLine()).toContain(`${server.url}/wt103-fwd.tgz`);
      expect(err.toLine()).toMatch(/ulmfit import-fastai <its \.pth> <its \.pkl> --out .*wt103-fwd/);
    }
    expect(server.requests).toHaveLength(0);
    // a cached model needs no network
    await pull('wt103', { ...FAST, env });
    expect((await pull('wt103', { ...FAST, offline: true, env })).status).toBe('cache');
  });

  it('a name never pulled is named by resolveModelRef with the pull command', () => {
    let line = '';
    try {
      resolveModelRef('wt103-bwd', { env });
    } catch (err) {
      line = (err as UlmfitError).toLine();
    }
    expect(line).toMatch(
      /^error \[E_INPUT_MISSING\]: model 'wt103-bwd' has not been pulled into .*run ulmfit pull wt103-bwd \(it downloads http:/,
    );
  });

  it('resumes with an HTTP Range request after the server cuts the connection mid-body', async () => {
    const size = archives['wt103-fwd.tgz']!.length;
    server.cutNext(1, 1000);
    const notes: string[] = [];
    const result = await pull('wt103', { ...FAST, env, onInfo: (m) => notes.push(m) });
    expect(result.status).toBe('downloaded');
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]!.headers.range).toBeUndefined();
    expect(server.requests[1]!.headers.range).toBe('bytes=1000-');
    expect(notes.some((n) => /broke after 1000 bytes.*retrying/.test(n))).toBe(true);
    expect(size).toBeGreaterThan(1000);
    readModelDir(result.dir, { kind: ['lm'] });
  });

  it('gives up after the bounded retries, keeping the .part to resume from', async () => {
    server.cutNext(3, 500);
    const err = await rejection(pull('wt103', { ...FAST, retries: 2, env }));
    expect(err.code).toBe('E_DOWNLOAD');
    expect(err.message).toMatch(/failed 3 times/);
    expect(server.requests).toHaveLength(3);
    expect(existsSync(join(home, 'models', 'wt103-fwd'))).toBe(false);
    expect(readFileSync(join(home, 'downloads', 'wt103-fwd.tgz.part')).length).toBe(500 * 3); // each attempt appended
    // the next run resumes from there and finishes
    const result = await pull('wt103', { ...FAST, env });
    expect(server.requests.at(-1)!.headers.range).toBe('bytes=1500-');
    readModelDir(result.dir, { kind: ['lm'] });
  });

  it('404 fails at once (no retries) and leaves nothing', async () => {
    server.files.delete('wt103-fwd.tgz');
    const err = await rejection(pull('wt103', { ...FAST, env }));
    expect(err.code).toBe('E_DOWNLOAD');
    expect(err.message).toBe(`${server.url}/wt103-fwd.tgz answered HTTP 404 Not Found`);
    expect(server.requests).toHaveLength(1);
    expect(leftInCache()).toEqual(['downloads', 'locks']);
  });

  it('a corrupt archive is rejected and nothing is left in place', async () => {
    const good = archives['wt103-fwd.tgz']!;
    server.files.set('wt103-fwd.tgz', good.subarray(0, Math.floor(good.length / 2))); // truncated gzip
    const err = await rejection(pull('wt103', { ...FAST, env }));
    expect(err.code).toBe('E_DOWNLOAD');
    expect(err.message).toMatch(/is not a readable \.tgz archive/);
    expect(leftInCache()).toEqual(['downloads', 'locks']);
    server.files.set('wt103-fwd.tgz', new TextEncoder().encode('<html>not an archive</html>'));
    expect((await rejection(pull('wt103', { ...FAST, env }))).code).toBe('E_DOWNLOAD');
    expect(leftInCache()).toEqual(['downloads', 'locks']);
  });

  it('an unknown name is a usage error with the nearest name', async () => {
    const err = await rejection(pull('wt13', { ...FAST, env }));
    expect(err.code).toBe('E_USAGE');
    expect(err.message).toBe("nothing is named 'wt13': did you mean 'wt103'?");
    expect(err.hint).toMatch(/^names: .*\ben\b.*\bimdb\b.*\bwt103-bwd\b/);
  });

  it('two processes pulling one name both succeed and leave one intact copy', async () => {
    server.throttle(512, 20); // slow enough that the second process finds the lock held
    const child = join(import.meta.dirname, 'pull-child.ts');
    const viteNode = join(import.meta.dirname, '../../node_modules/vite-node/vite-node.mjs');
    const both = await Promise.all(
      [0, 1].map(() => runProcess(process.execPath, [viteNode, child, 'wt103'], { env })),
    );
    for (const run of both) expect(run.stderr, run.stderr).toBe('');
    expect(both.map((r) => r.code)).toEqual([0, 0]);
    const statuses = both.map((r) => (JSON.parse(r.stdout) as { status: string }).status).sort();
    expect(statuses).toEqual(['cache', 'downloaded']);
    expect(server.requests.filter((r) => r.path === 'wt103-fwd.tgz')).toHaveLength(1);
    readModelDir(join(home, 'models', 'wt103-fwd'), { kind: ['lm'] });
    expect(leftInCache().filter((p) => !p.startsWith('models/wt103-fwd/'))).toEqual([
      'downloads',
      'locks',
      'models',
      'models/wt103-fwd',
    ]);
  });
});

describe('pull a dataset', () => {
  it('imdb: checked against its size and MD5, unpacked in its folder layout', async () => {
    const result = await pull('imdb', { ...FAST, env });
    expect(result).toMatchObject({
      kind: 'dataset',
      status: 'downloaded',
      dir: join(home, 'datasets', 'imdb'),
    });
    expect(readdirSync(result.dir).sort()).toEqual(['README', 'test', 'train', 'unsup']);
    expect(readdirSync(join(result.dir, 'train')).sort()).toEqual(['neg', 'pos']);
  });

  it('an MD5 mismatch is rejected and nothing is left in place', async () => {
    const good = archives['imdb.tgz']!;
    const bad = Uint8Array.from(good);
    bad[100] = bad[100]! ^ 0xff; // same size, other bytes
    server.files.set('imdb.tgz', bad);
    const err = await rejection(pull('imdb', { ...FAST, env }));
    expect(err.code).toBe('E_DOWNLOAD');
    expect(err.message).toMatch(
      /the MD5 of its first MiB is [0-9a-f]{32}, fastai publishes [0-9a-f]{32}; the file was removed/,
    );
    expect(leftInCache()).toEqual(['downloads', 'locks']);
  });

  it('a size other than the published one is rejected before the body is read', async () => {
    server.files.set('imdb.tgz', archives['imdb.tgz']!.subarray(1));
    const err = await rejection(pull('imdb', { ...FAST, env }));
    expect(err.message).toMatch(/serves \d+ bytes but fastai publishes \d+ for it/);
    expect(leftInCache()).toEqual(['downloads', 'locks']);
  });

  it('ag_news: headerless CSVs become JSONL with class names from classes.txt', async () => {
    const result = await pull('ag_news', { ...FAST, env });
    expect(readdirSync(result.dir).sort()).toEqual(['classes.txt', 'test.jsonl', 'train.jsonl']);
    const rows = readFileSync(join(result.dir, 'train.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(rows).toEqual([
      { text: 'Stocks rise\n\nMarkets closed higher,\nled by banks.', label: 'Business' },
      { text: 'Cup final\n\nThe home side won "easily".', label: 'Sports' },
    ]);
  });
});

describe('download and lock details', () => {
  it('a known size larger than the free disk space is E_DISK_FULL before any request', async () => {
    const err = await rejection(
      download({ url: `${server.url}/wt103-fwd.tgz`, dest: join(root, 'x.tgz'), bytes: 1e16 }),
    );
    expect(err.code).toBe('E_DISK_FULL');
    expect(err.message).toMatch(/has [\d.]+ MB free but the download needs [\d.]+ MB/);
    expect(server.requests).toHaveLength(0);
  });

  it('a lock left by a dead process is taken over', async () => {
    const lock = join(root, 'locks', 'x.lock');
    mkdirSync(join(root, 'locks'));
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), since: 'then' })); // no such pid
    expect(await withLock(lock, async () => 'ran', { pollMs: 10 })).toBe('ran');
    expect(existsSync(lock)).toBe(false);
  });
});

afterAll(() => vi.restoreAllMocks());
