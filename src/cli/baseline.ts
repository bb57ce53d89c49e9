/** `ulmfit baseline`: the NB-SVM baseline on labeled data, to compare ULMFiT with (src/baseline/). */
import type { Command } from 'commander';
import type { CommandFlags } from '../config/schema.js';
import { BASELINE } from '../config/training.js';
import { trainBaseline } from '../tasks/baseline.js';
import { addCommand } from './options.js';

type Flags = CommandFlags<typeof BASELINE>;

export function register(program: Command): void {
  addCommand(program, BASELINE).action(async (inputs: string[], flags: Flags) => run(inputs, flags));
}

async function run(inputs: string[], flags: Flags): Promise<void> {
  const info = (message: string): void => {
    if (!flags.quiet) process.stderr.write(message + '\n');
  };
  const result = await trainBaseline({
    inputs,
    out: flags.out,
    valid: flags.valid,
    validPct: flags.validPct,
    textCol: flags.textCol,
    labelCol: flags.labelCol,
    ignoreLabels: flags.ignoreLabel,
    seed: flags.seed,
    workers: flags.workers,
    noCache: !flags.cache,
    cacheDir: flags.cacheDir,
    overwrite: flags.overwrite,
    nbsvm: { features: { ngrams: flags.ngrams as 1 | 2, maxFeatures: flags.maxFeatures } },
    onInfo: info,
    onWarning: (message) => {
      if (!flags.quiet) process.stderr.write(`warning: ${message}\n`);
    },
  });
  if (flags.json) {
    process.stdout.write(
      JSON.stringify({
        out: result.out,
        labels: result.labels,
        train_docs: result.trainDocs,
        valid_docs: result.validDocs,
        features: result.features,
        accuracy: result.accuracy,
        f1_macro: result.f1Macro,
        train_seconds: round(result.trainSeconds),
        seconds: round(result.seconds),
      }) + '\n',
    );
    return;
  }
  const lines = [
    `NB-SVM baseline: ${result.labels.length} classes, ${result.trainDocs} training documents, ${result.features} features, trained in ${result.trainSeconds.toFixed(2)} s`,
    result.accuracy === null
      ? 'validation: none (no validation documents)'
      : `validation (${result.validDocs} documents): accuracy ${result.accuracy.toFixed(4)}  macro-F1 ${result.f1Macro!.toFixed(4)}`,
    `model: ${result.out}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
