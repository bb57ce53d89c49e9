import { describe, expect, it } from 'vitest';
import { humanNumbersTokens, numberToWords } from '../../src/data/human-numbers.js';

describe('human numbers', () => {
  it("spells numbers as fastbook's data set does", () => {
    expect(numberToWords(1)).toBe('one');
    expect(numberToWords(15)).toBe('fifteen');
    expect(numberToWords(40)).toBe('forty');
    expect(numberToWords(101)).toBe('one hundred one');
    expect(numberToWords(8013)).toBe('eight thousand thirteen');
    expect(numberToWords(9999)).toBe('nine thousand nine hundred ninety nine');
  });

  it('splits the token stream 80/20 with 30 distinct tokens', () => {
    const { train, valid } = humanNumbersTokens();
    expect(train.slice(0, 6)).toEqual(['one', '.', 'two', '.', 'three', '.']);
    const total = train.length + valid.length;
    expect(train.length).toBe(Math.floor(total * 0.8));
    expect(new Set([...train, ...valid]).size).toBe(30);
    expect(() => numberToWords(10000)).toThrow(RangeError);
  });
});
