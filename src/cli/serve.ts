/** `ulmfit serve`: classifiers and language models behind an HTTP JSON API (src/serve/server.ts). */
import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import type { CommandFlags } from '../config/schema.js';
import { SERVE } from '../config/inference.js';
import { usageError } from '../errors.js';
import type { RequestLog, ServeModelRef } from '../serve/server.js';
import { addCommand } from './options.js';

type Flags = CommandFlags<typeof SERVE>;

export function register(program: Command): void {
  addCommand(program, SERVE).action(async (flags: Flags) => run(flags));
}

async function run(flags: Flags): Promise<void> {
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
