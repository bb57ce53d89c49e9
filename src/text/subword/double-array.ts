/**
 * A static double-array trie over integer label sequences: the piece dictionary of the trainer's
 * lattices (labels = dense character ids) and of the encoder (labels = UTF-8 bytes + 1).
 *
 * From state s, label c leads to t = base[s] + c when check[t] === s. Walking a key costs two
 * array reads per label, with no hashing: the lattice builders walk it millions of times.
 */

const FREE = -1;
const ROOT_CHECK = -2;

export class DoubleArrayTrie {
  /** The root state. */
  static readonly ROOT = 0;

  /** Use `DoubleArrayTrie.build`. */
  constructor(
    readonly base: Int32Array,
    readonly check: Int32Array,
    /** value[s]: the value of the key that ends at state s, or -1. */
    readonly value: Int32Array,
  ) {}

  /**
   * Builds the trie of `keys` (label sequences, every label ≥ 1, no duplicates) mapping key i to
   * `values[i]` (≥ 0).
   */
  static build(keys: readonly Int32Array[], values: ArrayLike<number>): DoubleArrayTrie {
    const builder = new Builder();
    const order = Array.from({ length: keys.length }, (_, i) => i);
    order.sort((a, b) => compareLabels(keys[a]!, keys[b]!));
    for (let i = 1; i < order.length; i++) {
      if (compareLabels(keys[order[i - 1]!]!, keys[order[i]!]!) === 0)
        throw new Error('duplicate key in trie');
    }
    builder.buildFrom(
      order.map((i) => keys[i]!),
      order.map((i) => values[i]!),
    );
    return builder.finish();
  }

  /** The state reached from `state` by `label`, or -1. */
  next(state: number, label: number): number {
    const t = this.base[state]! + label;
    return t < this.check.length && this.check[t] === state ? t : -1;
  }

  /** The value stored for `key`, or -1. */
  lookup(key: ArrayLike<number>): number {
    let state = DoubleArrayTrie.ROOT;
    for (let i = 0; i < key.length; i++) {
      state = this.next(state, key[i]!);
      if (state < 0) return -1;
    }
    return this.value[state]!;
  }
}

function compareLabels(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Places states in the arrays, keeping a linked list of the free cells to find bases fast. */
class Builder {
  private base = new Int32Array(0);
  private check = new Int32Array(0);
  private value = new Int32Array(0);
  private nextFree = new Int32Array(0);
  private prevFree = new Int32Array(0);
  private size = 0;
  /** The first free cell (cells ≥ size are all free). */
  private freeHead = -1;

  constructor() {
    this.grow(1024);
    this.take(0);
    this.check[0] = ROOT_CHECK;
  }

  private grow(minSize: number): void {
    if (minSize <= this.size) return;
    let newSize = Math.max(this.size * 2, 1024);
    while (newSize < minSize) newSize *= 2;
    const extend = (old: Int32Array, fill: number): Int32Array<ArrayBuffer> => {
      const grown = new Int32Array(newSize).fill(fill);
      grown.set(old);
      return grown;
    };
    this.base = extend(this.base, 0);
    this.check = extend(this.check, FREE);
    this.value = extend(this.value, -1);
    this.nextFree = extend(this.nextFree, -1);
    this.prevFree = extend(this.prevFree, -1);
    // Link the new cells at the end of the free list.
    let tail = -1;
    if (this.freeHead >= 0) {
      tail = this.freeHead;
      while (this.nextFree[tail]! >= 0) tail = this.nextFree[tail]!;
    }
    for (let i = this.size; i < newSize; i++) {
      this.prevFree[i] = tail;
      if (tail >= 0) this.nextFree[tail] = i;
      else this.freeHead = i;
      tail = i;
    }
    this.nextFree[newSize - 1] = -1;
    this.size = newSize;
  }

  /** Removes cell i from the free list. */
  private take(i: number): void {
    const prev = this.prevFree[i]!;
    const next = this.nextFree[i]!;
    if (prev >= 0) this.nextFree[prev] = next;
    else this.freeHead = next;
    if (next >= 0) this.prevFree[next] = prev;
    this.check[i] = ROOT_CHECK; // reserved until the caller sets the real parent
  }

  private isFree(i: number): boolean {
    return i >= this.size || this.check[i] === FREE;
  }

  /** A base b ≥ 1 with every b + label free. */
  private findBase(labels: readonly number[]): number {
    const first = labels[0]!;
    let cell = this.freeHead;
    for (;;) {
      if (cell < 0) {
        // No free cell fits: place the children past the end.
        cell = this.size;
        this.grow(this.size + 1);
      }
      const base = cell - first;
      if (base >= 1) {
        let fits = true;
        for (let k = 1; k < labels.length; k++) {
          if (!this.isFree(base + labels[k]!)) {
            fits = false;
            break;
          }
        }
        if (fits) return base;
      }
      cell = cell < this.size ? this.nextFree[cell]! : -1;
    }
  }

  buildFrom(keys: readonly Int32Array[], values: readonly number[]): void {
    // Iterative depth-first placement: each task is (state, key range, depth).
    const stack: Array<[number, number, number, number]> = [[0, 0, keys.length, 0]];
    const labels: number[] = [];
    const starts: number[] = [];
    while (stack.length > 0) {
      const [state, lo0, hi, depth] = stack.pop()!;
      let lo = lo0;
      if (lo < hi && keys[lo]!.length === depth) {
        this.value[state] = values[lo]!;
        lo++;
      }
      if (lo >= hi) continue;
      labels.length = 0;
      starts.length = 0;
      for (let i = lo; i < hi; i++) {
        const label = keys[i]![depth]!;
        if (labels.length === 0 || labels[labels.length - 1] !== label) {
          labels.push(label);
          starts.push(i);
        }
      }
      starts.push(hi);
      const base = this.findBase(labels);
      this.grow(base + labels[labels.length - 1]! + 1);
      this.base[state] = base;
      for (let k = 0; k < labels.length; k++) {
        const child = base + labels[k]!;
        this.take(child);
        this.check[child] = state;
      }
      for (let k = labels.length - 1; k >= 0; k--)
        stack.push([base + labels[k]!, starts[k]!, starts[k + 1]!, depth + 1]);
    }
  }

  finish(): DoubleArrayTrie {
    let used = 0;
    for (let i = 0; i < this.size; i++) if (this.check[i] !== FREE) used = i + 1;
    const check = this.check.slice(0, used);
    check[0] = ROOT_CHECK;
    return new DoubleArrayTrie(this.base.slice(0, used), check, this.value.slice(0, used));
  }
}
