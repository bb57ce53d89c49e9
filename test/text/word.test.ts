import { readFileSync } from 'node:fs';
import { Rng } from '../../src/random.js';
import { describe, expect, it } from 'vitest';
import {
  findInfixes,
  findPrefix,
  findSuffix,
  isPySpace,
  isUrl,
  SpacyEnglishSplitter,
} from '../../src/text/word.js';
import { createWordTokenizer } from '../../src/text/tokenizer.js';
import { defaultTokenizerSettings } from '../../src/text/settings.js';

const splitter = new SpacyEnglishSplitter();
const split = (text: string) => splitter.split(text);

// What spaCy 3.8's English tokenizer (spacy.blank('en')) gives for each input: one behaviour per
// row. Checked against spaCy itself (tools/spacy_reference.py).
const SPACY_TABLE: Array<[string, string, string[]]> = [
  ["contraction n't", "isn't", ['is', "n't"]],
  ["do n't", "don't", ['do', "n't"]],
  ["ca n't", "can't", ['ca', "n't"]],
  ["wo n't", "won't", ['wo', "n't"]],
  ["'s after a pronoun", "it's", ['it', "'s"]],
  ["'m", "I'm", ['I', "'m"]],
  ["'s possessive", "John's", ['John', "'s"]],
  ["'ll 've 'd", "they'll we've I'd", ['they', "'ll", 'we', "'ve", 'I', "'d"]],
  ['contractions without apostrophe', 'dont cant im', ['do', 'nt', 'ca', 'nt', 'i', 'm']],
  ['cannot', 'cannot', ['can', 'not']],
  ['gonna', 'gonna', ['gon', 'na']],
  ["let's", "let's", ['let', "'s"]],
  ['sentence-final period', 'the end.', ['the', 'end', '.']],
  ['abbreviation kept', 'U.S.', ['U.S.']],
  ['lower-case abbreviation loses its period', 'u.s.', ['u.s', '.']],
  ['known abbreviations', 'Mr. Dr. e.g. etc.', ['Mr.', 'Dr.', 'e.g.', 'etc', '.']],
  ['single letter with period', 'a. b.', ['a.', 'b.']],
  ['$ split from a number', '$1', ['$', '1']],
  ['decimal kept whole', '$1.00.', ['$', '1.00', '.']],
  ['thousands separator kept', '1,000,000', ['1,000,000']],
  ['percent split', '10%', ['10', '%']],
  ['units split from numbers', '100km 5kg', ['100', 'km', '5', 'kg']],
  ['times', '3pm 5p.m.', ['3', 'pm', '5', 'p.m.']],
  ['URL kept whole', 'https://example.org/path?q=1', ['https://example.org/path?q=1']],
  ['domain kept whole', 'www.fast.ai fast.ai', ['www.fast.ai', 'fast.ai']],
  ['leading-dot domain kept whole', '.fast.ai', ['.fast.ai']],
  ['email kept whole', 'jane.doe@example.com', ['jane.doe@example.com']],
  [
    'punctuation split off',
    'Hello, world! Yes? (no) "quoted"',
    ['Hello', ',', 'world', '!', 'Yes', '?', '(', 'no', ')', '"', 'quoted', '"'],
  ],
  ['colon and semicolon', 'a: b; c', ['a', ':', 'b', ';', 'c']],
  ['infix hyphen between letters', 'feel-good', ['feel', '-', 'good']],
  ['infix hyphen after a digit', '1-year-old', ['1', '-', 'year', '-', 'old']],
  ['hyphen between digits', '2-3', ['2', '-', '3']],
  ['double hyphen spaced', 'a -- b', ['a', '--', 'b']],
  ['double hyphen inside', 'well--known', ['well', '--', 'known']],
  ['em dash inside', 'a\u2014dash', ['a', '\u2014', 'dash']],
  ['ellipsis character', 'wait…', ['wait', '…']],
  ['dots as ellipsis', 'wait... what', ['wait', '...', 'what']],
  ['lower.Upper infix', 'end.Start', ['end', '.', 'Start']],
  ['newline run is a token', 'a\n\nb', ['a', '\n\n', 'b']],
  ['single space is only a separator', 'a b', ['a', 'b']],
  ['extra spaces become a token', 'a  b', ['a', ' ', 'b']],
  ['tab is a token', 'a\tb', ['a', '\t', 'b']],
  ['space then newline', 'a \n b', ['a', '\n ', 'b']],
  ['leading whitespace kept', '  a', ['  ', 'a']],
  ['emoticons', ':) <3 :-(', [':)', '<3', ':-(']],
  ['emoticon glued to a word', 'said:)', ['said', ':)']],
  ['Unicode letters', 'naïve café Über straße', ['naïve', 'café', 'Über', 'straße']],
  ['Greek and Cyrillic with punctuation', 'Ελληνικά, русский.', ['Ελληνικά', ',', 'русский', '.']],
  ['symbols are split', '©2024 😀!', ['©', '2024', '😀', '!']],
  ['and/or is an exception', 'and/or', ['and/or']],
  ['slash between words', 'either/or', ['either', '/', 'or']],
  ['C++ exception', 'C++', ['C++']],
  ['hashtag split', '#nlp', ['#', 'nlp']],
  ['mention kept', '@user', ['@user']],
  ['Brown-style quotes', "``no evidence''", ['`', '`', 'no', 'evidence', "''"]],
  ['fastai special tokens stay whole', 'xxbos xxmaj xxup.', ['xxbos', 'xxmaj', 'xxup', '.']],
];

describe('SpacyEnglishSplitter: spaCy behaviours', () => {
  it.each(SPACY_TABLE)('%s', (_name, input, expected) => {
    expect(split(input)).toEqual(expected);
  });
});

describe('SpacyEnglishSplitter: the special-case matcher', () => {
  it('re-merges exception pieces produced by affix splitting', () => {
    expect(split('Mr.Smith')).toEqual(['Mr.', 'Smith']);
    expect(split('x.:)')).toEqual(['x.', ':)']);
    expect(split("evidence''.")).toEqual(['evidence', "''", '.']);
  });

  it('lets a match across a space claim tokens, as spaCy does', () => {
    expect(split("'em''.")).toEqual(["'em", "''", '.']);
    expect(split("chousin' 'em''.")).toEqual(['chousin', "'", "'", 'em', "''", '.']);
  });

  it('follows the prefix/suffix/special-case order', () => {
    expect(split(':):)')).toEqual([':', '):', ')']);
    expect(split('(:)')).toEqual(['(', ':)']);
    expect(split("won't:)")).toEqual(['wo', "n't", ':)']);
  });
});

describe('runTokens (one run, as the fast tokenizer asks for it)', () => {
  const fresh = new SpacyEnglishSplitter();
  const check = (run: string) =>
    expect(fresh.runTokens(run), JSON.stringify(run)).toEqual(fresh.runTokens(run, false));

  it('splits punctuation-wrapped lower-case words like the general path', () => {
    // Words that are, or start, end or sit inside exceptions (a., mr., e.g., 'em, etc.).
    const words = ['word', 'a', 'mr', 'e', 'em', 'etc', 'cause', 'nt'];
    const before = ['', '(', '``', '"', "'", '$', '-', '.', '+'];
    const common = [',', '.', ';', ':', '?', '!', ')', "'", '"', '`', '-', '%', '$', '/', '=', ')'];
    const after = ['', ...common, ...common.flatMap((x) => common.map((y) => x + y))];
    for (const word of words) for (const b of before) for (const a of after) check(b + word + a);
  });

  it('agrees on random ASCII punctuation around words', () => {
    const punctuation = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];
    const rng = new Rng(21);
    const affix = (max: number) =>
      Array.from({ length: rng.int(max + 1) }, () => punctuation[rng.int(punctuation.length)]).join('');
    for (let n = 0; n < 4000; n++)
      check(affix(3) + ['word', 'a', 'mr', 'em', 'us', 'n'][rng.int(6)] + affix(4));
  });
});

describe('spaCy primitives', () => {
  it('finds prefixes, suffixes, infixes and URLs', () => {
    expect(findPrefix('"Hello')).toBe(1);
    expect(findPrefix('US$5')).toBe(3);
    expect(findPrefix('hello')).toBe(0);
    expect(findSuffix('hello...')).toBe(3); // leftmost match wins: the whole dot run
    expect(findSuffix("John's")).toBe(2);
    expect(findSuffix('5km')).toBe(2);
    expect(findSuffix('U.S.')).toBe(0);
    expect(findInfixes('dyn-o-mite')).toEqual([
      [3, 4],
      [5, 6],
    ]);
    expect(findInfixes('plain')).toEqual([]);
    expect(isUrl('example.co.uk')).toBe(true);
    expect(isUrl('u.s')).toBe(false);
  });

  it('uses Python whitespace', () => {
    for (const code of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1f, 0x20, 0x85, 0xa0, 0x2009, 0x3000]) {
      expect(isPySpace(code)).toBe(true);
    }
    for (const code of [0x08, 0x41, 0x200b, 0xfeff]) expect(isPySpace(code)).toBe(false);
  });
});

interface CaseFixture {
  cases: Array<{ text: string; afterRules: string; spacy: string[]; fastai: string[] }>;
}
interface BrownFixture {
  docs: Array<{ text: string; fastai: string[] }>;
}
const readFixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../../fixtures/text/${name}`, import.meta.url), 'utf8')) as T;

describe('against spaCy + fastai reference outputs (fixtures/text, made by tools/spacy_reference.py)', () => {
  const tokenizer = createWordTokenizer(defaultTokenizerSettings());
  const { cases } = readFixture<CaseFixture>('spacy-cases.json');

  it.each(cases.map((c) => [c.text, c] as const))('%j', (_text, c) => {
    expect(split(c.text)).toEqual(c.spacy);
    expect(tokenizer.tokenize(c.text)).toEqual(c.fastai);
  });

  it('tokenizes three Brown documents exactly as fastai + spaCy do', () => {
    const { docs } = readFixture<BrownFixture>('spacy-brown-sample.json');
    for (const doc of docs) expect(tokenizer.tokenize(doc.text)).toEqual(doc.fastai);
  });

  it('splits 1000 random strings of tricky pieces exactly as spaCy does', () => {
    const { cases: fuzz } = readFixture<{ cases: Array<[string, string[], string[]]> }>('spacy-fuzz.json');
    const mismatches = fuzz.filter(([text, raw, fastai]) => {
      return (
        JSON.stringify(split(text)) !== JSON.stringify(raw) ||
        JSON.stringify(tokenizer.tokenize(text)) !== JSON.stringify(fastai)
      );
    });
    expect(mismatches).toEqual([]);
  });

  it('gives the same tokens from a warm cache as from a cold one', () => {
    const fresh = createWordTokenizer(defaultTokenizerSettings());
    const texts = cases.map((c) => c.text);
    const first = texts.map((text) => fresh.tokenize(text));
    const second = texts.map((text) => fresh.tokenize(text));
    expect(second).toEqual(first);
  });
});
