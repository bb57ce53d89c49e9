/** `ulmfit plot`: a run's training curves (loss and accuracy per epoch, from metrics.jsonl) as SVG. */
import type { Command } from 'commander';
import { writeTrainingPlot } from '../tasks/training-plot.js';

interface Flags {
  out?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('plot')
    .description(
      "draw a run's training curves (train/valid loss and valid accuracy per epoch, from metrics.jsonl) as SVG; training commands draw them when a run completes",
    )
    .argument(
      '<run>',
      'a run directory (--out of pretrain, finetune-lm or train-classifier), finished or not',
    )
    .option('--out <file>', 'where to write the SVG (default <run>/training.svg)')
    .option('--json', 'print {"plot": <path>, "epochs": <n>}')
    .addHelpText('after', '\nExample:\n  ulmfit plot runs/reviews-lm --out reviews-lm.svg')
    .action((run: string, flags: Flags) => {
      const { path, epochs } = writeTrainingPlot(run, flags.out);
      process.stdout.write(
        flags.json
          ? JSON.stringify({ plot: path, epochs }) + '\n'
          : `${path} (${epochs} epoch${epochs === 1 ? '' : 's'})\n`,
      );
    });
}
