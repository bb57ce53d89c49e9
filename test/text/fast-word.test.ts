import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/random.js';
import { FastWordTokenizer, isFastWordSettings } from '../../src/text/fast-word.js';
import { IdBuffer, TokenInterner } from '../../src/text/interner.js';
import { defaultTokenizerSettings, type TokenizerSettings } from '../../src/text/settings.js';
import { createRuleWordTokenizer, createWordTokenizer } from '../../src/text/tokenizer.js';

// The fast tokenizer computes fastai's rules run by run; the rule pipeline (each rule over the
// whole document, then the splitter) is the reference it must match token for token.

/** Pieces that exercise every rule and the splitter's special cases, joined at random. */
const PIECES = [
  'word',
  'Word',
  'WORD',
  'W',
  'a',
  'I',
  'The',
  'tHe',
  'McDonald',
  'iPhone',
  'ABCdef',
  'AbC',
  'go go go',
  'go go go!',
  'had had',
  'beep beep beep.',
  'Go go go',
  'the the theory',
  'x x x x',
  '3333 3 3',
  '3 333 3',
  'aaa',
  '!!!!',
  '000',
  '300,000',
  "''''",
  "'''",
  'ABC000',
  'Hmmm',
  'soooo',
  '😀😀😀',
  '\ud83d\ude00',
  '\ud800',
  '\udc00\udc00\udc00',
  'é',
  'ΣΑΣ',
  'ὈΔΥΣΣΕΎΣ',
  'İstanbul',
  'Straße',
  '&amp;',
  '&copy;',
  '&#39;',
  'amp;',
  '#39;',
  'quot;',
  'nbsp;',
  '<br />',
  '<br',
  '<unk>',
  ' @.@ ',
  ' @-@ ',
  '@.@',
  '...',
  '..',
  '\\n',
  '\\"',
  '&',
  'AT&T',
  'a/b',
  '/',
  '#',
  '\\',
  '#hashtag',
  'and/or',
  'A/B',
  "don't",
  "Don't",
  "DON'T",
  "isn't",
  "it's",
  'cannot',
  'Cannot',
  'gonna',
  'Mr.',
  'mr.',
  'Mr',
  'U.S.',
  'u.s.',
  'e.g.',
  'etc.',
  'a.',
  'B.',
  'p.m.',
  '$1.00.',
  '1,000,000',
  '10%',
  '100km',
  '5kg',
  '3pm',
  'https://example.org/a?b=1',
  'www.fast.ai',
  'fast.ai',
  'jane.doe@example.com',
  'C++',
  ':)',
  ':-(',
  '<3',
  '``',
  "''",
  '"',
  '(',
  ')',
  '((',
  '))',
  '(word)',
  "``word''",
  "word''.",
  "evidence''",
  "'em''",
  "chousin'",
  "'em",
  'word,',
  'word.',
  'word;;',
  'word??',
  'word!!',
  'Word,',
  '(Word',
  'feel-good',
  '1-year-old',
  '--',
  'well--known',
  'a\u2014dash',
  'end.Start',
  'wait…',
  'xxbos',
  'xxmaj',
  'xxup',
  'xxrep',
  'xxwrep',
  'xxunk',
  'XXMAJ',
  'xxfake',
];
const SPACES = [
  ' ',
  ' ',
  ' ',
  ' ',
  '  ',
  '   ',
  '\n',
  '\n\n',
  '\t',
  ' \n',
  '\n ',
  '\u00a0',
  '\u2009',
  '\r\n',
  '\u3000',
];

function randomText(rng: Rng, maxPieces: number): string {
  let text = rng.int(4) === 0 ? SPACES[rng.int(SPACES.length)]! : '';
  const count = 1 + rng.int(maxPieces);
  for (let k = 0; k < count; k++) {
    text += PIECES[rng.int(PIECES.length)]!;
    // Sometimes glue pieces together, so runs mix shapes.
    if (rng.int(5) !== 0) text += SPACES[rng.int(SPACES.length)]!;
  }
  return text;
}

function tokenizers(settings: TokenizerSettings, maxRuns?: number) {
  return {
    fast: new FastWordTokenizer(settings, () => createRuleWordTokenizer(settings), maxRuns),
    reference: createRuleWordTokenizer(settings),
  };
}

describe('FastWordTokenizer', () => {
  it('is what createWordTokenizer gives for fastai’s default rules, and only for them', () => {
    expect(createWordTokenizer(defaultTokenizerSettings())).toBeInstanceOf(FastWordTokenizer);
    expect(createWordTokenizer(defaultTokenizerSettings({ addEos: true }))).toBeInstanceOf(FastWordTokenizer);
    expect(isFastWordSettings(defaultTokenizerSettings({ rules: false }))).toBe(false);
    expect(isFastWordSettings(defaultTokenizerSettings({ preRules: ['fix_html', 'lowercase'] }))).toBe(false);
    const reordered = defaultTokenizerSettings();
    reordered.preRules.reverse();
    expect(isFastWordSettings(reordered)).toBe(false);
    expect(createWordTokenizer(defaultTokenizerSettings({ rules: false }))).not.toBeInstanceOf(
      FastWordTokenizer,
    );
  });

  it('gives the rule pipeline’s tokens on 3,000 random texts of tricky pieces', () => {
    const rng = new Rng(7);
    for (const settings of [
      defaultTokenizerSettings(),
      defaultTokenizerSettings({ addEos: true, postRules: [] }),
    ]) {
      const { fast, reference } = tokenizers(settings);
      const mismatches: string[] = [];
      for (let n = 0; n < 1500; n++) {
        const text = randomText(rng, 12);
        // Twice: the second time every run comes from the cache.
        for (let pass = 0; pass < 2; pass++) {
          if (JSON.stringify(fast.tokenize(text)) !== JSON.stringify(reference.tokenize(text)))
            mismatches.push(JSON.stringify(text));
        }
      }
      expect(mismatches).toEqual([]);
    }
  });

  it('handles the cases where rules reach across runs', () => {
    const { fast, reference } = tokenizers(defaultTokenizerSettings());
    const cases = [
      'beep beep beep.', // replace_wrep (falls back to the rule pipeline)
      '3333 3 3', // replace_wrep only after replace_rep has cut a run
      'had had', // two equal runs are not enough
      'a\n000 b',
      'x 000\n\ny',
      'x\n\n000',
      'x\n\n/y',
      'x/\n\ny',
      'a  /  b',
      'x000 \n /y', // rule spaces next to whitespace
      '000',
      ' 000 ',
      '/',
      '//',
      '///x', // rule spaces at the ends (stripped)
      "chousin' 'em''.",
      "x '' ''",
      ':):)',
      "won't:)", // the special-case matcher across runs
      'AT&amp;T ate',
      '&lt;b&gt;',
      'say... what',
      'a <br /> b',
      'x @.@ y', // fix_html changes the text
      'AT&T is fine',
      'amp;', // fix_html triggers that change nothing
      // Exceptions in every case: the run cache is keyed by the raw run, the case rules come first.
      'Cannot cannot CANNOT (cannot) cannot.',
      "Don't don't DON'T (don't) don't.",
      'Mr. mr. MR. (Mr. Mr.,',
      'U.S. u.s. U.S.A. u.s.a. (U.S.)',
      'Gonna gonna GONNA',
      "'em 'EM 'Em ''em''",
      'e.g. E.G. e.g.,',
    ];
    // Twice each: from an empty cache, then from a full one.
    for (const text of [...cases, ...cases])
      expect(fast.tokenize(text), JSON.stringify(text)).toEqual(reference.tokenize(text));
  });

  it('gives the same tokens after its run table is emptied', () => {
    const { fast, reference } = tokenizers(defaultTokenizerSettings(), 16);
    const rng = new Rng(11);
    for (let n = 0; n < 300; n++) {
      const text = randomText(rng, 20);
      expect(fast.tokenize(text)).toEqual(reference.tokenize(text));
    }
  });

  it('encodes ids into any interner, consistent with tokenize', () => {
    const settings = defaultTokenizerSettings();
    const { fast, reference } = tokenizers(settings);
    const interner = new TokenInterner();
    const encode = fast.createEncoder(interner);
    const rng = new Rng(3);
    const out = new IdBuffer(4);
    for (let n = 0; n < 300; n++) {
      const text = randomText(rng, 10);
      out.length = 0;
      encode(text, out);
      const tokens = Array.from(out.data.subarray(0, out.length), (id) => interner.strings[id]!);
      expect(tokens).toEqual(reference.tokenize(text));
    }
  });
});
