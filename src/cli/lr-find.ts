/**
 * `ulmfit lr-find`: fastai's learning-rate finder, with the valley suggestion, on a language model
 * (as pretrain or finetune-lm build it) or, with --lm, on a text classifier (as train-classifier
 * builds it: the same encoder, labeled data and planned batch size).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { BackendName } from '../backend.js';
import { usageError } from '../errors.js';
import { findClassifierLr } from '../tasks/classifier.js';
import { findLanguageModelLr } from '../tasks/lm.js';
import type { LrFindOptions, LrFindResult } from '../train/lr-find.js';
import { lossCurveSvg } from './lr-plot.js';
import { TOKENIZER_WORKERS_HELP } from './training-flags.js';
import { backendName, collect, givenOptions, realNumber, wholeNumber } from './options.js';
import { Progress } from './progress.js';

interface LrFindFlags {
  pretrained?: string;
  lm?: string;
  labelCol?: string;
  ignoreLabel?: string[];
  emb: number;
  hidden: number;
  layers: number;
  dropMult: number;
  bs: number;
  bptt: number;
  startLr: number;
  endLr: number;
  numIt: number;
  wd?: number;
  unfreeze?: boolean;
  backwards?: boolean;
  minFreq?: number;
  maxVocab?: number;
  lineDocs?: boolean;
  textCol?: string;
  workers?: number;
  seed: number;
  svg?: string;
  backend: BackendName;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('lr-find')
    .description("run fastai's learning-rate finder on a language model, or with --lm a classifier, and suggest an lr (valley)")
    .argument('<inputs...>', 'text inputs or a corpus directory, as for pretrain; with --lm labeled data, as for train-classifier')
    .option('--pretrained <dir|name>', 'search for fine-tuning this model (a directory or a model name) (frozen, as fastai, unless --unfreeze)')
    .option('--lm <dir|name>', "search for a classifier on this encoder, as train-classifier --lm builds it (frozen but the head, as fastai, unless --unfreeze; bs and dropouts: train-classifier's defaults unless given)")
    .option('--label-col <col>', 'with --lm: CSV/TSV column or JSONL field with the label (default label)')
    .option('--ignore-label <label>', 'with --lm: leave out documents with this label (repeatable)', collect)
    .option('--unfreeze', 'with --pretrained or --lm: search with every layer trainable')
    .option('--emb <n>', 'embedding size (from scratch)', wholeNumber(1), 400)
    .option('--hidden <n>', 'LSTM hidden size (from scratch)', wholeNumber(1), 1152)
    .option('--layers <n>', 'LSTM layers (from scratch)', wholeNumber(1), 3)
    .option('--drop-mult <x>', 'scales all five dropouts', realNumber(0), 1)
    .option('--bs <n>', 'batch size', wholeNumber(1), 64)
    .option('--bptt <n>', 'tokens per batch', wholeNumber(1), 72)
    .option('--start-lr <lr>', 'first lr', realNumber(0), 1e-7)
    .option('--end-lr <lr>', 'last lr', realNumber(0), 10)
    .option('--num-it <n>', 'batches to run', wholeNumber(6), 100)
    .option('--wd <wd>', 'weight decay', realNumber(0))
    .option('--backwards', 'reversed documents')
    .option('--min-freq <n>', 'vocab min frequency', wholeNumber(1))
    .option('--max-vocab <n>', 'vocab max size', wholeNumber(1))
    .option('--line-docs', 'one document per line')
    .option('--text-col <col>', 'CSV/TSV/JSONL text column')
    .option('--workers <n>', TOKENIZER_WORKERS_HELP, wholeNumber(0))
    .option('--seed <n>', 'seed', wholeNumber(0), 42)
    .option('--svg <file>', 'also draw the loss curve as an SVG image')
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu', backendName, 'auto')
    .option('--json', 'print {"valley": ..., "lrs": [...], "losses": [...]}')
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', '\nExamples:\n  ulmfit lr-find reviews/ --pretrained wt103-fwd --svg lr.svg\n  ulmfit lr-find reviews.csv --lm runs/reviews-lm --label-col sentiment --svg clas-lr.svg')
    .action(async (inputs: string[], flags: LrFindFlags, command: Command) => {
      const progress = new Progress({ label: 'lr-find', ...(flags.quiet || flags.json ? { enabled: false } : {}) });
      const find: LrFindOptions = {
        startLr: flags.startLr, endLr: flags.endLr, numIt: flags.numIt,
        onBatchEnd: (i, lr, loss) => progress.update({ done: i + 1, total: flags.numIt, text: `lr ${lr.toExponential(2)} loss ${loss.toFixed(4)}` }),
      };
      const result = flags.lm !== undefined
        ? await classifierLr(inputs, flags, givenOptions(command), find)
        : await findLanguageModelLr({
          inputs, pretrained: flags.pretrained, unfreeze: flags.unfreeze, emb: flags.emb, hidden: flags.hidden, layers: flags.layers,
          dropMult: flags.dropMult, bs: flags.bs, bptt: flags.bptt, wd: flags.wd, backwards: flags.backwards, minFreq: flags.minFreq,
          maxVocab: flags.maxVocab, lineDocs: flags.lineDocs, textCol: flags.textCol, workers: flags.workers, seed: flags.seed, backend: flags.backend,
          find,
        });
      progress.finish();
      if (flags.svg) writeFileSync(flags.svg, lossCurveSvg(result.lrs, result.losses, result.valley?.lr));
      if (flags.json) {
        process.stdout.write(JSON.stringify({ valley: result.valley?.lr ?? null, stopped_early: result.stoppedEarly, lrs: result.lrs, losses: result.losses }) + '\n');
        return;
      }
      process.stdout.write(`${'lr'.padStart(12)} ${'loss'.padStart(10)}\n`);
      const step = Math.max(1, Math.floor(result.lrs.length / 25));
      for (let i = 0; i < result.lrs.length; i += step) {
        process.stdout.write(`${result.lrs[i]!.toExponential(3).padStart(12)} ${result.losses[i]!.toFixed(4).padStart(10)}\n`);
      }
      process.stdout.write(result.valley ? `suggested lr (valley): ${result.valley.lr.toExponential(2)}\n` : 'too few batches to suggest an lr: raise --num-it or give more text\n');
    });
}

/**
 * The classifier's search: train-classifier's defaults (planned bs, drop-mult 0.5) for every flag
 * the user did not type, since lr-find's own defaults are a language model's.
 */
async function classifierLr(inputs: string[], flags: LrFindFlags, given: ReadonlySet<string>, find: LrFindOptions): Promise<LrFindResult> {
  if (flags.pretrained !== undefined) throw usageError('--pretrained and --lm exclude each other', 'pass --pretrained to search for a language model, --lm for a classifier');
  if (flags.lineDocs) throw usageError('--line-docs does not apply with --lm', 'a classifier reads labeled data: a folder per label, or CSV/TSV/JSONL with a label column');
  const typed = <K extends keyof LrFindFlags>(key: K): LrFindFlags[K] | undefined => (given.has(key) ? flags[key] : undefined);
  return findClassifierLr({
    inputs, lm: flags.lm, unfreeze: flags.unfreeze, emb: typed('emb'), hidden: typed('hidden'), layers: typed('layers'), dropMult: typed('dropMult'),
    bs: typed('bs'), bptt: flags.bptt, wd: flags.wd, backwards: flags.backwards, minFreq: flags.minFreq, maxVocab: flags.maxVocab, textCol: flags.textCol,
    labelCol: flags.labelCol, ignoreLabels: flags.ignoreLabel, workers: flags.workers, seed: flags.seed, backend: flags.backend,
    find,
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
  });
}
