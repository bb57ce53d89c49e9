import { describe, expect, it } from 'vitest';
import { DoubleArrayTrie } from '../../../src/text/subword/double-array.js';
import { Rng } from '../../../src/random.js';

describe('DoubleArrayTrie', () => {
  it('finds every key and nothing else', () => {
    const rng = new Rng(3);
    const keys = new Map<string, Int32Array>();
    while (keys.size < 3000) {
      const key = Int32Array.from({ length: 1 + rng.int(8) }, () => 1 + rng.int(rng.next() < 0.5 ? 5 : 300));
      keys.set(key.join(','), key);
    }
    const list = [...keys.values()];
    const trie = DoubleArrayTrie.build(
      list,
      list.map((_, i) => i * 2),
    );
    list.forEach((key, i) => expect(trie.lookup(key)).toBe(i * 2));
    for (let i = 0; i < 2000; i++) {
      const probe = Int32Array.from({ length: 1 + rng.int(9) }, () => 1 + rng.int(300));
      const id = keys.has(probe.join(',')) ? list.findIndex((k) => k.join(',') === probe.join(',')) * 2 : -1;
      expect(trie.lookup(probe)).toBe(id);
    }
  });

  it('walks prefixes label by label', () => {
    const trie = DoubleArrayTrie.build([Int32Array.of(1, 2, 3), Int32Array.of(1, 2)], [7, 8]);
    const a = trie.next(DoubleArrayTrie.ROOT, 1);
    const b = trie.next(a, 2);
    expect(trie.value[a]).toBe(-1);
    expect(trie.value[b]).toBe(8);
    expect(trie.value[trie.next(b, 3)]).toBe(7);
    expect(trie.next(b, 4)).toBe(-1);
    expect(() => DoubleArrayTrie.build([Int32Array.of(1), Int32Array.of(1)], [0, 1])).toThrow(/duplicate/);
  });
});
