/**
 * A hash table keyed by stretches of a document (`text[start, end)`), found without slicing the
 * text: the tokenizer's cache of whitespace-delimited runs. Keys are copied into one flat UTF-16
 * pool and every slot is a fixed stride of an Int32Array holding the hash, the key's place in the
 * pool and a small payload, so a lookup touches a couple of cache lines and allocates nothing.
 */

/** Slot layout (Int32 fields). */
const HASH = 0;
const ENTRY = 1; // entry number + 1; 0 = empty slot
const KEY_START = 2;
const KEY_LENGTH = 3;
/** First payload field; a slot has `PAYLOAD_FIELDS` of them for the caller (`data[slot + PAYLOAD + k]`). */
export const PAYLOAD = 4;
export const PAYLOAD_FIELDS = 4;
const STRIDE = PAYLOAD + PAYLOAD_FIELDS;

/** FNV-1a over UTF-16 units: start from `HASH_SEED`, fold each unit with `hashStep`. */
export const HASH_SEED = 0x811c9dc5 | 0;
export function hashStep(hash: number, code: number): number {
  return Math.imul(hash ^ code, 0x01000193);
}

export class RunTable {
  /** Slots, `STRIDE` Int32 fields each; the payload fields are the caller's. */
  data: Int32Array;
  private mask: number;
  private chars: Uint16Array;
  private charsUsed = 0;
  /** Entries so far (entry numbers are 0 .. size-1, in insertion order). */
  size = 0;
  /** Entry number → its key's place in the pool (slots move when the table grows; entries do not). */
  private entryKeyStart: Int32Array;

  /**
   * Starts small on purpose: growing then happens within the first document, before V8
   * optimizes the callers, instead of throwing their optimized code away later.
   */
  constructor(slots = 1 << 8) {
    // Each growable field is stored twice: V8 treats a field written only once as a constant in
    // optimized code, and throws all that code away when the field changes.
    this.data = new Int32Array(0);
    this.data = new Int32Array(slots * STRIDE);
    this.mask = 0;
    this.mask = slots - 1;
    this.chars = new Uint16Array(0);
    this.chars = new Uint16Array(1 << 8);
    this.entryKeyStart = new Int32Array(0);
    this.entryKeyStart = new Int32Array(1 << 6);
  }

  /** The slot (an index into `data`) holding `text[start, end)`, or -1. `hash` is its hash. */
  find(text: string, start: number, end: number, hash: number): number {
    const data = this.data;
    const length = end - start;
    let index = hash & this.mask;
    for (;;) {
      const slot = index * STRIDE;
      if (data[slot + ENTRY] === 0) return -1;
      if (data[slot + HASH] === hash && data[slot + KEY_LENGTH] === length) {
        const chars = this.chars;
        const keyStart = data[slot + KEY_START]!;
        let k = 0;
        while (k < length && chars[keyStart + k] === text.charCodeAt(start + k)) k++;
        if (k === length) return slot;
      }
      index = (index + 1) & this.mask;
    }
  }

  /** Adds `text[start, end)` (not present) as the next entry; returns its slot, payload zeroed. */
  insert(text: string, start: number, end: number, hash: number): number {
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    const length = end - start;
    if (this.charsUsed + length > this.chars.length) {
      const grown = new Uint16Array(Math.max(this.chars.length * 2, this.charsUsed + length));
      grown.set(this.chars.subarray(0, this.charsUsed));
      this.chars = grown;
    }
    for (let k = 0; k < length; k++) this.chars[this.charsUsed + k] = text.charCodeAt(start + k);
    const data = this.data;
    let index = hash & this.mask;
    while (data[index * STRIDE + ENTRY] !== 0) index = (index + 1) & this.mask;
    const slot = index * STRIDE;
    data[slot + HASH] = hash;
    const entry = this.size++;
    data[slot + ENTRY] = entry + 1;
    data[slot + KEY_START] = this.charsUsed;
    data[slot + KEY_LENGTH] = length;
    if (entry >= this.entryKeyStart.length) {
      const grown = new Int32Array(this.entryKeyStart.length * 2);
      grown.set(this.entryKeyStart);
      this.entryKeyStart = grown;
    }
    this.entryKeyStart[entry] = this.charsUsed;
    this.charsUsed += length;
    return slot;
  }

  /** The entry number (0-based, insertion order) of a slot. */
  entryOf(slot: number): number {
    return this.data[slot + ENTRY]! - 1;
  }

  /** Whether the key of entry `a` starts with the key of entry `b`. */
  entryStartsWith(a: number, b: number): boolean {
    const aStart = this.entryKeyStart[a]!;
    const bStart = this.entryKeyStart[b]!;
    const bLength = this.entryKeyEnd(b) - bStart;
    if (this.entryKeyEnd(a) - aStart < bLength) return false;
    for (let k = 0; k < bLength; k++) if (this.chars[aStart + k] !== this.chars[bStart + k]) return false;
    return true;
  }

  /** Keys are stored in entry order, so an entry's key ends where the next one's starts. */
  private entryKeyEnd(entry: number): number {
    return entry + 1 < this.size ? this.entryKeyStart[entry + 1]! : this.charsUsed;
  }

  /** The key of a slot, as a string. */
  keyOf(slot: number): string {
    const start = this.data[slot + KEY_START]!;
    let key = '';
    const end = start + this.data[slot + KEY_LENGTH]!;
    // In pieces: String.fromCharCode takes its units as arguments.
    for (let from = start; from < end; from += 4096) {
      key += String.fromCharCode(...this.chars.subarray(from, Math.min(end, from + 4096)));
    }
    return key;
  }

  /** Forgets every entry (entry numbers start again from 0). */
  clear(): void {
    this.data.fill(0);
    this.charsUsed = 0;
    this.size = 0;
  }

  /** Characters held by the keys (what bounds the table's memory). */
  get charCount(): number {
    return this.charsUsed;
  }

  private grow(): void {
    const old = this.data;
    const slots = (this.mask + 1) * 2;
    this.data = new Int32Array(slots * STRIDE);
    this.mask = slots - 1;
    const data = this.data;
    for (let slot = 0; slot < old.length; slot += STRIDE) {
      if (old[slot + ENTRY] === 0) continue;
      let index = old[slot + HASH]! & this.mask;
      while (data[index * STRIDE + ENTRY] !== 0) index = (index + 1) & this.mask;
      const to = index * STRIDE;
      for (let k = 0; k < STRIDE; k++) data[to + k] = old[slot + k]!;
    }
  }
}
