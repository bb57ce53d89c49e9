/**
 * A hash table keyed by stretches of a document (`text[start, end)`), found without slicing the
 * text: the tokenizer's cache of whitespace-delimited runs.
 *
 * Built for memory locality, which is what a lookup costs on a busy machine: every slot is 32
 * bytes of one Int32Array holding the hash, the key's length, a small payload and, for keys of
 * up to 8 UTF-16 units (most words), the key itself, so a hit touches one cache line and
 * allocates nothing. Longer keys are compared against a flat UTF-16 pool that holds every key.
 */

/** Slot layout (Int32 fields). */
const HASH = 0;
const ENTRY = 1; // entry number + 1; 0 = empty slot
const LENGTH_BITS = 2; // (key length & LENGTH_MASK) << 8 | the caller's 8 bits
const VALUE = 3; // the caller's value
const KEY = 4; // 4 fields: the key, two units per field; or, for longer keys, its place in the pool
const STRIDE = 8;
/** The slot keeps 24 bits of the key's length; a longer key's full length is checked in the pool. */
const LENGTH_MASK = 0xffffff;
const INLINE_UNITS = 8;

/** FNV-1a over UTF-16 units: start from `HASH_SEED`, fold each unit with `hashStep`. */
export const HASH_SEED = 0x811c9dc5 | 0;
export function hashStep(hash: number, code: number): number {
  return Math.imul(hash ^ code, 0x01000193);
}

/** Two UTF-16 units of text[start, end) from `at` on, packed as the table stores them. */
function packedPair(text: string, at: number, end: number): number {
  return at + 1 < end ? text.charCodeAt(at) | (text.charCodeAt(at + 1) << 16) : text.charCodeAt(at);
}

export class RunTable {
  /** Slots (`STRIDE` fields each); read a slot's payload through `value` and `bits`. */
  data: Int32Array;
  private mask: number;
  /** Every key, back to back in entry order. */
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
      if (
        data[slot + HASH] === hash &&
        data[slot + LENGTH_BITS]! >>> 8 === (length & LENGTH_MASK) &&
        this.sameKey(slot, text, start, end)
      )
        return slot;
      index = (index + 1) & this.mask;
    }
  }

  private sameKey(slot: number, text: string, start: number, end: number): boolean {
    const data = this.data;
    const length = end - start;
    if (length <= INLINE_UNITS) {
      for (let at = start, field = slot + KEY; at < end; at += 2, field++)
        if (data[field] !== packedPair(text, at, end)) return false;
      return true;
    }
    const chars = this.chars;
    const keyStart = data[slot + KEY]!;
    if (length > LENGTH_MASK && this.storedLength(slot) !== length) return false;
    for (let k = 0; k < length; k++) if (chars[keyStart + k] !== text.charCodeAt(start + k)) return false;
    return true;
  }

  /**
   * Adds `text[start, end)` (not present) as the next entry with the caller's `value` and
   * `bits` (0-255); returns its slot.
   */
  insert(text: string, start: number, end: number, hash: number, value: number, bits: number): number {
    if ((this.size + 1) * 4 > (this.mask + 1) * 3) this.grow();
    const length = end - start;
    const keyStart = this.charsUsed;
    this.storeKey(text, start, end);
    const data = this.data;
    let index = hash & this.mask;
    while (data[index * STRIDE + ENTRY] !== 0) index = (index + 1) & this.mask;
    const slot = index * STRIDE;
    const entry = this.size++;
    data[slot + HASH] = hash;
    data[slot + ENTRY] = entry + 1;
    data[slot + LENGTH_BITS] = ((length & LENGTH_MASK) << 8) | bits;
    data[slot + VALUE] = value;
    if (length <= INLINE_UNITS) {
      for (let at = start, field = slot + KEY; at < end; at += 2, field++)
        data[field] = packedPair(text, at, end);
    } else {
      data[slot + KEY] = keyStart;
    }
    if (entry >= this.entryKeyStart.length) {
      const grown = new Int32Array(this.entryKeyStart.length * 2);
      grown.set(this.entryKeyStart);
      this.entryKeyStart = grown;
    }
    this.entryKeyStart[entry] = keyStart;
    return slot;
  }

  /** The full length of a pooled key: keys are pooled in entry order, end to end. */
  private storedLength(slot: number): number {
    const entry = this.data[slot + ENTRY]! - 1;
    const end = entry + 1 < this.size ? this.entryKeyStart[entry + 1]! : this.charsUsed;
    return end - this.entryKeyStart[entry]!;
  }

  private storeKey(text: string, start: number, end: number): void {
    const length = end - start;
    if (this.charsUsed + length > this.chars.length) {
      const grown = new Uint16Array(Math.max(this.chars.length * 2, this.charsUsed + length));
      grown.set(this.chars.subarray(0, this.charsUsed));
      this.chars = grown;
    }
    for (let k = 0; k < length; k++) this.chars[this.charsUsed + k] = text.charCodeAt(start + k);
    this.charsUsed += length;
  }

  /** The caller's value of a slot. */
  value(slot: number): number {
    return this.data[slot + VALUE]!;
  }

  /** The caller's 8 bits of a slot. */
  bits(slot: number): number {
    return this.data[slot + LENGTH_BITS]! & 0xff;
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
    const data = new Int32Array(slots * STRIDE);
    this.data = data;
    this.mask = slots - 1;
    for (let slot = 0; slot < old.length; slot += STRIDE) {
      if (old[slot + ENTRY] === 0) continue;
      let index = old[slot + HASH]! & this.mask;
      while (data[index * STRIDE + ENTRY] !== 0) index = (index + 1) & this.mask;
      const to = index * STRIDE;
      for (let k = 0; k < STRIDE; k++) data[to + k] = old[slot + k]!;
    }
  }
}
