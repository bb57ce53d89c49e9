/**
 * Writes the small subset of pickle protocol 2 that a PyTorch state dict (and fastai's itos list)
 * needs: globals, calls (REDUCE), tuples, lists, ints, strings, booleans, None, persistent ids and
 * dict items. No memo: every
 * object is written where it appears, which Python's unpickler (and torch's weights_only one)
 * accepts.
 */

/** A value the writer can emit. */
export type PickleValue =
  | null
  | boolean
  | number // integers only
  | string
  | { tuple: PickleValue[] }
  | { list: PickleValue[] }
  | { global: [module: string, name: string] }
  | { call: PickleValue; args: PickleValue[] } // callable(*args) via REDUCE
  | { persistentId: PickleValue }
  | { dictItems: PickleValue; items: [PickleValue, PickleValue][] }; // obj then SETITEMS

const OP = {
  PROTO: 0x80,
  STOP: 0x2e,
  MARK: 0x28,
  GLOBAL: 0x63,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  REDUCE: 0x52,
  BINUNICODE: 0x58,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  NONE: 0x4e,
  BINPERSID: 0x51,
  SETITEMS: 0x75,
  EMPTY_LIST: 0x5d,
  APPENDS: 0x65,
} as const;

class ByteSink {
  private chunks: Uint8Array[] = [];
  private current = new Uint8Array(4096);
  private used = 0;
  private size = 0;

  byte(b: number): void {
    if (this.used === this.current.length) this.flush();
    this.current[this.used++] = b;
    this.size++;
  }

  bytes(data: Uint8Array): void {
    for (const b of data) this.byte(b);
  }

  uint(value: number, width: 2 | 4): void {
    for (let i = 0; i < width; i++) this.byte((value >>> (8 * i)) & 0xff);
  }

  private flush(): void {
    this.chunks.push(this.current.subarray(0, this.used));
    this.current = new Uint8Array(4096);
    this.used = 0;
  }

  result(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

const encoder = new TextEncoder();

function writeInt(sink: ByteSink, value: number): void {
  if (!Number.isSafeInteger(value)) throw new Error(`pickle writer: ${value} is not a safe integer`);
  if (value >= 0 && value < 0x100) {
    sink.byte(OP.BININT1);
    sink.byte(value);
  } else if (value >= 0 && value < 0x10000) {
    sink.byte(OP.BININT2);
    sink.uint(value, 2);
  } else if (value >= -(2 ** 31) && value < 2 ** 31) {
    sink.byte(OP.BININT);
    sink.uint(value >>> 0, 4);
  } else {
    // LONG1: little-endian two's complement, as few bytes as keep the sign.
    let big = BigInt(value);
    const bytes: number[] = [];
    for (;;) {
      const b = Number(big & 0xffn);
      bytes.push(b);
      big >>= 8n;
      if ((big === 0n && (b & 0x80) === 0) || (big === -1n && (b & 0x80) !== 0)) break;
    }
    sink.byte(OP.LONG1);
    sink.byte(bytes.length);
    for (const b of bytes) sink.byte(b);
  }
}

function writeValue(sink: ByteSink, value: PickleValue): void {
  if (value === null) return sink.byte(OP.NONE);
  if (value === true) return sink.byte(OP.NEWTRUE);
  if (value === false) return sink.byte(OP.NEWFALSE);
  if (typeof value === 'number') return writeInt(sink, value);
  if (typeof value === 'string') {
    const utf8 = encoder.encode(value);
    sink.byte(OP.BINUNICODE);
    sink.uint(utf8.length, 4);
    sink.bytes(utf8);
    return;
  }
  if ('tuple' in value) {
    const items = value.tuple;
    if (items.length === 0) return sink.byte(OP.EMPTY_TUPLE);
    if (items.length > 3) sink.byte(OP.MARK);
    for (const item of items) writeValue(sink, item);
    sink.byte([OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][items.length - 1] ?? OP.TUPLE);
    return;
  }
  if ('list' in value) {
    sink.byte(OP.EMPTY_LIST);
    // Batches of 1000 like Python's pickler (any size is valid; this keeps the stack small).
    for (let start = 0; start < value.list.length; start += 1000) {
      sink.byte(OP.MARK);
      for (const item of value.list.slice(start, start + 1000)) writeValue(sink, item);
      sink.byte(OP.APPENDS);
    }
    return;
  }
  if ('global' in value) {
    const [module, name] = value.global;
    if (/[\n]/.test(module + name)) throw new Error('pickle writer: a global name cannot hold a newline');
    sink.byte(OP.GLOBAL);
    sink.bytes(encoder.encode(`${module}\n${name}\n`));
    return;
  }
  if ('call' in value) {
    writeValue(sink, value.call);
    writeValue(sink, { tuple: value.args });
    sink.byte(OP.REDUCE);
    return;
  }
  if ('persistentId' in value) {
    writeValue(sink, value.persistentId);
    sink.byte(OP.BINPERSID);
    return;
  }
  writeValue(sink, value.dictItems);
  if (value.items.length === 0) return;
  sink.byte(OP.MARK);
  for (const [k, v] of value.items) {
    writeValue(sink, k);
    writeValue(sink, v);
  }
  sink.byte(OP.SETITEMS);
}

/** A complete protocol-2 pickle of `value` (PROTO 2 … STOP). */
export function pickleProtocol2(value: PickleValue): Uint8Array {
  const sink = new ByteSink();
  sink.byte(OP.PROTO);
  sink.byte(2);
  writeValue(sink, value);
  sink.byte(OP.STOP);
  return sink.result();
}
