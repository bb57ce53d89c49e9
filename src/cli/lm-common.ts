/** Flags and the action shared by `ulmfit pretrain` and `ulmfit finetune-lm`. */
import type { Command } from 'commander';
import type { BackendName } from '../backend.js';
import { trainLanguageModel, type LmTrainOptions } from '../tasks/lm.js';
import { parseRecipe } from '../train/recipe.js';
import { parseLr } from '../train/schedule.js';
import { defaultTokenizerSettings } from '../text/settings.js';
import { epochRecord } from '../tasks/epoch-record.js';
import { EpochTable, formatCell } from './epoch-table.js';
import type { LmOutput } from './json-output.js';
import { collect, realNumber, wholeNumber } from './options.js';
import { addOptimizerFlags, addRunFlags, addTokenizingFlags } from './training-flags.js';

export interface LmFlags {
  out: string;
  pretrained?: string;
  valid?: string[];
  validPct?: number;
  emb?: number;
  hidden?: number;
  layers?: number;
  dropMult?: number;
  bs?: number;
  bptt: number;
  epochs?: number;
  lr?: string;
  schedule?: string;
  wd?: number;
  clip?: number;
  alpha: number;
  beta: number;
  seed: number;
  backwards?: boolean;
  rules: boolean;
  minFreq?: number;
  maxVocab?: number;
  textCol?: string;
  lineDocs?: boolean;
  workers?: number;
  trainWorkers: number;
  cache: boolean;
  cacheDir?: string;
  saveEncoder?: boolean;
  keepPretrainedVocab?: boolean;
  overwrite?: boolean;
  resume?: boolean;
  keepCheckpoint?: boolean;
  backend: BackendName;
  json?: boolean;
  quiet?: boolean;
}

/** Adds the flags both LM commands take. */
export function addLmFlags(command: Command): Command {
  command
    .argument('<inputs...>', 'text files, folders of .txt, CSV/TSV/JSONL, -, or a corpus directory from `ulmfit tokenize --out`')
    .requiredOption('--out <dir>', 'run directory to write (model-last/, model-best/, encoder/, checkpoint/, metrics.jsonl)')
    .option('--valid <inputs>', 'validation text (repeatable); default: --valid-pct of the documents', collect)
    .option('--valid-pct <p>', 'share of documents held out for validation, random by document (default 0.1)', realNumber(0, 0.99))
    .option('--bs <n>', 'batch size: parallel text streams (default 64; finetune-lm: smaller on a small corpus)', wholeNumber(1))
    .option('--bptt <n>', 'tokens per batch (truncated BPTT length)', wholeNumber(1), 72)
    .option('--epochs <n>', 'epochs of the main stage (default: pretrain 1; finetune-lm 10, more on a small corpus)', wholeNumber(1))
    .option('--lr <lr>', 'max learning rate of the main stage: a number, lo:hi (discriminative), or one per group')
    .option('--schedule <recipe>', 'the whole recipe: "[freeze_to:]epochs@lr; ..." (overrides --epochs/--lr)');
  addOptimizerFlags(command)
    .option('--backwards', 'train on reversed documents (a backwards model; fine-tuning needs a backwards pretrained model)')
    .option('--min-freq <n>', 'vocab: keep tokens seen at least n times (fastai 3)', wholeNumber(1))
    .option('--max-vocab <n>', 'vocab: at most n tokens (fastai 60000)', wholeNumber(1))
    .option('--text-col <col>', 'CSV/TSV column or JSONL field with the text')
    .option('--line-docs', 'a plain text file holds one document per line');
  addTokenizingFlags(command)
    .option('--train-workers <n>', 'data-parallel training threads, each computing bs/n rows of every batch (changes the dropout draws and later epochs\' document order)', wholeNumber(1), 1);
  return addRunFlags(command);
}

export async function runLm(inputs: string[], flags: LmFlags, finetune: boolean, explicit?: ReadonlySet<string>): Promise<void> {
  const table = new EpochTable(['trainLoss', 'validLoss', 'accuracy', 'perplexity'], flags);
  const info = (message: string): void => {
    if (!flags.quiet) process.stderr.write(message + '\n');
  };
  const settings = defaultTokenizerSettings(flags.rules ? {} : { rules: false, lowercase: false });
  const stages = flags.schedule
    ? parseRecipe(flags.schedule)
    : undefined;
  const options: LmTrainOptions = {
    inputs,
    out: flags.out,
    pretrained: flags.pretrained,
    valid: flags.valid,
    validPct: flags.validPct,
    emb: flags.emb,
    hidden: flags.hidden,
    layers: flags.layers,
    dropMult: flags.dropMult,
    bs: flags.bs,
    bptt: flags.bptt,
    stages,
    epochs: flags.epochs,
    lr: flags.lr !== undefined ? parseLr(flags.lr) : undefined,
    wd: flags.wd,
    clip: flags.clip,
    alpha: flags.alpha,
    beta: flags.beta,
    seed: flags.seed,
    backwards: flags.backwards ?? false,
    settings: finetune ? undefined : settings,
    minFreq: flags.minFreq,
    maxVocab: flags.maxVocab,
    textCol: flags.textCol,
    lineDocs: flags.lineDocs,
    workers: flags.workers,
    trainWorkers: flags.trainWorkers,
    noCache: !flags.cache,
    cacheDir: flags.cacheDir,
    saveEncoder: flags.saveEncoder,
    keepPretrainedVocab: flags.keepPretrainedVocab,
    overwrite: flags.overwrite,
    resume: flags.resume,
    keepCheckpoint: flags.keepCheckpoint,
    explicit,
    backend: flags.backend,
    onInfo: info,
    onBatchEnd: table.batch,
    onEpochEnd: table.epoch,
    onBeforeTraining: table.before,
  };
  const result = await trainLanguageModel(options);
  const best = result.best;
  if (flags.json) {
    const before = result.before ? { valid_loss: result.before.validLoss, accuracy: result.before.accuracy, perplexity: result.before.perplexity } : null;
    process.stdout.write(JSON.stringify({
      run_dir: result.runDir, backend: result.backend, vocab_size: result.vocabSize, train_tokens: result.trainTokens, valid_tokens: result.validTokens,
      transfer_found: result.transferFound ?? null, before,
      best: best ? epochRecord(best, 'lm') : null, history: result.history.map((row) => epochRecord(row, 'lm')), plot: result.plot,
    } satisfies LmOutput) + '\n');
  } else if (best) {
    info(`best: valid loss ${formatCell(best.validLoss, 'validLoss')}, accuracy ${formatCell(best.accuracy, 'accuracy')}, perplexity ${formatCell(best.perplexity, 'perplexity')} → ${result.runDir}`);
  }
}
