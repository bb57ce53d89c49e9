import { describe, expect, it } from 'vitest';
import { nmtNfkcCharsmap } from '../../../src/text/subword/nmt-nfkc-charsmap.js';
import { Normalizer } from '../../../src/text/subword/normalizer.js';

// Expected strings were produced by spm_normalize (sentencepiece 0.1.97) with a spm_train model.
describe('Normalizer (nmt_nfkc)', () => {
  const normalizer = new Normalizer({ name: 'nmt_nfkc', precompiled_charsmap: nmtNfkcCharsmap() });

  it('applies NFKC and the NMT rules like spm_normalize', () => {
    expect(normalizer.normalize('ﬁne ｆｕｌｌ　ｗｉｄｔｈ')).toBe('▁fine▁full▁width');
    expect(normalizer.normalize('①②③ ㍻ ½')).toBe('▁123▁平成▁1⁄2');
    expect(normalizer.normalize('Ⅻ ™ ℃ ﬀ')).toBe('▁XII▁TM▁°C▁ff');
    expect(normalizer.normalize('Café e\u0301')).toBe('▁Café▁é');
    expect(normalizer.normalize('\u0007bell ctrl\u0001x')).toBe('▁bell▁ctrlx');
  });

  it('drops leading, trailing and repeated whitespace and marks words with ▁', () => {
    expect(normalizer.normalize('  Hello   world  ')).toBe('▁Hello▁world');
    expect(normalizer.normalize('tab\there\u00a0nbsp\u200bzw')).toBe('▁tab▁here▁nbsp▁zw');
    expect(normalizer.normalize('   ')).toBe('');
    expect(normalizer.normalize('')).toBe('');
  });

  it('copies user-defined symbols through unnormalized', () => {
    const withSymbols = new Normalizer(
      { name: 'nmt_nfkc', precompiled_charsmap: nmtNfkcCharsmap() },
      { userDefinedSymbols: ['ｘｘ'] },
    );
    expect(withSymbols.normalize('ｘｘ ｙｙ')).toBe('▁ｘｘ▁yy');
  });

  it('without a charsmap only handles whitespace (the identity normalizer)', () => {
    const identity = new Normalizer({ name: 'identity', add_dummy_prefix: false });
    expect(identity.normalize(' ｆｕｌｌ  x ')).toBe('ｆｕｌｌ▁x');
  });
});
