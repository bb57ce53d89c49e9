/**
 * One replica of data-parallel training: a model and its optimizer on one thread (a worker, or
 * the main thread), and the synchronous step every replica runs in lockstep with the others
 * through shared memory (dp-shared.ts):
 *
 *   1. loss and gradients on this replica's rows (its own dropout masks), written to its flat
 *      gradient buffer; losses to the stats buffer          — barrier A
 *   2. this replica's shard of the row-weighted mean gradient — barrier B
 *   3. every replica: the combined loss; if it is finite, the update:
 *      - 'replicated': every replica clips the mean gradient and runs the same AdamW step on the
 *        same numbers, so the replicas stay bit-identical without moving any weights;
 *      - 'broadcast': replica 0 clips and steps, writes its weights to the shared weights buffer
 *        (barrier C), the others load them.
 *
 * Rows are independent streams (LM batches), so each replica carries the hidden state of its own
 * rows from batch to batch, exactly as the single-process model carries it per row.
 */
import * as tf from '@tensorflow/tfjs';
import type { LmBatch } from '../data/batches.js';
import type { TrainableModel } from '../model/trainable.js';
import { Rng } from '../random.js';
import { clipGradNorm, lossAndGradients } from './learner.js';
import { clockDelta, threadClock } from './thread-clock.js';
import type { Adam, AdamHypers } from './optimizer.js';
import {
  Barrier,
  layoutVariables,
  paramLayout,
  rowRange,
  shardRange,
  trainableStart,
  type ParamLayout,
  type SharedBuffers,
} from './dp-shared.js';

export type UpdateMode = 'replicated' | 'broadcast';

/** What every replica needs for one step (the coordinator sends the same one to all). */
export interface StepCommand {
  /** The whole batch; each replica takes its own rows. */
  batch: LmBatch;
  /** Adam hyper-parameters per group, and how many groups are frozen. */
  hypers: AdamHypers[];
  frozenGroups: number;
  /** Reset the carried state first (start of a pass). */
  reset: boolean;
  /**
   * Per replica, the seed its dropout generator restarts from for this step (drawn from the
   * run's generator, so a checkpoint of that one covers every replica); `undefined` for a replica
   * that draws from the run's generator itself (replica 0 on the main thread).
   */
  seeds: (number | undefined)[];
  /** false: stop after averaging the gradients (tests read them). */
  apply: boolean;
  /** Clip the mean gradient's global norm to this. */
  clip?: number | undefined;
  update: UpdateMode;
}

export interface StepOutcome {
  /** Row-weighted mean of the replicas' training losses (what was differentiated). */
  loss: number;
  /** The same for the reported loss (cross-entropy without AR/TAR). */
  reported: number;
  /** Global norm of the mean gradient before clipping (when clipping). */
  gradNorm?: number | undefined;
  /** false when the loss or norm was not finite (no replica changed its weights) or `apply` was false. */
  applied: boolean;
  /** Where this replica's step time went (ms). */
  timing: StepTiming;
}

export interface StepTiming {
  /** Forward + backward on this replica's rows, gradients copied to shared memory. */
  gradients: number;
  /** Waiting at barriers for slower replicas. */
  wait: number;
  /** Its shard of the gradient average. */
  average: number;
  /** Clipping, AdamW, weight broadcast. */
  update: number;
  /** Of the whole step: time on a CPU, and time runnable but waiting for a CPU (others' load). */
  onCpu?: number | undefined;
  waitingForCpu?: number | undefined;
}

/** The model a replica trains: the learner's contract plus the carried state it resets. */
export type ReplicaModel = TrainableModel<LmBatch> & {
  forwardLogits(ids: Int32Array, bs: number, seqLen: number): tf.Tensor3D;
  /** Draws the dropout masks. */
  readonly rng: Rng;
};

export class ReplicaCore {
  readonly layout: ParamLayout;
  private readonly variables: tf.Variable[];
  private readonly barrier: Barrier;
  private readonly grads: Float32Array[];
  private readonly averaged: Float32Array;
  private readonly weights: Float32Array;
  private readonly stats: Float64Array;
  private readonly norm: Float64Array;

  constructor(
    readonly index: number,
    readonly replicas: number,
    readonly model: ReplicaModel,
    /** This replica's optimizer (on the main thread: the learner's). */
    readonly optimizer: Adam,
    shared: SharedBuffers,
    barrierTimeoutMs?: number,
    /** Wait at the barrier without blocking the event loop (the main thread's replica). */
    private readonly waitWithoutBlocking = false,
  ) {
    const groups = model.paramGroups();
    this.layout = paramLayout(groups);
    this.variables = layoutVariables(groups);
    this.barrier = new Barrier(shared.control, replicas, barrierTimeoutMs);
    this.grads = shared.grads.map((buffer) => new Float32Array(buffer));
    this.averaged = new Float32Array(shared.averaged);
    this.weights = new Float32Array(shared.weights);
    this.stats = new Float64Array(shared.stats);
    this.norm = new Float64Array(shared.norm);
  }

  /** Runs one step in lockstep with the other replicas; on a failure, aborts them all. */
  async step(command: StepCommand): Promise<StepOutcome> {
    try {
      return await this.runStep(command);
    } catch (error) {
      this.barrier.abort();
      throw error;
    }
  }

  private async atBarrier(): Promise<void> {
    if (this.waitWithoutBlocking) await this.barrier.waitAsync();
    else this.barrier.wait();
  }

  private async runStep(command: StepCommand): Promise<StepOutcome> {
    const { batch } = command;
    const replicas = this.replicas;
    const timing: StepTiming = { gradients: 0, wait: 0, average: 0, update: 0 };
    const startClock = threadClock();
    let clock = performance.now();
    const lap = (phase: 'gradients' | 'wait' | 'average' | 'update'): void => {
      const now = performance.now();
      timing[phase] += now - clock;
      clock = now;
      if (phase === 'update' || phase === 'wait') {
        const cpu = clockDelta(startClock, threadClock());
        timing.onCpu = cpu?.onCpuMs;
        timing.waitingForCpu = cpu?.waitingMs;
      }
    };
    const [rowStart, rowEnd] = rowRange(batch.bs, replicas, this.index);
    const rows = sliceRows(batch, rowStart, rowEnd);
    if (command.reset) this.model.reset();
    const seed = command.seeds[this.index];
    if (seed !== undefined) this.model.rng.setState(new Rng(seed).getState());
    this.optimizer.freezeTo(command.frozenGroups);
    command.hypers.forEach((h, g) => Object.assign(this.optimizer.hypers[g]!, h));
    const start = trainableStart(this.layout, command.frozenGroups);
    const end = this.layout.total;

    // 1. This replica's rows.
    this.computeGradients(rows, batch.bs, start);
    lap('gradients');
    await this.atBarrier(); // A: every gradient is written
    lap('wait');

    // 2. This replica's shard of the mean: rows share × gradient, summed over replicas.
    // Read the stats now: after barrier B a faster replica may already write the next step's.
    const shares = Array.from({ length: replicas }, (_, r) => this.stats[3 * r + 2]!);
    let loss = 0;
    let reported = 0;
    for (let r = 0; r < replicas; r++) {
      loss += shares[r]! * this.stats[3 * r]!;
      reported += shares[r]! * this.stats[3 * r + 1]!;
    }
    const [lo, hi] = shardRange(start, end, replicas, this.index);
    weightedSum(this.averaged, this.grads, shares, lo, hi);
    lap('average');
    await this.atBarrier(); // B: the mean is complete
    lap('wait');

    if (!command.apply || !Number.isFinite(loss)) return { loss, reported, applied: false, timing };

    // 3. The update.
    if (command.update === 'replicated' || this.index === 0) {
      const gradNorm = this.applyMean(start, command.clip);
      const applied = Number.isFinite(gradNorm ?? 0);
      if (command.update === 'replicated') {
        lap('update');
        return { loss, reported, gradNorm, applied, timing };
      }
      this.norm[0] = gradNorm ?? 0;
      if (applied) this.storeWeights(start);
      lap('update');
    }
    await this.atBarrier(); // C: replica 0's weights are in the shared buffer
    lap('wait');
    const gradNorm = command.clip === undefined ? undefined : this.norm[0]!;
    const applied = Number.isFinite(this.norm[0]!);
    if (this.index !== 0 && applied) this.loadWeights(start);
    lap('update');
    return { loss, reported, gradNorm, applied, timing };
  }

  /**
   * Loss and gradients on `rows` (of a `batchRows`-row batch); writes the trainable suffix
   * `[start, total)` of the flat gradient, and the losses and rows share to the stats buffer.
   */
  private computeGradients(rows: LmBatch, batchRows: number, start: number): void {
    const { lossValue, reportedValue, grads } = lossAndGradients(
      this.model,
      rows,
      this.optimizer.trainableVariables(),
    );
    try {
      const flat = this.grads[this.index]!;
      for (let v = 0; v < this.variables.length; v++) {
        const slot = this.layout.slots[v]!;
        if (slot.offset < start) continue;
        const grad = grads[this.variables[v]!.name];
        if (grad == null) flat.fill(0, slot.offset, slot.offset + slot.size);
        else flat.set(grad.dataSync() as Float32Array, slot.offset);
      }
      this.stats[3 * this.index] = lossValue;
      this.stats[3 * this.index + 1] = reportedValue;
      this.stats[3 * this.index + 2] = rows.bs / batchRows;
    } finally {
      tf.dispose(Object.values(grads).filter((g): g is tf.Tensor => g != null));
    }
  }

  /**
   * Clips (optionally) and applies the mean gradient of `[start, total)` with this replica's
   * optimizer. Returns the norm before clipping when clipping; a non-finite norm skips the step.
   */
  private applyMean(start: number, clip: number | undefined): number | undefined {
    const grads: Record<string, tf.Tensor> = {};
    this.variables.forEach((variable, v) => {
      const slot = this.layout.slots[v]!;
      if (slot.offset < start) return;
      grads[variable.name] = tf.tensor(
        this.averaged.subarray(slot.offset, slot.offset + slot.size),
        variable.shape,
        'float32',
      );
    });
    try {
      let gradNorm: number | undefined;
      if (clip !== undefined) {
        gradNorm = clipGradNorm(grads, clip);
        if (!Number.isFinite(gradNorm)) return gradNorm;
      }
      this.optimizer.step(grads);
      return gradNorm;
    } finally {
      tf.dispose(Object.values(grads));
    }
  }

  /** Writes this replica's weights `[start, total)` to the shared weights buffer. */
  storeWeights(start = 0): void {
    this.variables.forEach((variable, v) => {
      const slot = this.layout.slots[v]!;
      if (slot.offset < start) return;
      this.weights.set(variable.dataSync() as Float32Array, slot.offset);
    });
  }

  /** Loads weights `[start, total)` from the shared weights buffer into this replica's variables. */
  loadWeights(start = 0): void {
    this.variables.forEach((variable, v) => {
      const slot = this.layout.slots[v]!;
      if (slot.offset < start) return;
      // A copy: a backend may keep the array it was given (cpu does), and the buffer is rewritten.
      const values = this.weights.slice(slot.offset, slot.offset + slot.size);
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape, 'float32')));
    });
  }

  /** An eval-mode forward pass with the decoder on this replica's rows (inference timing). */
  forward(batch: LmBatch, reset: boolean): void {
    const [rowStart, rowEnd] = rowRange(batch.bs, this.replicas, this.index);
    const rows = sliceRows(batch, rowStart, rowEnd);
    if (reset) this.model.reset();
    const logits = this.model.forwardLogits(rows.x, rows.bs, rows.seqLen);
    // Reading one value waits for the whole pass on asynchronous backends.
    tf.tidy(() => logits.slice([0, 0, 0], [1, 1, 1])).dataSync();
    logits.dispose();
  }
}

/** Rows `[start, end)` of an LM batch (copies). */
export function sliceRows(batch: LmBatch, start: number, end: number): LmBatch {
  const n = batch.seqLen;
  return {
    x: batch.x.slice(start * n, end * n),
    y: batch.y.slice(start * n, end * n),
    bs: end - start,
    seqLen: n,
  };
}

/** `out[i] = Σ_r shares[r]·grads[r][i]` for i in `[lo, hi)`, summed in float64. */
function weightedSum(
  out: Float32Array,
  grads: readonly Float32Array[],
  shares: readonly number[],
  lo: number,
  hi: number,
): void {
  if (grads.length === 2) {
    const [a, b] = grads as [Float32Array, Float32Array];
    const [sa, sb] = shares as [number, number];
    for (let i = lo; i < hi; i++) out[i] = sa * a[i]! + sb * b[i]!;
    return;
  }
  for (let i = lo; i < hi; i++) {
    let sum = 0;
    for (let r = 0; r < grads.length; r++) sum += shares[r]! * grads[r]![i]!;
    out[i] = sum;
  }
}
