/**
 * Worker-thread entry point of data-parallel training (compiled to dist/train/dp-worker.js; see
 * data-parallel.ts). Starts its own TF.js backend (its own wasm instance: this thread's core),
 * builds a replica of the language model with its own dropout stream, loads the weights from the
 * shared weights buffer, says `ready`, then answers each request with `{ id, ok, result | error }`.
 * A step runs in lockstep with the other replicas through shared memory (dp-replica.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from '../backend.js';
import { setNativeThreads } from '../compute/native.js';
import { UlmfitError } from '../errors.js';
import { LanguageModel, type AwdLstmConfig } from '../model/awd-lstm.js';
import type { LmBatch } from '../data/batches.js';
import { Rng } from '../random.js';
import { Barrier, type SharedBuffers } from './dp-shared.js';
import { ReplicaCore, type StepCommand } from './dp-replica.js';
import { Adam, type AdamState } from './optimizer.js';

export interface DpWorkerInit {
  index: number;
  replicas: number;
  vocabSize: number;
  config: AwdLstmConfig;
  alpha: number;
  beta: number;
  backend: BackendName;
  shared: SharedBuffers;
  barrierTimeoutMs?: number | undefined;
  /** Threads for each native matmul in this replica (native.ts), so that replicas share the cores. */
  nativeThreads: number;
}

export type DpRequest =
  | { id: number; kind: 'step'; command: StepCommand }
  | { id: number; kind: 'forward'; batch: LmBatch; reset: boolean }
  /** Load every weight from the shared weights buffer. */
  | { id: number; kind: 'loadWeights' }
  /** Write every weight to the shared weights buffer. */
  | { id: number; kind: 'storeWeights' }
  | { id: number; kind: 'setOptimizerState'; state: AdamState }
  | { id: number; kind: 'reset' };

/** A failure, with the UlmfitError fields when it was one, so the main thread can rebuild it. */
export interface DpFailure {
  message: string;
  stack?: string | undefined;
  code?: string | undefined;
  hint?: string | undefined;
  /** The replica only stopped because another one failed. */
  aborted: boolean;
}

/** `id` -1 is the start-up reply. */
export type DpReply =
  { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: DpFailure };

function describe(err: unknown): DpFailure {
  if (err instanceof UlmfitError)
    return { message: err.message, code: err.code, hint: err.hint, aborted: false };
  if (err instanceof Error)
    return { message: err.message, stack: err.stack, aborted: err.name === 'ReplicaAborted' };
  return { message: String(err), aborted: false };
}

async function start(port: NonNullable<typeof parentPort>, init: DpWorkerInit): Promise<void> {
  // A thread that ends for any reason must not leave the other replicas waiting at a barrier.
  process.on('exit', () => new Barrier(init.shared.control, init.replicas).abort());
  let core: ReplicaCore;
  try {
    await initBackend(init.backend);
    setNativeThreads(init.nativeThreads);
    // The init this draws is replaced by the shared weights; dropout seeds come with each step.
    const model = new LanguageModel(init.vocabSize, init.config, {
      rng: new Rng(init.index),
      alpha: init.alpha,
      beta: init.beta,
    });
    const optimizer = new Adam(
      model.paramGroups().map((g) => g.variables),
      model.noWeightDecay(),
    );
    core = new ReplicaCore(init.index, init.replicas, model, optimizer, init.shared, init.barrierTimeoutMs);
    core.loadWeights();
    port.postMessage({ id: -1, ok: true } satisfies DpReply);
  } catch (error) {
    port.postMessage({ id: -1, ok: false, error: describe(error) } satisfies DpReply);
    return;
  }
  port.on('message', async (request: DpRequest) => {
    let reply: DpReply;
    try {
      reply = { id: request.id, ok: true, result: await handle(core, request) };
    } catch (error) {
      reply = { id: request.id, ok: false, error: describe(error) };
    }
    port.postMessage(reply);
  });
}

function handle(core: ReplicaCore, request: DpRequest): unknown {
  // A step returns a promise (its barrier waits block this thread, so it settles right after).
  switch (request.kind) {
    case 'step':
      return core.step(request.command);
    case 'forward':
      core.forward(request.batch, request.reset);
      return undefined;
    case 'loadWeights':
      core.loadWeights();
      return undefined;
    case 'storeWeights':
      core.storeWeights();
      return undefined;
    case 'setOptimizerState':
      core.optimizer.setState(request.state);
      return undefined;
    case 'reset':
      core.model.reset();
      return undefined;
  }
}

if (parentPort) void start(parentPort, workerData as DpWorkerInit);
