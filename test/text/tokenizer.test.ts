import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import { defaultTokenizerSettings, type TokenizerSettings } from '../../src/text/settings.js';
import { createTokenizer, createWordTokenizer } from '../../src/text/tokenizer.js';

describe('defaultTokenizerSettings', () => {
  it('gives fastai defaults', () => {
    expect(defaultTokenizerSettings()).toEqual({
      kind: 'word',
      rules: true,
      preRules: [
        'fix_html',
        'replace_rep',
        'replace_wrep',
        'spec_add_spaces',
        'rm_useless_spaces',
        'replace_all_caps',
        'replace_maj',
        'lowercase',
      ],
      postRules: ['replace_space'],
      lowercase: true,
      addEos: false,
      lang: 'en',
    });
  });

  it('turns the rule lists and lowercasing off with the rules', () => {
    const settings = defaultTokenizerSettings({ rules: false });
    expect(settings.preRules).toEqual([]);
    expect(settings.postRules).toEqual([]);
    expect(settings.lowercase).toBe(false);
  });

  it('is JSON round-trippable and never shares arrays', () => {
    const a = defaultTokenizerSettings({ addEos: true });
    const b = defaultTokenizerSettings();
    a.preRules.pop();
    expect(b.preRules).toHaveLength(8);
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
  });
});

describe('createTokenizer (word)', () => {
  it('runs rules, spaCy split and post-rules (spec §1.7 end-to-end examples)', async () => {
    const tokenizer = await createTokenizer(defaultTokenizerSettings());
    expect(tokenizer.tokenize("This isn't the easiest text.")).toEqual([
      'xxbos',
      'xxmaj',
      'this',
      'is',
      "n't",
      'the',
      'easiest',
      'text',
      '.',
    ]);
    expect(tokenizer.tokenize('&copy;   Fast.ai www.fast.ai/INDEX')).toEqual([
      'xxbos',
      '©',
      'xxmaj',
      'fast.ai',
      'xxrep',
      '3',
      'w',
      '.fast.ai',
      '/',
      'xxup',
      'index',
    ]);
    expect(tokenizer.tokenize('This is a test')).toEqual(['xxbos', 'xxmaj', 'this', 'is', 'a', 'test']);
    expect(tokenizer.tokenize('I LOVED it!!!!')).toEqual([
      'xxbos',
      'i',
      'xxup',
      'loved',
      'it',
      'xxrep',
      '4',
      '!',
    ]);
  });

  it('keeps newline runs as tokens and marks spaces inside tokens with ▁', async () => {
    const tokenizer = await createTokenizer(defaultTokenizerSettings());
    expect(tokenizer.tokenize('Hello   <br /><br />World')).toEqual([
      'xxbos',
      'xxmaj',
      'hello',
      '\n\n',
      'xxmaj',
      'world',
    ]);
    expect(tokenizer.tokenize('a \n b')).toEqual(['xxbos', 'a', '\n▁', 'b']);
  });

  it('adds xxeos when asked', async () => {
    const tokenizer = await createTokenizer(defaultTokenizerSettings({ addEos: true }));
    expect(tokenizer.tokenize('Hello')).toEqual(['xxbos', 'xxmaj', 'hello', 'xxeos']);
  });

  it('only splits when the rules are off', async () => {
    const tokenizer = await createTokenizer(defaultTokenizerSettings({ rules: false }));
    expect(tokenizer.tokenize("The U.S. isn't   BIG")).toEqual(['The', 'U.S.', 'is', "n't", '  ', 'BIG']);
    const eos = createWordTokenizer(defaultTokenizerSettings({ rules: false, addEos: true }));
    expect(eos.tokenize('Hi')).toEqual(['Hi', 'xxeos']);
  });

  it('lower-cases without rules when asked', () => {
    const tokenizer = createWordTokenizer(defaultTokenizerSettings({ rules: false, lowercase: true }));
    expect(tokenizer.tokenize('The U.S.')).toEqual(['the', 'u.s', '.']);
  });

  it('runs only the listed rules, in the listed order', () => {
    const tokenizer = createWordTokenizer(
      defaultTokenizerSettings({ preRules: ['replace_rep', 'lowercase'] }),
    );
    // No rm_useless_spaces: the double space after ' xxrep 3 m ' stays, and becomes a '▁' token.
    expect(tokenizer.tokenize('Hmmm OK')).toEqual(['xxbos', 'h', 'xxrep', '3', 'm', '▁', 'ok']);
  });

  it('returns an empty document as just xxbos', () => {
    expect(createWordTokenizer(defaultTokenizerSettings()).tokenize('')).toEqual(['xxbos']);
    expect(createWordTokenizer(defaultTokenizerSettings({ rules: false })).tokenize('')).toEqual([]);
  });

  it('exposes its settings', async () => {
    const settings = defaultTokenizerSettings({ addEos: true });
    expect((await createTokenizer(settings)).settings).toEqual(settings);
  });
});

describe('createTokenizer errors', () => {
  async function codeOf(settings: TokenizerSettings): Promise<string> {
    try {
      await createTokenizer(settings);
    } catch (error) {
      expect(error).toBeInstanceOf(UlmfitError);
      return (error as UlmfitError).code;
    }
    throw new Error('expected an error');
  }

  it('rejects unknown rules, other languages and inconsistent lowercasing', async () => {
    expect(await codeOf(defaultTokenizerSettings({ preRules: ['fix_html', 'no_such_rule'] }))).toBe(
      'E_MODEL_MISMATCH',
    );
    expect(await codeOf(defaultTokenizerSettings({ postRules: ['nope'] }))).toBe('E_MODEL_MISMATCH');
    expect(await codeOf(defaultTokenizerSettings({ lang: 'fr' }))).toBe('E_USAGE');
    expect(await codeOf(defaultTokenizerSettings({ lowercase: false }))).toBe('E_USAGE');
    expect(await codeOf({ ...defaultTokenizerSettings(), kind: 'letters' as 'word' })).toBe(
      'E_MODEL_MISMATCH',
    );
  });

  it('builds subword tokenizers only with their SentencePiece model', async () => {
    const settings = defaultTokenizerSettings({
      kind: 'subword',
      subword: { vocabSize: 500, characterCoverage: 0.99999, modelFile: 'spm.model' },
    });
    expect(await codeOf(settings)).toBe('E_MODEL_DIR');
    const spmModel = new Uint8Array(
      readFileSync(new URL('../../fixtures/spm/spm_train.model', import.meta.url)),
    );
    const tokenizer = await createTokenizer(settings, { spmModel });
    expect(tokenizer.tokenize('This is a test')).toEqual([
      '▁xxbos',
      '▁xxmaj',
      '▁this',
      '▁is',
      '▁a',
      '▁',
      't',
      'est',
    ]);
  });
});
