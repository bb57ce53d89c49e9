/**
 * Data-parallel language-model training on worker threads: the second core at work. TF.js runs
 * its wasm backend on one thread in Node (docs/speed-benchmark.md), so each replica is a thread of our
 * own with its own TF.js and wasm instance and a copy of the model.
 *
 * Each step the batch's rows are split across the replicas (contiguous blocks; LM rows are
 * independent streams, so each replica carries the hidden state of its own rows from batch to
 * batch). Every replica computes loss and gradients on its rows, the gradients are averaged
 * through SharedArrayBuffers weighted by rows (the mean loss over all rows is the row-weighted
 * mean of the replicas' mean losses, AR and TAR included, so the average equals the full-batch
 * gradient), then the optional clipping and the AdamW step are applied to that average — in every
 * replica (`update: 'replicated'`, no weights move) or in replica 0 with its weights broadcast
 * (`'broadcast'`). Either way the replicas stay identical. See dp-replica.ts for the step.
 *
 * Replica 0 runs on the main thread by default (`mainThread`): it is the caller's own model and
 * optimizer, so the caller always holds the current weights and optimizer state (checkpoints,
 * validation). With `mainThread: false` every replica is a worker and the main thread only
 * coordinates; `pullWeights()` then copies replica 0's weights into the caller's model.
 *
 * Dropout: replica 0 on the main thread draws its masks from the caller's model's generator (the
 * run's); before every step each worker replica gets a seed drawn from that generator and
 * restarts its own from it. All randomness thus flows from the run's generator (which the
 * learner's checkpoint saves, so `--resume` stays exact), a run with N replicas is deterministic
 * for a given N and seed, and it differs from the single-process run in the dropout draws (each
 * replica draws its own masks for its rows, weight dropout and embedding dropout included, where
 * one process draws one set per batch) and, as the seeds come from the generator that also
 * shuffles the documents between epochs, in the document order from the second epoch on.
 *
 * Workers run the compiled `dist/train/dp-worker.js` (under vitest too: run `npm run build`).
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../backend.js';
import type { LmBatch } from '../data/batches.js';
import { UlmfitError, usageError, type ErrorCode } from '../errors.js';
import type { LanguageModel } from '../model/awd-lstm.js';
import { nativeThreads, setNativeThreads } from '../compute/native.js';
import {
  ReplicaCore,
  type StepCommand,
  type StepOutcome,
  type StepTiming,
  type UpdateMode,
} from './dp-replica.js';
import {
  allocateShared,
  Barrier,
  layoutVariables,
  paramLayout,
  type ParamLayout,
  type SharedBuffers,
} from './dp-shared.js';
import type { DpFailure, DpReply, DpRequest, DpWorkerInit } from './dp-worker.js';
import type { StepperResult, TrainStepper } from './learner.js';
import type { Adam } from './optimizer.js';

export type { StepOutcome, StepTiming, UpdateMode } from './dp-replica.js';

export interface DataParallelOptions {
  /** Replicas in all (≥ 1); each computes bs/replicas rows of every batch. */
  replicas: number;
  /**
   * The model whose weights the replicas start from (and that replica 0 trains when
   * `mainThread`). Its architecture, vocabulary and AR/TAR coefficients are copied to the workers.
   */
  model: LanguageModel;
  /** The model's optimizer: each step takes its hypers and frozen groups (the learner's schedule sets them). */
  optimizer: Adam;
  /** Replica 0 computes on this thread (default true); false: every replica is a worker thread. */
  mainThread?: boolean | undefined;
  /** How the averaged gradient is applied (default 'replicated'). */
  update?: UpdateMode | undefined;
  /** Clip the averaged gradient's global norm to this (fastai GradientClip). */
  clip?: number | undefined;
  /** The workers' TF.js backend (default: the one this thread runs). */
  backend?: BackendName | undefined;
  /** Native matmul threads in each replica (default: the cores shared out, at least 1). */
  nativeThreads?: number | undefined;
  /** The option that asked for replicas, named in errors (default `--train-workers`). */
  flag?: string | undefined;
  /** A replica waiting longer than this at a barrier gives up (default 30 min). */
  barrierTimeoutMs?: number | undefined;
}

/** The compiled worker next to this module, or (running from src/ under vitest) the one in dist/. */
export function dpWorkerFile(): URL | undefined {
  const beside = new URL('./dp-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL('../../dist/train/dp-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  return undefined;
}

/** Native matmul threads for each of `replicas` replicas: the cores shared out, at least one each. */
export function threadsPerReplica(replicas: number): number {
  return Math.max(1, Math.floor(availableParallelism() / replicas));
}

function missingWorkerError(): UlmfitError {
  return new UlmfitError(
    'E_TRAINING',
    'data-parallel training needs the compiled worker dist/train/dp-worker.js',
    'run npm run build',
  );
}

/**
 * Refuses a data-parallel setup that cannot run, before any work is done: callers check this
 * when they parse their options, not after tokenizing. `flag` names the option that asked for
 * replicas (`--train-workers` in training, `--workers` in `ulmfit bench`).
 */
export function checkDataParallel(replicas: number, backend: string, flag = '--train-workers'): void {
  if (replicas <= 1) return;
  if (backend === 'tensorflow') {
    // libtensorflow already runs its kernels on every core; replicas would only compete for them.
    throw usageError(
      'data-parallel workers are for the one-thread wasm and cpu backends; the tensorflow backend already uses every core',
      `leave out ${flag}, or use --backend wasm`,
    );
  }
  if (dpWorkerFile() === undefined) throw missingWorkerError();
}

function rebuildError(failure: DpFailure, index: number): Error {
  if (failure.code) return new UlmfitError(failure.code as ErrorCode, failure.message, failure.hint);
  const err = new Error(`data-parallel replica ${index} failed: ${failure.message}`);
  if (failure.stack) err.stack = `${err.message}\n(worker) ${failure.stack}`;
  if (failure.aborted) err.name = 'ReplicaAborted';
  return err;
}

/** One worker thread holding one replica. */
class WorkerReplica {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;
  readonly ready: Promise<void>;
  exited = false;

  constructor(
    file: URL,
    readonly init: DpWorkerInit,
    onDeath: () => void,
  ) {
    this.worker = new Worker(file, { workerData: init });
    this.ready = new Promise((resolve, reject) => this.waiting.set(-1, { resolve: () => resolve(), reject }));
    this.worker.on('message', (reply: DpReply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(rebuildError(reply.error, init.index));
    });
    this.worker.on('error', (err) => {
      onDeath();
      this.fail(err);
    });
    this.worker.on('exit', (code) => {
      this.exited = true;
      onDeath();
      this.fail(
        new UlmfitError(
          'E_TRAINING',
          `data-parallel replica ${init.index} (a worker thread) exited with code ${code}, out of memory or killed`,
          'rerun with --resume to continue from the last finished epoch, or train without --train-workers',
        ),
      );
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }

  request<T>(body: DistributiveOmit<DpRequest, 'id'>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.worker.postMessage({ ...body, id });
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('data-parallel trainer closed');
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
    await this.worker.terminate();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Also the learner's `TrainStepper` (`learner.useStepper(trainer)`), with replica 0 on the main
 * thread: the learner's model and optimizer are then replica 0's.
 */
export class DataParallelLm implements TrainStepper<LmBatch> {
  readonly replicas: number;
  readonly mainThread: boolean;
  readonly update: UpdateMode;
  readonly layout: ParamLayout;
  private readonly model: LanguageModel;
  private readonly optimizer: Adam;
  private readonly clip: number | undefined;
  private readonly shared: SharedBuffers;
  private readonly barrier: Barrier;
  /** Replica 0 on this thread, when `mainThread`. */
  private readonly core: ReplicaCore | undefined;
  private readonly workers: WorkerReplica[];
  private pendingReset = true;
  /** The caller's optimizer state changed since the workers last copied it ('replicated'). */
  private optimizerDirty = true;
  private broken: Error | undefined;
  private closed = false;
  /** A step or forward pass is in flight (run() is not re-entrant). */
  private running = false;
  /** This thread's native matmul threads before replica 0 took its share of the cores (restored by close). */
  private readonly nativeThreadsBefore: number;

  private constructor(options: DataParallelOptions, shared: SharedBuffers, workers: WorkerReplica[]) {
    this.replicas = options.replicas;
    this.mainThread = options.mainThread ?? true;
    this.update = options.update ?? 'replicated';
    this.model = options.model;
    this.optimizer = options.optimizer;
    this.clip = options.clip;
    this.shared = shared;
    this.layout = paramLayout(options.model.paramGroups());
    this.barrier = new Barrier(shared.control, options.replicas);
    this.workers = workers;
    this.core = this.mainThread
      ? new ReplicaCore(
          0,
          options.replicas,
          options.model,
          options.optimizer,
          shared,
          options.barrierTimeoutMs,
          true,
        )
      : undefined;
    this.nativeThreadsBefore = nativeThreads();
    if (this.core !== undefined)
      setNativeThreads(options.nativeThreads ?? threadsPerReplica(options.replicas));
  }

  /** Starts the worker threads (each builds its replica and loads the model's weights). */
  static async create(options: DataParallelOptions): Promise<DataParallelLm> {
    const { replicas, model } = options;
    if (!Number.isInteger(replicas) || replicas < 1)
      throw usageError(`the number of data-parallel replicas must be a whole number ≥ 1, got ${replicas}`);
    const mainThread = options.mainThread ?? true;
    const update = options.update ?? 'replicated';
    if (update !== 'replicated' && update !== 'broadcast')
      throw usageError(`unknown update mode ${String(update)}`);
    if (options.clip !== undefined && !(options.clip > 0))
      throw usageError(`--clip must be a positive number, got ${options.clip}`);
    const layout = paramLayout(model.paramGroups());
    const shared = allocateShared(layout.total, replicas);
    writeWeights(model, new Float32Array(shared.weights));
    const firstWorker = mainThread ? 1 : 0;
    const file = replicas > firstWorker ? dpWorkerFile() : undefined;
    if (replicas > firstWorker && file === undefined) throw missingWorkerError();
    const barrier = new Barrier(shared.control, replicas);
    const backend = options.backend ?? (tf.getBackend() as BackendName);
    checkDataParallel(replicas, backend, options.flag);
    const workers: WorkerReplica[] = [];
    for (let index = firstWorker; index < replicas; index++) {
      const init: DpWorkerInit = {
        index,
        replicas,
        vocabSize: model.vocabSize,
        config: { ...model.config },
        alpha: model.alpha,
        beta: model.beta,
        backend,
        shared,
        barrierTimeoutMs: options.barrierTimeoutMs,
        nativeThreads: options.nativeThreads ?? threadsPerReplica(replicas),
      };
      workers.push(new WorkerReplica(file!, init, () => barrier.abort()));
    }
    try {
      await Promise.all(workers.map((w) => w.ready));
    } catch (error) {
      await Promise.all(workers.map((w) => w.close()));
      throw error;
    }
    return new DataParallelLm(options, shared, workers);
  }

  /** The carried state of every replica restarts from zeros at the next step or forward pass. */
  reset(): void {
    this.pendingReset = true;
  }

  /**
   * One training step on `batch` (bs ≥ replicas) at the optimizer's current hypers: every
   * replica's rows, the averaged gradient, clipping, AdamW. Resolves with the combined losses;
   * when the loss (or, clipping, the norm) is not finite, no replica changes its weights and
   * `applied` is false — the caller decides what to do (the learner stops with E_TRAINING).
   * @param apply false: stop after averaging the gradients (`averagedGradient()` reads them)
   */
  async trainStep(
    batch: LmBatch,
    { apply = true }: { apply?: boolean } = {},
  ): Promise<StepOutcome & { replicaTimings: StepTiming[] }> {
    this.checkUsable(batch);
    // Replica 0 here is the caller's model: a reset by the caller (the learner, at the start of
    // every pass) leaves its state undefined, and the workers must follow.
    const reset = this.pendingReset || (this.core !== undefined && this.model.encoder.state === undefined);
    const rng = this.model.rng;
    const command: StepCommand = {
      batch,
      hypers: this.optimizer.hypers.map((h) => ({ ...h })),
      frozenGroups: this.optimizer.frozenGroups,
      reset,
      seeds: Array.from({ length: this.replicas }, (_, i) =>
        i === 0 && this.core ? undefined : rng.nextUint32(),
      ),
      apply,
      clip: this.clip,
      update: this.update,
    };
    this.pendingReset = false;
    const outcomes = await this.run<StepOutcome>({ kind: 'step', command }, (core) => core.step(command));
    return { ...outcomes[0]!, replicaTimings: outcomes.map((o) => o.timing) };
  }

  /** `TrainStepper.step`: `trainStep` after bringing the workers' optimizer state up to date. */
  async step(batch: LmBatch): Promise<StepperResult> {
    if (!this.core)
      throw new Error('a learner can step a DataParallelLm only with replica 0 on the main thread');
    if (this.optimizerDirty && this.update === 'replicated') await this.pushOptimizerState();
    this.optimizerDirty = false;
    return this.trainStep(batch);
  }

  /** `TrainStepper.optimizerChanged`: the next step first copies the optimizer state to the workers. */
  optimizerChanged(): void {
    this.optimizerDirty = true;
  }

  /**
   * An eval-mode forward pass with the decoder over `batch`, each replica on its rows (what
   * `ulmfit bench` times as inference; the logits stay in the replicas).
   */
  async forward(batch: LmBatch): Promise<void> {
    this.checkUsable(batch);
    const reset = this.pendingReset;
    this.pendingReset = false;
    await this.run<void>({ kind: 'forward', batch, reset }, (core) => core.forward(batch, reset));
  }

  /** A copy of the last step's averaged gradient, flat in `layout` order (frozen ranges are stale). */
  averagedGradient(): Float32Array {
    return new Float32Array(this.shared.averaged).slice();
  }

  /** The flat weights of replica `index` (layout order), read from that replica's thread. */
  async replicaWeights(index: number): Promise<Float32Array> {
    this.checkUsable();
    if (index === 0 && this.core) return readWeights(this.model);
    await this.worker(index).request({ kind: 'storeWeights' });
    return new Float32Array(this.shared.weights).slice();
  }

  /** Copies the caller's model weights into every worker replica (after loading or changing them). */
  async pushWeights(): Promise<void> {
    this.checkUsable();
    writeWeights(this.model, new Float32Array(this.shared.weights));
    await Promise.all(this.workers.map((w) => w.request({ kind: 'loadWeights' })));
  }

  /** Copies replica 0's weights into the caller's model (needed only without `mainThread`). */
  async pullWeights(): Promise<void> {
    if (this.core) return;
    const flat = await this.replicaWeights(0);
    const variables = layoutVariables(this.model.paramGroups());
    this.layout.slots.forEach((slot, v) => {
      const variable = variables[v]!;
      tf.tidy(() =>
        variable.assign(
          tf.tensor(flat.slice(slot.offset, slot.offset + slot.size), variable.shape, 'float32'),
        ),
      );
    });
  }

  /**
   * Gives every worker replica the caller's optimizer state (moments, step counts, hypers, frozen
   * groups): after the learner clears or restores it, in 'replicated' mode.
   */
  async pushOptimizerState(): Promise<void> {
    this.checkUsable();
    const state = this.optimizer.getState();
    await Promise.all(this.workers.map((w) => w.request({ kind: 'setOptimizerState', state })));
  }

  /** Stops the worker threads. Safe to call twice; the trainer cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.core !== undefined) setNativeThreads(this.nativeThreadsBefore);
    this.barrier.abort();
    await Promise.all(this.workers.map((w) => w.close()));
  }

  /** Worker threads (the main-thread replica not counted). */
  get workerThreads(): number {
    return this.workers.length;
  }

  private worker(index: number): WorkerReplica {
    const worker = this.workers[this.core ? index - 1 : index];
    if (worker === undefined) throw new RangeError(`no replica ${index}`);
    return worker;
  }

  private checkUsable(batch?: LmBatch): void {
    if (this.closed) throw new Error('the data-parallel trainer is closed');
    if (this.broken) throw this.broken;
    if (batch !== undefined && batch.bs < this.replicas) {
      throw usageError(
        `a batch of ${batch.bs} rows cannot be split across ${this.replicas} replicas`,
        `use a batch size of at least ${this.replicas}, or fewer workers`,
      );
    }
  }

  /**
   * Sends `body` to every worker, runs `local` on replica 0 here (blocking: it takes part in the
   * barriers), then waits for the workers. Results in replica order. Any failure breaks the
   * trainer (the replicas may disagree now): the first real error is thrown, not the other
   * replicas' "aborted".
   */
  private async run<T>(
    body: DistributiveOmit<DpRequest, 'id'>,
    local: (core: ReplicaCore) => T | Promise<T>,
  ): Promise<T[]> {
    // Replica 0 yields at every barrier; a second call now would make it arrive twice.
    if (this.running)
      throw new Error('DataParallelLm: a step or forward pass is already running (await it first)');
    this.running = true;
    try {
      return await this.runOnce(body, local);
    } finally {
      this.running = false;
    }
  }

  private async runOnce<T>(
    body: DistributiveOmit<DpRequest, 'id'>,
    local: (core: ReplicaCore) => T | Promise<T>,
  ): Promise<T[]> {
    // Settled-handlers go on now: a worker may fail while replica 0 is still awaiting its part.
    const remote = Promise.allSettled(this.workers.map((w) => w.request<T>(body)));
    const results: PromiseSettledResult<T>[] = [];
    if (this.core) {
      try {
        results.push({ status: 'fulfilled', value: await local(this.core) });
      } catch (error) {
        results.push({ status: 'rejected', reason: error });
      }
    }
    results.push(...(await remote));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    if (errors.length > 0) {
      this.barrier.abort();
      this.broken = errors.find((e) => e.name !== 'ReplicaAborted') ?? errors[0]!;
      throw this.broken;
    }
    return results.map((r) => (r as PromiseFulfilledResult<T>).value);
  }
}

/** The model's weights, flat in layout order. */
function readWeights(model: LanguageModel): Float32Array {
  const groups = model.paramGroups();
  const out = new Float32Array(paramLayout(groups).total);
  writeWeights(model, out);
  return out;
}

function writeWeights(model: LanguageModel, out: Float32Array): void {
  const groups = model.paramGroups();
  const layout = paramLayout(groups);
  layoutVariables(groups).forEach((variable, v) =>
    out.set(variable.dataSync() as Float32Array, layout.slots[v]!.offset),
  );
}
