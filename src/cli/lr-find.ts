/**
 * `ulmfit lr-find`: fastai's learning-rate finder, with the valley suggestion, on a language model
 * (as pretrain or finetune-lm build it) or, with --lm, on a text classifier (as train-classifier
 * builds it: the same encoder, labeled data and planned batch size).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { usageError } from '../errors.js';
import { findClassifierLr } from '../tasks/classifier.js';
import { findLanguageModelLr } from '../tasks/lm.js';
import type { LrFindOptions, LrFindResult } from '../train/lr-find.js';
import { lossCurveSvg } from './lr-plot.js';
import { LR_FIND } from '../config/training.js';
import type { CommandFlags } from '../config/schema.js';
import { addCommand, givenOptions } from './options.js';
import { Progress } from './progress.js';

type LrFindFlags = CommandFlags<typeof LR_FIND>;

export function register(program: Command): void {
  addCommand(program, LR_FIND).action(async (inputs: string[], flags: LrFindFlags, command: Command) => {
    const progress = new Progress({
      label: 'lr-find',
      ...(flags.quiet || flags.json ? { enabled: false } : {}),
    });
    const find: LrFindOptions = {
      startLr: flags.startLr,
      endLr: flags.endLr,
      numIt: flags.numIt,
      onBatchEnd: (i, lr, loss) =>
        progress.update({
          done: i + 1,
          total: flags.numIt,
          text: `lr ${lr.toExponential(2)} loss ${loss.toFixed(4)}`,
        }),
    };
    const result =
      flags.lm !== undefined
        ? await classifierLr(inputs, flags, givenOptions(command), find)
        : await findLanguageModelLr({
            inputs,
            pretrained: flags.pretrained,
            unfreeze: flags.unfreeze,
            emb: flags.emb,
            hidden: flags.hidden,
            layers: flags.layers,
            dropMult: flags.dropMult,
            bs: flags.bs,
            bptt: flags.bptt,
            wd: flags.wd,
            backwards: flags.backwards,
            minFreq: flags.minFreq,
            maxVocab: flags.maxVocab,
            lineDocs: flags.lineDocs,
            textCol: flags.textCol,
            workers: flags.workers,
            seed: flags.seed,
            backend: flags.backend,
            find,
          });
    progress.finish();
    if (flags.svg) writeFileSync(flags.svg, lossCurveSvg(result.lrs, result.losses, result.valley?.lr));
    if (flags.json) {
      process.stdout.write(
        JSON.stringify({
          valley: result.valley?.lr ?? null,
          stopped_early: result.stoppedEarly,
          lrs: result.lrs,
          losses: result.losses,
        }) + '\n',
      );
      return;
    }
    process.stdout.write(`${'lr'.padStart(12)} ${'loss'.padStart(10)}\n`);
    const step = Math.max(1, Math.floor(result.lrs.length / 25));
    for (let i = 0; i < result.lrs.length; i += step) {
      process.stdout.write(
        `${result.lrs[i]!.toExponential(3).padStart(12)} ${result.losses[i]!.toFixed(4).padStart(10)}\n`,
      );
    }
    process.stdout.write(
      result.valley
        ? `suggested lr (valley): ${result.valley.lr.toExponential(2)}\n`
        : 'too few batches to suggest an lr: raise --num-it or give more text\n',
    );
  });
}

/**
 * The classifier's search: train-classifier's defaults (planned bs, drop-mult 0.5) for every flag
 * the user did not type, since lr-find's own defaults are a language model's.
 */
async function classifierLr(
  inputs: string[],
  flags: LrFindFlags,
  given: ReadonlySet<string>,
  find: LrFindOptions,
): Promise<LrFindResult> {
  if (flags.pretrained !== undefined)
    throw usageError(
      '--pretrained and --lm exclude each other',
      'pass --pretrained to search for a language model, --lm for a classifier',
    );
  if (flags.lineDocs)
    throw usageError(
      '--line-docs does not apply with --lm',
      'a classifier reads labeled data: a folder per label, or CSV/TSV/JSONL with a label column',
    );
  const typed = <K extends keyof LrFindFlags>(key: K): LrFindFlags[K] | undefined =>
    given.has(key) ? flags[key] : undefined;
  return findClassifierLr({
    inputs,
    lm: flags.lm,
    unfreeze: flags.unfreeze,
    emb: typed('emb'),
    hidden: typed('hidden'),
    layers: typed('layers'),
    dropMult: typed('dropMult'),
    bs: typed('bs'),
    bptt: flags.bptt,
    wd: flags.wd,
    backwards: flags.backwards,
    minFreq: flags.minFreq,
    maxVocab: flags.maxVocab,
    textCol: flags.textCol,
    labelCol: flags.labelCol,
    ignoreLabels: flags.ignoreLabel,
    workers: flags.workers,
    seed: flags.seed,
    backend: flags.backend,
    find,
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
  });
}
