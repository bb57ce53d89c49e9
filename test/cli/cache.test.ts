import { existsSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tokenizeCorpus } from '../../src/text/pipeline.js';
import { runInProcess } from '../support/in-process.js';

const run = runInProcess;

describe('ulmfit cache', () => {
  it('ls lists entries with size, last use and shape; clear --older-than and clear remove them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-cache-'));
    const dir = join(root, 'cache');
    const input = join(root, 'a.txt');
    writeFileSync(input, 'the cat sat on the mat.\n');
    const entry = (await tokenizeCorpus([input], { workers: 0, minFreq: 1, cacheDir: dir })).dir;

    const ls = await run('cache', 'ls', '--cache-dir', dir);
    expect(ls.code).toBe(0);
    const [head, row] = ls.stdout.trim().split('\n');
    expect(head).toMatch(new RegExp(`^${dir}: 1 corpus entry, [\\d.]+ kB$`));
    expect(row).toMatch(
      /^corpus-[0-9a-f]{32} +[\d.]+ kB {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}1 docs, \d+ tokens, vocab \d+ {2}.*a\.txt$/,
    );
    const json = await run('cache', 'ls', '--cache-dir', dir, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ path: entry, docs: 1, inputs: [input] });

    utimesSync(entry, new Date(Date.now() - 3 * 86_400_000), new Date(Date.now() - 3 * 86_400_000));
    const kept = await run('cache', 'clear', '--older-than', '7', '--cache-dir', dir);
    expect(kept.stdout).toMatch(/^removed 0 corpus entries last used more than 7 days ago \(0 B\)/);
    expect(existsSync(entry)).toBe(true);
    const cleared = await run('cache', 'clear', '--cache-dir', dir, '--json');
    expect(JSON.parse(cleared.stdout)).toMatchObject({
      cache_dir: dir,
      removed: [{ path: entry }],
      busy: [],
    });
    expect(existsSync(entry)).toBe(false);
    expect((await run('cache', 'ls', '--cache-dir', dir)).stdout).toBe(`${dir}: 0 corpus entries, 0 B\n`);
  });

  it('an unknown action or a negative age is a usage error', async () => {
    expect((await run('cache', 'purge')).code).toBe(2);
    expect((await run('cache', 'clear', '--older-than', '-1')).code).toBe(2);
  });
});
