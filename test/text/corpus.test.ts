import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
  cpSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import { compareCodePoints, CorpusWriter, openCorpus } from '../../src/text/corpus.js';
import {
  corpusCacheKey,
  loadGivenVocab,
  TokenStream,
  tokenizeCorpus,
  type TokenizeCorpusOptions,
} from '../../src/text/pipeline.js';
import { resolveInputs } from '../../src/data/sources.js';
import { defaultTokenizerSettings } from '../../src/text/settings.js';
import { Vocab } from '../../src/text/vocab.js';

const IMDB = 'fixtures/inputs/imdb-mini';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ulmfit-corpus-'));
}

/** A copy of the imdb-mini fixture that a test may modify. */
function imdbCopy(): string {
  const dir = join(tmp(), 'imdb');
  cpSync(IMDB, dir, { recursive: true });
  return dir;
}

async function errorOf(promise: Promise<unknown>): Promise<UlmfitError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof UlmfitError) return err;
    throw err;
  }
  throw new Error('expected a UlmfitError');
}

describe('CorpusWriter / openCorpus', () => {
  it('round-trips ids, offsets, labels (sorted), splits, vocab, counts and settings', async () => {
    const dir = join(tmp(), 'c');
    const writer = await CorpusWriter.create(dir);
    expect(existsSync(`${dir}.tmp-${process.pid}`)).toBe(true);
    // Provisional ids 0..3 → vocab ids through `remap`.
    writer.append(Int32Array.from([0, 1, 2]), Int32Array.from([2, 1]), [
      { label: 'pos', split: 'train' },
      { label: 'neg', split: 'valid' },
    ]);
    writer.append(Int32Array.from([3, 0]), Int32Array.from([2]), [{}]);
    const settings = defaultTokenizerSettings({ addEos: true });
    const itos = ['xxunk', 'xxpad', 'xxbos', 'a', '10', '2'];
    const meta = await writer.finish({
      remap: Int32Array.from([2, 3, 4, 0]),
      itos,
      vocabSha256: 'abc',
      counts: [
        ['xxbos', 2],
        ['a', 1],
        ['10', 1],
        ['2', 1],
      ],
      settings,
      meta: {
        numTypes: 4,
        unknownTokens: 1,
        emptyDocsSkipped: 2,
        warnings: ['w'],
        inputs: ['x'],
        cacheKey: null,
        vocabGiven: false,
        minFreq: 1,
        maxVocab: 10,
      },
    });
    expect(existsSync(`${dir}.tmp-${process.pid}`)).toBe(false);
    expect(meta).toMatchObject({
      numDocs: 3,
      numTokens: 5,
      vocabSize: 6,
      unknownRate: 0.2,
      hasLabels: true,
      hasSplits: true,
    });

    const corpus = openCorpus(dir);
    expect(corpus.numDocs).toBe(3);
    expect(Array.from(corpus.doc(0))).toEqual([2, 3]);
    expect(Array.from(corpus.doc(1))).toEqual([4]);
    expect(Array.from(corpus.doc(2))).toEqual([0, 2]);
    expect(Array.from(corpus.ids())).toEqual([2, 3, 4, 0, 2]);
    expect(corpus.docLength(2)).toBe(2);
    expect(corpus.labels!.names).toEqual(['neg', 'pos']);
    expect(Array.from(corpus.labels!.ids)).toEqual([1, 0, -1]);
    expect(corpus.docsInSplit('train')).toEqual([0]);
    expect(corpus.docsInSplit('valid')).toEqual([1]);
    expect(corpus.vocab.itos).toEqual(itos);
    expect(corpus.settings).toEqual(settings);
    // Integer-like tokens keep their first-seen order (a JSON object would move them first).
    expect([...corpus.counts().keys()]).toEqual(['xxbos', 'a', '10', '2']);
    expect(() => corpus.doc(3)).toThrow(RangeError);
    // ids.bin is little-endian int32.
    const bytes = readFileSync(join(dir, 'ids.bin'));
    expect(bytes.readInt32LE(4)).toBe(3);
    corpus.close();
  });

  it('abort removes the temp directory and leaves no corpus', async () => {
    const dir = join(tmp(), 'c');
    const writer = await CorpusWriter.create(dir);
    writer.append(Int32Array.from([1]), Int32Array.from([1]), [{}]);
    await writer.abort();
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`${dir}.tmp-${process.pid}`)).toBe(false);
  });

  it('refuses a damaged directory with a one-line error', async () => {
    const base = tmp();
    const result = await tokenizeCorpus([IMDB], {
      workers: 0,
      noCache: true,
      out: join(base, 'c'),
      minFreq: 1,
    });
    writeFileSync(join(result.dir, 'ids.bin'), Buffer.alloc(3));
    const err = await errorOf(Promise.resolve().then(() => openCorpus(result.dir)));
    expect(err.message).toContain('ids.bin has the wrong size');
    expect(err.toLine()).not.toContain('\n');
  });

  it('sorts label names by code point like Python', () => {
    expect(['b', 'B', 'é', 'a', '😀', '\uffff'].sort(compareCodePoints)).toEqual([
      'B',
      'a',
      'b',
      'é',
      '\uffff',
      '😀',
    ]);
  });
});

describe('tokenizeCorpus', () => {
  it('tokenizes a folder with labels and splits, and agrees with the tokens printed by TokenStream', async () => {
    const cacheDir = tmp();
    const result = await tokenizeCorpus([IMDB], { workers: 0, cacheDir, minFreq: 1 });
    expect(result.hit).toBe(false);
    const corpus = openCorpus(result.dir);
    expect(corpus.numDocs).toBe(7);
    expect(corpus.labels!.names).toEqual(['neg', 'pos', 'unsup']);
    expect(corpus.docsInSplit('test')).toEqual([0, 1]);
    const stream = new TokenStream([IMDB], { workers: 0 });
    const docs: string[][] = [];
    for await (const batch of stream) for (const d of batch) docs.push(d.tokens);
    expect(docs[0]).toEqual(['xxbos', 'xxmaj', 'terrible', '.']);
    for (let i = 0; i < corpus.numDocs; i++) expect(corpus.vocab.decode(corpus.doc(i))).toEqual(docs[i]);
    expect(stream.stats!.numTokens).toBe(corpus.numTokens);
    expect(corpus.meta.unknownRate).toBe(0);
    corpus.close();
  });

  it('builds the vocab like fastai (min_freq) and counts unknowns', async () => {
    const result = await tokenizeCorpus([IMDB], { workers: 0, noCache: true, out: join(tmp(), 'c') });
    const corpus = openCorpus(result.dir);
    const counts = corpus.counts();
    expect(corpus.vocab.itos).toEqual(Vocab.build(counts, { minFreq: 3 }).itos);
    let unknown = 0;
    for (const [token, n] of counts) if (corpus.vocab.id(token) === 0) unknown += n;
    expect(corpus.meta.unknownTokens).toBe(unknown);
    expect(result.stats.unknownRate).toBeCloseTo(unknown / corpus.numTokens, 12);
    corpus.close();
  });

  it('hits the cache on a second run and misses on any change', async () => {
    const input = imdbCopy();
    const cacheDir = tmp();
    const options: TokenizeCorpusOptions = { workers: 0, cacheDir, minFreq: 1 };
    const first = await tokenizeCorpus([input], options);
    const second = await tokenizeCorpus([input], options);
    expect(first.hit).toBe(false);
    expect(second.hit).toBe(true);
    expect(second.dir).toBe(first.dir);
    expect(second.stats.numTokens).toBe(first.stats.numTokens);

    expect((await tokenizeCorpus([input], { ...options, minFreq: 2 })).hit).toBe(false);
    expect(
      (await tokenizeCorpus([input], { ...options, settings: defaultTokenizerSettings({ addEos: true }) }))
        .hit,
    ).toBe(false);
    expect((await tokenizeCorpus([input], { ...options, folderLabels: false })).hit).toBe(false);
    // Same content, new mtime: a miss (the key is paths + sizes + mtimes, not content).
    const file = join(input, 'train/pos/0_9.txt');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const touched = await tokenizeCorpus([input], options);
    expect(touched.hit).toBe(false);
    writeFileSync(join(input, 'train/pos/2_7.txt'), 'A new review.');
    const added = await tokenizeCorpus([input], options);
    expect(added.hit).toBe(false);
    expect(added.stats.numDocs).toBe(8);
    expect((await tokenizeCorpus([input], options)).hit).toBe(true);
    // A damaged entry (someone deleted a file) is rebuilt, not used and not an error.
    const entry = (await tokenizeCorpus([input], options)).dir;
    writeFileSync(join(entry, 'ids.bin'), '');
    const rebuilt = await tokenizeCorpus([input], options);
    expect(rebuilt.hit).toBe(false);
    expect(openCorpus(rebuilt.dir).numDocs).toBe(8);
  });

  it('never reuses an interrupted write: a failure leaves nothing, a dead process temp dir is replaced', async () => {
    const cacheDir = tmp();
    const dir = tmp();
    const bad = join(dir, 'data.jsonl');
    writeFileSync(bad, '{"text": "one"}\n{"text": "two"}\nnot json\n');
    const err = await errorOf(tokenizeCorpus([bad], { workers: 0, cacheDir }));
    expect(err.message).toBe(`${bad}:3 is not valid JSON`);
    expect(readdirSync(cacheDir)).toEqual([]);

    writeFileSync(bad, '{"text": "one"}\n{"text": "two"}\n');
    const key = corpusCacheKey(await resolveInputs([bad]), {});
    const entry = join(cacheDir, `corpus-${key!.slice(0, 32)}`);
    // A temp dir from a process that died mid-write (a finished child's pid), with junk in it.
    const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    mkdirSync(`${entry}.tmp-${deadPid}`);
    writeFileSync(join(`${entry}.tmp-${deadPid}`, 'meta.json'), '{"junk": true}');
    const result = await tokenizeCorpus([bad], { workers: 0, cacheDir });
    expect(result.hit).toBe(false);
    expect(result.dir).toBe(entry);
    expect(readdirSync(cacheDir)).toEqual([`corpus-${key!.slice(0, 32)}`]);
    expect(openCorpus(entry).numDocs).toBe(2);
  });

  it('writes --out by linking from the cache, refusing a non-empty out without overwrite', async () => {
    const cacheDir = tmp();
    const out = join(tmp(), 'out');
    const result = await tokenizeCorpus([IMDB], { workers: 0, cacheDir, out });
    expect(result.dir).toBe(out);
    expect(openCorpus(out).numDocs).toBe(7);
    const err = await errorOf(tokenizeCorpus([IMDB], { workers: 0, cacheDir, out }));
    expect(err.code).toBe('E_OUT_EXISTS');
    const again = await tokenizeCorpus([IMDB], { workers: 0, cacheDir, out, overwrite: true });
    expect(again.hit).toBe(true);
    expect(readdirSync(join(out, '..'))).toEqual(['out']);
  });

  it('reuses a given vocab (file or directory) instead of building one', async () => {
    const first = await tokenizeCorpus([IMDB], {
      workers: 0,
      noCache: true,
      out: join(tmp(), 'lm'),
      minFreq: 1,
    });
    const fromDir = await loadGivenVocab(first.dir);
    expect(fromDir.settings).toEqual(defaultTokenizerSettings());
    const fromFile = await loadGivenVocab(join(first.dir, 'vocab.json'));
    expect(fromFile.itos).toEqual(fromDir.itos);
    const input = join(tmp(), 'new.txt');
    writeFileSync(input, 'Terrible acting, zyzzyva.');
    const result = await tokenizeCorpus([input], {
      workers: 0,
      noCache: true,
      out: join(tmp(), 'c'),
      vocab: fromFile.itos,
    });
    const corpus = openCorpus(result.dir);
    expect(corpus.vocab.itos).toEqual(fromFile.itos);
    expect(corpus.meta.vocabGiven).toBe(true);
    expect(corpus.vocab.decode(corpus.doc(0))).toEqual([
      'xxbos',
      'xxmaj',
      'terrible',
      'acting',
      ',',
      'xxunk',
      '.',
    ]);
    expect(result.stats.unknownTokens).toBe(1);
    const bad = join(tmp(), 'v.json');
    writeFileSync(bad, '{"a": 1}');
    expect((await errorOf(loadGivenVocab(bad))).message).toContain('is not a JSON array of token strings');
  });

  it('works on stdin without the cache (temporary directory)', async () => {
    const { Readable } = await import('node:stream');
    const result = await tokenizeCorpus(['-'], {
      workers: 0,
      stdin: Readable.from(['I LOVED it!!!!\nok\n']),
      cacheDir: tmp(),
    });
    expect(result.temporary).toBe(true);
    expect(result.cacheKey).toBeNull();
    const corpus = openCorpus(result.dir);
    expect(corpus.vocab.decode(corpus.doc(0))).toEqual([
      'xxbos',
      'xxunk',
      'xxup',
      'xxunk',
      'xxunk',
      'xxrep',
      'xxunk',
      'xxunk',
    ]);
    corpus.close();
  });

  it('rejects bad vocab options as usage errors', async () => {
    expect((await errorOf(tokenizeCorpus([IMDB], { minFreq: 0 }))).code).toBe('E_USAGE');
    expect((await errorOf(tokenizeCorpus([IMDB], { maxVocab: 1.5 }))).code).toBe('E_USAGE');
  });
});
