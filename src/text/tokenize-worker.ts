/**
 * Worker-thread entry point for `ParallelTokenizer` (compiled to dist/text/tokenize-worker.js).
 * Builds its own tokenizer from the settings in workerData, then answers each
 * `{ id, texts }` message with `{ id, result }` (ids buffer transferred) or `{ id, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UlmfitError } from '../errors.js';
import { ChunkTokenizer, type ChunkResult } from './chunk-tokenizer.js';
import { createTokenizer } from './tokenizer.js';
import type { TokenizerSettings } from './settings.js';

export interface WorkerInit {
  settings: TokenizerSettings;
  spmModel?: Uint8Array;
}

export type WorkerRequest = { id: number; texts: string[] };
/** A failure, with the UlmfitError fields when it was one, so the main thread can rebuild it. */
export interface WorkerFailure {
  message: string;
  stack?: string;
  code?: string;
  hint?: string;
}

export type WorkerReply = { id: number; result: ChunkResult } | { id: number; error: WorkerFailure };

function describe(err: unknown): WorkerFailure {
  if (err instanceof UlmfitError) return { message: err.message, code: err.code, hint: err.hint };
  if (err instanceof Error) return { message: err.message, stack: err.stack };
  return { message: String(err) };
}

const port = parentPort;
if (port) {
  const init = workerData as WorkerInit;
  const ready = createTokenizer(init.settings, init.spmModel ? { spmModel: init.spmModel } : undefined).then(
    (tokenizer) => new ChunkTokenizer(tokenizer),
  );
  // Requests that arrive before the tokenizer is built wait on `ready`; awaiting one promise
  // resumes in arrival order, so chunks are processed in the order they were sent.
  port.on('message', async (request: WorkerRequest) => {
    let reply: WorkerReply;
    try {
      const chunker = await ready;
      reply = { id: request.id, result: chunker.run(request.texts) };
    } catch (err) {
      reply = { id: request.id, error: describe(err) };
    }
    // Transfer, not copy: the buffers are fresh (ChunkTokenizer slices them) and not used again here.
    if ('result' in reply)
      port.postMessage(reply, [
        reply.result.ids.buffer as ArrayBuffer,
        reply.result.lengths.buffer as ArrayBuffer,
      ]);
    else port.postMessage(reply);
  });
}
