import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/random.js';
import {
  applyPreRules,
  fusePreRules,
  findPostRule,
  findPreRule,
  fixHtml,
  hasRepeatedRun,
  htmlUnescape,
  mayFixHtml,
  lowercase,
  POST_RULES,
  PRE_RULES,
  pyStrip,
  replaceAllCaps,
  replaceMaj,
  replaceMajThenLowercase,
  replaceRep,
  replaceSpace,
  replaceWrep,
  rmUselessSpaces,
  specAddSpaces,
} from '../../src/text/rules.js';
import { DEFAULT_POST_RULES, DEFAULT_PRE_RULES } from '../../src/text/settings.js';

describe('rule order', () => {
  it('is fastai defaults.text_proc_rules, in order', () => {
    expect(PRE_RULES.map((rule) => rule.name)).toEqual([
      'fix_html',
      'replace_rep',
      'replace_wrep',
      'spec_add_spaces',
      'rm_useless_spaces',
      'replace_all_caps',
      'replace_maj',
      'lowercase',
    ]);
    expect(PRE_RULES.map((rule) => rule.name)).toEqual(DEFAULT_PRE_RULES);
    expect(POST_RULES.map((rule) => rule.name)).toEqual(DEFAULT_POST_RULES);
    expect(findPreRule('replace_maj')?.apply('Hello')).toBe('xxmaj hello');
    expect(findPostRule('replace_space')?.apply('a b')).toBe('a▁b');
    expect(findPreRule('nope')).toBeUndefined();
  });
});

// fastai-spec §1.7: the string fastai hands to spaCy, produced by fastai's own rule functions.
describe('all eight rules (spec §1.7 worked examples)', () => {
  const examples: Array<[string, string]> = [
    ["This isn't the easiest text.", "xxbos xxmaj this isn't the easiest text."],
    ['&copy;   Fast.ai www.fast.ai/INDEX', 'xxbos © xxmaj fast.ai xxrep 3 w .fast.ai / xxup index'],
    [
      'I LOVED it!!!! Best. Movie. Ever...',
      'xxbos i xxup loved it xxrep 4 ! xxmaj best. xxmaj movie. xxmaj ever …',
    ],
    ['no no no no way', 'xxbos xxwrep 4 no way'],
    ['The U.S. dollar $1 is $1.00.', 'xxbos xxmaj the xxup u.s. dollar $1 is $1.00.'],
    ['Raising Victor Vargas: A Review', 'xxbos xxmaj raising xxmaj victor xxmaj vargas: a xxmaj review'],
    [
      "WOW!!! This is GREAT, isn't it? #1 and/or 2",
      "xxbos xxup wow xxrep 3 ! xxmaj this is xxup great, isn't it? # 1 and / or 2",
    ],
    ['Hello   <br /><br />World', 'xxbos xxmaj hello \n\nxxmaj world'],
    ['…self.<br /><br />Whoosh... Banzai!!!', 'xxbos …self.\n\nxxmaj whoosh … xxmaj banzai xxrep 3 !'],
  ];
  it.each(examples)('%j', (input, expected) => {
    expect(applyPreRules(input)).toBe(expected);
  });
});

describe('fix_html', () => {
  it('matches the spec examples', () => {
    expect(fixHtml('Sarah amp; Duck...')).toBe('Sarah & Duck …');
    expect(fixHtml('quot;  @.@  @-@ ')).toBe("' .-");
    expect(fixHtml('Tom &amp;amp; Jerry &lt;3 &copy;')).toBe('Tom &&& Jerry <3 ©');
  });

  it('does each plain replacement', () => {
    expect(fixHtml('it#39;s')).toBe("it's");
    expect(fixHtml('a#146;b')).toBe("a'b");
    expect(fixHtml('a nbsp;b')).toBe('a  b');
    expect(fixHtml('#36;5')).toBe('$5');
    expect(fixHtml('line\\nnext')).toBe('line\nnext');
    expect(fixHtml('a<br />b')).toBe('a\nb');
    expect(fixHtml('say \\"hi\\"')).toBe('say "hi"');
    expect(fixHtml('an <unk> word')).toBe('an xxunk word');
    expect(fixHtml('3 @.@ 5 and well @-@ known')).toBe('3.5 and well-known');
  });

  it('leaves text without markup alone', () => {
    const text = 'Plain text, nothing to fix: a & b; c.';
    expect(fixHtml(text)).toBe(text);
  });
});

describe('mayFixHtml (the per-run test that fix_html has nothing to do)', () => {
  it('is true for every run that could take part in a change', () => {
    const rng = new Rng(13);
    const pieces = [
      '&',
      'lt',
      'copy;',
      '#65',
      '#x41;',
      'amp',
      'amp;',
      '#39;',
      '#146;',
      'nbsp;',
      '#36;',
      'quot;',
      '<br',
      ' />',
      '<unk>',
      '@.@',
      '@-@',
      ' ',
      '.',
      '..',
      '\\',
      'n',
      '"',
      'a',
      ';',
      '#',
      '<',
      '>',
      '@',
      '-',
      '\n',
    ];
    for (let n = 0; n < 5000; n++) {
      let text = '';
      const length = rng.int(8);
      for (let i = 0; i < length; i++) text += pieces[rng.int(pieces.length)];
      const runs = text.split(/[\s]+/).filter((run) => run.length > 0);
      if (!runs.some(mayFixHtml)) expect(fixHtml(text), JSON.stringify(text)).toBe(text);
    }
  });
});

describe('htmlUnescape (Python html.unescape)', () => {
  it('decodes named, numeric and hex references', () => {
    expect(htmlUnescape('&lt;&gt;&quot;&eacute;&#233;&#xE9;&#XE9;')).toBe('<>"ééé\u00e9');
    expect(htmlUnescape('&#x263A;')).toBe('☺');
    expect(htmlUnescape('&#128512;')).toBe('😀');
  });

  it('decodes legacy names without semicolons by longest prefix', () => {
    expect(htmlUnescape('&copy2024')).toBe('©2024');
    expect(htmlUnescape('&amp')).toBe('&');
    expect(htmlUnescape('&notit;')).toBe('¬it;');
  });

  it('keeps unknown names and maps invalid code points like Python', () => {
    expect(htmlUnescape('&unknown; & done')).toBe('&unknown; & done');
    expect(htmlUnescape('&#0;')).toBe('\ufffd');
    expect(htmlUnescape('&#x80;')).toBe('€'); // windows-1252 remap
    expect(htmlUnescape('&#xD800;')).toBe('\ufffd');
    expect(htmlUnescape('&#x110000;')).toBe('\ufffd');
    expect(htmlUnescape('&#99999999999;')).toBe('\ufffd');
    expect(htmlUnescape('a&#1;b')).toBe('ab'); // invalid code point dropped
    expect(htmlUnescape('&#xFFFF;')).toBe('');
  });
});

describe('replace_rep', () => {
  it('matches the spec examples', () => {
    expect(replaceRep('aa')).toBe('aa');
    expect(replaceRep('aaaa')).toBe(' xxrep 4 a ');
    expect(replaceRep('Wooofff!')).toBe('W xxrep 3 o  xxrep 3 f !');
    expect(replaceRep('hmmmm... 1000000')).toBe('h xxrep 4 m  xxrep 3 .  1 xxrep 6 0 ');
  });

  it('counts code points and ignores whitespace runs', () => {
    expect(replaceRep('😀😀😀')).toBe(' xxrep 3 😀 ');
    expect(replaceRep('a   b\n\n\n')).toBe('a   b\n\n\n');
  });

  it('gives what fastai’s regex gives, surrogates included', () => {
    // fastai's pattern, with Python's \S spelled out (the hand-written scan replaced it).
    const space =
      '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
    const regex = new RegExp(`([^${space}])(\\1{2,})`, 'gu');
    const fastai = (text: string) =>
      text.replace(regex, (_m, c: string, rest: string) => ` xxrep ${rest.length / c.length + 1} ${c} `);
    const rng = new Rng(5);
    const alphabet = [
      'a',
      'b',
      '0',
      '.',
      ' ',
      '\n',
      '😀',
      '\ud83d',
      '\ude00',
      '\ud800',
      '\udc00',
      '\u00a0',
      'é',
    ];
    for (let n = 0; n < 5000; n++) {
      let text = '';
      const length = rng.int(14);
      for (let i = 0; i < length; i++) text += alphabet[rng.int(alphabet.length)]!.repeat(1 + rng.int(4));
      expect(replaceRep(text), JSON.stringify(text)).toBe(fastai(text));
    }
  });
});

describe('replace_wrep', () => {
  it('matches the spec examples', () => {
    expect(replaceWrep('ah ah')).toBe('ah ah');
    expect(replaceWrep('ah ah ah')).toBe(' xxwrep 3 ah ');
    expect(replaceWrep('ah ah   ah  ah')).toBe(' xxwrep 4 ah ');
    expect(replaceWrep('ah ah ah ah.')).toBe(' xxwrep 4 ah .');
    expect(replaceWrep('ah ah ahi')).toBe('ah ah ahi');
    expect(replaceWrep('so so so so so!')).toBe(' xxwrep 5 so !');
    expect(replaceWrep('very very very good')).toBe(' xxwrep 3 very  good');
  });

  it('leaves a text whole when no two runs in a row are equal (its quick test)', () => {
    expect(hasRepeatedRun('ah ah')).toBe(true);
    expect(hasRepeatedRun('ah ahh ah')).toBe(false);
    const rng = new Rng(9);
    const words = ['ah', 'ah', 'ah.', 'ahi', 'so', 'x', 'très', '1', ' ', ' ', '  ', '\n', '\t'];
    for (let n = 0; n < 3000; n++) {
      let text = '';
      const length = rng.int(10);
      for (let i = 0; i < length; i++) text += words[rng.int(words.length)]! + (rng.int(3) === 0 ? '' : ' ');
      if (!hasRepeatedRun(text)) expect(replaceWrep(text), JSON.stringify(text)).toBe(text);
    }
  });

  it('uses Unicode word characters like Python \\w', () => {
    expect(replaceWrep('très très très bien')).toBe(' xxwrep 3 très  bien');
    expect(replaceWrep('x ja ja ja')).toBe('x xxwrep 3 ja ');
  });
});

describe('spec_add_spaces and rm_useless_spaces', () => {
  it('spaces out / # \\', () => {
    expect(specAddSpaces('and/or #1 a\\b')).toBe('and / or  # 1 a \\ b');
  });

  it('collapses runs of spaces only', () => {
    expect(rmUselessSpaces('a    b \n\n  c\t\td')).toBe('a b \n\n c\t\td');
  });
});

describe('replace_all_caps', () => {
  it('matches the spec examples', () => {
    expect(replaceAllCaps("I'M SHOUTING")).toBe("xxup i'm xxup shouting");
    expect(replaceAllCaps('I am speaking')).toBe('i am speaking');
    expect(replaceAllCaps("USA-based NASA's")).toBe("USA-based NASA's");
  });

  it('keeps the whitespace before the word and handles punctuation inside', () => {
    expect(replaceAllCaps('a\nBIG, deal')).toBe('a\nxxup big, deal');
    expect(replaceAllCaps('U.S. A1')).toBe('xxup u.s. xxup a1');
  });
});

describe('replace_maj', () => {
  it('matches the spec examples', () => {
    expect(replaceMaj('Jeremy Howard')).toBe('xxmaj jeremy xxmaj howard');
    expect(replaceMaj('Hello, World!')).toBe('xxmaj hello, xxmaj world!');
  });

  it('leaves mixed case alone and just lower-cases a single capital', () => {
    expect(replaceMaj("McDonald's iPhone")).toBe("McDonald's iPhone");
    expect(replaceMaj('A b')).toBe('a b');
  });
});

describe('lowercase', () => {
  it('adds xxbos, lower-cases and strips (Python whitespace)', () => {
    expect(lowercase('  Hello World \n')).toBe('xxbos hello world');
    expect(lowercase('Hello', true, true)).toBe('xxbos hello xxeos');
    expect(lowercase('Hello', false)).toBe('hello');
  });

  it('strips what Python strips, not what JS trim strips', () => {
    expect(pyStrip('\x1c\x85 a \u3000')).toBe('a');
    expect(pyStrip('\ufeffa')).toBe('\ufeffa'); // BOM is not whitespace in Python
  });
});

describe('replace_space', () => {
  it('turns spaces inside a token into ▁', () => {
    expect(replaceSpace('\n ')).toBe('\n▁');
    expect(replaceSpace('a  b')).toBe('a▁▁b');
    expect(replaceSpace('plain')).toBe('plain');
  });
});

describe('fused replace_maj + lowercase', () => {
  it('gives exactly what the two rules give', () => {
    const rng = new Rng(7);
    const alphabet = [
      'A',
      'B',
      'I',
      'a',
      'b',
      'é',
      'É',
      '1',
      ' ',
      ' ',
      '  ',
      '\n',
      '\t',
      '.',
      ',',
      "'",
      '-',
      'Hello',
      'USA',
      'McD',
      '\u00a0',
    ];
    for (let n = 0; n < 2000; n++) {
      let text = '';
      const length = rng.int(12);
      for (let i = 0; i < length; i++) text += alphabet[rng.int(alphabet.length)];
      expect(replaceMajThenLowercase(text)).toBe(lowercase(replaceMaj(text)));
      expect(applyPreRules(text, fusePreRules(PRE_RULES))).toBe(applyPreRules(text));
    }
  });

  it('only fuses replace_maj directly followed by lowercase', () => {
    expect(fusePreRules(PRE_RULES).map((rule) => rule.name)).toEqual([
      'fix_html',
      'replace_rep',
      'replace_wrep',
      'spec_add_spaces',
      'rm_useless_spaces',
      'replace_all_caps',
      'replace_maj+lowercase',
    ]);
    const reordered = [findPreRule('replace_maj')!, findPreRule('fix_html')!, findPreRule('lowercase')!];
    expect(fusePreRules(reordered).map((rule) => rule.name)).toEqual([
      'replace_maj',
      'fix_html',
      'lowercase',
    ]);
  });
});
