/**
 * The JSON every command prints (`--json`) and every file a run writes for people and scripts to
 * read (metrics.jsonl), defined once as zod schemas: the commands type their output with them,
 * tools/gen-json-doc.mjs turns them into JSON Schemas in docs/json-output.md, and the tests check
 * that doc and validate real outputs against them.
 *
 * The output convention: snake_case keys; stage and epoch counted from 1, as the tables print
 * them; an epoch has the columns of its task's table (language models: perplexity; classifiers:
 * f1_macro, no perplexity); a value that does not exist is null, not left out, unless a key says
 * it is optional.
 */
import { z } from 'zod';
import { ENSEMBLE_CHOICE_SCHEMA } from '../io/ensemble-choice.js';
import { EPOCH_RECORD_SCHEMA } from '../tasks/epoch-record.js';

/** `{ fooBar: 1 }` → `{ foo_bar: 1 }`, recursively through plain objects and arrays (not Maps or typed arrays). */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype)
    return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      snakeKeys(v),
    ]),
  );
}

const nullableNumber = z.number().nullable();

/** The epoch record under a name, so the JSON Schemas define it once (`$defs`) and refer to it. */
const EPOCH = EPOCH_RECORD_SCHEMA.meta({ id: 'epoch_record' });
const count = z.number().int().min(0);

export const LM_OUTPUT = z
  .object({
    run_dir: z.string(),
    backend: z.string().describe('the TF.js backend that ran'),
    vocab_size: count,
    train_tokens: count,
    valid_tokens: count,
    transfer_found: count
      .nullable()
      .describe('finetune-lm: vocab tokens found in the pretrained vocab; pretrain: null'),
    before: z
      .object({ valid_loss: nullableNumber, accuracy: nullableNumber, perplexity: nullableNumber })
      .nullable()
      .optional()
      .describe('finetune-lm: the pretrained model on the validation set before training'),
    best: EPOCH.nullable().describe('the epoch model-best/ holds (lowest validation loss)'),
    history: z.array(EPOCH).describe('every epoch, as in metrics.jsonl'),
    plot: z.string().nullable().optional().describe('the training curves SVG written into the run directory'),
  })
  .strict();
export type LmOutput = z.output<typeof LM_OUTPUT>;

export const CLASSIFIER_OUTPUT = z
  .object({
    run_dir: z.string(),
    backend: z.string(),
    encoder: z.string().nullable().describe('the encoder directory loaded; null with --from-scratch'),
    labels: z.array(z.string()).describe('class names, index = class id'),
    train_docs: count,
    valid_docs: count,
    vocab_size: count,
    bs: count.min(1),
    recipe: z.string().describe('the recipe the run used and why'),
    best: EPOCH.nullable().describe(
      'the epoch model-best/ holds (best validation accuracy, lower loss on ties)',
    ),
    history: z.array(EPOCH).describe('every epoch, as in metrics.jsonl'),
    networks: z
      .array(z.object({ run_dir: z.string(), seed: count, best: EPOCH.nullable() }).strict())
      .optional()
      .describe(
        'every network trained (several on small data, averaged by classify): the first is run_dir itself (best and history above), the others run_dir/networks/<k>/',
      ),
    baseline: z
      .object({
        model: z.literal('nbsvm'),
        dir: z.string(),
        accuracy: nullableNumber,
        f1_macro: nullableNumber,
        train_seconds: z.number(),
      })
      .nullable()
      .describe('the NB-SVM baseline on the same split; null with --no-baseline'),
    ensemble: z
      .object({
        members: z.array(z.string()),
        accuracy: z.number(),
        f1_macro: z.number(),
      })
      .nullable()
      .optional()
      .describe(
        "validation scores of what `classify --model <run_dir>` uses: the networks' model-best/ and the baseline, averaged (members lists those scored: when the validation documents were drawn from the labeled ones each network held out its own share, so only the first network is scored); null without a baseline or validation documents",
      ),
    ensemble_choice: ENSEMBLE_CHOICE_SCHEMA.nullable()
      .optional()
      .describe(
        'what `classify --model <run_dir>` uses, saved as run_dir/ensemble.json: the networks averaged with the baseline (weighing baseline_weight), or the baseline alone when it won clearly more of the held-out documents where exactly one of the two was right (held_out: each network on its own validation share beside an NB-SVM trained without it); null without a baseline or validation documents',
      ),
    plot: z.string().nullable().optional().describe('the training curves SVG written into the run directory'),
  })
  .strict();
export type ClassifierOutput = z.output<typeof CLASSIFIER_OUTPUT>;

export const BASELINE_OUTPUT = z
  .object({
    out: z.string(),
    labels: z.array(z.string()),
    train_docs: count,
    valid_docs: count,
    features: count,
    accuracy: nullableNumber.describe('null without validation documents'),
    f1_macro: nullableNumber,
    train_seconds: z.number(),
    seconds: z.number(),
  })
  .strict();

const TOP_K = z.array(z.object({ label: z.string(), probability: z.number() }).strict());

/** One `classify --json` line per input document, in input order. */
export const CLASSIFY_ROW = z
  .object({
    index: count.describe("the document's position in the input, from 0 (empty documents count)"),
    id: z
      .string()
      .optional()
      .describe("the document's id: the --id-col column or field (default id, when the input has one)"),
    origin: z.string().describe('where it came from: a file, or file:line'),
    empty: z
      .literal(true)
      .optional()
      .describe('an empty document: no prediction (label, probability and probabilities are null)'),
    label: z.string().nullable().describe('the most probable class'),
    probability: nullableNumber,
    probabilities: z
      .record(z.string(), z.number())
      .nullable()
      .describe("every class's probability, by class name"),
    top_k: TOP_K.optional().describe('with --top-k: the k most probable classes'),
    gold: z.string().optional().describe("the input's own label, when it has one (not with --no-labels)"),
  })
  .strict();
export type ClassifyRowOutput = z.output<typeof CLASSIFY_ROW>;

/** The last `classify --json` line when the input has gold labels. */
export const CLASSIFY_EVALUATION = z
  .object({
    evaluation: z
      .object({
        count: count.describe('documents scored (those with a gold label)'),
        accuracy: z.number(),
        f1_macro: z.number(),
        per_class: z.array(
          z
            .object({
              label: z.string(),
              precision: z.number(),
              recall: z.number(),
              f1: z.number(),
              support: count,
            })
            .strict(),
        ),
        confusion: z.array(z.array(count)).describe('confusion[gold][predicted], in label order'),
        labels: z.array(z.string()),
      })
      .strict(),
  })
  .strict();
export type ClassifyEvaluationLine = z.output<typeof CLASSIFY_EVALUATION>;

export const EVALUATE_OUTPUT = z
  .object({
    model: z.string(),
    tokens: count,
    loss: z.number(),
    perplexity: z.number(),
    accuracy: z.number(),
    unknown_rate: z.number().describe("share of tokens outside the model's vocab (xxunk)"),
    vocab_size: count,
  })
  .strict();

export const GENERATE_OUTPUT = z.looseObject({
  prompt: z.string(),
  tokens: z.array(z.string()).describe('the generated tokens'),
  text: z.string().describe('prompt and continuation, detokenized'),
});

export const LR_FIND_OUTPUT = z.looseObject({
  valley: nullableNumber.describe('the suggested learning rate; null with too few batches'),
  stopped_early: z.boolean(),
  lrs: z.array(z.number()),
  losses: z.array(z.number()),
});

export const TOKENIZE_TOKENS = z
  .object({ tokens: z.array(z.string()), label: z.string().optional() })
  .strict();
export const TOKENIZE_IDS = z.object({ ids: z.array(count), label: z.string().optional() }).strict();
export const TOKENIZE_SUMMARY = z
  .object({
    dir: z.string(),
    cache_hit: z.boolean(),
    num_docs: count,
    num_tokens: count,
    num_types: count,
    vocab_size: count,
    unknown_tokens: count,
    unknown_rate: z.number(),
    empty_skipped: count,
    warnings: z.array(z.string()),
    seconds: z.number(),
    workers: count,
  })
  .strict();

export const MODELS_OUTPUT = z
  .object({
    name: z.string(),
    installed: z.boolean(),
    source: z
      .enum(['package', 'env', 'cache'])
      .describe('package: shipped; env: a folder of $ULMFIT_MODELS_DIR; cache: ulmfit pull'),
    url: z.string().optional(),
    download_bytes: count.optional(),
    dir: z.string(),
    model_dir: z
      .string()
      .optional()
      .describe("the model directory the name resolves to (a run directory's model-best/…)"),
    description: z.string().optional(),
    kind: z.string().optional(),
    backwards: z.boolean().optional(),
    emb: count.optional(),
    hidden: count.optional(),
    layers: count.optional(),
    vocab: count.optional(),
    weights: z.string().optional().describe("the float weights' dtype(s)"),
    bytes: count.optional(),
    error: z.string().optional().describe('why an installed name is not a loadable model'),
  })
  .strict();

export const PULL_OUTPUT = z
  .object({
    name: z.string(),
    kind: z.enum(['model', 'dataset']),
    dir: z.string(),
    status: z.enum(['package', 'cache', 'downloaded']),
    url: z.string().optional(),
  })
  .strict();

export const IMPORT_FASTAI_OUTPUT = z
  .object({
    out: z.string(),
    kind: z.string(),
    layout: z.string(),
    container: z.string(),
    vocab_size: count,
    emb_size: count,
    hidden_size: count,
    n_layers: count,
    tied_decoder: z.boolean(),
    decoder_bias: z.boolean(),
    backwards: z.boolean(),
  })
  .strict();

export const EXPORT_FASTAI_OUTPUT = z
  .object({
    model_dir: z.string(),
    out: z.string(),
    itos_out: z.string(),
    kind: z.string(),
    tensors: count,
  })
  .strict();

export const BENCH_OUTPUT = z
  .object({
    train_tokens_per_s: z.number(),
    infer_tokens_per_s: z.number(),
    workers: count.optional(),
    main_thread: z.boolean().optional(),
    update: z.string().optional(),
    step_ms: z
      .array(z.record(z.string(), z.number()))
      .optional()
      .describe('with --workers > 1: per replica, ms per step by phase'),
    backend: z.string(),
    matmul: z.string(),
    peak_rss_mb: z.number(),
    config: z.object({
      vocab: count,
      emb: count,
      hidden: count,
      layers: count,
      bs: count,
      bptt: count,
      steps: count,
      warmup: count,
    }),
    thread_ms: z
      .array(z.object({ on_cpu: z.number(), waiting: z.number() }))
      .optional()
      .describe('Linux: per training thread, ms per step on a CPU and waiting for one'),
  })
  .strict();

/** One documented output: where it appears, how many lines, and its shape. */
export interface JsonOutput {
  /** The heading in docs/json-output.md. */
  title: string;
  /** Where it is printed or written. */
  where: string;
  /** 'object': one JSON object; 'lines': one JSON object per line. */
  form: 'object' | 'lines';
  schema: z.ZodType;
}

/** Every JSON output, in the order docs/json-output.md lists them. */
export const JSON_OUTPUTS: readonly JsonOutput[] = [
  {
    title: 'pretrain, finetune-lm',
    where: '`ulmfit pretrain --json`, `ulmfit finetune-lm --json`',
    form: 'object',
    schema: LM_OUTPUT,
  },
  {
    title: 'train-classifier',
    where: '`ulmfit train-classifier --json`',
    form: 'object',
    schema: CLASSIFIER_OUTPUT,
  },
  {
    title: 'metrics.jsonl',
    where: '`<run>/metrics.jsonl` of every training command: one line per epoch, written as it ends',
    form: 'lines',
    schema: EPOCH_RECORD_SCHEMA,
  },
  {
    title: 'classify',
    where: '`ulmfit classify --json`: one line per input document, in input order',
    form: 'lines',
    schema: CLASSIFY_ROW,
  },
  {
    title: 'classify (evaluation)',
    where: '`ulmfit classify --json`: the last line, when the input has gold labels',
    form: 'object',
    schema: CLASSIFY_EVALUATION,
  },
  { title: 'baseline', where: '`ulmfit baseline --json`', form: 'object', schema: BASELINE_OUTPUT },
  { title: 'evaluate', where: '`ulmfit evaluate --json`', form: 'object', schema: EVALUATE_OUTPUT },
  {
    title: 'generate',
    where: '`ulmfit generate --json`: one line per sample',
    form: 'lines',
    schema: GENERATE_OUTPUT,
  },
  { title: 'lr-find', where: '`ulmfit lr-find --json`', form: 'object', schema: LR_FIND_OUTPUT },
  {
    title: 'tokenize (tokens)',
    where: '`ulmfit tokenize --json`: one line per document',
    form: 'lines',
    schema: TOKENIZE_TOKENS,
  },
  {
    title: 'tokenize (ids)',
    where: '`ulmfit tokenize --ids --json`: one line per document',
    form: 'lines',
    schema: TOKENIZE_IDS,
  },
  {
    title: 'tokenize (corpus)',
    where: '`ulmfit tokenize --out <dir> --json`',
    form: 'object',
    schema: TOKENIZE_SUMMARY,
  },
  {
    title: 'models',
    where: '`ulmfit models --json`: one line per name',
    form: 'lines',
    schema: MODELS_OUTPUT,
  },
  { title: 'pull', where: '`ulmfit pull --json`: one line per name', form: 'lines', schema: PULL_OUTPUT },
  {
    title: 'import-fastai',
    where: '`ulmfit import-fastai --json`',
    form: 'object',
    schema: IMPORT_FASTAI_OUTPUT,
  },
  {
    title: 'export-fastai',
    where: '`ulmfit export-fastai --json`',
    form: 'object',
    schema: EXPORT_FASTAI_OUTPUT,
  },
  { title: 'bench', where: '`ulmfit bench --json`', form: 'object', schema: BENCH_OUTPUT },
];

/** The JSON Schema (draft 2020-12) of an output, as docs/json-output.md shows it. */
export function jsonSchemaOf(output: JsonOutput): unknown {
  return withoutSafeIntegerBounds(z.toJSONSchema(output.schema, { io: 'output' }));
}

/** zod's `.int()` adds ±2^53-1 bounds to every integer: noise for a reader, dropped. */
function withoutSafeIntegerBounds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSafeIntegerBounds);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).filter(
    ([key, v]) =>
      !(
        (key === 'maximum' && v === Number.MAX_SAFE_INTEGER) ||
        (key === 'minimum' && v === Number.MIN_SAFE_INTEGER)
      ),
  );
  return Object.fromEntries(entries.map(([key, v]) => [key, withoutSafeIntegerBounds(v)]));
}
