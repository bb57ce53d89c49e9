/**
 * The training settings, each once: fastai's defaults (the library applies them to an option left
 * unset) and the options of pretrain, finetune-lm, train-classifier, lr-find, demo and baseline
 * (the CLI builds its flags and --help from them: cli/options.ts addCommand; the library's option
 * types derive from them: config/schema.ts LibraryOptions). A flag with one meaning
 * across commands is one constant below; where a command gives it another meaning or default, its
 * entry says so. Ranges are config/schema.ts FLAG_RANGES.
 */
import { availableParallelism } from 'node:os';
import { BACKEND_NAMES, POOL_SOURCES, runConfigKeys, type CommandSpec, type OptionSpec } from './schema.js';

// The *_DEFAULTS keep their comments in one column (nanoGPT style): Prettier leaves them be.

/** Shared by every training command (fastai's TextLearner and fit defaults). */
// prettier-ignore
export const TRAINING_DEFAULTS = {
  seed: 42,           // seeds the validation split, shuffles, dropout masks and init
  alpha: 2,           // AR: activation regularization coefficient (fastai TextLearner alpha; 0 = off)
  beta: 1,            // TAR: temporal activation regularization coefficient (fastai beta; 0 = off)
  bptt: 72,           // tokens: an LM batch row (truncated BPTT), a classifier's SentenceEncoder chunk (fastai seq_len)
  trainWorkers: 1,    // data-parallel training replicas (threads): 1 = the main thread only
} as const;

/** Language models: pretrain, finetune-lm, lr-find without --lm. */
// prettier-ignore
export const LM_DEFAULTS = {
  bs: 64,             // rows: parallel text streams per batch (fastai bs); finetune-lm plans fewer on a small corpus
  validPct: 0.1,      // share of the documents held out for validation, drawn by document
  dropMult: 1,        // scales the five AWD-LSTM dropouts (fastai drop_mult; fine-tuning: the pretrained model's)
  emb: 400,           // embedding size = the last LSTM layer's size (fastai awd_lstm_lm_config emb_sz)
  hidden: 1152,       // LSTM hidden size (n_hid)
  layers: 3,          // LSTM layers (n_layers)
  pretrainEpochs: 1,  // pretrain's one-cycle fit: epochs
  pretrainLr: 2e-3,   // and its max learning rate
  frozenEpochs: 1,    // finetune-lm's first stage: the embedding/decoder group only, epochs
  frozenLr: 2e-2,     // and its max learning rate
  finetuneEpochs: 10, // finetune-lm's main stage, everything unfrozen: epochs (more on a small corpus)
  finetuneLr: 2e-3,   // and its max learning rate
} as const;

/** Text classifiers: train-classifier, lr-find --lm. */
// prettier-ignore
export const CLASSIFIER_DEFAULTS = {
  bs: 64,             // documents per batch (fastai); fewer on small data (tasks/recipe-plan.ts)
  validPct: 0.2,      // share of the documents held out when the data has no validation split (fastai from_df)
  maxLen: 72 * 20,    // tokens at the end of a document the pooling sees (fastai max_len)
  dropMult: 0.5,      // scales the classifier's dropouts (text_classifier_learner drop_mult)
  lr: 2e-2,           // gradual unfreezing's first-stage lr; then lr/2, lr/4, lr/20
  epochs: 2,          // epochs of the last, fully unfrozen stage (one for each stage before)
  labelSmoothing: 0,  // share of each target's probability spread over all classes (fastai's default loss: none)
  l2sp: 0,            // decay of the encoder's weights towards the pretrained ones, per unit of lr (fastai: none)
  pool: 'last',       // what the concat pooling reads (model/heads.ts pooledWidth): fastai's last LSTM layer
} as const;

/** The vocabulary built from a corpus: tokenize, and pretrain or a from-scratch classifier on raw text (fastai make_vocab). */
// prettier-ignore
export const VOCAB_DEFAULTS = {
  minFreq: 3,         // tokens seen fewer times become xxunk
  maxVocab: 60000,    // tokens at most, specials included, before xxfake pads the vocab to a multiple of 8
} as const;

/** The NB-SVM baseline's features (baseline/features.ts; Wang & Manning 2012). */
// prettier-ignore
export const NBSVM_DEFAULTS = {
  ngrams: 2,            // longest word n-gram: unigrams and bigrams
  maxFeatures: 200_000, // n-grams kept at most, the most frequent: a few MB of weights per class
} as const;

/** fastai's lr_find. */
// prettier-ignore
export const LR_FIND_DEFAULTS = {
  startLr: 1e-7,      // first learning rate
  endLr: 10,          // last learning rate (exponential steps in between)
  numIt: 100,         // batches to run
} as const;

// ---------------------------------------------------------------------------------------------
// Options shared by the training commands

// Every declaration below is `as const` (checked against OptionSpec with `satisfies`): the flags'
// text stays in their types, from which config/schema.ts CommandFlags and LibraryOptions derive
// the CLI's flag types and the library's option types.

const rules = {
  flag: '--no-rules',
  help: 'tokenize raw inputs without the fastai rules',
  key: 'settings',
} as const satisfies OptionSpec;
const schedule = (help: string) =>
  ({ flag: '--schedule <recipe>', help, key: 'stages', inline: true }) as const;
/** The backend; which names, and what auto picks: compute/backend.ts. */
export const BACKEND_OPTION = {
  flag: '--backend <name>',
  help: 'auto, tensorflow, wasm or cpu',
  choices: BACKEND_NAMES,
  default: 'auto',
  persist: false,
} as const satisfies OptionSpec;
// The architecture's sizes and dropout scale, with each command's help (and default, where it has one).
const emb = (help: string) => ({ flag: '--emb <n>', help, parse: 'int' }) as const;
const hidden = (help: string) => ({ flag: '--hidden <n>', help, parse: 'int' }) as const;
const layers = (help: string) => ({ flag: '--layers <n>', help, parse: 'int' }) as const;
const dropMult = (help: string) => ({ flag: '--drop-mult <x>', help, parse: 'number' }) as const;

/** Optimizer and regularization: --wd, --clip, --alpha, --beta, --seed. */
export const OPTIMIZER_OPTIONS = [
  { flag: '--wd <wd>', help: 'decoupled weight decay (fastai default 0.01)', parse: 'number' },
  { flag: '--clip <norm>', help: 'clip the gradient norm (off by default, as fastai)', parse: 'positive' },
  {
    flag: '--alpha <a>',
    help: 'AR regularization (0 = off)',
    parse: 'number',
    default: TRAINING_DEFAULTS.alpha,
  },
  {
    flag: '--beta <b>',
    help: 'TAR regularization (0 = off)',
    parse: 'number',
    default: TRAINING_DEFAULTS.beta,
  },
  {
    flag: '--seed <n>',
    help: 'seed for shuffles, dropout masks and init',
    parse: 'int',
    default: TRAINING_DEFAULTS.seed,
  },
] as const satisfies readonly OptionSpec[];

/** Tokenizer threads when the input is large enough for threads to pay (text/pipeline.ts decides): the CPU count. */
export function defaultTokenizerWorkers(): number {
  return availableParallelism();
}

/** The tokenizer's thread count when not given is decided by the input size (text/pipeline.ts); `{cpus}` is defaultTokenizerWorkers(). */
export const WORKERS_OPTION = {
  flag: '--workers <n>',
  help: 'tokenizer worker threads; 0: the main thread (default: {cpus}, the CPU count; 0 for stdin alone and for inputs under 16 MB)',
  parse: 'int',
  persist: false,
} as const satisfies OptionSpec;

/** How raw text is tokenized on the way in: --workers, --no-cache, --cache-dir. */
export const TOKENIZING_OPTIONS = [
  WORKERS_OPTION,
  {
    flag: '--no-cache',
    help: 'do not read or write the tokenized-corpus cache',
    key: 'noCache',
    persist: false,
  },
  { flag: '--cache-dir <dir>', help: 'tokenized-corpus cache folder', persist: false },
] as const satisfies readonly OptionSpec[];

/** The run directory, the backend and the output: --overwrite, --resume, --keep-checkpoint, --backend, --json, --quiet. */
export const RUN_OPTIONS = [
  { flag: '--overwrite', help: 'replace a non-empty --out run directory', persist: false },
  {
    flag: '--resume',
    help: 'continue the interrupted run in --out from its last checkpoint',
    persist: false,
  },
  {
    flag: '--keep-checkpoint',
    help: 'keep checkpoint/ when the run completes (removed by default: only --resume reads it)',
    persist: false,
  },
  BACKEND_OPTION,
  {
    flag: '--json',
    help: 'print one JSON object with the results instead of the table',
    persist: false,
    library: false,
  },
  {
    flag: '--quiet',
    help: 'no progress or info on stderr and no epoch table on stdout (--json still prints its object)',
    persist: false,
    library: false,
  },
] as const satisfies readonly OptionSpec[];

const VALID_HELP =
  "validation data (repeatable); default: the data's valid/ (or test/) split, else --valid-pct";

/** Labeled data and its split, as train-classifier and baseline read it: --valid, --valid-pct, --text-col, --label-col, --ignore-label. */
export const LABELED_DATA_OPTIONS = [
  { flag: '--valid <inputs>', help: VALID_HELP, parse: 'list' },
  {
    flag: '--valid-pct <p>',
    help: `share of documents held out for validation when the data has no split (default ${CLASSIFIER_DEFAULTS.validPct}; 0: train on all)`,
    parse: 'fraction',
  },
  { flag: '--text-col <col>', help: 'CSV/TSV column or JSONL field with the text (default text)' },
  { flag: '--label-col <col>', help: 'CSV/TSV column or JSONL field with the label (default label)' },
  {
    flag: '--ignore-label <label>',
    help: "leave out documents with this label, e.g. aclImdb's unsup (repeatable)",
    parse: 'list',
    key: 'ignoreLabels',
  },
] as const satisfies readonly OptionSpec[];

// ---------------------------------------------------------------------------------------------
// The commands

const LM_INPUTS = {
  syntax: '<inputs...>',
  help: 'text files, folders of .txt, CSV/TSV/JSONL, -, or a corpus directory from `ulmfit tokenize --out`',
} as const;

/** The options pretrain and finetune-lm share, in --help order. */
const LM_OPTIONS = [
  {
    flag: '--out <dir>',
    help: 'run directory to write (model-last/, model-best/, encoder/, checkpoint/, metrics.jsonl)',
    required: true,
    persist: false,
  },
  {
    flag: '--valid <inputs>',
    help: 'validation text (repeatable); default: --valid-pct of the documents',
    parse: 'list',
  },
  {
    flag: '--valid-pct <p>',
    help: `share of documents held out for validation, random by document (default ${LM_DEFAULTS.validPct})`,
    parse: 'fraction',
  },
  {
    flag: '--bs <n>',
    help: `batch size: parallel text streams (default ${LM_DEFAULTS.bs}; finetune-lm: smaller on a small corpus)`,
    parse: 'int',
  },
  {
    flag: '--bptt <n>',
    help: 'tokens per batch (truncated BPTT length)',
    parse: 'int',
    default: TRAINING_DEFAULTS.bptt,
  },
  {
    flag: '--epochs <n>',
    help: `epochs of the main stage (default: pretrain ${LM_DEFAULTS.pretrainEpochs}; finetune-lm ${LM_DEFAULTS.finetuneEpochs}, more on a small corpus)`,
    parse: 'int',
  },
  {
    flag: '--lr <lr>',
    help: 'max learning rate of the main stage: a number, lo:hi (discriminative), or one per group',
  },
  schedule('the whole recipe: "[freeze_to:]epochs@lr; ..." (overrides --epochs/--lr)'),
  ...OPTIMIZER_OPTIONS,
  {
    flag: '--backwards',
    help: 'train on reversed documents (a backwards model); fine-tuning follows the pretrained model without it',
  },
  {
    flag: '--min-freq <n>',
    help: `vocab: keep tokens seen at least n times (fastai ${VOCAB_DEFAULTS.minFreq})`,
    parse: 'int',
  },
  {
    flag: '--max-vocab <n>',
    help: `vocab: at most n tokens (fastai ${VOCAB_DEFAULTS.maxVocab})`,
    parse: 'int',
  },
  { flag: '--text-col <col>', help: 'CSV/TSV column or JSONL field with the text' },
  { flag: '--line-docs', help: 'a plain text file holds one document per line' },
  ...TOKENIZING_OPTIONS,
  // Replicas of train/data-parallel.ts: the main thread and n-1 workers. Deterministic for a given
  // n; it is stored in config.json, so --resume continues with the same value.
  {
    flag: '--train-workers <n>',
    help: "data-parallel training threads, each computing bs/n rows of every batch (changes the dropout draws and later epochs' document order)",
    parse: 'int',
    default: TRAINING_DEFAULTS.trainWorkers,
  },
  ...RUN_OPTIONS,
] as const satisfies readonly OptionSpec[];

export const PRETRAIN = {
  name: 'pretrain',
  description: 'train an AWD-LSTM language model from scratch (ULMFiT stage 1)',
  arguments: [LM_INPUTS],
  options: [
    ...LM_OPTIONS,
    { ...emb('embedding size (= last LSTM layer size)'), default: LM_DEFAULTS.emb },
    { ...hidden('LSTM hidden size'), default: LM_DEFAULTS.hidden },
    { ...layers('LSTM layers'), default: LM_DEFAULTS.layers },
    { ...dropMult('scales all five dropouts'), default: LM_DEFAULTS.dropMult },
    rules,
    // Fine-tuning always writes encoder/.
    { flag: '--save-encoder', help: 'also write encoder/ (for train-classifier)' },
  ],
  after:
    '\nExample:\n  ulmfit pretrain wiki/ --out runs/wiki-lm --emb 400 --hidden 1152 --layers 3 --epochs 10 --lr 3e-3',
} as const satisfies CommandSpec;

export const FINETUNE_LM = {
  name: 'finetune-lm',
  description:
    `fine-tune a pretrained language model on your text (ULMFiT stage 2; fastai's recipe: ${LM_DEFAULTS.frozenEpochs} frozen epoch ` +
    'at 2e-2, then --epochs at --lr)',
  arguments: [LM_INPUTS],
  options: [
    ...LM_OPTIONS,
    {
      flag: '--pretrained <dir|name>',
      help: 'the pretrained language model: a model or run directory (from pretrain or import-fastai), or a model name (en; see ulmfit models)',
      required: true,
    },
    // The saved models record the scaled dropouts (pretraining scales fastai's defaults instead).
    dropMult(
      "scales the pretrained model's five dropouts (fastbook fine-tunes at 0.3; default 1: as pretrained)",
    ),
    // model/transfer.ts appendPretrainedVocab. Off by default: on the few-label benchmark it helped a
    // frozen-encoder probe but not the fine-tuned classifier (docs/few-labels-benchmark.md).
    {
      flag: '--keep-pretrained-vocab',
      help: "encoder/ also keeps the pretrained model's tokens your text lacks, with their pretrained rows (default: the corpus's vocab only, as fastai)",
    },
  ],
  after:
    '\nExample:\n  ulmfit finetune-lm reviews/ --pretrained wt103-fwd --out runs/reviews-lm --epochs 10 --lr 2e-3',
} as const satisfies CommandSpec;

export const TRAIN_CLASSIFIER = {
  name: 'train-classifier',
  description:
    "train a text classifier on a language model's encoder (ULMFiT stage 3; fastai's gradual unfreezing)",
  arguments: [
    {
      syntax: '<inputs...>',
      help: 'labeled data: folders with a subfolder per label (train/, valid/ or test/ splits), CSV/TSV/JSONL with a label column, or a corpus directory',
    },
  ],
  options: [
    {
      flag: '--out <dir>',
      help: 'run directory to write (model-best/, model-last/, checkpoint/, metrics.jsonl, config.json)',
      required: true,
      persist: false,
    },
    {
      flag: '--lm <dir|name>',
      help: 'the encoder: an encoder, lm or run directory from finetune-lm / pretrain / import-fastai, or a model name (en)',
    },
    {
      flag: '--from-scratch',
      help: 'no --lm: the same architecture from random weights (the baseline); the vocab is built from the data',
    },
    ...LABELED_DATA_OPTIONS,
    {
      flag: '--bs <n>',
      help: `documents per batch (default ${CLASSIFIER_DEFAULTS.bs}; fewer on small data: about 8 batches an epoch)`,
      parse: 'int',
    },
    {
      flag: '--bptt <n>',
      help: 'tokens per SentenceEncoder chunk (fastai seq_len)',
      parse: 'int',
      default: TRAINING_DEFAULTS.bptt,
    },
    {
      flag: '--max-len <n>',
      help: 'tokens at the end of a document the pooling sees (fastai max_len)',
      parse: 'int',
      default: CLASSIFIER_DEFAULTS.maxLen,
    },
    { ...dropMult('scales all classifier dropouts'), default: CLASSIFIER_DEFAULTS.dropMult },
    {
      flag: '--label-smoothing <eps>',
      help: 'train towards targets with eps of their probability spread over all classes (fastai LabelSmoothingCrossEntropy; 0 = off)',
      parse: 'number',
      default: CLASSIFIER_DEFAULTS.labelSmoothing,
    },
    {
      flag: '--l2sp <decay>',
      help: "pull the encoder's weights back towards the language model's in every step, by this share per unit of lr (L2-SP, decoupled like --wd; e.g. 30; 0 = off)",
      parse: 'number',
      default: CLASSIFIER_DEFAULTS.l2sp,
    },
    {
      flag: '--pool <layers>',
      help: "what the head's concat pooling reads: last (fastai: the last LSTM layer), emb+last (also the embedded words), all (the embedded words and every LSTM layer)",
      choices: POOL_SOURCES,
      default: CLASSIFIER_DEFAULTS.pool,
    },
    {
      flag: '--lr <lr>',
      help: 'learning rate of the first stage; the later stages use lr/2, lr/4, lr/20 (default 2e-2)',
      parse: 'number',
    },
    {
      flag: '--epochs <n>',
      help: `epochs of the last, fully unfrozen stage (default ${CLASSIFIER_DEFAULTS.epochs}; on small data every stage gets more)`,
      parse: 'int',
    },
    schedule('the whole recipe, "[freeze_to:]epochs@lr; ..." (overrides --lr/--epochs)'),
    {
      flag: '--networks <n>',
      help: 'networks to train, each with its own seed (and validation share, when drawn), averaged by classify --model <out> (default: 3 under about 1,900 training documents, else 1)',
      parse: 'int',
    },
    // The library's `baseline` is off unless set; the CLI's is on unless --no-baseline.
    {
      flag: '--no-baseline',
      help: 'skip the NB-SVM baseline trained on the same split (into <out>/baseline/): printed for comparison, and averaged in by classify --model <out> (or used alone where held-out documents show it clearly better: <out>/ensemble.json)',
    },
    ...OPTIMIZER_OPTIONS,
    {
      flag: '--backwards',
      help: "read documents reversed (needs a backwards encoder); without it, the encoder's direction",
    },
    emb('--from-scratch: embedding size'),
    hidden('--from-scratch: LSTM hidden size'),
    layers('--from-scratch: LSTM layers'),
    {
      flag: '--min-freq <n>',
      help: `--from-scratch vocab: keep tokens seen at least n times (fastai ${VOCAB_DEFAULTS.minFreq})`,
      parse: 'int',
    },
    {
      flag: '--max-vocab <n>',
      help: `--from-scratch vocab: at most n tokens (fastai ${VOCAB_DEFAULTS.maxVocab})`,
      parse: 'int',
    },
    { ...rules, help: '--from-scratch: tokenize without the fastai rules' },
    ...TOKENIZING_OPTIONS,
    ...RUN_OPTIONS,
  ],
  after:
    '\nDefault recipe (fastbook): -1:1@2e-2; -2:1@1e-2/2.6^4:1e-2; -3:1@5e-3/2.6^4:5e-3; 0:2@1e-3/2.6^4:1e-3' +
    '\nOn fewer than ~1,900 training documents (where it makes under 30 steps a stage) the batch size' +
    '\nshrinks and every stage gets more epochs; model-best/ is the epoch with the best validation accuracy.' +
    '\n\nExample:\n  ulmfit train-classifier aclImdb/ --lm runs/imdb-lm --ignore-label unsup --out runs/imdb-clas',
} as const satisfies CommandSpec;

export const LR_FIND = {
  name: 'lr-find',
  description:
    "run fastai's learning-rate finder on a language model, or with --lm a classifier, and suggest an lr (valley)",
  arguments: [
    {
      syntax: '<inputs...>',
      help: 'text inputs or a corpus directory, as for pretrain; with --lm labeled data, as for train-classifier',
    },
  ],
  options: [
    {
      flag: '--pretrained <dir|name>',
      help: 'search for fine-tuning this model (a directory or a model name) (frozen, as fastai, unless --unfreeze)',
    },
    {
      flag: '--lm <dir|name>',
      help: "search for a classifier on this encoder, as train-classifier --lm builds it (frozen but the head, as fastai, unless --unfreeze; bs and dropouts: train-classifier's defaults unless given)",
    },
    {
      flag: '--label-col <col>',
      help: 'with --lm: CSV/TSV column or JSONL field with the label (default label)',
    },
    {
      flag: '--ignore-label <label>',
      help: 'with --lm: leave out documents with this label (repeatable)',
      parse: 'list',
      key: 'ignoreLabels',
    },
    { flag: '--unfreeze', help: 'with --pretrained or --lm: search with every layer trainable' },
    { ...emb('embedding size (from scratch)'), default: LM_DEFAULTS.emb },
    { ...hidden('LSTM hidden size (from scratch)'), default: LM_DEFAULTS.hidden },
    { ...layers('LSTM layers (from scratch)'), default: LM_DEFAULTS.layers },
    { ...dropMult('scales all five dropouts'), default: LM_DEFAULTS.dropMult },
    { flag: '--bs <n>', help: 'batch size', parse: 'int', default: LM_DEFAULTS.bs },
    { flag: '--bptt <n>', help: 'tokens per batch', parse: 'int', default: TRAINING_DEFAULTS.bptt },
    { flag: '--start-lr <lr>', help: 'first lr', parse: 'number', default: LR_FIND_DEFAULTS.startLr },
    { flag: '--end-lr <lr>', help: 'last lr', parse: 'number', default: LR_FIND_DEFAULTS.endLr },
    { flag: '--num-it <n>', help: 'batches to run', parse: 'int', default: LR_FIND_DEFAULTS.numIt },
    { flag: '--wd <wd>', help: 'weight decay', parse: 'number' },
    { flag: '--backwards', help: 'reversed documents' },
    { flag: '--min-freq <n>', help: 'vocab min frequency', parse: 'int' },
    { flag: '--max-vocab <n>', help: 'vocab max size', parse: 'int' },
    { flag: '--line-docs', help: 'one document per line' },
    { flag: '--text-col <col>', help: 'CSV/TSV/JSONL text column' },
    WORKERS_OPTION,
    { flag: '--seed <n>', help: 'seed', parse: 'int', default: TRAINING_DEFAULTS.seed },
    { flag: '--svg <file>', help: 'also draw the loss curve as an SVG image', library: false },
    BACKEND_OPTION,
    { flag: '--json', help: 'print {"valley": ..., "lrs": [...], "losses": [...]}', library: false },
    { flag: '--quiet', help: 'no progress on stderr', library: false },
  ],
  after:
    '\nExamples:\n  ulmfit lr-find reviews/ --pretrained wt103-fwd --svg lr.svg\n  ulmfit lr-find reviews.csv --lm runs/reviews-lm --label-col sentiment --svg clas-lr.svg',
} as const satisfies CommandSpec;

export const DEMO = {
  name: 'demo',
  description:
    'run ULMFiT end to end on the Brown corpus: tokenize, fine-tune the shipped language model, generate, and a genre classifier with vs without transfer (about 10 minutes on 2 cores)',
  options: [
    {
      flag: '--out <dir>',
      help: 'run directory to write (data, models, results.json, commands.sh)',
      default: 'ulmfit-demo',
    },
    {
      flag: '--quick',
      help: 'a plumbing check in seconds: every step on tiny models and a few files (its classifiers end near chance by design; the full demo gives the real comparison)',
    },
    { flag: '--overwrite', help: 'replace the demo in a non-empty --out' },
    {
      flag: '--pretrain',
      help: 'pretrain stage 1 here (a small model on the other genres, about 11 CPU-minutes) instead of starting from the shipped English model en',
    },
    {
      flag: '--seed <n>',
      help: 'seed for the data sample, shuffles, dropout masks, init and sampling',
      parse: 'int',
      default: TRAINING_DEFAULTS.seed,
    },
    BACKEND_OPTION,
  ],
  after: '\nResults go to stdout, progress to stderr.\n\nExample:\n  ulmfit demo --out ulmfit-demo',
} as const satisfies CommandSpec;

export const BASELINE = {
  name: 'baseline',
  description:
    'train the NB-SVM baseline (naive-Bayes features over word uni+bigrams, logistic regression; seconds, CPU)',
  arguments: [
    {
      syntax: '<inputs...>',
      help: 'labeled data, as train-classifier takes it: folders with a subfolder per label (train/, valid/ or test/ splits), CSV/TSV/JSONL with a label column, or a corpus directory',
    },
  ],
  options: [
    {
      flag: '--out <dir>',
      help: 'model directory to write (for ulmfit classify --model)',
      required: true,
    },
    ...LABELED_DATA_OPTIONS,
    {
      flag: '--seed <n>',
      help: 'seed of the random validation split (the same split as train-classifier with this seed)',
      parse: 'int',
      default: TRAINING_DEFAULTS.seed,
    },
    {
      flag: '--ngrams <n>',
      help: 'longest word n-gram: 1 or 2',
      parse: 'int',
      choices: ['1', '2'],
      default: NBSVM_DEFAULTS.ngrams,
    },
    {
      flag: '--max-features <n>',
      help: 'keep at most the n most frequent n-grams',
      parse: 'int',
      default: NBSVM_DEFAULTS.maxFeatures,
    },
    ...TOKENIZING_OPTIONS,
    { flag: '--overwrite', help: 'replace an existing model directory at --out' },
    { flag: '--json', help: 'print one JSON object with the results', library: false },
    { flag: '--quiet', help: 'no info or warnings on stderr', library: false },
  ],
  after:
    '\nFixed defaults (Wang & Manning 2012): binarized uni+bigrams (a bigram must occur in 2 training documents),' +
    '\nlog-count ratios with alpha 1, L2 logistic regression with C 1 (one-vs-rest beyond two classes), interpolation beta 0.25.' +
    '\n\nExample:\n  ulmfit baseline reviews.csv --out runs/reviews-nbsvm\n  ulmfit classify --model runs/reviews-nbsvm test.csv',
} as const satisfies CommandSpec;

/**
 * What a language-model run stores in config.json (what `--resume` restores and compares): its
 * inputs, every option of pretrain and finetune-lm but those of the run itself (out, output,
 * threads, cache), and the library's exact architecture overrides (tasks/lm.ts `config`, `embInit`).
 */
export const LM_RUN_CONFIG: readonly string[] = runConfigKeys([PRETRAIN, FINETUNE_LM], ['config', 'embInit']);

/** What a classifier run stores in config.json (see LM_RUN_CONFIG). */
export const CLASSIFIER_RUN_CONFIG: readonly string[] = runConfigKeys([TRAIN_CLASSIFIER]);

/** The commands whose options are defined here. */
export const TRAINING_COMMANDS: readonly CommandSpec[] = [
  PRETRAIN,
  FINETUNE_LM,
  TRAIN_CLASSIFIER,
  LR_FIND,
  DEMO,
  BASELINE,
];
