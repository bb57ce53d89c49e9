/**
 * The operations the model and optimizer call (`lstmLayer`, `linear`, `crossEntropy`,
 * `maskedConcatPool`, `adamwStep`),
 * each with its implementations registered per backend: which one runs is decided here, once per
 * call, so model code has one execution path and never names a backend or a kernel.
 *
 * An implementation says which TF.js backends it runs on and whether it can run now (its kernels
 * loaded and switched on); the first registered one that can, and that accepts the call's
 * arguments, runs. A reference implementation (the autodiff LSTM) runs only when asked for by name:
 * tests compare every implementation with it (test/compute/), and `using` picks one for a
 * comparison or a benchmark.
 */
import * as tf from '@tensorflow/tfjs';

/** One way to run an operation. `F` is the operation's function type. */
export interface Implementation<F extends (...args: never[]) => unknown> {
  /** 'native' (the AVX2 addon), 'wasm' (ulmfit's wasm kernels), 'tfjs' (TF.js ops), 'autodiff'. */
  readonly name: string;
  /** The TF.js backends it runs on; absent: every backend. */
  readonly backends?: readonly string[];
  /** Whether it can run now: its kernels are loaded and switched on. */
  ready(): boolean;
  /** Whether it takes these arguments (shapes, dtypes); absent: any. */
  accepts?(...args: Parameters<F>): boolean;
  /** Runs only when asked for by name (`using`), never by default. */
  readonly reference?: boolean;
  readonly run: F;
}

export class Operation<F extends (...args: never[]) => unknown> {
  private readonly implementations: Implementation<F>[] = [];
  private chosen: string | undefined;

  constructor(readonly name: string) {}

  /** Adds an implementation; the ones registered first are preferred. */
  register(implementation: Implementation<F>): this {
    this.implementations.push(implementation);
    return this;
  }

  /** Every implementation that can run on the current backend now, preferred first (references last). */
  available(): Implementation<F>[] {
    const backend = tf.getBackend();
    return this.implementations.filter(
      (impl) => (impl.backends === undefined || impl.backends.includes(backend)) && impl.ready(),
    );
  }

  /**
   * The implementation for these arguments: the one `using` asked for, else the first that can run
   * and accepts them. Throws when the one asked for cannot run here (a test would otherwise pass
   * on another implementation).
   */
  select(...args: Parameters<F>): Implementation<F> {
    const candidates = this.available();
    if (this.chosen !== undefined) {
      const chosen = candidates.find((impl) => impl.name === this.chosen);
      if (chosen === undefined)
        throw new Error(
          `${this.name}: implementation '${this.chosen}' cannot run on the ${tf.getBackend()} backend now`,
        );
      return chosen;
    }
    const picked = candidates.find(
      (impl) => impl.reference !== true && (impl.accepts === undefined || impl.accepts(...args)),
    );
    if (picked === undefined)
      throw new Error(`${this.name}: no implementation runs on the ${tf.getBackend()} backend`);
    return picked;
  }

  /** Runs the operation on the implementation `select` picks. */
  readonly run = ((...args: Parameters<F>) => this.select(...args).run(...args)) as F;

  /**
   * Runs `body` with implementation `name` for every call of this operation (undefined: the
   * default choice), then restores the previous choice. For tests and benchmarks.
   */
  using<T>(name: string | undefined, body: () => T): T {
    const previous = this.chosen;
    this.chosen = name;
    try {
      return body();
    } finally {
      this.chosen = previous;
    }
  }
}
