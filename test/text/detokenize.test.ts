import { describe, expect, it } from 'vitest';
import { decodeSpecTokens, detokenize, joinPieces, joinTokens } from '../../src/text/detokenize.js';
import { defaultTokenizerSettings } from '../../src/text/settings.js';
import { createWordTokenizer } from '../../src/text/tokenizer.js';

describe('decodeSpecTokens (fastai decode_spec_tokens, fixed)', () => {
  it('matches fastai on the examples without the state bug (spec §8)', () => {
    expect(decodeSpecTokens(['xxmaj', 'text'])).toEqual(['Text']);
    expect(decodeSpecTokens(['xxup', 'text'])).toEqual(['TEXT']);
    expect(decodeSpecTokens(['xxrep', '3', 'a'])).toEqual(['aaa']);
    expect(decodeSpecTokens(['xxwrep', '3', 'word'])).toEqual(['word', 'word', 'word']);
    expect(decodeSpecTokens(['xxwrep', '3', 'no', 'xxmaj', 'way'])).toEqual(['no', 'no', 'no', 'Way']);
  });

  it('applies each marker to the next token only (fastai repeats every later token)', () => {
    expect(decodeSpecTokens(['xxrep', '3', 'a', 'b', 'c'])).toEqual(['aaa', 'b', 'c']);
    expect(decodeSpecTokens(['xxrep', '4', '!', 'xxrep', '3', '?'])).toEqual(['!!!!', '???']);
  });

  it('applies a case marker inside a word repetition', () => {
    expect(decodeSpecTokens(['xxwrep', '3', 'xxup', 'no'])).toEqual(['NO', 'NO', 'NO']);
  });

  it('drops xxbos, xxpad, xxeos and xxfld and keeps a token after a countless repeat marker', () => {
    expect(decodeSpecTokens(['xxbos', 'a', 'xxpad', 'xxeos', 'xxfld', 'xxfake', 'b'])).toEqual(['a', 'b']);
    expect(decodeSpecTokens(['xxrep', 'x', 'y'])).toEqual(['x', 'y']);
    expect(decodeSpecTokens(['a', 'xxmaj'])).toEqual(['a']);
  });
});

describe('joinTokens', () => {
  it('attaches punctuation and contractions', () => {
    expect(joinTokens(['i', 'do', "n't", 'know', ',', 'it', "'s", 'fine', '.'])).toBe(
      "i don't know, it's fine.",
    );
    expect(joinTokens(['ca', "n't", 'stop', '!', '!'])).toBe("can't stop!!");
    expect(joinTokens(['wait', '…', 'what', '?'])).toBe('wait… what?');
  });

  it('handles brackets, quotes, currency and infixes', () => {
    expect(joinTokens(['a', '(', 'b', ')', 'c'])).toBe('a (b) c');
    expect(joinTokens(['he', 'said', '"', 'hi', 'there', '"', '.'])).toBe('he said "hi there".');
    expect(joinTokens(['it', 'costs', '$', '1.00', 'or', '10', '%'])).toBe('it costs $1.00 or 10%');
    expect(joinTokens(['a', 'feel', '-', 'good', 'and', '/', 'or', 'movie'])).toBe(
      'a feel-good and/or movie',
    );
    expect(joinTokens(['x', '-', '(', 'y', ')'])).toBe('x - (y)'); // not between two words
  });

  it('tells a plural possessive from an opening single quote', () => {
    expect(joinTokens(['the', 'boys', "'", 'toys', '.'])).toBe("the boys' toys.");
    expect(joinTokens(['he', 'said', "'", 'hi', "'", '.'])).toBe("he said 'hi'.");
  });

  it('writes whitespace tokens as they are', () => {
    expect(joinTokens(['end', '.', '\n\n', 'Next'])).toBe('end.\n\nNext');
  });
});

describe('detokenize', () => {
  it('turns tokenizer output back into readable text', () => {
    const tokenizer = createWordTokenizer(defaultTokenizerSettings());
    const text = "I liked this movie because it's GREAT, isn't it? Don't miss it!!!\n\nThe End.";
    expect(detokenize(tokenizer.tokenize(text))).toBe(
      "I liked this movie because it's GREAT, isn't it? Don't miss it!!!\n\nThe End.",
    );
    expect(detokenize(tokenizer.tokenize('no no no no way'))).toBe('no no no no way');
  });

  it('restores the pronoun I, which fastai lower-cases without a marker, and glues split `` quotes', () => {
    const tokenizer = createWordTokenizer(defaultTokenizerSettings());
    expect(detokenize(tokenizer.tokenize("He said ``I am here'' and i left."))).toBe(
      "He said ``I am here'' and I left.",
    );
    expect(detokenize(['it', 'is', 'i', 'x', 'is', 'ix'])).toBe('it is I x is ix');
  });

  it('undoes replace_space in word tokens', () => {
    expect(detokenize(['xxbos', 'a', '\n▁', 'b'])).toBe('a\n b');
  });

  it('joins subword pieces on ▁', () => {
    expect(joinPieces(['▁xxbos', '▁xxmaj', '▁this', '▁movie', ',', '▁dis', 'c', 'over', 'ed'])).toEqual([
      'xxbos',
      'xxmaj',
      'this',
      'movie,',
      'discovered',
    ]);
    expect(
      detokenize(
        [
          '▁xxbos',
          '▁xxmaj',
          '▁this',
          '▁movie',
          ',',
          '▁which',
          '▁xxup',
          '▁i',
          '▁dis',
          'c',
          'over',
          'ed',
          '▁.',
        ],
        { subword: true },
      ),
    ).toBe('This movie, which I discovered.');
  });
});
