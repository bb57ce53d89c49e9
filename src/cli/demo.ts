/** `ulmfit demo`: ULMFiT's three stages end to end on the Brown corpus that ships with the package. */
import type { Command } from 'commander';
import type { BatchInfo, EpochRow } from '../train/learner.js';
import { clock, Progress } from './progress.js';
import { DEMO } from '../config/training.js';
import type { CommandFlags } from '../config/schema.js';
import { addCommand } from './options.js';

type Flags = CommandFlags<typeof DEMO>;

export function register(program: Command): void {
  addCommand(program, DEMO).action(async (flags: Flags) => run(flags));
}

async function run(flags: Flags): Promise<void> {
  // Loaded on demand: it pulls in TF.js, which `ulmfit --help` should not wait for.
  const { runDemo } = await import('../tasks/demo.js');
  // A new bar per epoch, so its rate and ETA are the epoch's.
  let progress = new Progress({ label: 'train' });
  const newBar = (): void => {
    progress.finish();
    progress = new Progress({ label: 'train' });
  };
  await runDemo({
    out: flags.out,
    quick: flags.quick ?? false,
    overwrite: flags.overwrite ?? false,
    pretrain: flags.pretrain ?? false,
    seed: flags.seed,
    backend: flags.backend,
    print: (text) => process.stdout.write(text + '\n'),
    onInfo: (message) => {
      newBar();
      process.stderr.write(message + '\n');
    },
    onBatchEnd: (step: string, b: BatchInfo) =>
      progress.update({
        done: b.batch + 1,
        total: b.numBatches,
        text: `${step} stage ${b.stage + 1} epoch ${b.epoch + 1}/${b.epochs} loss ${b.smoothLoss.toFixed(3)}`,
      }),
    onEpochEnd: (step: string, row: EpochRow) => {
      newBar();
      process.stderr.write(
        `  ${step} stage ${row.stage + 1} epoch ${row.epoch + 1}/${row.epochs}: ${epochSummary(row)} (${clock(row.seconds)})\n`,
      );
    },
  });
}

function epochSummary(row: EpochRow): string {
  const parts = [`train loss ${row.trainLoss.toFixed(3)}`];
  if (row.validLoss !== null) parts.push(`valid loss ${row.validLoss.toFixed(3)}`);
  if (row.accuracy !== null) parts.push(`accuracy ${row.accuracy.toFixed(3)}`);
  if (row.f1Macro !== undefined) parts.push(`macro-F1 ${row.f1Macro.toFixed(3)}`);
  else if (row.perplexity !== null) parts.push(`perplexity ${row.perplexity.toFixed(1)}`);
  return parts.join(', ');
}
