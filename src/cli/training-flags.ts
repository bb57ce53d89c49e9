/**
 * Flag groups that every training command (pretrain, finetune-lm, train-classifier) takes with
 * the same meaning, defined once so their names, parsers and defaults cannot drift apart.
 */
import type { Command } from 'commander';
import { defaultWorkerCount } from '../text/parallel.js';
import { backendName, collect, positiveNumber, realNumber, wholeNumber } from './options.js';

/**
 * Labeled data and its split, as train-classifier and baseline read it (the same split for the
 * same seed): --valid, --valid-pct, --text-col, --label-col, --ignore-label.
 */
export function addLabeledDataFlags(command: Command): Command {
  return command
    .option('--valid <inputs>', "validation data (repeatable); default: the data's valid/ (or test/) split, else --valid-pct", collect)
    .option('--valid-pct <p>', 'share of documents held out for validation when the data has no split (default 0.2; 0: train on all)', realNumber(0, 0.99))
    .option('--text-col <col>', 'CSV/TSV column or JSONL field with the text (default text)')
    .option('--label-col <col>', 'CSV/TSV column or JSONL field with the label (default label)')
    .option('--ignore-label <label>', "leave out documents with this label, e.g. aclImdb's unsup (repeatable)", collect);
}

/** Optimizer and regularization: --wd, --clip, --alpha, --beta, --seed. */
export function addOptimizerFlags(command: Command): Command {
  return command
    .option('--wd <wd>', 'decoupled weight decay (fastai default 0.01)', realNumber(0))
    .option('--clip <norm>', 'clip the gradient norm (off by default, as fastai)', positiveNumber)
    .option('--alpha <a>', 'AR regularization (0 = off)', realNumber(0), 2)
    .option('--beta <b>', 'TAR regularization (0 = off)', realNumber(0), 1)
    .option('--seed <n>', 'seed for shuffles, dropout masks and init', wholeNumber(0), 42);
}

/** The tokenizer's thread count when not given is decided by the input size (text/pipeline.ts). */
export const TOKENIZER_WORKERS_HELP = `tokenizer worker threads; 0: the main thread (default: ${defaultWorkerCount()}, the CPU count; 0 for stdin alone and for inputs under 16 MB)`;

/** How raw text is tokenized on the way in: --workers, --no-cache, --cache-dir. */
export function addTokenizingFlags(command: Command): Command {
  return command
    .option('--workers <n>', TOKENIZER_WORKERS_HELP, wholeNumber(0))
    .option('--no-cache', 'do not read or write the tokenized-corpus cache')
    .option('--cache-dir <dir>', 'tokenized-corpus cache folder');
}

/**
 * The run directory, the backend and the output: --overwrite, --resume, --keep-checkpoint,
 * --backend, --json, --quiet.
 */
export function addRunFlags(command: Command): Command {
  return command
    .option('--overwrite', 'replace a non-empty --out run directory')
    .option('--resume', 'continue the interrupted run in --out from its last checkpoint')
    .option('--keep-checkpoint', 'keep checkpoint/ when the run completes (removed by default: only --resume reads it)')
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu', backendName, 'auto')
    .option('--json', 'print one JSON object with the results instead of the table')
    .option('--quiet', 'no progress or info on stderr and no epoch table on stdout (--json still prints its object)');
}
