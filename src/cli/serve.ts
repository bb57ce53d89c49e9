/** `ulmfit serve`: classifiers and language models behind an HTTP JSON API (src/serve/server.ts). */
import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import type { BackendName } from '../backend.js';
import { usageError } from '../errors.js';
import { SERVE_DEFAULTS } from '../serve/limits.js';
import type { RequestLog, ServeModelRef } from '../serve/server.js';
import { backendName, collect, wholeNumber } from './options.js';

interface Flags {
  model: string[];
  port: number;
  host: string;
  maxBatch: number;
  batchWaitMs: number;
  maxQueue: number;
  timeoutMs: number;
  maxBodyBytes: number;
  maxTexts: number;
  maxTextChars: number;
  backend: BackendName;
  logJson?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  const d = SERVE_DEFAULTS;
  program
    .command('serve')
    .description(
      'serve classifiers and language models over HTTP (POST /v1/classify, POST /v1/generate, GET /v1/models, GET /healthz)',
    )
    .requiredOption(
      '--model <dir|name|name=dir>',
      'a classifier, baseline or language model to serve (repeatable; the first of each kind is the default)',
      collect,
    )
    .option('--port <n>', 'TCP port (0: any free port)', wholeNumber(0), 8080)
    .option('--host <address>', 'address to listen on (0.0.0.0: every interface)', '127.0.0.1')
    .option('--max-batch <n>', 'documents per batched forward pass', wholeNumber(1), d.maxBatch)
    .option(
      '--batch-wait-ms <ms>',
      'how long a request waits for others to batch with',
      wholeNumber(0),
      d.batchWaitMs,
    )
    .option(
      '--max-queue <n>',
      'documents or prompts waiting per model before requests get 429',
      wholeNumber(1),
      d.maxQueue,
    )
    .option('--timeout-ms <ms>', 'time limit per request (then 503)', wholeNumber(1), d.timeoutMs)
    .option('--max-body-bytes <n>', 'request body size limit (then 413)', wholeNumber(1), d.maxBodyBytes)
    .option('--max-texts <n>', 'texts per classify request (then 413)', wholeNumber(1), d.maxTexts)
    .option(
      '--max-text-chars <n>',
      'characters per text or prompt (then 413)',
      wholeNumber(1),
      d.maxTextChars,
    )
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu', backendName, 'auto')
    .option('--log-json', 'log one JSON object per request instead of a text line')
    .option('--quiet', 'no request log')
    .addHelpText(
      'after',
      '\nLogs one line per request to stdout; SIGTERM or SIGINT finishes the requests in flight, then exits.' +
        '\nRequests and responses: docs/api.md.' +
        '\n\nExample:\n  ulmfit serve --model genres=runs/genre-clas --model en --port 8080' +
        '\n  curl -s localhost:8080/v1/classify -H content-type:application/json -d \'{"texts":["A fine sermon."]}\'',
    )
    .action(async (flags: Flags) => run(flags));
}

async function run(flags: Flags): Promise<void> {
  if (flags.port > 65535) throw usageError(`--port must be at most 65535, got ${flags.port}`);
  const models = flags.model.map(modelRef);
  const write = (line: string): void => void process.stdout.write(line + '\n');
  const { createServer } = await import('../serve/server.js'); // fastify and TF.js load only for serve
  const server = await createServer({
    models,
    backend: flags.backend,
    maxBatch: flags.maxBatch,
    batchWaitMs: flags.batchWaitMs,
    maxQueue: flags.maxQueue,
    timeoutMs: flags.timeoutMs,
    maxBodyBytes: flags.maxBodyBytes,
    maxTexts: flags.maxTexts,
    maxTextChars: flags.maxTextChars,
    ...(flags.quiet
      ? {}
      : { onLog: (entry: RequestLog) => write(flags.logJson ? JSON.stringify(entry) : logLine(entry)) }),
  });
  const address = await server.listen(flags.port, flags.host);
  const served = server.models.map((m) => `${m.name} (${m.kind})`).join(', ');
  write(
    flags.logJson
      ? JSON.stringify({
          time: new Date().toISOString(),
          listening: address,
          models: server.models.map((m) => ({ name: m.name, kind: m.kind })),
        })
      : `listening on ${address}: ${served}`,
  );
  // Resolves when a signal has shut the server down, so the command returns and exits with 0.
  await new Promise<void>((resolve, reject) => {
    const stop = (signal: NodeJS.Signals): void => {
      write(
        flags.logJson
          ? JSON.stringify({ time: new Date().toISOString(), shutdown: signal })
          : `${signal}: finishing the requests in flight`,
      );
      server.close().then(resolve, reject);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** `name=dir`, or a model name, or a directory named after its folder (a run's model-best/ after the run). */
function modelRef(value: string): ServeModelRef {
  const eq = value.indexOf('=');
  if (eq === 0 || eq === value.length - 1)
    throw usageError(`--model ${value}: expected name=<dir>, a model name or a directory`);
  if (eq > 0) return { name: value.slice(0, eq), ref: value.slice(eq + 1) };
  const trimmed = value.replace(/\/+$/, '');
  const leaf = basename(trimmed);
  const name = /^model-(best|last)$/.test(leaf) ? basename(dirname(trimmed)) : leaf;
  return { name: name || value, ref: value };
}

function logLine(e: RequestLog): string {
  const parts = [e.time, e.method, e.url, String(e.status), `${e.ms}ms`];
  if (e.model !== undefined) parts.push(`model=${e.model}`);
  if (e.items !== undefined) parts.push(`items=${e.items}`);
  if (e.batch !== undefined)
    parts.push(`batch=${e.batch.id}(${e.batch.items} items, ${e.batch.requests} requests)`);
  if (e.error !== undefined) parts.push(`error=${e.error.code}: ${e.error.message}`);
  return parts.join(' ');
}
