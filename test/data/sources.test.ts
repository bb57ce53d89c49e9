import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import { firstInvalidUtf8 } from '../../src/data/read-text.js';
import {
  labelFromRelPath,
  openSources,
  resolveInputs,
  type Doc,
  type SourceOptions,
} from '../../src/data/sources.js';

const FIX = 'fixtures/inputs';

async function readAll(paths: string[], options: SourceOptions = {}) {
  const source = await openSources(paths, options);
  const docs: Doc[] = [];
  for await (const doc of source) docs.push(doc);
  return { docs, source };
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

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ulmfit-sources-'));
}

function file(dir: string, name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('folder input', () => {
  it('reads .txt files recursively in sorted order, with aclImdb labels and splits', async () => {
    const { docs } = await readAll([`${FIX}/imdb-mini`]);
    expect(docs.map((d) => [d.origin.slice(`${FIX}/imdb-mini/`.length), d.split, d.label])).toEqual([
      ['test/neg/0_1.txt', 'test', 'neg'],
      ['test/pos/0_8.txt', 'test', 'pos'],
      ['train/neg/0_2.txt', 'train', 'neg'],
      ['train/neg/1_1.txt', 'train', 'neg'],
      ['train/pos/0_9.txt', 'train', 'pos'],
      ['train/pos/1_10.txt', 'train', 'pos'],
      ['train/unsup/0_0.txt', 'train', 'unsup'],
    ]);
    expect(docs[0]!.text).toBe('Terrible.\n');
  });

  it('leaves labels off when folderLabels is false', async () => {
    const { docs } = await readAll([`${FIX}/imdb-mini`], { folderLabels: false });
    expect(docs.every((d) => d.label === undefined && d.split === undefined)).toBe(true);
  });

  it('derives label and split from a relative path', () => {
    expect(labelFromRelPath('a.txt')).toEqual({});
    expect(labelFromRelPath('pos/a.txt')).toEqual({ label: 'pos' });
    expect(labelFromRelPath('valid/a.txt')).toEqual({ split: 'valid' });
    expect(labelFromRelPath('valid/neg/a.txt')).toEqual({ label: 'neg', split: 'valid' });
    expect(labelFromRelPath('other/x/neg/a.txt')).toEqual({ label: 'neg' });
  });

  it('records file sizes and mtimes for the cache key', async () => {
    const [input] = await resolveInputs([`${FIX}/imdb-mini`]);
    expect(input!.kind).toBe('folder');
    expect(input!.files).toHaveLength(7);
    expect(input!.files[0]!.size).toBe('Terrible.\n'.length);
    expect(input!.files[0]!.mtimeMs).toBeGreaterThan(0);
  });
});

describe('csv, tsv and jsonl', () => {
  it('parses quoted fields, doubled quotes and embedded newlines, picking text and label by header', async () => {
    const { docs } = await readAll([`${FIX}/reviews.csv`]);
    expect(docs).toEqual([
      { text: 'Loved it, truly.', label: 'pos', origin: `${FIX}/reviews.csv:2` },
      { text: 'Two lines,\none review.', label: 'neg', origin: `${FIX}/reviews.csv:3` },
      { text: 'He said "wow" twice.', label: 'pos', origin: `${FIX}/reviews.csv:5` },
      { text: 'Plain unquoted text', label: 'neg', origin: `${FIX}/reviews.csv:6` },
    ]);
  });

  it('picks columns by name or 0-based index', async () => {
    const byIndex = await readAll([`${FIX}/reviews.csv`], { textCol: '2', labelCol: '0' });
    expect(byIndex.docs[0]).toMatchObject({ text: 'Loved it, truly.', label: '1' });
    const byName = await readAll([`${FIX}/reviews.csv`], { textCol: 'label' });
    expect(byName.docs.map((d) => d.text)).toEqual(['pos', 'neg', 'pos', 'neg']);
  });

  it('reads TSV with quotes inside fields kept as text', async () => {
    const { docs } = await readAll([`${FIX}/reviews.tsv`]);
    expect(docs.map((d) => [d.text, d.label])).toEqual([
      ['A fine "little" film.', 'pos'],
      ['Not good.', 'neg'],
    ]);
  });

  it('reads JSONL text and label fields, skipping blank lines, numbering lines from 1', async () => {
    const { docs } = await readAll([`${FIX}/reviews.jsonl`]);
    expect(docs.map((d) => [d.text, d.label, d.origin.split(':').pop()])).toEqual([
      ['First review.', 'pos', '1'],
      ['Second review.', 'neg', '3'],
      ['Third, with a number label.', '3', '4'],
    ]);
  });
});

describe('plain text and stdin', () => {
  it('reads a .txt file as one document, stripping the BOM and normalizing CRLF', async () => {
    const { docs } = await readAll([`${FIX}/lines-bom-crlf.txt`]);
    expect(docs).toHaveLength(1);
    expect(docs[0]!.text).toBe('First line.\nSecond line.\n\nThird line after an empty one.\n');
  });

  it('reads one document per line with lineDocs, skipping and counting empty lines', async () => {
    const { docs, source } = await readAll([`${FIX}/lines-bom-crlf.txt`], { lineDocs: true });
    expect(docs.map((d) => [d.text, d.origin.split(':').pop()])).toEqual([
      ['First line.', '1'],
      ['Second line.', '2'],
      ['Third line after an empty one.', '4'],
    ]);
    expect(source.emptySkipped).toBe(1);
  });

  it('reads stdin as one document per line', async () => {
    const stdin = Readable.from([Buffer.from('I LOVED it!!!!\nsec'), Buffer.from('ond\n\n')]);
    const { docs, source } = await readAll(['-'], { stdin });
    expect(docs).toEqual([
      { text: 'I LOVED it!!!!', origin: 'stdin:1' },
      { text: 'second', origin: 'stdin:2' },
    ]);
    expect(source.emptySkipped).toBe(1);
    expect(source.totalBytes).toBeUndefined();
  });

  it('keeps input order across several inputs', async () => {
    const { docs } = await readAll([`${FIX}/reviews.tsv`, `${FIX}/reviews.jsonl`]);
    expect(docs.map((d) => d.text)).toEqual([
      'A fine "little" film.',
      'Not good.',
      'First review.',
      'Second review.',
      'Third, with a number label.',
    ]);
  });

  it('tracks bytes read against the total', async () => {
    const { source } = await readAll([`${FIX}/lines-bom-crlf.txt`], { lineDocs: true });
    expect(source.totalBytes).toBeGreaterThan(0);
    expect(source.bytesRead).toBe(source.totalBytes);
  });

  it('reads a large line file in blocks without losing lines at block edges', async () => {
    const dir = tmp();
    const lines = Array.from(
      { length: 60_000 },
      (_, i) => `line ${i} ${'é'.repeat(i % 7)} ${'x'.repeat(i % 40)}`,
    );
    const path = file(dir, 'big.txt', lines.join('\n') + '\n');
    const { docs } = await readAll([path], { lineDocs: true });
    expect(docs.length).toBe(lines.length);
    expect(docs[59_999]!.text).toBe(lines[59_999]);
    expect(docs.every((d, i) => d.text === lines[i])).toBe(true);
  });
});

describe('bad input', () => {
  it('a missing path is E_INPUT_MISSING naming it', async () => {
    const err = await errorOf(readAll(['no/such/file.txt']));
    expect(err.code).toBe('E_INPUT_MISSING');
    expect(err.message).toContain('no/such/file.txt');
  });

  it('zero documents is E_INPUT_EMPTY, counting empty documents', async () => {
    const dir = tmp();
    const path = file(dir, 'blank.txt', '\n   \n\n');
    const err = await errorOf(readAll([path], { lineDocs: true }));
    expect(err.code).toBe('E_INPUT_EMPTY');
    expect(err.message).toContain('3 empty skipped');
    const emptyDir = join(dir, 'empty');
    mkdirSync(emptyDir);
    const folderErr = await errorOf(readAll([emptyDir]));
    expect(folderErr.code).toBe('E_INPUT_EMPTY');
    expect(folderErr.hint).toContain('.txt');
  });

  it('non-UTF-8 bytes name the file and the byte offset; latin1 reads them', async () => {
    const err = await errorOf(readAll([`${FIX}/latin1.txt`]));
    expect(err.code).toBe('E_INPUT_ENCODING');
    expect(err.message).toBe(`${FIX}/latin1.txt: invalid UTF-8 at byte 7`);
    expect(err.hint).toContain('--encoding latin1');
    const lineErr = await errorOf(readAll([`${FIX}/latin1.txt`], { lineDocs: true }));
    expect(lineErr.message).toContain('byte 7');
    const { docs } = await readAll([`${FIX}/latin1.txt`], { encoding: 'latin1' });
    expect(docs[0]!.text).toBe('The café is Latin-1.\n');
  });

  it('reports the byte offset in a later block of a streamed file', async () => {
    const dir = tmp();
    const good = Buffer.from('ok line\n'.repeat(300_000)); // 2.4 MB: several read blocks
    const path = file(dir, 'late.txt', Buffer.concat([good, Buffer.from([0x61, 0xc3, 0x28, 0x0a])]));
    const err = await errorOf(readAll([path], { lineDocs: true }));
    expect(err.message).toBe(`${path}: invalid UTF-8 at byte ${good.length + 1}`);
  });

  it('finds invalid UTF-8 exactly (overlong, surrogate, truncated, too high)', () => {
    expect(firstInvalidUtf8(Buffer.from('héllo €𝄞'))).toBe(-1);
    expect(firstInvalidUtf8(Uint8Array.from([0x41, 0xc0, 0x80]))).toBe(1);
    expect(firstInvalidUtf8(Uint8Array.from([0xed, 0xa0, 0x80]))).toBe(0);
    expect(firstInvalidUtf8(Uint8Array.from([0x41, 0x42, 0xe2, 0x82]))).toBe(2);
    expect(firstInvalidUtf8(Uint8Array.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0);
  });

  it('skips binary files with a warning naming them', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'docs'));
    file(dir, 'docs/a.txt', 'real text');
    file(dir, 'docs/b.txt', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1]));
    const { docs, source } = await readAll([join(dir, 'docs')]);
    expect(docs.map((d) => d.text)).toEqual(['real text']);
    expect(source.warnings).toEqual([`skipped binary file ${join(dir, 'docs', 'b.txt')}`]);
    const bin = file(dir, 'c.jsonl', Uint8Array.from([0, 1, 2, 3, 10]));
    const other = file(dir, 'd.txt', 'more\n');
    const streamed = await readAll([bin, other], { lineDocs: true });
    expect(streamed.docs.map((d) => d.text)).toEqual(['more']);
    expect(streamed.source.warnings).toEqual([`skipped binary file ${bin}`]);
  });

  it('a UTF-16 file is an encoding error with the fix', async () => {
    const dir = tmp();
    const path = file(dir, 'u16.txt', Buffer.from('\ufeffhi', 'utf16le'));
    const err = await errorOf(readAll([path]));
    expect(err.code).toBe('E_INPUT_ENCODING');
    expect(err.message).toContain('UTF-16');
  });

  it('a CSV without the named column lists the columns', async () => {
    const err = await errorOf(readAll([`${FIX}/reviews.csv`], { textCol: 'review' }));
    expect(err.code).toBe('E_INPUT_FORMAT');
    expect(err.message).toBe(`${FIX}/reviews.csv has no column 'review' (columns: id, label, text)`);
    expect(err.hint).toContain('--text-col');
    const labelErr = await errorOf(readAll([`${FIX}/reviews.csv`], { labelCol: '7' }));
    expect(labelErr.hint).toContain('--label-col');
  });

  it('a CSV or TSV without a text column is an error listing its columns, never column 0', async () => {
    const dir = tmp();
    const csv = file(dir, 'genres.csv', 'id,body,genre\n1,A long passage.,news\n2,Another one.,fiction\n');
    const err = await errorOf(readAll([csv]));
    expect(err.code).toBe('E_INPUT_FORMAT');
    expect(err.toLine()).toBe(
      `error [E_INPUT_FORMAT]: ${csv} has no column 'text' (columns: id, body, genre) (pass --text-col with the column that holds the text (a name or a 0-based index))`,
    );
    const tsv = file(dir, 'genres.tsv', 'id\tbody\n1\tx\n');
    expect((await errorOf(readAll([tsv]))).message).toContain("has no column 'text' (columns: id, body)");
    const { docs } = await readAll([csv], { textCol: 'body', labelCol: 'genre' });
    expect(docs.map((d) => [d.text, d.label])).toEqual([
      ['A long passage.', 'news'],
      ['Another one.', 'fiction'],
    ]);
  });

  it('says when labels come from a default column; noLabels ignores them; idCol reads ids', async () => {
    const labeled = await readAll([`${FIX}/reviews.csv`]);
    expect(labeled.source.notes).toEqual([`${FIX}/reviews.csv: gold labels from its 'label' column`]);
    const plain = await readAll([`${FIX}/reviews.csv`], { noLabels: true, idCol: true });
    expect(plain.docs.every((d) => d.label === undefined)).toBe(true);
    expect(plain.source.notes).toEqual([]);
    expect(plain.docs.map((d) => d.id)).toEqual(['1', '2', '3', '4']);
    const dir = tmp();
    const jsonl = file(
      dir,
      'a.jsonl',
      '{"text":"a","label":"x","key":7}\n{"text":"b","label":"y","key":8}\n',
    );
    const withKey = await readAll([jsonl], { idCol: 'key' });
    expect(withKey.docs.map((d) => [d.id, d.label])).toEqual([
      ['7', 'x'],
      ['8', 'y'],
    ]);
    expect(withKey.source.notes).toEqual([`${jsonl}: gold labels from its 'label' field`]);
    expect((await errorOf(readAll([jsonl], { idCol: 'nope' }))).hint).toContain('--id-col');
    expect((await errorOf(readAll([`${FIX}/reviews.csv`], { idCol: 'nope' }))).message).toContain(
      "has no column 'nope'",
    );
    expect((await readAll([jsonl], { noLabels: true })).docs.every((d) => d.label === undefined)).toBe(true);
  });

  it('keepEmpty yields blank documents in place (one per line or row) and counts them', async () => {
    const dir = tmp();
    const lines = file(dir, 'lines.txt', 'one\n\n  \nfour\n');
    const kept = await readAll([lines], { lineDocs: true, keepEmpty: true });
    expect(kept.docs.map((d) => [d.text, d.origin])).toEqual([
      ['one', `${lines}:1`],
      ['', `${lines}:2`],
      ['  ', `${lines}:3`],
      ['four', `${lines}:4`],
    ]);
    expect([kept.source.emptyKept, kept.source.emptySkipped, kept.source.numDocs]).toEqual([2, 0, 2]);
    const csv = file(dir, 'e.csv', 'text\na\n""\nc\n');
    expect((await readAll([csv], { keepEmpty: true })).docs.map((d) => d.text)).toEqual(['a', '', 'c']);
    const dropped = await readAll([lines], { lineDocs: true });
    expect(dropped.docs.map((d) => d.text)).toEqual(['one', 'four']);
    expect(dropped.source.emptySkipped).toBe(2);
  });

  it('a CSV row with the wrong field count names file and line', async () => {
    const dir = tmp();
    const path = file(dir, 'bad.csv', 'text,label\na,pos\nb,neg,extra\n');
    const err = await errorOf(readAll([path]));
    expect(err.code).toBe('E_INPUT_FORMAT');
    expect(err.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: `));
  });

  it('a JSONL line that is not JSON names file:line', async () => {
    const dir = tmp();
    const path = file(dir, 'bad.jsonl', '{"text": "ok"}\n{"text": oops}\n');
    const err = await errorOf(readAll([path]));
    expect(err.code).toBe('E_INPUT_FORMAT');
    expect(err.message).toBe(`${path}:2 is not valid JSON`);
    const noField = file(dir, 'nofield.jsonl', '{"body": "ok"}\n');
    const fieldErr = await errorOf(readAll([noField]));
    expect(fieldErr.message).toBe(`${noField}:1 has no string field 'text' (fields: body)`);
    const { docs } = await readAll([noField], { textCol: 'body' });
    expect(docs[0]!.text).toBe('ok');
  });

  it('error messages are one line', async () => {
    const errs = [
      await errorOf(readAll(['missing.txt'])),
      await errorOf(readAll([`${FIX}/latin1.txt`])),
      await errorOf(readAll([`${FIX}/reviews.csv`], { textCol: 'nope' })),
    ];
    for (const err of errs) expect(err.toLine()).not.toContain('\n');
  });
});
