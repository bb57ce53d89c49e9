/**
 * Throughput of the AWD-LSTM as training and inference actually run it (`ulmfit bench`, and the
 * side-by-side benchmark against PyTorch in src/bench/speed.ts).
 *
 * Training: one full step through the real Learner (`Learner.trainBatch`): all five dropouts,
 * AR/TAR, the tied decoder, variableGrads, then the AdamW step — on random token ids, with the
 * hidden state carried between batches as truncated BPTT does. Inference: an eval-mode forward
 * pass with the decoder (`LanguageModel.forwardLogits`). Both mirror tools/bench_torch.py.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../backend.js';
import type { ClasBatch, LmBatch } from '../data/batches.js';
import {
  AWD_LSTM_CLAS_CONFIG,
  AWD_LSTM_LM_CONFIG,
  LanguageModel,
  type AwdLstmConfig,
} from '../model/awd-lstm.js';
import { TextClassifier } from '../model/heads.js';
import { Rng } from '../random.js';
import { DataParallelLm, threadsPerReplica, type UpdateMode } from '../train/data-parallel.js';
import type { StepTiming } from '../train/dp-replica.js';
import { clockDelta, processClock, type ThreadClock } from '../train/thread-clock.js';
import { Learner } from '../train/learner.js';
import { wasmKernelReady } from '../compute/wasm-kernels.js';
import { nativeThreads, setNativeThreads, wasmMatMulLabel } from '../compute/native.js';

export interface SpeedConfig {
  vocab: number;
  emb: number;
  hidden: number;
  layers: number;
  bs: number;
  bptt: number;
  /** Timed steps (training batches, then inference batches). */
  steps: number;
  /** Untimed steps before each timed run (kernel warm-up, allocator growth). */
  warmup: number;
}

export interface SpeedOptions extends SpeedConfig {
  backend?: BackendName;
  /** Seed for the weights, the dropout masks and the random token ids. Default 0. */
  seed?: number;
}

/** How `benchmarkLanguageModel` spreads a batch over threads (data-parallel.ts). */
export interface ParallelSpeedOptions {
  /** Replicas (default 1: today's single-process Learner step); > 1: data-parallel worker threads. */
  workers?: number;
  /** With workers > 1: replica 0 computes on the main thread (default true), else all are workers. */
  mainThread?: boolean;
  /** With workers > 1: how the averaged gradient is applied (default 'replicated'). */
  update?: UpdateMode;
  /** Native matmul threads per replica (native.ts; default: the cores shared out over the replicas). */
  threads?: number;
}

export const DEFAULT_SPEED_CONFIG: Readonly<SpeedConfig> = Object.freeze({
  vocab: 10000,
  emb: 200,
  hidden: 600,
  layers: 3,
  bs: 32,
  bptt: 72,
  steps: 5,
  warmup: 1,
});

export interface LmSpeed {
  trainTokensPerS: number;
  inferTokensPerS: number;
  /** What ran the matmuls (on wasm: the native kernels and their threads per replica, ulmfit's wasm kernel or XNNPACK). */
  matmul: string;
  /** Replicas (1 = single process). */
  workers: number;
  /** With workers > 1: whether replica 0 ran on the main thread, and the update mode. */
  mainThread?: boolean;
  update?: UpdateMode;
  /** With workers > 1: per replica, its mean time per training step by phase (ms). */
  stepTiming?: StepTiming[];
  /**
   * Per replica, mean ms per timed training step on a CPU and runnable but waiting for a CPU (the
   * machine's other load): with one replica, summed over all of the process's threads; with
   * workers, each worker's training thread. Absent where the OS does not say (not Linux).
   */
  trainThreads?: ThreadClock[];
  /** The TF.js backend that ran it ('wasm', 'tensorflow', 'cpu'). */
  backend: string;
  /** Peak resident set size of this process so far, in bytes. */
  peakRssBytes: number;
  config: SpeedConfig;
}

export interface ClassifierSpeed {
  docsPerS: number;
  /** Tokens per document (every document this long, no padding). */
  docLen: number;
  bs: number;
  backend: string;
  peakRssBytes: number;
}

/** Peak RSS of this process (bytes): `ru_maxrss` is in kilobytes on Linux. */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

function checkConfig(config: SpeedConfig): void {
  for (const key of ['vocab', 'emb', 'hidden', 'layers', 'bs', 'bptt', 'steps'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1)
      throw new RangeError(`${key} must be a whole number ≥ 1, got ${config[key]}`);
  }
  if (!Number.isInteger(config.warmup) || config.warmup < 0)
    throw new RangeError(`warmup must be a whole number ≥ 0, got ${config.warmup}`);
  if (config.vocab < 3) throw new RangeError('vocab must be at least 3 (the pad id is 1)');
}

/** fastai's LM dropouts (drop_mult 1) with the benchmark's sizes. */
function lmConfig(config: SpeedConfig): AwdLstmConfig {
  return { ...AWD_LSTM_LM_CONFIG, emb_sz: config.emb, n_hid: config.hidden, n_layers: config.layers };
}

/** A random LM batch: `bs` rows of `bptt + 1` ids, y = x shifted by one. */
function randomLmBatch(rng: Rng, vocab: number, bs: number, bptt: number): LmBatch {
  const x = new Int32Array(bs * bptt);
  const y = new Int32Array(bs * bptt);
  for (let r = 0; r < bs; r++) {
    let prev = rng.int(vocab);
    for (let t = 0; t < bptt; t++) {
      const next = rng.int(vocab);
      x[r * bptt + t] = prev;
      y[r * bptt + t] = next;
      prev = next;
    }
  }
  return { x, y, bs, seqLen: bptt };
}

/** Seconds taken by `steps` calls of `run` after `warmup` untimed ones. */
function timeSteps(warmup: number, steps: number, run: () => void): number {
  for (let i = 0; i < warmup; i++) run();
  const start = performance.now();
  for (let i = 0; i < steps; i++) run();
  return (performance.now() - start) / 1000;
}

function perStep(clock: ThreadClock, steps: number): ThreadClock {
  return { onCpuMs: clock.onCpuMs / steps, waitingMs: clock.waitingMs / steps };
}

/** Seconds taken by `steps` calls of `run` after `warmup` untimed ones (awaited one by one). */
async function timeStepsAsync(warmup: number, steps: number, run: () => Promise<void>): Promise<number> {
  for (let i = 0; i < warmup; i++) await run();
  const start = performance.now();
  for (let i = 0; i < steps; i++) await run();
  return (performance.now() - start) / 1000;
}

/**
 * Times LM training steps and eval forward passes; returns tokens/s (bs·bptt tokens per batch).
 * Batches are generated before timing starts so only the model's work is measured. With
 * `workers` > 1 both run data-parallel (`benchmarkDataParallel`).
 */
export async function benchmarkLanguageModel(options: SpeedOptions & ParallelSpeedOptions): Promise<LmSpeed> {
  if ((options.workers ?? 1) > 1) return benchmarkDataParallel(options);
  const { config, backend, model, learner, batches, total, tokens } = await setUpBenchmark(options);
  const threadsBefore = nativeThreads();
  if (options.threads !== undefined) setNativeThreads(options.threads);
  const matmul = matMulLabel(backend);
  try {
    let i = 0;
    model.setTraining(true);
    model.reset();
    let clockAtStart: ThreadClock | undefined;
    const trainSeconds = timeSteps(config.warmup, config.steps, () => {
      // The whole process: with native matmul threads the work is not all on this thread.
      if (i === config.warmup) clockAtStart = processClock();
      learner.trainBatch(batches[i++ % total]!);
    });
    const trainClock = clockDelta(clockAtStart, processClock());
    i = 0;
    model.setTraining(false);
    model.reset();
    const inferSeconds = timeSteps(config.warmup, config.steps, () => {
      const batch = batches[i++ % total]!;
      const logits = model.forwardLogits(batch.x, batch.bs, batch.seqLen);
      // Reading one value waits for the whole pass on asynchronous backends (tensorflow).
      tf.tidy(() => logits.slice([0, 0, 0], [1, 1, 1])).dataSync();
      logits.dispose();
    });
    return {
      trainTokensPerS: tokens / trainSeconds,
      inferTokensPerS: tokens / inferSeconds,
      matmul,
      workers: 1,
      ...(trainClock ? { trainThreads: [perStep(trainClock, config.steps)] } : {}),
      backend,
      peakRssBytes: peakRssBytes(),
      config,
    };
  } finally {
    setNativeThreads(threadsBefore);
    learner.optimizer.dispose();
    model.dispose();
  }
}

/** What runs the matmuls on this backend, as `ulmfit bench` reports it. */
function matMulLabel(backend: string, threads?: number): string {
  return backend === 'wasm' ? wasmMatMulLabel(wasmKernelReady('BatchMatMul'), threads) : `${backend} backend`;
}

/** What both LM measurements (and tools/profile-step.mjs) start from: the checked config, a model, its learner, random batches. */
export async function setUpBenchmark(options: SpeedOptions) {
  const config: SpeedConfig = {
    vocab: options.vocab,
    emb: options.emb,
    hidden: options.hidden,
    layers: options.layers,
    bs: options.bs,
    bptt: options.bptt,
    steps: options.steps,
    warmup: options.warmup,
  };
  checkConfig(config);
  const backend = await initBackend(options.backend ?? 'auto');
  const rng = new Rng(options.seed ?? 0);
  const model = new LanguageModel(config.vocab, lmConfig(config), { rng });
  const learner = new Learner<LmBatch>(model, { train: { numBatches: 1, batches: () => [] }, rng });
  // fit_one_cycle's mid-cycle hypers; their values do not change the work done.
  learner.optimizer.setHyper('lr', 1e-3);
  learner.optimizer.setHyper('mom', 0.8);
  const total = config.warmup + config.steps;
  const batches = Array.from({ length: total }, () =>
    randomLmBatch(rng, config.vocab, config.bs, config.bptt),
  );
  const tokens = config.steps * config.bs * config.bptt;
  return { config, backend, rng, model, learner, batches, total, tokens };
}

/**
 * The same measurement with data-parallel replicas on worker threads: a training step is
 * `DataParallelLm.trainStep` (every replica's rows with its own dropout masks, AR/TAR, tied
 * decoder; the row-weighted gradient mean through shared memory; AdamW), inference an eval
 * forward pass with the decoder, each replica on its rows. Peak RSS covers the worker threads
 * (they share the process).
 */
export async function benchmarkDataParallel(options: SpeedOptions & ParallelSpeedOptions): Promise<LmSpeed> {
  const workers = options.workers ?? 2;
  const mainThread = options.mainThread ?? true;
  const update = options.update ?? 'replicated';
  const { config, backend, model, learner, batches, total, tokens } = await setUpBenchmark(options);
  const trainer = await DataParallelLm.create({
    replicas: workers,
    model,
    optimizer: learner.optimizer,
    mainThread,
    update,
    backend: backend as BackendName,
    flag: '--workers',
    nativeThreads: options.threads,
  });
  const matmul = `${matMulLabel(backend, options.threads ?? threadsPerReplica(workers))}${backend === 'wasm' ? ' per replica' : ''}`;
  try {
    let i = 0;
    const timing: StepTiming[] = Array.from({ length: workers }, () => ({
      gradients: 0,
      wait: 0,
      average: 0,
      update: 0,
      onCpu: 0,
      waitingForCpu: 0,
    }));
    trainer.reset();
    const trainSeconds = await timeStepsAsync(config.warmup, config.steps, async () => {
      const step = i++;
      const outcome = await trainer.trainStep(batches[step % total]!);
      if (step < config.warmup) return;
      outcome.replicaTimings.forEach((replica, r) => {
        const sum = timing[r]!;
        for (const key of Object.keys(sum) as (keyof StepTiming)[])
          sum[key] = (sum[key] ?? 0) + (replica[key] ?? Number.NaN) / config.steps;
      });
    });
    const measured = timing.every((t) => Number.isFinite(t.onCpu));
    i = 0;
    trainer.reset();
    const inferSeconds = await timeStepsAsync(config.warmup, config.steps, () =>
      trainer.forward(batches[i++ % total]!),
    );
    return {
      trainTokensPerS: tokens / trainSeconds,
      inferTokensPerS: tokens / inferSeconds,
      matmul,
      workers,
      mainThread,
      update,
      stepTiming: timing.map(({ onCpu: _, waitingForCpu: __, ...phases }) => phases),
      ...(measured
        ? { trainThreads: timing.map((t) => ({ onCpuMs: t.onCpu!, waitingMs: t.waitingForCpu! })) }
        : {}),
      backend,
      peakRssBytes: peakRssBytes(),
      config,
    };
  } finally {
    await trainer.close();
    learner.optimizer.dispose();
    model.dispose();
  }
}

export interface ClassifierSpeedOptions extends SpeedOptions {
  /** Tokens per document. Default 500. */
  docLen?: number;
}

/**
 * Times classification inference (SentenceEncoder over the whole document in bptt chunks,
 * masked concat pooling, the linear head, softmax) on random `docLen`-token documents; returns
 * documents/s. `bs` documents per batch; `steps` timed batches.
 */
export async function benchmarkClassifier(options: ClassifierSpeedOptions): Promise<ClassifierSpeed> {
  const config: SpeedConfig = {
    vocab: options.vocab,
    emb: options.emb,
    hidden: options.hidden,
    layers: options.layers,
    bs: options.bs,
    bptt: options.bptt,
    steps: options.steps,
    warmup: options.warmup,
  };
  checkConfig(config);
  const docLen = options.docLen ?? 500;
  const backend = await initBackend(options.backend ?? 'auto');
  const rng = new Rng(options.seed ?? 0);
  const awd: AwdLstmConfig = {
    ...AWD_LSTM_CLAS_CONFIG,
    emb_sz: config.emb,
    n_hid: config.hidden,
    n_layers: config.layers,
  };
  const model = new TextClassifier(config.vocab, 2, awd, { rng, bptt: config.bptt });
  model.setTraining(false);
  const total = config.warmup + config.steps;
  // Ids 2.. so no document holds the pad id (1): every document is exactly docLen tokens.
  const batches: ClasBatch[] = Array.from({ length: total }, () => {
    const x = new Int32Array(config.bs * docLen);
    for (let j = 0; j < x.length; j++) x[j] = 2 + rng.int(config.vocab - 2);
    return {
      x,
      y: new Int32Array(config.bs),
      bs: config.bs,
      seqLen: docLen,
      indices: new Int32Array(config.bs),
    };
  });
  try {
    let i = 0;
    const seconds = timeSteps(config.warmup, config.steps, () => {
      const batch = batches[i++ % total]!;
      model.reset();
      const probabilities = model.predictProbabilities(batch.x, batch.bs, batch.seqLen);
      probabilities.dataSync();
      probabilities.dispose();
    });
    return {
      docsPerS: (config.steps * config.bs) / seconds,
      docLen,
      bs: config.bs,
      backend,
      peakRssBytes: peakRssBytes(),
    };
  } finally {
    model.dispose();
  }
}
