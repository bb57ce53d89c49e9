import { HASH_SEED, hashStep, RunTable } from './run-table.js';

/**
 * Token strings ↔ dense integer ids, and a growable id buffer: what a tokenizing thread uses to
 * hand back documents as Int32Array ids instead of string arrays (see chunk-tokenizer.ts).
 */

/**
 * Token strings ↔ ids 0, 1, 2, ... in the order they were first interned. One per thread.
 * (A RunTable rather than a Map: on a cold cache, most lookups are of strings never seen, and
 * the flat table answers those with fewer memory accesses.)
 */
export class TokenInterner {
  private readonly table = new RunTable();
  /** id → token string. */
  readonly strings: string[] = [];

  get size(): number {
    return this.strings.length;
  }

  /** The id of `token`, giving it the next free id the first time. */
  intern(token: string): number {
    let hash = HASH_SEED;
    for (let k = 0; k < token.length; k++) hash = hashStep(hash, token.charCodeAt(k));
    const slot = this.table.find(token, 0, token.length, hash);
    if (slot >= 0) return this.table.value(slot);
    const id = this.strings.length;
    this.table.insert(token, 0, token.length, hash, id, 0);
    this.strings.push(detached(token));
    return id;
  }
}

/**
 * `text` as a string of its own. V8 makes a slice of 13 or more characters point into its
 * source string, which then stays alive as long as the slice does: a token kept for the whole
 * run must not hold on to the document it was cut from.
 */
function detached(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf16le').toString('utf16le');
}

/** Int32 ids appended back to back; `data[0 .. length)` is the content. */
export class IdBuffer {
  data: Int32Array;
  length = 0;

  constructor(capacity = 1 << 16) {
    // Stored twice so that V8 does not treat `data` as a constant (see RunTable's constructor).
    this.data = new Int32Array(0);
    this.data = new Int32Array(capacity);
  }

  /** Makes room for `extra` more ids (so a caller may then write `data[length + k]` directly). */
  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.data.length) return;
    const grown = new Int32Array(Math.max(needed, this.data.length * 2));
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }

  push(id: number): void {
    if (this.length === this.data.length) this.reserve(1);
    this.data[this.length++] = id;
  }
}

/**
 * Appends the ids of one document's tokens to `out`. An encoder caches ids, so it belongs to the
 * interner it was made with.
 */
export type DocumentEncoder = (text: string, out: IdBuffer) => void;
