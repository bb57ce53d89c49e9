/**
 * `ulmfit serve`: classifiers and language models behind an HTTP JSON API (fastify, with its
 * JSON-schema request validation).
 *
 *   POST /v1/classify  {texts: [...], top_k?, model?}        → {model, predictions: [...]}
 *   POST /v1/generate  {prompt, words? | tokens?, temperature?, …}     → {model, prompt, samples: [{text, tokens}]}
 *   GET  /v1/models                                          → {models: [...]} (with queue counters)
 *   GET  /healthz                                            → {status: "ok"}
 *
 * Each model has a MicroBatcher (batcher.ts): concurrent classify requests run as one predict,
 * generate requests one at a time; the queue is bounded (429), every request has a time limit
 * (503) and size limits (413), and a bad request is answered 400 without touching the model.
 * Errors are `{error: {code, message, hint?}}`. One log entry per request goes to `onLog`; the
 * caller (cli/serve.ts) writes it. Nothing here reads argv or prints.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { Classifier, type ClassPrediction } from '../api/classifier.js';
import {
  checkGenerateTextOptions,
  LanguageModel,
  type Generation,
  type GenerateTextOptions,
} from '../api/language-model.js';
import type { BackendName } from '../backend.js';
import { isUlmfitError, UlmfitError, usageError, type ErrorCode } from '../errors.js';
import { topK } from '../infer/classify.js';
import { BASELINE_KIND, readModelKind, resolveModelDir } from '../io/artifact.js';
import { MicroBatcher, type BatchInfo, type BatcherStats } from './batcher.js';
import { SERVE_DEFAULTS, type ServeLimits } from '../config/inference.js';

export interface ServeModelRef {
  /** The name requests use (`"model": name`); the first of each kind is the default. */
  name: string;
  /** A model or run directory, or a model name (`ulmfit models`). */
  ref: string;
}

export interface ServeOptions extends Partial<ServeLimits> {
  models: readonly ServeModelRef[];
  backend?: BackendName;
  /** Called once per request, after the answer is sent. */
  onLog?: (entry: RequestLog) => void;
}

/** One line of the request log. */
export interface RequestLog {
  time: string;
  id: string;
  method: string;
  url: string;
  status: number;
  ms: number;
  model?: string;
  /** Documents classified or prompts generated for. */
  items?: number;
  /** The batch that answered it: its id, and how many documents and requests it held. */
  batch?: BatchInfo;
  error?: { code: string; message: string };
}

export interface ModelInfo {
  name: string;
  kind: 'classifier' | 'lm';
  dir: string;
  labels?: readonly string[];
  backwards?: boolean;
  queue: BatcherStats;
}

type Served =
  | {
      kind: 'classifier';
      name: string;
      dir: string;
      model: Classifier;
      batcher: MicroBatcher<ClassifyItem, ClassPrediction>;
    }
  | {
      kind: 'lm';
      name: string;
      dir: string;
      model: LanguageModel;
      batcher: MicroBatcher<GenerateItem, Generation[]>;
    };

interface ClassifyItem {
  text: string;
}

interface GenerateItem {
  prompt: string;
  samples: number;
  options: GenerateTextOptions;
}

export interface UlmfitServer {
  readonly app: FastifyInstance;
  readonly models: readonly ModelInfo[];
  /** Starts listening; resolves to the address (port 0 picks a free one). */
  listen(port: number, host: string): Promise<string>;
  /**
   * Graceful shutdown: stops accepting connections, answers new requests on open connections
   * 503, lets every request already received finish, then frees the models.
   */
  close(): Promise<void>;
}

/** A request the server refuses, with its HTTP status. */
class RequestError extends UlmfitError {
  constructor(
    readonly status: number,
    message: string,
    hint?: string,
  ) {
    super('E_USAGE', message, hint);
  }
}

/** HTTP status by error code; any other code is a 500 (a model or server fault, not the request's). */
const STATUS: Partial<Record<ErrorCode, number>> = { E_USAGE: 400, E_OVERLOADED: 429, E_TIMEOUT: 503 };

/** Loads every model and builds the routes (not listening yet). */
export async function createServer(options: ServeOptions): Promise<UlmfitServer> {
  const limits: ServeLimits = { ...SERVE_DEFAULTS, ...definedLimits(options) };
  if (limits.maxTexts > limits.maxQueue)
    throw usageError(
      `max texts per request (${limits.maxTexts}) exceeds the queue limit (${limits.maxQueue})`,
      'raise the queue limit or lower max texts',
    );
  const served = await loadModels(options.models, options.backend ?? 'auto', limits);
  let closing = false;
  const logFields = new WeakMap<FastifyRequest, Partial<RequestLog>>();
  const note = (request: FastifyRequest, fields: Partial<RequestLog>): void => {
    logFields.set(request, { ...logFields.get(request), ...fields });
  };

  const app = Fastify({
    logger: false, // one line per request, written by onLog (below)
    bodyLimit: limits.maxBodyBytes,
    return503OnClosing: false, // answered below in our error format
    forceCloseConnections: 'idle',
    // Strict validation: no "5" → 5 or "text" → ["text"] coercion, unknown fields refused, not dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
  });

  app.addHook('onResponse', async (request, reply) => {
    options.onLog?.({
      time: new Date().toISOString(),
      id: String(request.id),
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ...logFields.get(request),
    });
  });

  // A request that arrives (on an open connection) once shutdown has begun is refused at once.
  app.addHook('onRequest', async () => {
    if (closing)
      throw new UlmfitError('E_OVERLOADED', 'the server is shutting down', 'retry on another instance');
  });

  // While shutting down, every answer closes its connection: an idle keep-alive connection would
  // hold the close open until its timeout (72 s in fastify).
  app.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });

  app.setErrorHandler((error: FastifyError | UlmfitError, request, reply) => {
    const { status, body } = errorResponse(error, closing);
    note(request, { error: { code: body.code, message: body.message } });
    if (status === 429 || status === 503) void reply.header('retry-after', '1');
    return reply.code(status).send({ error: body });
  });
  app.setNotFoundHandler((request, reply) => {
    const body = {
      code: 'E_USAGE',
      message: `no route ${request.method} ${request.url}`,
      hint: 'POST /v1/classify, POST /v1/generate, GET /v1/models, GET /healthz',
    };
    note(request, { error: { code: body.code, message: body.message } });
    return reply.code(404).send({ error: body });
  });

  app.get('/healthz', async () => ({ status: 'ok' })); // once shutdown begins, the onRequest hook answers 503

  app.get('/v1/models', async () => ({ models: served.map(modelInfo) }));

  app.post(
    '/v1/classify',
    { schema: { body: CLASSIFY_BODY } },
    async (request: FastifyRequest<{ Body: ClassifyBody }>) => {
      const body = request.body;
      const model = pick(served, 'classifier', body.model);
      note(request, { model: model.name, items: body.texts.length });
      if (body.texts.length > limits.maxTexts)
        throw new RequestError(
          413,
          `${body.texts.length} texts in one request; the limit is ${limits.maxTexts}`,
          'split them over several requests',
        );
      checkLength('text', body.texts, limits.maxTextChars);
      if (body.texts.length === 0) return { model: model.name, predictions: [] };
      const { outputs, batch } = await model.batcher.submit(
        body.texts.map((text) => ({ text })),
        AbortSignal.timeout(limits.timeoutMs),
      );
      note(request, { batch });
      const k = body.top_k;
      const { labels } = model.model;
      return {
        model: model.name,
        predictions: outputs.map((p) => ({
          label: p.label,
          probability: p.probability,
          probabilities: p.probabilities,
          ...(k !== undefined
            ? {
                top_k: topK(
                  labels,
                  labels.map((label) => p.probabilities[label]!),
                  k,
                ),
              }
            : {}),
        })),
      };
    },
  );

  app.post(
    '/v1/generate',
    { schema: { body: GENERATE_BODY } },
    async (request: FastifyRequest<{ Body: GenerateBody }>) => {
      const body = request.body;
      const model = pick(served, 'lm', body.model);
      const samples = body.samples ?? 1;
      note(request, { model: model.name, items: samples });
      checkLength('prompt', [body.prompt], limits.maxTextChars);
      if ((body.words ?? 0) > limits.maxWords)
        throw new RequestError(413, `words ${body.words} is above the limit of ${limits.maxWords}`);
      if ((body.tokens ?? 0) > limits.maxWords)
        throw new RequestError(413, `tokens ${body.tokens} is above the limit of ${limits.maxWords}`);
      if (samples > limits.maxSamples)
        throw new RequestError(413, `samples ${samples} is above the limit of ${limits.maxSamples}`);
      const options: GenerateTextOptions = {
        ...(body.words !== undefined ? { words: body.words } : {}),
        ...(body.tokens !== undefined ? { tokens: body.tokens } : {}),
        ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
        ...(body.top_k !== undefined ? { topK: body.top_k } : {}),
        ...(body.top_p !== undefined ? { topP: body.top_p } : {}),
        ...(body.min_p !== undefined ? { minP: body.min_p } : {}),
        ...(body.seed !== undefined ? { seed: body.seed } : {}),
        ...(body.allow_unk !== undefined ? { allowUnk: body.allow_unk } : {}),
        ...(body.stop_at_eos !== undefined ? { stopAtEos: body.stop_at_eos } : {}),
      };
      checkGenerateTextOptions(body.prompt, options, samples); // a bad option is a 400 before it queues
      const { outputs, batch } = await model.batcher.submit(
        [{ prompt: body.prompt, samples, options }],
        AbortSignal.timeout(limits.timeoutMs),
      );
      note(request, { batch });
      return {
        model: model.name,
        prompt: body.prompt,
        samples: outputs[0]!.map((g) => ({ text: g.text, tokens: g.tokens })),
      };
    },
  );

  return {
    app,
    models: served.map(modelInfo),
    async listen(port, host) {
      return app.listen({ port, host });
    },
    async close() {
      if (closing) return;
      closing = true;
      const closed = app.close(); // stops listening; resolves when the requests already received are answered
      await Promise.all(served.map((model) => model.batcher.drained()));
      app.server.closeIdleConnections();
      await closed;
      await Promise.all(served.map((model) => model.model.dispose()));
    },
  };
}

/** Loads each model by its kind (a baseline directory serves as a classifier). */
async function loadModels(
  refs: readonly ServeModelRef[],
  backend: BackendName,
  limits: ServeLimits,
): Promise<Served[]> {
  if (refs.length === 0) throw usageError('serve needs at least one model', 'e.g. --model runs/genre-clas');
  const names = refs.map((r) => r.name);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined)
    throw usageError(`two models are named '${repeated}'`, 'name them apart: --model name=<dir>');
  const served: Served[] = [];
  try {
    for (const { name, ref } of refs) {
      const dir = resolveModelDir(ref);
      const kind = readModelKind(dir);
      if (kind === 'classifier' || kind === BASELINE_KIND) {
        const model = await Classifier.load(ref, { backend });
        const batcher = new MicroBatcher<ClassifyItem, ClassPrediction>({
          maxBatch: limits.maxBatch,
          maxWaitMs: limits.batchWaitMs,
          maxQueue: limits.maxQueue,
          run: (items) =>
            model.predict(
              items.map((item) => item.text),
              { bs: limits.maxBatch },
            ),
        });
        served.push({ kind: 'classifier', name, dir, model, batcher });
      } else if (kind === 'lm') {
        const model = await LanguageModel.load(ref, { backend });
        const batcher = new MicroBatcher<GenerateItem, Generation[]>({
          maxBatch: 1, // one sequence at a time: generation is batch 1
          maxWaitMs: 0,
          maxQueue: limits.maxQueue,
          run: async ([item]) => [await model.generateSamples(item!.prompt, item!.samples, item!.options)],
        });
        served.push({ kind: 'lm', name, dir, model, batcher });
      } else {
        throw new UlmfitError(
          'E_MODEL_DIR',
          `${dir} is an '${kind}' model; serve takes classifiers and language models`,
          'pass a train-classifier, baseline, pretrain or finetune-lm output',
        );
      }
    }
    return served;
  } catch (error) {
    await Promise.all(served.map((model) => model.model.dispose()));
    throw error;
  }
}

function modelInfo(model: Served): ModelInfo {
  return {
    name: model.name,
    kind: model.kind,
    dir: model.dir,
    ...(model.kind === 'classifier' ? { labels: model.model.labels } : { backwards: model.model.backwards }),
    queue: model.batcher.stats,
  };
}

/** The model a request names, else the first of its kind. */
function pick<K extends Served['kind']>(
  served: readonly Served[],
  kind: K,
  name: string | undefined,
): Extract<Served, { kind: K }> {
  const what = kind === 'lm' ? 'language model' : 'classifier';
  const candidates = served.filter((model): model is Extract<Served, { kind: K }> => model.kind === kind);
  const model = name === undefined ? candidates[0] : candidates.find((m) => m.name === name);
  if (model !== undefined) return model;
  const known = candidates.map((m) => m.name).join(', ') || 'none';
  if (name === undefined)
    throw new RequestError(404, `this server has no ${what}`, `start it with --model <${what} dir>`);
  throw new RequestError(
    404,
    `no ${what} named '${name}' (this server's: ${known})`,
    'GET /v1/models lists them',
  );
}

function checkLength(what: string, texts: readonly string[], maxChars: number): void {
  const at = texts.findIndex((text) => text.length > maxChars);
  if (at < 0) return;
  const which = texts.length > 1 || what === 'text' ? `${what} ${at}` : what;
  throw new RequestError(
    413,
    `${which} has ${texts[at]!.length} characters; the limit is ${maxChars}`,
    'send shorter texts',
  );
}

/** The HTTP status and JSON error of anything a route throws. */
function errorResponse(
  error: FastifyError | UlmfitError,
  closing: boolean,
): { status: number; body: { code: string; message: string; hint?: string } } {
  if (isUlmfitError(error)) {
    // E_OVERLOADED: 429 when the queue is full; 503 once shutdown has begun.
    const status =
      error instanceof RequestError
        ? error.status
        : error.code === 'E_OVERLOADED' && closing
          ? 503
          : (STATUS[error.code] ?? 500);
    return {
      status,
      body: { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) },
    };
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      status: 413,
      body: {
        code: 'E_USAGE',
        message: `the request body is larger than the limit (${error.message})`,
        hint: 'send fewer or shorter texts per request',
      },
    };
  }
  if (error.validation)
    return { status: 400, body: { code: 'E_USAGE', message: `bad request: ${error.message}` } };
  const status = error.statusCode ?? 500;
  // fastify's own client errors (invalid JSON, unsupported media type, empty body) keep their status.
  if (status >= 400 && status < 500) return { status, body: { code: 'E_USAGE', message: error.message } };
  return { status: 500, body: { code: 'E_INTERNAL', message: `internal error: ${error.message}` } };
}

/** Only the limits the caller set (an undefined one keeps its default). */
function definedLimits(options: Partial<ServeLimits>): Partial<ServeLimits> {
  return Object.fromEntries(
    Object.keys(SERVE_DEFAULTS)
      .filter((key) => options[key as keyof ServeLimits] !== undefined)
      .map((key) => [key, options[key as keyof ServeLimits]]),
  );
}

interface ClassifyBody {
  texts: string[];
  top_k?: number;
  model?: string;
}

interface GenerateBody {
  prompt: string;
  /** words of text, as `ulmfit generate --words` counts them */
  words?: number;
  /** instead of words: model tokens (`--tokens`) */
  tokens?: number;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  min_p?: number;
  seed?: number;
  samples?: number;
  allow_unk?: boolean;
  stop_at_eos?: boolean;
  model?: string;
}

const CLASSIFY_BODY = {
  type: 'object',
  required: ['texts'],
  additionalProperties: false,
  properties: {
    texts: { type: 'array', items: { type: 'string' } },
    top_k: { type: 'integer', minimum: 1 },
    model: { type: 'string' },
  },
} as const;

const GENERATE_BODY = {
  type: 'object',
  required: ['prompt'],
  additionalProperties: false,
  properties: {
    prompt: { type: 'string' },
    words: { type: 'integer', minimum: 1 },
    tokens: { type: 'integer', minimum: 1 },
    temperature: { type: 'number', minimum: 0 },
    top_k: { type: 'integer', minimum: 1 },
    top_p: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    min_p: { type: 'number', minimum: 0, maximum: 1 },
    seed: { type: 'integer' },
    samples: { type: 'integer', minimum: 1 },
    allow_unk: { type: 'boolean' },
    stop_at_eos: { type: 'boolean' },
    model: { type: 'string' },
  },
} as const;
