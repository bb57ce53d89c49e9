import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCorpus } from '../../src/text/corpus.js';
import { tokenizeCorpus } from '../../src/text/pipeline.js';
import { oneLine } from '../../src/cli/tokenize.js';
import { runUlmfit, type ProcessResult } from '../support/process.js';
import { expectJsonOutput } from '../support/json-output.js';

// The real CLI, as users run it: bin/ulmfit.js → dist/ (npm test builds first). Spawned
// asynchronously so the test worker's event loop stays free while the CLI runs.
function ulmfit(args: string[], input?: string, env: Record<string, string> = {}): Promise<ProcessResult> {
  return runUlmfit(args, {
    env: { ULMFIT_CACHE_DIR: cacheDir, ...env },
    ...(input !== undefined ? { input } : {}),
  });
}

const cacheDir = mkdtempSync(join(tmpdir(), 'ulmfit-cli-cache-'));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ulmfit-cli-'));
}

describe('ulmfit tokenize', async () => {
  it('is a Unix filter: the printf example', async () => {
    const run = await ulmfit(['tokenize', '-'], 'I LOVED it!!!!\n');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('xxbos i xxup loved it xxrep 4 !\n');
    // stdin gets one thread by default (its size is unknown; a filter's input is mostly small)
    expect(run.stderr).toMatch(
      /^tokenized 1 docs, 8 tokens, 8 distinct, vocab 16, unknown 62\.50%, [\d.]+s\n$/,
    );
    const threaded = await ulmfit(['tokenize', '-', '--workers', '2'], 'I LOVED it!!!!\n');
    expect(threaded.stdout).toBe(run.stdout);
    expect(threaded.stderr).toMatch(/, [\d.]+s on 2 worker threads\n$/);
  });

  it('prints one line per document in input order, JSON lines with --json, nothing else with --quiet', async () => {
    const input = 'First doc.\n\nSecond doc...\n';
    const plain = await ulmfit(['tokenize', '-', '--quiet', '--workers', '2'], input);
    expect(plain.stdout).toBe('xxbos xxmaj first doc .\nxxbos xxmaj second doc …\n');
    expect(plain.stderr).toBe('');
    const json = await ulmfit(['tokenize', '-', '--json', '--quiet', '--no-rules'], input);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([{ tokens: ['First', 'doc', '.'] }, { tokens: ['Second', 'doc', '...'] }]);
    const csv = await ulmfit(['tokenize', 'fixtures/inputs/reviews.csv', '--json', '--quiet', '--no-cache']);
    const rows = csv.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tokens: string[]; label: string });
    expect(rows[0]).toEqual({ tokens: ['xxbos', 'xxmaj', 'loved', 'it', ',', 'truly', '.'], label: 'pos' });
    // A newline inside a document is a token; plain output keeps one line per document.
    expect(rows[1]!.tokens).toContain('\n');
    expect(oneLine(rows[1]!.tokens)).toBe('xxbos xxmaj two lines , \\n one review .');
  });

  it('prints ids with --ids (vocab built from the input, min-freq applied)', async () => {
    const run = await ulmfit(['tokenize', '-', '--ids', '--quiet', '--min-freq', '2'], 'a b\na c\n');
    expect(run.code).toBe(0);
    // vocab: 9 specials, then 'a' (count 2) at 9; b and c are unknown (0).
    expect(run.stdout).toBe('2 9 0\n2 9 0\n');
  });

  it('writes a corpus directory with --out, hitting the cache on the second run', async () => {
    const out = join(tmp(), 'imdb-tok');
    const first = await ulmfit(['tokenize', 'fixtures/inputs/imdb-mini', '--out', out, '--min-freq', '1']);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('');
    expect(first.stderr).toContain(`→ ${out}`);
    // The cache entry it linked from lives under $ULMFIT_CACHE_DIR.
    const entries = readdirSync(cacheDir).filter((n) => n.startsWith('corpus-'));
    const inputsOf = (n: string) =>
      (JSON.parse(readFileSync(join(cacheDir, n, 'meta.json'), 'utf8')) as { inputs: string[] }).inputs;
    expect(entries.map(inputsOf)).toContainEqual(['fixtures/inputs/imdb-mini']);
    const corpus = openCorpus(out);
    expect(corpus.numDocs).toBe(7);
    expect(corpus.labels!.names).toEqual(['neg', 'pos', 'unsup']);
    corpus.close();
    const refused = await ulmfit(['tokenize', 'fixtures/inputs/imdb-mini', '--out', out, '--min-freq', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `error [E_OUT_EXISTS]: ${out} exists and is not empty (pass --overwrite, or choose another --out)\n`,
    );
    const second = await ulmfit([
      'tokenize',
      'fixtures/inputs/imdb-mini',
      '--out',
      out,
      '--min-freq',
      '1',
      '--overwrite',
      '--json',
    ]);
    expect(second.code).toBe(0);
    expect(expectJsonOutput('tokenize (corpus)', second.stdout)[0]).toMatchObject({
      dir: out,
      cache_hit: true,
      num_docs: 7,
    });
    expect(second.stderr).toContain('(cache hit)');
  });

  it('reuses a vocab from a corpus or model directory with --vocab', async () => {
    const lm = join(tmp(), 'lm');
    await tokenizeCorpus(['fixtures/inputs/imdb-mini'], { out: lm, minFreq: 1, noCache: true, workers: 0 });
    const run = await ulmfit(['tokenize', '-', '--ids', '--quiet', '--vocab', lm], 'Terrible zyzzyva\n');
    const itos = JSON.parse(readFileSync(join(lm, 'vocab.json'), 'utf8')) as string[];
    expect(
      run.stdout
        .trim()
        .split(' ')
        .map((id) => itos[Number(id)]),
    ).toEqual(['xxbos', 'xxmaj', 'terrible', 'xxunk']);
  });

  it('warns about skipped binary files on stderr and goes on', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a.txt'), 'Hello there');
    writeFileSync(join(dir, 'b.txt'), Buffer.from([0, 1, 2, 3]));
    const run = await ulmfit(['tokenize', dir, '--no-cache']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('xxbos xxmaj hello there\n');
    expect(run.stderr.split('\n')[0]).toBe(`warning: skipped binary file ${join(dir, 'b.txt')}`);
  });

  it('exits 1 with one line and no stack trace for bad input', async () => {
    const dir = tmp();
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"text": "ok"}\n{oops\n');
    const cases: [string[], string][] = [
      [
        ['tokenize', 'no/such/file.txt'],
        'error [E_INPUT_MISSING]: no such file or folder: no/such/file.txt (check the path)\n',
      ],
      [
        ['tokenize', bad, '--workers', '0'],
        `error [E_INPUT_FORMAT]: ${bad}:2 is not valid JSON (each line of a .jsonl file must be one JSON object)\n`,
      ],
      [
        ['tokenize', 'fixtures/inputs/latin1.txt', '--workers', '0'],
        'error [E_INPUT_ENCODING]: fixtures/inputs/latin1.txt: invalid UTF-8 at byte 7 (convert the file to UTF-8, or pass --encoding latin1 if it is Latin-1)\n',
      ],
      [
        ['tokenize', 'fixtures/inputs/reviews.csv', '--text-col', 'body', '--workers', '0'],
        "error [E_INPUT_FORMAT]: fixtures/inputs/reviews.csv has no column 'body' (columns: id, label, text) (pass --text-col with one of those names or a 0-based index)\n",
      ],
    ];
    const runs = await Promise.all(cases.map(([args]) => ulmfit(args)));
    for (const [i, [args, stderr]] of cases.entries()) {
      const run = runs[i]!;
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr).toBe(stderr);
      expect(run.stdout).toBe('');
    }
    const empty = await ulmfit(['tokenize', '-', '--workers', '0'], '\n  \n');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(
      'error [E_INPUT_EMPTY]: no documents in - (2 empty skipped) (give inputs with some text)\n',
    );
    const latin1 = await ulmfit([
      'tokenize',
      'fixtures/inputs/latin1.txt',
      '--encoding',
      'latin1',
      '--quiet',
      '--workers',
      '0',
    ]);
    expect(latin1.stdout).toBe('xxbos xxmaj the café is xxmaj latin-1 .\n');
  });

  it('exits 2 for usage errors', async () => {
    const cases = [['tokenize'], ['tokenize', '-', '--workers', 'many'], ['tokenize', '-', '--bogus']];
    const runs = await Promise.all(cases.map((args) => ulmfit(args, 'x\n')));
    for (const [i, run] of runs.entries()) {
      expect(run.code, cases[i]!.join(' ')).toBe(2);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    const enc = await ulmfit(['tokenize', '-', '--encoding', 'utf16'], 'x\n');
    expect(enc.code).toBe(2);
    expect(enc.stderr).toBe('error [E_USAGE]: --encoding must be utf8 or latin1, got utf16\n');
  });
});
