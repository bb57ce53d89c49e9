/** `ulmfit plot`: a run's training curves (loss and accuracy per epoch, from metrics.jsonl) as SVG. */
import type { Command } from 'commander';
import type { CommandFlags } from '../config/schema.js';
import { PLOT } from '../config/utility.js';
import { writeTrainingPlot } from '../tasks/training-plot.js';
import { addCommand } from './options.js';

type Flags = CommandFlags<typeof PLOT>;

export function register(program: Command): void {
  addCommand(program, PLOT).action((run: string, flags: Flags) => {
    const { path, epochs } = writeTrainingPlot(run, flags.out);
    process.stdout.write(
      flags.json
        ? JSON.stringify({ plot: path, epochs }) + '\n'
        : `${path} (${epochs} epoch${epochs === 1 ? '' : 's'})\n`,
    );
  });
}
