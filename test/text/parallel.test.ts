import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParallelTokenizer, workerFile } from '../../src/text/parallel.js';
import { tokenizeCorpus } from '../../src/text/pipeline.js';
import { defaultTokenizerSettings } from '../../src/text/settings.js';
import { createTokenizer } from '../../src/text/tokenizer.js';

/** Documents of very different lengths, so chunks finish out of order across workers. */
function documents(): { text: string }[] {
  const words = [
    'The',
    'movie',
    'was',
    'GREAT',
    "isn't",
    'it',
    '?',
    'no',
    'no',
    'no',
    'Dull...',
    'U.S.',
    '$1.00',
  ];
  return Array.from({ length: 300 }, (_, i) => ({
    text:
      Array.from({ length: 1 + ((i * 37) % 97) }, (_, k) => words[(i + k * 7) % words.length]).join(' ') +
      ` doc${i}`,
  }));
}

async function* inBatches<T>(items: T[], size: number): AsyncGenerator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

async function runAll(workers: number, docs: { text: string }[]) {
  const tokenizer = await ParallelTokenizer.create(defaultTokenizerSettings(), { workers, chunkChars: 300 });
  try {
    const out: string[][] = [];
    const origins: { text: string }[] = [];
    for await (const batch of tokenizer.run(inBatches(docs, 7))) {
      let at = 0;
      batch.docs.forEach((doc, i) => {
        const n = batch.lengths[i]!;
        out.push(Array.from(batch.ids.subarray(at, at + n), (id) => tokenizer.types[id]!));
        origins.push(doc);
        at += n;
      });
    }
    return { out, origins, types: [...tokenizer.types], counts: tokenizer.counts(), mode: tokenizer.mode };
  } finally {
    await tokenizer.close();
  }
}

describe('ParallelTokenizer', () => {
  it('finds the compiled worker (npm test builds dist/ first)', () => {
    expect(workerFile(), 'run npm run build first: workers load dist/text/tokenize-worker.js').toBeDefined();
  });

  it('gives the same tokens, order, type ids and counts with 0, 1 or 3 workers', async () => {
    const docs = documents();
    const reference = await createTokenizer(defaultTokenizerSettings());
    const expected = docs.map((d) => reference.tokenize(d.text));
    const inline = await runAll(0, docs);
    expect(inline.mode).toBe('inline');
    expect(inline.out).toEqual(expected);
    expect(inline.origins).toEqual(docs);
    for (const workers of [1, 3]) {
      const threaded = await runAll(workers, docs);
      expect(threaded.mode).toBe('threads');
      expect(threaded.out).toEqual(expected);
      expect(threaded.origins).toEqual(docs);
      // Global ids follow first appearance in input order, whatever the worker count.
      expect(threaded.types).toEqual(inline.types);
      expect([...threaded.counts]).toEqual([...inline.counts]);
    }
    const firstSeen = [...new Set(expected.flat())];
    expect(inline.types).toEqual(firstSeen);
  });

  it('writes byte-identical corpora with and without workers', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ulmfit-parallel-'));
    const a = await tokenizeCorpus(['fixtures/inputs/imdb-mini'], {
      workers: 0,
      noCache: true,
      out: join(base, 'a'),
      minFreq: 1,
    });
    const b = await tokenizeCorpus(['fixtures/inputs/imdb-mini'], {
      workers: 2,
      noCache: true,
      out: join(base, 'b'),
      minFreq: 1,
    });
    expect(b.stats.workers).toBe(2);
    for (const file of [
      'ids.bin',
      'offsets.bin',
      'vocab.json',
      'counts.json',
      'labels.json',
      'splits.json',
    ]) {
      expect(readFileSync(join(b.dir, file)).equals(readFileSync(join(a.dir, file))), file).toBe(true);
    }
  });

  it('passes a tokenizer error from a worker back as the same UlmfitError', async () => {
    const settings = defaultTokenizerSettings({ lang: 'xx' });
    const tokenizer = await ParallelTokenizer.create(settings, { workers: 1 });
    try {
      const run = async () => {
        for await (const batch of tokenizer.run(inBatches([{ text: 'hello' }], 1))) void batch;
      };
      await expect(run()).rejects.toMatchObject({
        code: 'E_USAGE',
        message: expect.stringContaining("'xx'"),
      });
    } finally {
      await tokenizer.close();
    }
  });
});
