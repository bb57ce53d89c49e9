/**
 * The settings of the commands that use a trained model: generate, classify, evaluate and serve.
 * Their defaults are here once (the library, the server and the CLI read them) and each command's
 * options once (cli/options.ts addCommand builds flags, parsers and --help from them). Ranges are
 * config/schema.ts FLAG_RANGES.
 */
import type { CommandSpec, OptionSpec } from './schema.js';
import { BACKEND_OPTION, CLASSIFIER_DEFAULTS, LM_DEFAULTS, TRAINING_DEFAULTS } from './training.js';

/**
 * The weight of an NB-SVM baseline in a classifier ensemble (a ULMFiT classifier, or a run's bag of
 * networks, counts 1): its probabilities are under-confident and the network's over-confident (the
 * few-label benchmark, mean top probability against accuracy: NB-SVM 0.40 at 0.71 on Brown genres
 * with 20 labels a class, the network 0.97 at 0.92 on spam), so with equal weights the average is
 * mostly the network's vote. Counted twice, the average beat the equal one in 28 of 36 runs and
 * lost 4; three times beat twice in 40 of 51 runs of one network and in 17 of 21 runs of the
 * bag, most of the gain on a task added after the choice of 2 (workbench/few-labels/
 * ensemble-weights.mjs, defaults-table.mjs; docs/few-labels-benchmark.md, sessions 11 and 15).
 */
export const BASELINE_ENSEMBLE_WEIGHT = 3;

/** Text generation: `ulmfit generate`, the library API (api/language-model.ts) and `ulmfit serve`. */
// prettier-ignore
export const GENERATION_DEFAULTS = {
  words: 40,          // per sample: a sentence or two (the CLI counts words of text, the library model tokens)
  temperature: 1,     // 1 samples from the model's own distribution (fastai's default); 0 = greedy
  seed: 42,           // fixed, so the same call gives the same text
} as const;

/** `ulmfit serve`'s limits (serve/server.ts applies them; each is a flag of serve but the last two). */
// prettier-ignore
export const SERVE_DEFAULTS = {
  maxBatch: 64,             // documents per batched forward pass: `ulmfit classify --bs`
  batchWaitMs: 2,           // ms the first waiting request waits for others before its batch runs (latency it may add)
  maxQueue: 1024,           // documents (classify) or prompts (generate) waiting per model before requests get 429
  timeoutMs: 30_000,        // ms from arrival to answer before a request gets 503 E_TIMEOUT
  maxBodyBytes: 1 << 20,    // request body bytes before 413
  maxTexts: 256,            // texts per classify request before 413 (at most maxQueue)
  maxTextChars: 100_000,    // characters per text (or prompt) before 413
  maxWords: 1000,           // words per generate request before 413
  maxSamples: 16,           // samples per generate request before 413
} as const;

export type ServeLimits = { -readonly [K in keyof typeof SERVE_DEFAULTS]: number };

/** The --backend of generate and evaluate: the same flag, help written with bars. */
const backendWithBars = { ...BACKEND_OPTION, help: 'auto | tensorflow | wasm | cpu' } as const;

export const GENERATE = {
  name: 'generate',
  description: 'continue a prompt with a language model (fastai LMLearner.predict)',
  // The numbers are read as text and parsed by the command (cli/generate.ts), whose messages say
  // what each one must be; FLAG_RANGES' `text` entries add the upper bounds.
  options: [
    {
      flag: '--model <dir|name>',
      help: 'a language model: a model or run directory, or a model name (en; see ulmfit models)',
      required: true,
    },
    {
      flag: '--prompt <text>',
      help: 'text to continue; - reads it from stdin; empty starts a new document',
      default: '',
    },
    {
      flag: '--words <n>',
      help: `words of text to generate per sample (default ${GENERATION_DEFAULTS.words})`,
    },
    {
      flag: '--tokens <n>',
      help: "instead of --words: model tokens per sample (fastai's n_words; punctuation and xxmaj count)",
    },
    {
      flag: '--temperature <t>',
      help: 'sampling temperature; 0 = greedy',
      default: String(GENERATION_DEFAULTS.temperature),
    },
    { flag: '--top-k <k>', help: 'sample only from the k most probable tokens' },
    { flag: '--top-p <p>', help: 'nucleus sampling: smallest set with probability ≥ p, in (0, 1]' },
    { flag: '--min-p <p>', help: "fastai's min_p: drop tokens with probability < p" },
    { flag: '--allow-unk', help: 'allow xxunk to be generated (fastai no_unk=False)' },
    {
      flag: '--seed <n>',
      help: 'random seed (same seed, same backend: same text)',
      default: String(GENERATION_DEFAULTS.seed),
    },
    { flag: '--samples <n>', help: 'independent continuations', default: '1' },
    { flag: '--stop-at-eos', help: 'stop a sample where the model ends the document' },
    { flag: '--raw', help: 'print tokens instead of detokenized text', library: false },
    {
      flag: '--json',
      help: 'print one JSON object per sample: {"prompt","tokens","text"}',
      library: false,
    },
    // Checked by the command against BACKEND_NAMES, with its own message (no `choices`).
    { flag: '--backend <name>', help: backendWithBars.help, default: 'auto' },
  ],
  after:
    '\nExamples:\n  ulmfit generate --model runs/lm/model-best --prompt "I liked this movie because" --words 40 --temperature 0.75\n  head -c 300 story.txt | ulmfit generate --model en --prompt - --words 20\n',
} as const satisfies CommandSpec;

/** Where classify and evaluate read the text of CSV/TSV/JSONL inputs, and plain files' documents. */
const lineDocs = {
  flag: '--line-docs',
  help: 'a plain text file holds one document per line',
} as const satisfies OptionSpec;

export const CLASSIFY = {
  name: 'classify',
  description:
    'classify documents with a trained classifier (two --model: averaged, e.g. forward + backward)',
  arguments: [
    {
      syntax: '<inputs...>',
      help: 'text files, folders of .txt (a subfolder per label gives gold labels), CSV/TSV/JSONL, or - (one document per line)',
    },
  ],
  options: [
    {
      flag: '--model <dir>',
      help: 'classifier directory, train-classifier run directory or baseline directory (repeatable: the probabilities are averaged)',
      parse: 'list',
      required: true,
    },
    {
      flag: '--bs <n>',
      help: 'documents per forward pass',
      parse: 'int',
      default: CLASSIFIER_DEFAULTS.bs,
    },
    { flag: '--top-k <k>', help: 'print the k most probable labels per document', parse: 'int' },
    { flag: '--text-col <col>', help: 'CSV/TSV column or JSONL field with the text (default text)' },
    {
      flag: '--label-col <col>',
      help: 'CSV/TSV column or JSONL field with gold labels (default label, when present)',
    },
    {
      flag: '--no-labels',
      help: 'ignore gold labels in the input (label column or field, label folders): predict only, no scores',
    },
    {
      flag: '--id-col <col>',
      help: 'CSV/TSV column or JSONL field with document ids (default id, when present)',
    },
    {
      flag: '--with-ids',
      help: "print each document's id (else its origin: file, or file:line) as the first column",
      library: false,
    },
    lineDocs,
    BACKEND_OPTION,
    {
      flag: '--json',
      help: 'one JSON object per document with its origin, id and every class probability (and a final {"evaluation"} line for labeled input)',
      library: false,
    },
    { flag: '--quiet', help: 'no info or warnings on stderr', library: false },
  ],
  // The text after the options names cli/classify-output.ts's empty row: cli/classify.ts adds it.
} as const satisfies CommandSpec;

export const EVALUATE = {
  name: 'evaluate',
  description:
    'score a language model on held-out text: loss, perplexity, next-token accuracy (classifiers: `classify` with gold labels)',
  arguments: [
    {
      syntax: '<inputs...>',
      help: 'text files, folders of .txt, CSV/TSV/JSONL, or - (stdin, one document per line)',
    },
  ],
  options: [
    {
      flag: '--model <dir|name>',
      help: 'a language model: a model or run directory, or a model name (ulmfit models)',
      required: true,
    },
    {
      flag: '--bs <n>',
      help: 'parallel text streams (the score barely depends on it)',
      parse: 'int',
      default: LM_DEFAULTS.bs,
    },
    { flag: '--bptt <n>', help: 'tokens per batch', parse: 'int', default: TRAINING_DEFAULTS.bptt },
    { flag: '--text-col <col>', help: 'CSV/TSV column or JSONL field with the text' },
    lineDocs,
    backendWithBars,
    {
      flag: '--json',
      help: 'print one JSON object: {"model","tokens","loss","perplexity","accuracy","unknown_rate","vocab_size"}',
      library: false,
    },
  ],
  after:
    "\nThe text is tokenized with the model's own tokenizer and vocab (words it lacks count as xxunk).\n\nExample:\n  ulmfit evaluate heldout/ --model en",
} as const satisfies CommandSpec;

export const SERVE = {
  name: 'serve',
  description:
    'serve classifiers and language models over HTTP (POST /v1/classify, POST /v1/generate, GET /v1/models, GET /healthz)',
  options: [
    {
      flag: '--model <dir|name|name=dir>',
      help: 'a classifier, baseline or language model to serve (repeatable; the first of each kind is the default)',
      parse: 'list',
      required: true,
    },
    { flag: '--port <n>', help: 'TCP port (0: any free port)', parse: 'int', default: 8080 },
    {
      flag: '--host <address>',
      help: 'address to listen on (0.0.0.0: every interface)',
      default: '127.0.0.1',
    },
    {
      flag: '--max-batch <n>',
      help: 'documents per batched forward pass',
      parse: 'int',
      default: SERVE_DEFAULTS.maxBatch,
    },
    {
      flag: '--batch-wait-ms <ms>',
      help: 'how long a request waits for others to batch with',
      parse: 'int',
      default: SERVE_DEFAULTS.batchWaitMs,
    },
    {
      flag: '--max-queue <n>',
      help: 'documents or prompts waiting per model before requests get 429',
      parse: 'int',
      default: SERVE_DEFAULTS.maxQueue,
    },
    {
      flag: '--timeout-ms <ms>',
      help: 'time limit per request (then 503)',
      parse: 'int',
      default: SERVE_DEFAULTS.timeoutMs,
    },
    {
      flag: '--max-body-bytes <n>',
      help: 'request body size limit (then 413)',
      parse: 'int',
      default: SERVE_DEFAULTS.maxBodyBytes,
    },
    {
      flag: '--max-texts <n>',
      help: 'texts per classify request (then 413)',
      parse: 'int',
      default: SERVE_DEFAULTS.maxTexts,
    },
    {
      flag: '--max-text-chars <n>',
      help: 'characters per text or prompt (then 413)',
      parse: 'int',
      default: SERVE_DEFAULTS.maxTextChars,
    },
    BACKEND_OPTION,
    {
      flag: '--log-json',
      help: 'log one JSON object per request instead of a text line',
      library: false,
    },
    { flag: '--quiet', help: 'no request log', library: false },
  ],
  after:
    '\nLogs one line per request to stdout; SIGTERM or SIGINT finishes the requests in flight, then exits.' +
    '\nRequests and responses: docs/api.md.' +
    '\n\nExample:\n  ulmfit serve --model genres=runs/genre-clas --model en --port 8080' +
    '\n  curl -s localhost:8080/v1/classify -H content-type:application/json -d \'{"texts":["A fine sermon."]}\'',
} as const satisfies CommandSpec;

/** The commands whose options are defined here. */
export const INFERENCE_COMMANDS: readonly CommandSpec[] = [GENERATE, CLASSIFY, EVALUATE, SERVE];
