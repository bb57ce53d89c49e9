/**
 * Micro-batching for the server: requests that arrive while the model is busy, or within a few
 * milliseconds of each other, are run as one batch (one `predict` over all their documents), up
 * to a size bound. The queue is bounded: a request that would overflow it is refused at once
 * (E_OVERLOADED, HTTP 429) instead of waiting behind an ever longer line, and a request whose
 * time limit passes is answered E_TIMEOUT whether it is still waiting or already running.
 */
import { UlmfitError } from '../errors.js';

export interface BatcherOptions<I, O> {
  /** Items (documents) per batch at most; a request with more runs alone. */
  maxBatch: number;
  /** How long the first waiting request waits for company before its batch starts, in ms. */
  maxWaitMs: number;
  /** Items waiting (queued, not yet running) at most; beyond it `submit` refuses. */
  maxQueue: number;
  /** Runs one batch: one output per item, in order. */
  run(items: I[]): Promise<O[]>;
}

/** Which batch answered a request (for the request log and the tests). */
export interface BatchInfo {
  /** 1, 2, … in the order batches ran. */
  id: number;
  /** Items and requests in that batch. */
  items: number;
  requests: number;
}

export interface BatchResult<O> {
  outputs: O[];
  batch: BatchInfo;
}

interface Pending<I, O> {
  items: I[];
  enqueuedAt: number;
  settled: boolean;
  resolve(result: BatchResult<O>): void;
  reject(error: unknown): void;
}

/** Counters since start, for GET /v1/models. */
export interface BatcherStats {
  waiting: number;
  batches: number;
  items: number;
  refused: number;
  timedOut: number;
}

export class MicroBatcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private queuedItems = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly counters = { batches: 0, items: 0, refused: 0, timedOut: 0 };
  private idleWaiters: (() => void)[] = [];
  /** Set by `drained`: batches start without waiting for maxWaitMs. */
  private draining = false;

  constructor(private readonly options: BatcherOptions<I, O>) {}

  /**
   * Queues `items` to run in a batch with whatever else is waiting. Rejects with E_OVERLOADED at
   * once when the queue cannot take them, and with E_TIMEOUT when
   * `signal` aborts first (the request's time limit).
   */
  submit(items: I[], signal?: AbortSignal): Promise<BatchResult<O>> {
    if (this.queuedItems + items.length > this.options.maxQueue) {
      this.counters.refused += 1;
      return Promise.reject(
        new UlmfitError(
          'E_OVERLOADED',
          `the queue is full: ${this.queuedItems} of at most ${this.options.maxQueue} waiting, ${items.length} more asked for`,
          'retry after a short wait, or send fewer at a time',
        ),
      );
    }
    return new Promise<BatchResult<O>>((resolve, reject) => {
      const pending: Pending<I, O> = { items, enqueuedAt: Date.now(), settled: false, resolve, reject };
      const onAbort = (): void => {
        if (pending.settled) return;
        pending.settled = true;
        this.counters.timedOut += 1;
        const at = this.queue.indexOf(pending);
        if (at >= 0) {
          this.queue.splice(at, 1);
          this.queuedItems -= items.length;
          if (!this.running && this.queue.length === 0) this.notifyIdle();
        }
        // A running batch cannot be stopped; its output for this request is dropped.
        reject(
          new UlmfitError(
            'E_TIMEOUT',
            `not answered within the time limit (${at >= 0 ? 'still queued' : 'while running'})`,
            'retry later, or send fewer at a time',
          ),
        );
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle =
        <T>(fn: (value: T) => void) =>
        (value: T): void => {
          signal?.removeEventListener('abort', onAbort);
          if (pending.settled) return;
          pending.settled = true;
          fn(value);
        };
      pending.resolve = settle(resolve);
      pending.reject = settle(reject);
      this.queue.push(pending);
      this.queuedItems += items.length;
      this.schedule();
    });
  }

  get stats(): BatcherStats {
    return { waiting: this.queuedItems, ...this.counters };
  }

  /**
   * Resolves once nothing is queued or running (new work is still taken: the server refuses it).
   * What waits for company starts at once: during a shutdown no more is coming.
   */
  async drained(): Promise<void> {
    this.draining = true;
    this.flush();
    if (!this.running && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts the next batch now when it is full, else when its first request has waited maxWaitMs. */
  private schedule(): void {
    if (this.running || this.queue.length === 0) {
      if (!this.running && this.queue.length === 0) this.notifyIdle();
      return;
    }
    if (this.queuedItems >= this.options.maxBatch || this.draining) {
      this.flush();
      return;
    }
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.options.maxWaitMs - (Date.now() - this.queue[0]!.enqueuedAt));
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) return;
    if (this.queue.length === 0) return this.notifyIdle(); // every waiting request timed out
    const batch: Pending<I, O>[] = [];
    let size = 0;
    while (
      this.queue.length > 0 &&
      (batch.length === 0 || size + this.queue[0]!.items.length <= this.options.maxBatch)
    ) {
      const pending = this.queue.shift()!;
      this.queuedItems -= pending.items.length;
      size += pending.items.length;
      batch.push(pending);
    }
    this.running = true;
    this.counters.batches += 1;
    this.counters.items += size;
    const info: BatchInfo = { id: this.counters.batches, items: size, requests: batch.length };
    void this.runBatch(batch, info).finally(() => {
      this.running = false;
      this.schedule();
    });
  }

  private async runBatch(batch: Pending<I, O>[], info: BatchInfo): Promise<void> {
    try {
      const outputs = await this.options.run(batch.flatMap((pending) => pending.items));
      let at = 0;
      for (const pending of batch) {
        pending.resolve({ outputs: outputs.slice(at, at + pending.items.length), batch: info });
        at += pending.items.length;
      }
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
