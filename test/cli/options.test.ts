import { describe, expect, it } from 'vitest';
import { runUlmfit } from '../support/process.js';

describe('training flag parsing', () => {
  it.each(['pretrain', 'finetune-lm', 'train-classifier'])(
    '%s refuses --clip 0 as a usage error before reading any input',
    async (command) => {
      const run = await runUlmfit([command, 'no-such-input', '--out', 'no-such-out', '--clip', '0']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/--clip <norm>.*expected a number above 0/);
    },
  );
});

describe('flag ranges in --help', () => {
  it('shows the range each numeric flag is checked against, from the same table', async () => {
    const { FLAG_RANGES, rangeHelp } = await import('../../src/cli/options.js');
    expect(rangeHelp(FLAG_RANGES.validPct!)).toBe('0–0.99');
    expect(rangeHelp(FLAG_RANGES.lr!)).toBe('> 0, ≤ 10');
    expect(rangeHelp(FLAG_RANGES.layers!)).toBe('1–64');
    expect(rangeHelp(FLAG_RANGES.bs!)).toBeUndefined(); // a count: <n> says it
    const help = await runUlmfit(['train-classifier', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('(default 0.2; 0: train on all) [range 0–0.99]');
    expect(help.stdout.replace(/\s+/g, ' ')).toMatch(
      /--drop-mult <x> scales all classifier dropouts \[range 0–100\]/,
    );
  });
});
