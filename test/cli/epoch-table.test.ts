import { afterEach, describe, expect, it, vi } from 'vitest';
import { EpochTable } from '../../src/cli/epoch-table.js';
import type { BatchInfo, EpochRow } from '../../src/train/learner.js';

function fakeTty() {
  const writes: string[] = [];
  const stream = {
    isTTY: true,
    columns: 120,
    write: (s: string) => writes.push(s) > 0,
  } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

const batch = (epoch: number, index: number): BatchInfo =>
  ({
    stage: 0,
    epoch,
    epochs: 2,
    batch: index,
    numBatches: 4,
    loss: 1,
    smoothLoss: 1,
    lr: 1e-3,
    mom: 0.9,
  }) as BatchInfo;
const row = (epoch: number): EpochRow =>
  ({ stage: 0, epoch, trainLoss: 1, validLoss: 1, accuracy: 0.5, seconds: 1 }) as EpochRow;

describe('EpochTable', () => {
  afterEach(() => vi.restoreAllMocks());

  it("gives every epoch its own progress bar, so the bar's clock and ETA start with the epoch", () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { stream, writes } = fakeTty();
    const table = new EpochTable(['trainLoss'], { stream });
    table.batch(batch(0, 0));
    table.batch(batch(0, 1)); // within the bar's redraw interval: not drawn
    table.epoch(row(0));
    table.batch(batch(1, 0)); // a new epoch's bar draws at once
    const bars = writes.filter((w) => w.includes('%'));
    expect(bars).toHaveLength(2);
    expect(bars[0]).toContain('epoch 1/2');
    expect(bars[1]).toContain('epoch 2/2');
    expect(bars[1]).toMatch(/ 25% /);
  });

  it('ends an epoch the table is not told of at the next first batch, and clears the bar on request', () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { stream, writes } = fakeTty();
    const table = new EpochTable(['trainLoss'], { stream });
    // A classifier run's other networks: batches, no epoch rows.
    table.batch(batch(0, 0));
    table.batch(batch(1, 0));
    const bars = writes.filter((w) => w.includes('%'));
    expect(bars).toHaveLength(2);
    expect(bars[1]).toContain('epoch 2/2');
    expect(writes[writes.indexOf(bars[1]!) - 1]).toBe('\r\x1b[K');
    writes.length = 0;
    table.endProgress();
    expect(writes).toEqual(['\r\x1b[K']);
    table.endProgress();
    expect(writes).toHaveLength(1);
  });
});
