/**
 * What the replicas of data-parallel training (data-parallel.ts) share: the flat layout of the
 * parameters, the SharedArrayBuffers they exchange gradients and weights through, a barrier on
 * Atomics, and how each replica's dropout stream is seeded. Used on both sides of the
 * worker-thread boundary, so it holds no TF.js state.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ParamGroup } from '../model/trainable.js';

/** Where one variable lives in the flat parameter (and gradient) vectors. */
export interface ParamSlot {
  group: number;
  /** Position inside its group. */
  index: number;
  /** First element in the flat vector. */
  offset: number;
  size: number;
}

/**
 * Every variable of the model's parameter groups, back to back in group order. `freeze_to`
 * freezes the first groups, so the trainable variables are always a suffix of this vector.
 */
export interface ParamLayout {
  slots: ParamSlot[];
  /** Elements in the whole vector. */
  total: number;
}

export function paramLayout(groups: readonly ParamGroup[]): ParamLayout {
  const slots: ParamSlot[] = [];
  let offset = 0;
  groups.forEach((group, g) =>
    group.variables.forEach((variable, index) => {
      slots.push({ group: g, index, offset, size: variable.size });
      offset += variable.size;
    }),
  );
  return { slots, total: offset };
}

/** The groups' variables in layout order (the same order as `paramLayout(groups).slots`). */
export function layoutVariables(groups: readonly ParamGroup[]): tf.Variable[] {
  return groups.flatMap((group) => group.variables);
}

/** First flat element of the trainable suffix when groups `[0, frozenGroups)` are frozen. */
export function trainableStart(layout: ParamLayout, frozenGroups: number): number {
  const first = layout.slots.find((slot) => slot.group >= frozenGroups);
  return first === undefined ? layout.total : first.offset;
}

/** Rows `[start, end)` of a `bs`-row batch that replica `index` of `replicas` computes. */
export function rowRange(bs: number, replicas: number, index: number): [number, number] {
  return [Math.floor((index * bs) / replicas), Math.floor(((index + 1) * bs) / replicas)];
}

/** Elements `[lo, hi)` of `[start, end)` that replica `index` averages. */
export function shardRange(start: number, end: number, replicas: number, index: number): [number, number] {
  const n = end - start;
  return [start + Math.floor((index * n) / replicas), start + Math.floor(((index + 1) * n) / replicas)];
}

/** Indices into the control Int32Array. */
const GENERATION = 0;
const ARRIVED = 1;
const ABORTED = 2;
export const CONTROL_INTS = 4;

/** The shared memory of one data-parallel group (passed to every worker in workerData). */
export interface SharedBuffers {
  /** Int32 `[CONTROL_INTS]`: the barrier's generation and arrival count, the abort flag. */
  control: SharedArrayBuffer;
  /** Float64 `[3 × replicas]`: per replica the last step's loss, reported loss and rows share. */
  stats: SharedArrayBuffer;
  /** Float64 `[1]`: the gradient norm replica 0 measured (broadcast mode). */
  norm: SharedArrayBuffer;
  /** Float32 `[total]` per replica: the gradient it computed on its rows. */
  grads: SharedArrayBuffer[];
  /** Float32 `[total]`: the row-weighted mean of `grads`. */
  averaged: SharedArrayBuffer;
  /** Float32 `[total]`: weights to load (initial weights, broadcasts, snapshots). */
  weights: SharedArrayBuffer;
}

export function allocateShared(total: number, replicas: number): SharedBuffers {
  const floats = (n: number) => new SharedArrayBuffer(n * Float32Array.BYTES_PER_ELEMENT);
  return {
    control: new SharedArrayBuffer(CONTROL_INTS * Int32Array.BYTES_PER_ELEMENT),
    stats: new SharedArrayBuffer(3 * replicas * Float64Array.BYTES_PER_ELEMENT),
    norm: new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT),
    grads: Array.from({ length: replicas }, () => floats(total)),
    averaged: floats(total),
    weights: floats(total),
  };
}

/** Thrown in a replica whose barrier was aborted because another replica failed. */
export class ReplicaAborted extends Error {
  constructor() {
    super('another data-parallel replica failed');
    this.name = 'ReplicaAborted';
  }
}

/**
 * `Atomics.waitAsync` (ES2024; in Node since 16), typed here because the project compiles against
 * the ES2023 library.
 */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
      timeoutMs: number,
    ): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/**
 * A reusable barrier for `parties` threads (generation counting: the last to arrive resets the
 * count and bumps the generation, waking the others). Any party, or the coordinator, can abort
 * it: every waiter then throws `ReplicaAborted`, now and at every later `wait`.
 */
export class Barrier {
  private readonly control: Int32Array;

  constructor(
    control: SharedArrayBuffer,
    private readonly parties: number,
    /** A waiter gives up after this long (a replica that died without aborting). */
    private readonly timeoutMs = 30 * 60_000,
  ) {
    this.control = new Int32Array(control);
  }

  /** Waits blocking the thread (worker threads: nothing else needs their event loop meanwhile). */
  wait(): void {
    const generation = this.arrive();
    if (generation === undefined) return;
    const deadline = Date.now() + this.timeoutMs;
    while (this.stillWaiting(generation, deadline)) {
      Atomics.wait(this.control, GENERATION, generation, Math.min(deadline - Date.now(), 1000));
    }
  }

  /**
   * Waits without blocking the event loop (the main thread: a worker that dies outright, killed
   * or out of memory, is only reported through an `exit` event, which a blocked thread would never
   * see; the coordinator then aborts the barrier and this wait ends at once). A pending
   * `Atomics.waitAsync` does not keep Node's event loop alive by itself: the worker threads
   * (never `unref`'d) do.
   */
  async waitAsync(): Promise<void> {
    const generation = this.arrive();
    if (generation === undefined) return;
    const deadline = Date.now() + this.timeoutMs;
    while (this.stillWaiting(generation, deadline)) {
      const result = waitAsync(this.control, GENERATION, generation, Math.min(deadline - Date.now(), 1000));
      if (result.async) await result.value;
    }
  }

  /** Counts this party in; the generation to wait on, or undefined when it was the last to arrive. */
  private arrive(): number | undefined {
    const c = this.control;
    if (Atomics.load(c, ABORTED) !== 0) throw new ReplicaAborted();
    const generation = Atomics.load(c, GENERATION);
    if (Atomics.add(c, ARRIVED, 1) === this.parties - 1) {
      Atomics.store(c, ARRIVED, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return undefined;
    }
    return generation;
  }

  /** False once the generation moved on; throws when aborted or past the deadline. */
  private stillWaiting(generation: number, deadline: number): boolean {
    const c = this.control;
    if (Atomics.load(c, GENERATION) !== generation) return false;
    if (Atomics.load(c, ABORTED) !== 0) throw new ReplicaAborted();
    if (Date.now() >= deadline) {
      this.abort();
      throw new Error(`a data-parallel replica did not reach the barrier within ${this.timeoutMs / 1000} s`);
    }
    return true;
  }

  /** Wakes every waiter with `ReplicaAborted`; the group cannot step again. */
  abort(): void {
    Atomics.store(this.control, ABORTED, 1);
    Atomics.notify(this.control, GENERATION);
  }

  get aborted(): boolean {
    return Atomics.load(this.control, ABORTED) !== 0;
  }
}
