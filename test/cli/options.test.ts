import { describe, expect, it } from 'vitest';
import { runUlmfit } from '../support/process.js';

describe('training flag parsing', () => {
  it.each(['pretrain', 'finetune-lm', 'train-classifier'])('%s refuses --clip 0 as a usage error before reading any input', async (command) => {
    const run = await runUlmfit([command, 'no-such-input', '--out', 'no-such-out', '--clip', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--clip <norm>.*expected a number above 0/);
  });
});
