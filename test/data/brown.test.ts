import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BROWN_CATEGORIES,
  brownDocuments,
  brownFiles,
  brownSentences,
  brownToPlainText,
} from '../../src/data/brown.js';

describe('brown', () => {
  it('strips tags and detokenizes a sentence', () => {
    const tagged =
      "\n\n\tThe/at jury/nn said/vbd ,/, ``/`` no/at ./. ''/''\n\n\tIt/pps wasn't/bedz* (/( really/rb )/) ./.\n";
    expect(brownSentences(tagged)).toEqual(["The jury said, ``no.''", "It wasn't (really)."]);
    expect(brownToPlainText(tagged)).toBe("The jury said, ``no.''\n\nIt wasn't (really).\n");
  });

  it('has the 15 genres, A–J informative and K–R imaginative', () => {
    expect(BROWN_CATEGORIES).toHaveLength(15);
    expect(BROWN_CATEGORIES.filter((c) => c.group === 'informative').map((c) => c.name)).toEqual([
      'news',
      'editorial',
      'reviews',
      'religion',
      'hobbies',
      'lore',
      'belles_lettres',
      'government',
      'learned',
    ]);
    expect(BROWN_CATEGORIES.find((c) => c.letter === 'p')!.name).toBe('romance');
  });

  it('lists the 500 files of the installed corpus with their genres', () => {
    const files = brownFiles();
    expect(files).toHaveLength(500);
    expect(files[0]).toMatchObject({ id: 'ca01', category: { name: 'news', group: 'informative' } });
    expect(files.filter((f) => f.category.group === 'imaginative')).toHaveLength(126);
  });

  it('cuts files into documents of about wordsPerDoc words, dropping a short remainder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulmfit-brown-'));
    const sentence = (n: number) => Array.from({ length: n - 1 }, (_, i) => `w${i}/nn`).join(' ') + ' ./.';
    writeFileSync(join(dir, 'cn01'), [sentence(6), sentence(6), sentence(5), sentence(2)].join('\n\n'));
    writeFileSync(join(dir, 'cb01'), [sentence(4), sentence(3)].join('\n'));
    const files = brownFiles(dir);
    expect(files.map((f) => f.id)).toEqual(['cb01', 'cn01']);
    const docs = brownDocuments({ files, wordsPerDoc: 10 });
    // cb01: 3 + 2 = 5 words, half of 10: kept; cn01: 5 + 5 = 10 → one doc, then 4 + 1 = 5 → kept.
    expect(docs.map((d) => [d.file, d.category, d.group, d.text.split(' ').length])).toEqual([
      ['cb01', 'editorial', 'informative', 5],
      ['cn01', 'adventure', 'imaginative', 10],
      ['cn01', 'adventure', 'imaginative', 5],
    ]);
    expect(docs[1]!.text).toBe('w0 w1 w2 w3 w4. w0 w1 w2 w3 w4.');
    expect(brownDocuments({ files: files.slice(0, 1), wordsPerDoc: 20 })).toEqual([]);
  });
});
