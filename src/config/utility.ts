/**
 * The options of the program and of the commands around training: tokenize (text to a corpus),
 * bench (speed), pull, models and cache (what is downloaded and cached), import-fastai and
 * export-fastai (fastai interchange), plot (a run's curves). cli/options.ts addCommand builds each
 * command's flags, parsers and --help from its spec; ranges are config/schema.ts FLAG_RANGES.
 */
import { FLAG_RANGES, type CommandSpec } from './schema.js';
import { BACKEND_OPTION, VOCAB_DEFAULTS, WORKERS_OPTION } from './training.js';

/** The program's own options, before any command. */
export const PROGRAM = {
  name: 'ulmfit',
  description:
    "fastai's ULMFiT for Node.js: tokenize, pretrain and fine-tune AWD-LSTM language models, train text classifiers, generate text",
  options: [
    {
      flag: '--offline',
      help: 'never use the network: a model or dataset name that is not cached is an error (also ULMFIT_OFFLINE=1)',
    },
  ],
} as const satisfies CommandSpec;

export const TOKENIZE = {
  name: 'tokenize',
  description: 'tokenize text (fastai rules + word tokens) into a corpus directory, or print the tokens',
  arguments: [
    {
      syntax: '<inputs...>',
      help: 'text/CSV/TSV/JSONL files, folders of .txt, or - for stdin (one document per line)',
    },
  ],
  options: [
    {
      flag: '--out <dir>',
      help: 'write the tokenized corpus directory here (without it: print tokens to stdout)',
    },
    { flag: '--no-rules', help: 'skip the fastai rules (no xxbos/xxmaj/xxup/xxrep, no lower-casing)' },
    { flag: '--add-eos', help: 'end every document with xxeos' },
    {
      flag: '--min-freq <n>',
      help: 'keep tokens seen at least n times in the vocab',
      parse: 'int',
      default: VOCAB_DEFAULTS.minFreq,
    },
    {
      flag: '--max-vocab <n>',
      help: 'at most n tokens in the vocab (then xxfake pads it to a multiple of 8)',
      parse: 'int',
      default: VOCAB_DEFAULTS.maxVocab,
    },
    {
      flag: '--vocab <path>',
      help: 'reuse a vocab: a vocab.json, or a model/corpus directory (its tokenizer settings too)',
    },
    { flag: '--text-col <col>', help: 'CSV/TSV column or JSONL field with the text (name or 0-based index)' },
    { flag: '--label-col <col>', help: 'CSV/TSV column or JSONL field with the label' },
    { flag: '--line-docs', help: 'a plain text file holds one document per line' },
    // Text, checked by the command (its message names both encodings).
    { flag: '--encoding <enc>', help: 'input encoding: utf8 or latin1', default: 'utf8' },
    WORKERS_OPTION,
    { flag: '--no-cache', help: 'do not read or write the corpus cache', key: 'noCache' },
    { flag: '--cache-dir <dir>', help: 'corpus cache folder (default $ULMFIT_CACHE_DIR or ./.ulmfit-cache)' },
    { flag: '--overwrite', help: 'replace a non-empty --out directory' },
    { flag: '--ids', help: 'print token ids instead of tokens', library: false },
    {
      flag: '--json',
      help: 'print JSON lines ({"tokens": [...]} or {"ids": [...]}; exact, where plain output shows a newline token as \\n); with --out, one JSON summary',
      library: false,
    },
    { flag: '--quiet', help: 'no progress bar, summary or warnings on stderr', library: false },
    {
      flag: '--subword',
      help: "SentencePiece unigram pieces instead of words (fastai's SubwordTokenizer): trains spm.model on the inputs after the rules",
    },
    {
      flag: '--vocab-size <n>',
      help: "subword vocab size (default: fastai's rule, a quarter of the unique words, at most 30000)",
      parse: 'int',
    },
    {
      flag: '--lang <code>',
      help: 'language: subword character coverage 0.99999 for European languages, else 0.9998 (word tokens: en only)',
    },
    {
      flag: '--spm-model <file>',
      help: 'use this SentencePiece .model (ulmfit, spm_train or fastai) instead of training one; implies --subword',
    },
  ],
  after:
    "\nExample:\n  printf 'I LOVED it!!!!\\n' | ulmfit tokenize -\n  ulmfit tokenize aclImdb --out imdb-tok\n  ulmfit tokenize wiki-zh.txt --line-docs --subword --lang zh --vocab-size 8000 --out zh-tok",
} as const satisfies CommandSpec;

export const BENCH = {
  name: 'bench',
  description: 'time AWD-LSTM language-model training steps and inference passes on random tokens (tokens/s)',
  options: [
    { flag: '--vocab <n>', help: 'vocabulary size', parse: 'int', default: 10000 },
    {
      flag: '--emb <n>',
      help: 'embedding size (also the last layer size, tied decoder)',
      parse: 'int',
      default: 200,
    },
    { flag: '--hidden <n>', help: 'hidden size of the other LSTM layers', parse: 'int', default: 600 },
    { flag: '--layers <n>', help: 'LSTM layers', parse: 'int', default: 3 },
    { flag: '--bs <n>', help: 'batch size', parse: 'int', default: 32 },
    { flag: '--bptt <n>', help: 'tokens per sequence in a batch', parse: 'int', default: 72 },
    { flag: '--steps <n>', help: 'timed batches (training, then inference)', parse: 'int', default: 5 },
    {
      flag: '--warmup <n>',
      help: 'untimed batches before each timed run (the first two grow and settle the memory)',
      parse: 'int',
      default: 2,
    },
    { ...BACKEND_OPTION, help: 'auto | tensorflow | wasm | cpu' },
    {
      flag: '--workers <n>',
      help: 'data-parallel replicas (1: the single-replica learner step)',
      parse: 'int',
      default: 1,
      // replicas, as --train-workers: at least one (FLAG_RANGES.workers counts tokenizer threads, 0 = none)
      range: { ...FLAG_RANGES.workers!, min: 1 },
    },
    {
      flag: '--threads <n>',
      help: 'threads per matmul in each replica, on the native kernels (default: the cores shared out over the replicas)',
      parse: 'int',
    },
    {
      flag: '--no-main-thread',
      help: 'with --workers > 1: every replica on a worker thread (default: replica 0 on the main thread)',
    },
    {
      flag: '--update <mode>',
      help: 'with --workers > 1: replicated (AdamW in every replica) | broadcast (replica 0 steps, sends weights)',
      choices: ['replicated', 'broadcast'],
      default: 'replicated',
    },
    {
      flag: '--json',
      help: 'print {"train_tokens_per_s","infer_tokens_per_s","backend","matmul","peak_rss_mb","config","thread_ms"} (with --workers > 1 also "workers","main_thread","update","step_ms")',
      library: false,
    },
  ],
  after:
    "\nA training step is a full one (five dropouts, AR/TAR, tied decoder, AdamW) through the\nlearner; inference is an eval-mode forward pass with the decoder. With --workers N the batch's\nrows are split across N replicas (worker threads, each its own wasm instance) and the\ngradients averaged through shared memory.\n\nExamples:\n  ulmfit bench --vocab 60008 --emb 400 --hidden 1152 --bs 16 --steps 3\n  ulmfit bench --workers 2\n  ulmfit bench --threads 1     # one core: compare with single-thread PyTorch\n",
} as const satisfies CommandSpec;

export const PULL = {
  name: 'pull',
  description:
    "download fastai's pretrained models (wt103, wt103-bwd) and text datasets (imdb, ag_news, …) into the cache, once",
  arguments: [
    {
      syntax: '<names...>',
      help: 'names from ulmfit models: en, wt103 (= wt103-fwd), wt103-bwd, imdb, imdb_sample, wikitext-2, wikitext-103, ag_news, dbpedia, …',
    },
  ],
  options: [
    {
      flag: '--json',
      help: 'one JSON object per name: {"name","kind","dir","status","url"}',
      library: false,
    },
    { flag: '--quiet', help: 'no progress bar or notes on stderr', library: false },
  ],
  // The text after the options names hub/cache.ts's environment variables: cli/pull.ts adds it.
} as const satisfies CommandSpec;

export const MODELS = {
  name: 'models',
  description:
    'list the model names that --pretrained, --lm and --model accept and the datasets inputs accept (shipped, in $ULMFIT_MODELS_DIR, or pulled)',
  options: [
    {
      flag: '--json',
      help: 'one JSON object per name: {"name","installed","source","dir","kind","emb","hidden","layers","vocab","weights","bytes","download_bytes","url","description"}',
      library: false,
    },
  ],
  // The text after the options names io/model-names.ts's environment variable: cli/models.ts adds it.
} as const satisfies CommandSpec;

export const CACHE = {
  name: 'cache',
  description:
    'list (ls) or remove (clear) the tokenized corpora that training commands cache ($ULMFIT_HOME/corpora, else $XDG_CACHE_HOME/ulmfit/corpora, else ~/.cache/ulmfit/corpora)',
  arguments: [
    {
      syntax: '<action>',
      help: 'ls: entries, sizes, last use; clear: remove entries',
      choices: ['ls', 'clear'],
    },
  ],
  options: [
    {
      flag: '--older-than <days>',
      help: 'clear: only entries last used more than this many days ago',
      parse: 'number',
    },
    { flag: '--cache-dir <dir>', help: 'the cache folder (default: $ULMFIT_CACHE_DIR, else the one above)' },
    {
      flag: '--json',
      help: 'ls: one JSON object per entry; clear: one object with what was removed',
      library: false,
    },
  ],
  after: '\nExamples:\n  ulmfit cache ls\n  ulmfit cache clear --older-than 30',
} as const satisfies CommandSpec;

export const IMPORT_FASTAI = {
  name: 'import-fastai',
  description:
    'convert a fastai AWD-LSTM (.pth, zip or legacy torch.save) and its itos .pkl into an ulmfit model directory',
  arguments: [
    {
      syntax: '<weights>',
      help: 'the .pth state dict (learn.save, learn.save_encoder, or WT103 lstm_fwd.pth / lstm_bwd.pth)',
    },
    { syntax: '<itos>', help: 'the pickled vocabulary saved with it (e.g. itos_wt103.pkl)' },
  ],
  options: [
    { flag: '--out <dir>', help: 'the model directory to write', required: true },
    {
      flag: '--backwards',
      help: 'the model reads text backwards (fastai backwards=True, e.g. lstm_bwd.pth)',
    },
    { flag: '--overwrite', help: 'replace an existing --out model directory' },
    { flag: '--json', help: 'print one JSON object describing the import', library: false },
    { flag: '--quiet', help: 'no warnings on stderr', library: false },
  ],
  after:
    '\nExample:\n  tar xzf wt103-fwd.tgz && ulmfit import-fastai wt103-fwd/lstm_fwd.pth wt103-fwd/itos_wt103.pkl --out wt103-fwd-ulmfit',
} as const satisfies CommandSpec;

export const EXPORT_FASTAI = {
  name: 'export-fastai',
  description: 'write an ulmfit language model or encoder as a fastai .pth state dict and itos .pkl',
  arguments: [
    { syntax: '<model>', help: 'a model directory, or a run directory (uses model-best/, else model-last/)' },
  ],
  options: [
    { flag: '--out <file.pth>', help: 'the state dict to write', required: true },
    { flag: '--itos <file.pkl>', help: 'where to write the vocabulary pickle (default: <out>_itos.pkl)' },
    { flag: '--encoder', help: "write only the encoder, as fastai's save_encoder does (for load_encoder)" },
    { flag: '--v1', help: "fastai v1 layout (adds each layer's duplicate module.weight_hh_l0)" },
    { flag: '--overwrite', help: 'replace existing output files' },
    { flag: '--json', help: 'print one JSON object describing the export', library: false },
  ],
  after:
    "\nExample:\n  ulmfit export-fastai runs/imdb-lm --out imdb_lm.pth\n  # fastai: language_model_learner(dls, AWD_LSTM, pretrained_fnames=['imdb_lm', 'imdb_lm_itos'])",
} as const satisfies CommandSpec;

export const PLOT = {
  name: 'plot',
  description:
    "draw a run's training curves (train/valid loss and valid accuracy per epoch, from metrics.jsonl) as SVG; training commands draw them when a run completes",
  arguments: [
    {
      syntax: '<run>',
      help: 'a run directory (--out of pretrain, finetune-lm or train-classifier), finished or not',
    },
  ],
  options: [
    { flag: '--out <file>', help: 'where to write the SVG (default <run>/training.svg)' },
    { flag: '--json', help: 'print {"plot": <path>, "epochs": <n>}', library: false },
  ],
  after: '\nExample:\n  ulmfit plot runs/reviews-lm --out reviews-lm.svg',
} as const satisfies CommandSpec;

/** The commands whose options are defined here (the program's own options are PROGRAM's). */
export const UTILITY_COMMANDS: readonly CommandSpec[] = [
  TOKENIZE,
  BENCH,
  PULL,
  MODELS,
  CACHE,
  IMPORT_FASTAI,
  EXPORT_FASTAI,
  PLOT,
];
