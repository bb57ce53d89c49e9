import { describe, expect, it } from 'vitest';
import { clock, fitFields, Progress, shortNumber } from '../../src/cli/progress.js';

/** A fake TTY stream that records what is written. */
function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = {
    isTTY,
    columns: 80,
    write: (s: string) => writes.push(s) > 0,
  } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

describe('Progress', () => {
  it('renders a bar, rates and an ETA', () => {
    const progress = new Progress({ enabled: true, stream: fakeStream(true).stream, label: 'tokenize' });
    expect(progress.render({ done: 25, total: 100, counters: { docs: 50, tokens: 12_000 } }, 2)).toBe(
      'tokenize [#####...............]  25% 25 docs/s 6.0k tokens/s ETA 0:06',
    );
    expect(progress.render({ counters: { docs: 3 } }, 0)).toBe('tokenize 3 docs');
    expect(progress.render({ done: 1, total: 1, text: 'loss 4.2' }, 5)).toBe(
      'tokenize [####################] 100% loss 4.2',
    );
  });

  it('draws only on a TTY, throttled, and clears the line on finish', () => {
    const pipe = fakeStream(false);
    const silent = new Progress({ stream: pipe.stream });
    silent.update({ done: 1, total: 2 });
    silent.finish();
    expect(pipe.writes).toEqual([]);

    const tty = fakeStream(true);
    const bar = new Progress({ stream: tty.stream, intervalMs: 60_000 });
    bar.update({ done: 1, total: 2 });
    bar.update({ done: 2, total: 2 }); // within the interval: skipped
    bar.finish();
    expect(tty.writes).toHaveLength(2);
    expect(tty.writes[0]).toMatch(/^\r\[##########\.{10}\] {2}50%/);
    expect(tty.writes[1]).toBe('\r\x1b[K');
  });

  it('cuts a line to the width by whole fields, never mid-number', () => {
    expect(fitFields(['train', 'stage 1', 'loss 4.2100', 'lr 1.00e-3'], 25)).toBe(
      'train stage 1 loss 4.2100',
    );
    expect(fitFields(['train', 'stage 1', 'loss 4.2100', 'lr 1.00e-3'], 24)).toBe('train stage 1');
    const tty = fakeStream(true);
    const bar = new Progress({ stream: tty.stream, label: 'train' });
    const text = ['stage 4', 'epoch 12/16', 'loss 0.123456', 'lr 1.23456e-3', 'x'.repeat(30)];
    bar.update({ done: 3, total: 8, counters: { docs: 1200 }, text });
    // eslint-disable-next-line no-control-regex -- \x1b[K is the terminal's erase-line sequence the bar writes.
    const line = tty.writes[0]!.replace(/^\r/, '').replace(/\x1b\[K$/, '');
    expect(line.length).toBeLessThanOrEqual(79);
    expect(line).toMatch(/(stage 4|epoch 12\/16|loss 0\.123456|lr 1\.23456e-3)$/);
    expect(line).not.toContain('x');
  });

  it('without a TTY, writes a plain log line every interval and nothing before the first', () => {
    const pipe = fakeStream(false);
    const quiet = new Progress({ stream: pipe.stream, label: 'train' });
    expect(quiet.mode).toBe('lines');
    quiet.update({ done: 1, total: 4 }); // before the first 10 s: nothing
    expect(pipe.writes).toEqual([]);
    const logs = new Progress({ stream: pipe.stream, label: 'train', logEveryMs: 0 });
    logs.update({ done: 1, total: 4, text: ['loss 4.2'] });
    logs.finish();
    expect(pipe.writes).toHaveLength(1);
    expect(pipe.writes[0]).toMatch(/^train \[#####\.{15}\] {2}25% .*loss 4\.2 \(0:00\)\n$/);
    expect(new Progress({ stream: pipe.stream, enabled: false }).mode).toBe('off');
  });

  it('formats numbers and durations', () => {
    expect([shortNumber(999), shortNumber(1234), shortNumber(3_400_000), shortNumber(2.5)]).toEqual([
      '999',
      '1.2k',
      '3.4M',
      '2.5',
    ]);
    expect([clock(5), clock(65), clock(3725)]).toEqual(['0:05', '1:05', '1:02:05']);
  });
});
