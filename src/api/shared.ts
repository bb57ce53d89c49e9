/**
 * What the high-level API's handles share: one loaded copy of each model per thread (loading the
 * same directory twice is one load; the last `dispose` frees it), and a lock per loaded model so
 * that async callers never interleave on its hidden state.
 *
 * Worker threads: each thread has its own TF.js instance and its own copy of this module, so a
 * model is shared within a thread, never across threads.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BackendName } from '../backend.js';
import { UlmfitError } from '../errors.js';
import { resolveModelDir } from '../io/artifact.js';
import { ENSEMBLE_CHOICE_FILE } from '../io/ensemble-choice.js';
import { runBaselineOf, runNetworksOf } from '../infer/classify.js';

/**
 * A first-in, first-out lock. `run` calls its function once every earlier holder has released
 * the lock, so work on one model runs in call order, one piece at a time.
 */
export class Lock {
  private tail: Promise<void> = Promise.resolve();

  /** Resolves, in call order, to the function that releases the lock (call it exactly once). */
  acquire(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const previous = this.tail;
    this.tail = previous.then(() => released);
    return previous.then(() => release);
  }

  async run<T>(work: () => Promise<T> | T): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }
}

/** A loaded model held by one API handle. */
export interface SharedModel<T> {
  readonly value: T;
  readonly lock: Lock;
  /** Drops this handle's reference; the last one frees the model once its running work is done. */
  release(): Promise<void>;
}

interface Entry<T> {
  loading: Promise<T>;
  lock: Lock;
  refs: number;
}

/**
 * Loaded models by identity: the real path of each resolved model directory, the mtime and size
 * of its meta.json (rewritten by every save, so a model retrained in place is loaded afresh) and
 * the backend.
 */
export class SharedModels<T extends { dispose(): void }> {
  private readonly entries = new Map<string, Entry<T>>();

  async acquire(
    refs: readonly string[],
    backend: BackendName,
    load: () => Promise<T>,
  ): Promise<SharedModel<T>> {
    const key = `${backend}|${refs.map(modelIdentity).join('|')}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { loading: load(), lock: new Lock(), refs: 0 };
      this.entries.set(key, entry);
    }
    entry.refs += 1;
    const current = entry;
    let value: T;
    try {
      value = await current.loading;
    } catch (error) {
      // A failed load is not cached: the next call tries again (the files may have been fixed).
      current.refs -= 1;
      if (this.entries.get(key) === current) this.entries.delete(key);
      throw error;
    }
    let released = false;
    return {
      value,
      lock: current.lock,
      release: async () => {
        if (released) return;
        released = true;
        current.refs -= 1;
        if (current.refs > 0) return;
        if (this.entries.get(key) === current) this.entries.delete(key);
        await current.lock.run(() => value.dispose());
      },
    };
  }

  /** How many distinct models are loaded (tests). */
  get size(): number {
    return this.entries.size;
  }
}

/**
 * A model reference's identity: resolved directory (names, run directories), real path, meta.json
 * stamp. A run directory stands for more than the model it resolves to (its other networks and its
 * baseline: infer/classify.ts loadEnsemble), so its identity is its own and covers those too: a
 * network that completes later, a refit baseline or a new ensemble choice makes it a new model.
 */
function modelIdentity(ref: string): string {
  const dir = realpathSync(resolveModelDir(ref));
  const stamp = (modelDir: string): string => {
    const meta = statSync(join(modelDir, 'meta.json'));
    return `${modelDir}@${meta.mtimeMs}:${meta.size}`;
  };
  const own = stamp(dir);
  if (!existsSync(ref) || realpathSync(ref) === dir) return own;
  const baseline = runBaselineOf(dir);
  const parts = [
    own,
    ...[...runNetworksOf(dir), ...(baseline ? [baseline] : [])].map((d) => stamp(realpathSync(d))),
  ];
  // The run's choice of members (ensemble.json) is part of what it stands for.
  const choice = join(dirname(dir), ENSEMBLE_CHOICE_FILE);
  if (existsSync(choice)) {
    const file = statSync(choice);
    parts.push(`${choice}@${file.mtimeMs}:${file.size}`);
  }
  return `run:${parts.join('+')}`;
}

/** The error a disposed handle throws. */
export function disposedError(what: string): UlmfitError {
  return new UlmfitError('E_USAGE', `this ${what} was disposed`, `load it again with ${what}.load(…)`);
}
