import { describe, expect, it } from 'vitest';
import { IdBuffer, TokenInterner } from '../../src/text/interner.js';

describe('TokenInterner', () => {
  it('gives ids in first-interned order and the same id for an equal string', () => {
    const interner = new TokenInterner();
    const text = 'the cat and the hat';
    expect(interner.intern(text.slice(0, 3))).toBe(0);
    expect(interner.intern('cat')).toBe(1);
    expect(interner.intern(text.slice(12, 15))).toBe(0);
    expect(interner.intern('')).toBe(2);
    expect(interner.strings).toEqual(['the', 'cat', '']);
    expect(interner.size).toBe(3);
  });

  it('keeps long tokens and lone surrogates exactly, over many insertions (the table grows)', () => {
    const interner = new TokenInterner();
    const long = 'x'.repeat(100) + '\ud800' + 'y'.repeat(20) + '\udfff';
    const source = `some document text ${long} more text`;
    const token = source.slice(19, 19 + long.length);
    const tokens = Array.from({ length: 5000 }, (_, i) => `t${i}${i % 7 === 0 ? '\ud83d\ude00' : ''}`);
    const ids = tokens.map((t) => interner.intern(t));
    const longId = interner.intern(token);
    expect(interner.strings[longId]).toBe(long);
    expect(tokens.map((t) => interner.intern(t))).toEqual(ids);
    expect(ids).toEqual(tokens.map((_, i) => i));
    expect(interner.intern(long)).toBe(longId);
  });
});

describe('TokenInterner with tokens longer than the 24 bits a slot keeps of a length', () => {
  it('gives one id per distinct string, however long', () => {
    const interner = new TokenInterner();
    const huge = 'a'.repeat(2 ** 24 + 3);
    const first = interner.intern(huge);
    expect(interner.intern('x')).toBe(first + 1);
    expect(interner.intern(huge.slice(0, -1) + 'a')).toBe(first); // an equal string built anew
    expect(interner.intern(huge + 'a')).toBe(first + 2);
    expect(interner.intern('a'.repeat(3))).toBe(first + 3); // same length bits as `huge`
    expect(interner.size).toBe(4);
  });
});

describe('IdBuffer', () => {
  it('grows while keeping what it holds', () => {
    const buffer = new IdBuffer(2);
    for (let i = 0; i < 100; i++) buffer.push(i * 3);
    buffer.reserve(1000);
    expect(buffer.length).toBe(100);
    expect(Array.from(buffer.data.subarray(0, 100))).toEqual(Array.from({ length: 100 }, (_, i) => i * 3));
  });
});
