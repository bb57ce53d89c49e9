import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clearCache, defaultCacheDir, listCacheEntries } from '../../src/text/corpus-cache.js';
import { tokenizeCorpus } from '../../src/text/pipeline.js';

function textFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('the corpus cache', () => {
  it('lives in the user cache directory: $ULMFIT_CACHE_DIR, else $ULMFIT_HOME/corpora, $XDG_CACHE_HOME/ulmfit/corpora, ~/.cache/ulmfit/corpora', () => {
    expect(defaultCacheDir({ ULMFIT_CACHE_DIR: '/c', ULMFIT_HOME: '/h' })).toBe('/c');
    expect(defaultCacheDir({ ULMFIT_HOME: '/h', XDG_CACHE_HOME: '/x' })).toBe('/h/corpora');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/ulmfit/corpora');
    expect(defaultCacheDir({})).toBe(join(homedir(), '.cache', 'ulmfit', 'corpora'));
  });

  it('training inputs are cached there (not in the working directory); ls lists them, newest use first', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ulmfit-cache-'));
    const home = join(root, 'home');
    const a = textFile(root, 'a.txt', 'the cat sat on the mat.\nthe dog ran.\n');
    const b = textFile(root, 'b.txt', 'a bird sang in a tree.\n');
    const saved = process.env.ULMFIT_HOME;
    const savedDir = process.env.ULMFIT_CACHE_DIR;
    process.env.ULMFIT_HOME = home;
    delete process.env.ULMFIT_CACHE_DIR;
    try {
      const first = await tokenizeCorpus([a], { workers: 0, minFreq: 1, lineDocs: true });
      await tokenizeCorpus([b], { workers: 0, minFreq: 1 });
      expect(first.dir.startsWith(join(home, 'corpora', 'corpus-'))).toBe(true);
      // An old entry, then used again: the hit makes it the newest.
      utimesSync(first.dir, new Date('2020-01-01'), new Date('2020-01-01'));
      expect(listCacheEntries()[1]!.path).toBe(first.dir);
      const again = await tokenizeCorpus([a], { workers: 0, minFreq: 1, lineDocs: true });
      expect(again.hit).toBe(true);
      const entries = listCacheEntries();
      expect(entries.map((e) => e.path)).toEqual([first.dir, entries[1]!.path]);
      expect(entries[0]).toMatchObject({ docs: 2, inputs: [a] });
      expect(entries[0]!.bytes).toBeGreaterThan(0);
      expect(listCacheEntries(join(root, 'nowhere'))).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.ULMFIT_HOME;
      else process.env.ULMFIT_HOME = saved;
      if (savedDir !== undefined) process.env.ULMFIT_CACHE_DIR = savedDir;
    }
  });

  it('clear removes entries last used before a cutoff, or all; one another process writes stays', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ulmfit-cache-clear-'));
    const dir = join(root, 'cache');
    const made: string[] = [];
    for (const [i, text] of ['one two three.\n', 'four five six.\n', 'seven eight.\n'].entries()) {
      made.push(
        (await tokenizeCorpus([textFile(root, `${i}.txt`, text)], { workers: 0, minFreq: 1, cacheDir: dir }))
          .dir,
      );
    }
    const now = new Date('2030-06-30T00:00:00Z');
    utimesSync(made[0]!, new Date('2030-01-01'), new Date('2030-01-01')); // 180 days before `now`
    utimesSync(made[1]!, new Date('2030-06-25'), new Date('2030-06-25')); // 5 days
    utimesSync(made[2]!, new Date('2030-06-29'), new Date('2030-06-29'));
    const old = clearCache(dir, { olderThanDays: 30, now });
    expect(old.removed.map((e) => e.path)).toEqual([made[0]]);
    expect(old.bytes).toBe(old.removed[0]!.bytes);
    expect(existsSync(made[0]!)).toBe(false);

    // A live process holds the lock of one entry: it is left alone.
    writeFileSync(
      `${made[1]}.lock`,
      JSON.stringify({ pid: process.pid, host: hostname(), command: 'tokenize', since: 'now' }),
    );
    mkdirSync(join(dir, 'corpus-abc.tmp-999999999'));
    const all = clearCache(dir, { now });
    expect(all.removed.map((e) => e.path)).toEqual([made[2]]);
    expect(all.busy.map((e) => e.path)).toEqual([made[1]]);
    expect(readdirSync(dir).sort()).toEqual([
      made[1]!.split('/').at(-1),
      `${made[1]!.split('/').at(-1)}.lock`,
    ]);
  });
});
