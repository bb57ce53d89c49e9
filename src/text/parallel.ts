/**
 * Parallel tokenization with worker threads. Documents are grouped into chunks (~64K chars), each
 * chunk goes to the least-busy worker, and results are merged back **in input order**. Each
 * worker returns token ids local to itself plus the strings it has not sent before; the merge
 * maps them to global ids assigned in first-seen input order (fastai's Counter insertion order,
 * so the vocab's tie order does not depend on the number of workers) and counts them.
 *
 * Memory is bounded: at most `2 × workers` chunks are in flight, and the caller consumes each
 * merged batch (writes it out) before more input is read. Only the distinct token strings and
 * their counts grow with the corpus.
 *
 * Workers run the compiled `dist/text/tokenize-worker.js`. When that file is missing (running
 * from TypeScript sources without a build) or `workers` is 0, tokenization runs in this thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { UlmfitError, type ErrorCode } from '../errors.js';
import { ChunkTokenizer, type ChunkResult } from './chunk-tokenizer.js';
import type { TokenizerSettings } from './settings.js';
import { createTokenizer } from './tokenizer.js';
import type { WorkerFailure, WorkerInit, WorkerReply } from './tokenize-worker.js';
import { defaultTokenizerWorkers } from '../config/training.js';

export interface ParallelOptions {
  /** Worker threads; default the CPU count; 0 tokenizes in this thread. */
  workers?: number;
  /** SentencePiece model bytes, for subword settings. */
  spmModel?: Uint8Array;
  /** Characters per chunk sent to a worker. */
  chunkChars?: number;
  /**
   * Send each input batch as soon as it arrives (for stdin, so output follows input line by
   * line) instead of waiting for a full chunk.
   */
  flushEachBatch?: boolean;
}

/** Documents with their token ids (global, first-seen order: `types[id]` is the string). */
export interface TokenizedBatch<T> {
  docs: T[];
  /** Token ids of all `docs`, back to back. */
  ids: Int32Array;
  /** `[docs.length]` tokens per document. */
  lengths: Int32Array;
}

/** ~64K chars ≈ 12K tokens ≈ 10 ms of work: big enough to amortize messaging, small enough to balance. */
const DEFAULT_CHUNK_CHARS = 1 << 16;
const MAX_CHUNK_DOCS = 4096;

/** The compiled worker next to this module, or (running from src/ under vitest) the one in dist/. */
export function workerFile(): URL | undefined {
  const beside = new URL('./tokenize-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL('../../dist/text/tokenize-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  return undefined;
}

/** config/training.ts says what the default is, for the tokenizer and its --help alike. */
export const defaultWorkerCount = defaultTokenizerWorkers;

function rebuildError(failure: WorkerFailure): Error {
  if (failure.code) return new UlmfitError(failure.code as ErrorCode, failure.message, failure.hint);
  const err = new Error(`tokenizer worker failed: ${failure.message}`);
  if (failure.stack) err.stack = `${err.message}\n(worker) ${failure.stack}`;
  return err;
}

/** One tokenizing thread (a worker, or this thread) with its local-id → global-id table. */
abstract class Lane {
  pending = 0;
  /** Local id → token string, as the lane reported them. */
  readonly strings: string[] = [];
  /** Local id → global id, -1 until the merge first meets it. */
  toGlobal = new Int32Array(1024).fill(-1);

  abstract submit(texts: string[]): Promise<ChunkResult>;
  abstract close(): Promise<void>;

  addTypes(newTypes: string[]): void {
    for (const t of newTypes) this.strings.push(t);
    if (this.strings.length > this.toGlobal.length) {
      const grown = new Int32Array(Math.max(this.toGlobal.length * 2, this.strings.length)).fill(-1);
      grown.set(this.toGlobal);
      this.toGlobal = grown;
    }
  }
}

class InlineLane extends Lane {
  constructor(private readonly chunker: ChunkTokenizer) {
    super();
  }

  submit(texts: string[]): Promise<ChunkResult> {
    try {
      return Promise.resolve(this.chunker.run(texts));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async close(): Promise<void> {}
}

class WorkerLane extends Lane {
  private readonly worker: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: (r: ChunkResult) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(file: URL, init: WorkerInit) {
    super();
    this.worker = new Worker(file, { workerData: init });
    this.worker.on('message', (reply: WorkerReply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      this.pending--;
      if ('result' in reply) waiter.resolve(reply.result);
      else waiter.reject(rebuildError(reply.error));
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`tokenizer worker exited with code ${code}`)));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
    this.pending = 0;
  }

  submit(texts: string[]): Promise<ChunkResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    this.pending++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, texts });
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('tokenizer closed');
    await this.worker.terminate();
  }
}

interface InFlight<T> {
  docs: T[];
  lane: Lane;
  result: Promise<ChunkResult>;
  settled: boolean;
}

/**
 * `source`'s items, asking for the next one before handing out the current one: reading the next
 * file then overlaps tokenizing this one (inline, the thread would otherwise wait for each read).
 */
async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done) return;
      next = iterator.next();
      yield result.value;
    }
  } finally {
    // Stopped early: the read already asked for must not become an unhandled rejection.
    next.catch(() => undefined);
    await iterator.return?.();
  }
}

export class ParallelTokenizer {
  /** Global id → token string, in first-seen input order. */
  readonly types: string[] = [];
  private readonly typeIds = new Map<string, number>();
  private tokenCounts = new Float64Array(1024);
  /** Tokens merged so far. */
  numTokens = 0;

  private constructor(
    private readonly lanes: Lane[],
    /** 'threads' with worker threads, 'inline' when tokenizing in this thread. */
    readonly mode: 'threads' | 'inline',
    private readonly options: ParallelOptions,
  ) {}

  get numWorkers(): number {
    return this.mode === 'threads' ? this.lanes.length : 0;
  }

  /** Starts the workers (they build their tokenizers in the background) or the inline tokenizer. */
  static async create(
    settings: TokenizerSettings,
    options: ParallelOptions = {},
  ): Promise<ParallelTokenizer> {
    const wanted = options.workers ?? defaultWorkerCount();
    if (!Number.isInteger(wanted) || wanted < 0)
      throw new UlmfitError('E_USAGE', `--workers must be a whole number ≥ 0, got ${wanted}`);
    const file = wanted > 0 ? workerFile() : undefined;
    if (!file) {
      const tokenizer = await createTokenizer(
        settings,
        options.spmModel ? { spmModel: options.spmModel } : undefined,
      );
      return new ParallelTokenizer([new InlineLane(new ChunkTokenizer(tokenizer))], 'inline', options);
    }
    const init: WorkerInit = options.spmModel ? { settings, spmModel: options.spmModel } : { settings };
    const lanes = Array.from({ length: wanted }, () => new WorkerLane(file, init));
    return new ParallelTokenizer(lanes, 'threads', options);
  }

  /**
   * Tokenizes documents from `batches`, yielding them in input order with global token ids.
   * Consume each yielded batch before asking for the next: that is what bounds memory.
   */
  async *run<T extends { text: string }>(
    batches: AsyncIterable<readonly T[]>,
  ): AsyncGenerator<TokenizedBatch<T>> {
    const chunkChars = this.options.chunkChars ?? DEFAULT_CHUNK_CHARS;
    const maxInFlight = this.mode === 'threads' ? 2 * this.lanes.length : 1;
    const queue: InFlight<T>[] = [];
    let chunk: T[] = [];
    let chars = 0;
    const send = (): void => {
      if (chunk.length === 0) return;
      const lane = this.lanes.reduce((best, l) => (l.pending < best.pending ? l : best));
      const entry: InFlight<T> = {
        docs: chunk,
        lane,
        result: lane.submit(chunk.map((d) => d.text)),
        settled: false,
      };
      entry.result.then(
        () => (entry.settled = true),
        () => (entry.settled = true),
      );
      queue.push(entry);
      chunk = [];
      chars = 0;
    };
    try {
      for await (const batch of readAhead(batches)) {
        for (const doc of batch) {
          chunk.push(doc);
          chars += doc.text.length;
          if (chars >= chunkChars || chunk.length >= MAX_CHUNK_DOCS) send();
          while (queue.length >= maxInFlight) yield await this.merge(queue.shift()!);
        }
        if (this.options.flushEachBatch) send();
        // Hand back what is already done, so output keeps flowing while input is read.
        while (queue.length > 0 && (queue[0]!.settled || queue.length >= maxInFlight))
          yield await this.merge(queue.shift()!);
      }
      send();
      while (queue.length > 0) yield await this.merge(queue.shift()!);
    } finally {
      // Abandoned chunks (the consumer stopped, or the input failed) must not become unhandled rejections.
      for (const entry of queue) entry.result.catch(() => undefined);
    }
  }

  /** Rewrites a chunk's local ids as global ids (in place) and counts them. */
  private async merge<T>(entry: InFlight<T>): Promise<TokenizedBatch<T>> {
    const result = await entry.result;
    entry.lane.addTypes(result.newTypes);
    this.toGlobalIds(result.ids, entry.lane);
    this.numTokens += result.ids.length;
    return { docs: entry.docs, ids: result.ids, lengths: result.lengths };
  }

  /**
   * The per-token loop of `merge`, in a plain function: V8 optimizes the loop of an async
   * function on the fly and then drops that code at the first line after the loop, every chunk.
   */
  private toGlobalIds(ids: Int32Array, lane: Lane): void {
    // This chunk can add at most as many types as the lane has reported.
    this.reserveCounts(this.types.length + lane.strings.length);
    const toGlobal = lane.toGlobal;
    const counts = this.tokenCounts;
    for (let k = 0; k < ids.length; k++) {
      const local = ids[k]!;
      let id = toGlobal[local]!;
      if (id < 0) {
        id = this.globalId(lane.strings[local]!);
        toGlobal[local] = id;
      }
      ids[k] = id;
      counts[id]!++;
    }
  }

  private globalId(token: string): number {
    // One lane never reports a string twice, so a first sight is a new type; with several, the
    // same string may come from each.
    if (this.lanes.length === 1) {
      this.types.push(token);
      return this.types.length - 1;
    }
    let id = this.typeIds.get(token);
    if (id === undefined) {
      id = this.types.length;
      this.types.push(token);
      this.typeIds.set(token, id);
    }
    return id;
  }

  private reserveCounts(size: number): void {
    if (size <= this.tokenCounts.length) return;
    const grown = new Float64Array(Math.max(size, this.tokenCounts.length * 2));
    grown.set(this.tokenCounts);
    this.tokenCounts = grown;
  }

  /** Count of the token with global id `id`. */
  count(id: number): number {
    return this.tokenCounts[id] ?? 0;
  }

  /** Token counts in first-seen order (what `Vocab.build` expects for fastai's tie order). */
  counts(): Map<string, number> {
    return new Map(this.types.map((t, i) => [t, this.tokenCounts[i]!]));
  }

  /** `[types.length]` counts by global id (`Vocab.fromCounts(types, countArray())`); a view. */
  countArray(): Float64Array {
    return this.tokenCounts.subarray(0, this.types.length);
  }

  /** `[token, count]` in first-seen order, without building a Map. */
  *countPairs(): Generator<[string, number]> {
    for (let id = 0; id < this.types.length; id++) yield [this.types[id]!, this.tokenCounts[id]!];
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}
