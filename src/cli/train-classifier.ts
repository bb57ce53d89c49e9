/** `ulmfit train-classifier`: stage 3 of ULMFiT, a text classifier on a language model's encoder. */
import type { Command } from 'commander';
import type { BackendName } from '../backend.js';
import { trainClassifier, type ClassifierTrainOptions } from '../tasks/classifier.js';
import { defaultTokenizerSettings } from '../text/settings.js';
import { parseRecipe } from '../train/recipe.js';
import { epochRecord } from '../tasks/epoch-record.js';
import { EpochTable, formatCell } from './epoch-table.js';
import type { ClassifierOutput } from './json-output.js';
import { givenOptions, realNumber, wholeNumber } from './options.js';
import { addLabeledDataFlags, addOptimizerFlags, addRunFlags, addTokenizingFlags } from './training-flags.js';

interface Flags {
  out: string;
  lm?: string;
  fromScratch?: boolean;
  valid?: string[];
  validPct?: number;
  emb?: number;
  hidden?: number;
  layers?: number;
  dropMult: number;
  bs?: number;
  bptt: number;
  maxLen: number;
  lr?: number;
  epochs?: number;
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
  labelCol?: string;
  ignoreLabel?: string[];
  workers?: number;
  cache: boolean;
  cacheDir?: string;
  overwrite?: boolean;
  resume?: boolean;
  keepCheckpoint?: boolean;
  backend: BackendName;
  json?: boolean;
  quiet?: boolean;
  baseline: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('train-classifier')
    .description("train a text classifier on a language model's encoder (ULMFiT stage 3; fastai's gradual unfreezing)")
    .argument('<inputs...>', 'labeled data: folders with a subfolder per label (train/, valid/ or test/ splits), CSV/TSV/JSONL with a label column, or a corpus directory')
    .requiredOption('--out <dir>', 'run directory to write (model-best/, model-last/, checkpoint/, metrics.jsonl, config.json)')
    .option('--lm <dir|name>', 'the encoder: an encoder, lm or run directory from finetune-lm / pretrain / import-fastai, or a model name (en)')
    .option('--from-scratch', 'no --lm: the same architecture from random weights (the baseline); the vocab is built from the data');
  addLabeledDataFlags(command)
    .option('--bs <n>', 'documents per batch (default 64; fewer on small data: about 8 batches an epoch)', wholeNumber(1))
    .option('--bptt <n>', 'tokens per SentenceEncoder chunk (fastai seq_len)', wholeNumber(1), 72)
    .option('--max-len <n>', 'tokens at the end of a document the pooling sees (fastai max_len)', wholeNumber(1), 72 * 20)
    .option('--drop-mult <x>', 'scales all classifier dropouts', realNumber(0), 0.5)
    .option('--lr <lr>', 'learning rate of the first stage; the later stages use lr/2, lr/4, lr/20 (default 2e-2)', realNumber(0))
    .option('--epochs <n>', 'epochs of the last, fully unfrozen stage (default 2; on small data every stage gets more)', wholeNumber(1))
    .option('--schedule <recipe>', 'the whole recipe, "[freeze_to:]epochs@lr; ..." (overrides --lr/--epochs)')
    .option('--no-baseline', 'skip the NB-SVM baseline trained on the same split (into <out>/baseline/) for comparison');
  addOptimizerFlags(command)
    .option('--backwards', 'train on reversed documents (needs a backwards encoder)')
    .option('--emb <n>', '--from-scratch: embedding size', wholeNumber(1))
    .option('--hidden <n>', '--from-scratch: LSTM hidden size', wholeNumber(1))
    .option('--layers <n>', '--from-scratch: LSTM layers', wholeNumber(1))
    .option('--min-freq <n>', '--from-scratch vocab: keep tokens seen at least n times (fastai 3)', wholeNumber(1))
    .option('--max-vocab <n>', '--from-scratch vocab: at most n tokens (fastai 60000)', wholeNumber(1))
    .option('--no-rules', '--from-scratch: tokenize without the fastai rules');
  addRunFlags(addTokenizingFlags(command))
    .addHelpText(
      'after',
      '\nDefault recipe (fastbook): -1:1@2e-2; -2:1@1e-2/2.6^4:1e-2; -3:1@5e-3/2.6^4:5e-3; 0:2@1e-3/2.6^4:1e-3' +
        '\nOn fewer than ~1,900 training documents (where it makes under 30 steps a stage) the batch size' +
        '\nshrinks and every stage gets more epochs; model-best/ is the epoch with the best validation accuracy.' +
        '\n\nExample:\n  ulmfit train-classifier aclImdb/ --lm runs/imdb-lm --ignore-label unsup --out runs/imdb-clas',
    )
    .action(async (inputs: string[], flags: Flags, command: Command) => run(inputs, flags, givenOptions(command)));
}

async function run(inputs: string[], flags: Flags, explicit: ReadonlySet<string>): Promise<void> {
  const table = new EpochTable(['trainLoss', 'validLoss', 'accuracy', 'f1Macro'], flags);
  const info = (message: string): void => {
    if (!flags.quiet) process.stderr.write(message + '\n');
  };
  const fromScratch = flags.fromScratch ?? false;
  const stages = flags.schedule ? parseRecipe(flags.schedule) : undefined;
  const options: ClassifierTrainOptions = {
    inputs,
    out: flags.out,
    lm: flags.lm,
    fromScratch,
    valid: flags.valid,
    validPct: flags.validPct,
    emb: flags.emb,
    hidden: flags.hidden,
    layers: flags.layers,
    dropMult: flags.dropMult,
    bs: flags.bs,
    bptt: flags.bptt,
    maxLen: flags.maxLen,
    stages,
    lr: flags.lr,
    epochs: flags.epochs,
    wd: flags.wd,
    clip: flags.clip,
    alpha: flags.alpha,
    beta: flags.beta,
    seed: flags.seed,
    backwards: flags.backwards ?? false,
    // --no-rules without --from-scratch is passed on, for the task to refuse (the encoder has its tokenizer).
    settings: fromScratch || !flags.rules ? defaultTokenizerSettings(flags.rules ? {} : { rules: false }) : undefined,
    minFreq: flags.minFreq,
    maxVocab: flags.maxVocab,
    textCol: flags.textCol,
    labelCol: flags.labelCol,
    ignoreLabels: flags.ignoreLabel,
    baseline: flags.baseline,
    workers: flags.workers,
    noCache: !flags.cache,
    cacheDir: flags.cacheDir,
    overwrite: flags.overwrite,
    resume: flags.resume,
    keepCheckpoint: flags.keepCheckpoint,
    explicit,
    backend: flags.backend,
    onInfo: info,
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
    onBatchEnd: table.batch,
    onEpochEnd: table.epoch,
  };
  const result = await trainClassifier(options);
  const best = result.best;
  if (flags.json) {
    process.stdout.write(
      JSON.stringify({
        run_dir: result.runDir, backend: result.backend, encoder: result.encoder, labels: result.labels,
        train_docs: result.trainDocs, valid_docs: result.validDocs, vocab_size: result.vocabSize, bs: result.bs, recipe: result.recipe,
        best: best ? epochRecord(best, 'classifier') : null, history: result.history.map((row) => epochRecord(row, 'classifier')),
        baseline: result.baseline
          ? { model: 'nbsvm', dir: result.baseline.out, accuracy: result.baseline.accuracy, f1_macro: result.baseline.f1Macro, train_seconds: result.baseline.trainSeconds }
          : null,
      } satisfies ClassifierOutput) + '\n',
    );
  } else if (best) {
    info(`best: valid loss ${formatCell(best.validLoss, 'validLoss')}, accuracy ${formatCell(best.accuracy, 'accuracy')}, macro-F1 ${formatCell(best.f1Macro, 'f1Macro')} → ${result.runDir}`);
    const base = result.baseline;
    if (base && base.accuracy !== null && best.accuracy !== null) {
      const diff = 100 * (best.accuracy - base.accuracy);
      const verdict = diff > 0 ? `ULMFiT is ${diff.toFixed(1)} points better` : diff < 0 ? `the baseline is ${(-diff).toFixed(1)} points better` : 'a tie';
      info(`vs the NB-SVM baseline on the same split: accuracy ${base.accuracy.toFixed(4)}, macro-F1 ${base.f1Macro?.toFixed(4) ?? '-'} (${verdict})`);
    }
  }
}
