import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../support/in-process.js';

const run = runInProcess;

describe('ulmfit plot', () => {
  it("draws a run directory's metrics.jsonl into <run>/training.svg, or --out", async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'ulmfit-cli-plot-'));
    writeFileSync(
      join(runDir, 'metrics.jsonl'),
      [
        { stage: 1, epoch: 1, train_loss: 1.2, valid_loss: 1.1, accuracy: 0.5 },
        { stage: 1, epoch: 2, train_loss: 0.9, valid_loss: 1.0, accuracy: 0.6 },
      ]
        .map((row) => JSON.stringify(row))
        .join('\n') + '\n',
    );
    const plotted = await run('plot', runDir);
    expect(plotted).toMatchObject({ code: 0, stdout: `${join(runDir, 'training.svg')} (2 epochs)\n` });
    expect(readFileSync(join(runDir, 'training.svg'), 'utf8')).toContain('validation accuracy');
    const elsewhere = join(runDir, 'curves.svg');
    const json = await run('plot', runDir, '--out', elsewhere, '--json');
    expect(JSON.parse(json.stdout)).toEqual({ plot: elsewhere, epochs: 2 });
  });

  it('a folder that is not a run is one E_INPUT_MISSING line', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ulmfit-cli-plot-none-'));
    const result = await run('plot', empty);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error \[E_INPUT_MISSING\]: .* has no metrics\.jsonl/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
