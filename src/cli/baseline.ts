/** `ulmfit baseline`: the NB-SVM baseline on labeled data, to compare ULMFiT with (src/baseline/). */
import { InvalidArgumentError, type Command } from 'commander';
import { trainBaseline } from '../tasks/baseline.js';
import { LABELED_DATA_OPTIONS, TOKENIZING_OPTIONS } from '../config/training.js';
import { addOptions, wholeNumber } from './options.js';

interface Flags {
  out: string;
  valid?: string[];
  validPct?: number;
  textCol?: string;
  labelCol?: string;
  ignoreLabel?: string[];
  seed: number;
  ngrams: number;
  maxFeatures: number;
  workers?: number;
  cache: boolean;
  cacheDir?: string;
  overwrite?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('baseline')
    .description(
      'train the NB-SVM baseline (naive-Bayes features over word uni+bigrams, logistic regression; seconds, CPU)',
    )
    .argument(
      '<inputs...>',
      'labeled data, as train-classifier takes it: folders with a subfolder per label (train/, valid/ or test/ splits), CSV/TSV/JSONL with a label column, or a corpus directory',
    )
    .requiredOption('--out <dir>', 'model directory to write (for ulmfit classify --model)');
  addOptions(command, LABELED_DATA_OPTIONS)
    .option(
      '--seed <n>',
      'seed of the random validation split (the same split as train-classifier with this seed)',
      wholeNumber(0),
      42,
    )
    .option('--ngrams <n>', 'longest word n-gram: 1 or 2', ngramsArg, 2)
    .option('--max-features <n>', 'keep at most the n most frequent n-grams', wholeNumber(1), 200_000);
  addOptions(command, TOKENIZING_OPTIONS)
    .option('--overwrite', 'replace an existing model directory at --out')
    .option('--json', 'print one JSON object with the results')
    .option('--quiet', 'no info or warnings on stderr')
    .addHelpText(
      'after',
      '\nFixed defaults (Wang & Manning 2012): binarized uni+bigrams (a bigram must occur in 2 training documents),' +
        '\nlog-count ratios with alpha 1, L2 logistic regression with C 1 (one-vs-rest beyond two classes), interpolation beta 0.25.' +
        '\n\nExample:\n  ulmfit baseline reviews.csv --out runs/reviews-nbsvm\n  ulmfit classify --model runs/reviews-nbsvm test.csv',
    )
    .action(async (inputs: string[], flags: Flags) => run(inputs, flags));
}

function ngramsArg(value: string): number {
  if (value !== '1' && value !== '2') throw new InvalidArgumentError('expected 1 or 2');
  return Number(value);
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
