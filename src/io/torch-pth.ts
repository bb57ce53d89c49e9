/**
 * PyTorch checkpoints (`torch.save` files) in TypeScript, without Python.
 *
 * Reading handles both containers:
 * - zip (torch ≥ 1.6): `<name>/data.pkl` plus one record `<name>/data/<key>` per storage; `<name>`
 *   is whatever the archive was called when saved (the file's stem, or `archive`).
 * - legacy (what fastai's 2019 WT103 files use): pickles in a row (magic number, protocol
 *   version, sys info, the object, the storage keys), then every storage as an 8-byte
 *   little-endian element count followed by its raw bytes.
 *
 * Unpickling (pickleparser) yields a tree whose tensors are lazy `TorchTensorRef`s: bytes are only
 * copied out of the file when a tensor is materialized, so a 180 MB checkpoint costs the file
 * plus the tensors asked for (≈ 2 copies). Output tensors are float32 (from float32/16/64 and
 * bfloat16) or int32 (from any integer or bool; int64 values must fit).
 *
 * Writing produces the zip format of a flat state dict that `torch.load` accepts, with
 * `weights_only=True` too.
 */
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { BufferReader, Parser } from 'pickleparser';
import { UlmfitError } from '../errors.js';
import { pickleProtocol2, type PickleValue } from './pickle-writer.js';
import {
  copyBytes,
  halfToFloat,
  numelOf,
  shapeText,
  type RawTensor,
  type TensorDType,
  type TensorMap,
} from './tensors.js';
import { buildStoredZip } from './zip-store.js';

/** Element types of torch storages, by their pickled class name. */
const STORAGE_DTYPES = {
  FloatStorage: { dtype: 'float32', size: 4 },
  HalfStorage: { dtype: 'float16', size: 2 },
  BFloat16Storage: { dtype: 'bfloat16', size: 2 },
  DoubleStorage: { dtype: 'float64', size: 8 },
  LongStorage: { dtype: 'int64', size: 8 },
  IntStorage: { dtype: 'int32', size: 4 },
  ShortStorage: { dtype: 'int16', size: 2 },
  CharStorage: { dtype: 'int8', size: 1 },
  ByteStorage: { dtype: 'uint8', size: 1 },
  BoolStorage: { dtype: 'bool', size: 1 },
} as const;
type StorageClass = keyof typeof STORAGE_DTYPES;
export type StorageDType = (typeof STORAGE_DTYPES)[StorageClass]['dtype'];

/** The pickled storage class, as our name resolver returns it for `torch.<X>Storage`. */
class StorageType {
  constructor(readonly className: StorageClass) {}
  get dtype(): StorageDType {
    return STORAGE_DTYPES[this.className].dtype;
  }
  get elementSize(): number {
    return STORAGE_DTYPES[this.className].size;
  }
}

/**
 * One storage of the checkpoint. Its bytes are copied out of the file on first use into an
 * aligned buffer and kept, so tensors sharing a storage share that copy.
 */
class StorageRecord {
  private cached: Uint8Array | undefined;
  /** Set once the container's layout is known (legacy: after the storage keys are read). */
  loader: (() => Uint8Array) | undefined;

  constructor(
    readonly key: string,
    readonly type: StorageType,
    /** element count declared in the pickle (may be absent for legacy view storages) */
    readonly numel: number | undefined,
  ) {}

  bytes(source: string): Uint8Array {
    if (!this.cached) {
      if (!this.loader) throw checkpointError(source, `storage ${this.key} has no data in the file`);
      this.cached = this.loader();
      if (this.cached.byteOffset % this.type.elementSize !== 0) this.cached = copyBytes(this.cached);
    }
    return this.cached;
  }
}

/** A tensor found while unpickling; `materialize()` copies its elements out. */
export class TorchTensorRef {
  constructor(
    private readonly storage: StorageRecord,
    /** in elements of the storage */
    readonly storageOffset: number,
    readonly shape: number[],
    readonly stride: number[],
    private readonly source: string,
  ) {}

  get storageDtype(): StorageDType {
    return this.storage.type.dtype;
  }

  /**
   * The tensor as a contiguous float32 or int32 array. When the tensor is a contiguous float32 or
   * int32 run of its storage this is a view of the (private) storage copy, possibly shared with
   * other tensors of the same storage: treat the data as read-only.
   */
  materialize(name = 'a tensor'): RawTensor {
    const bytes = this.storage.bytes(this.source);
    const size = this.storage.type.elementSize;
    const storageNumel = bytes.byteLength / size;
    const numel = numelOf(this.shape);
    const float = ['float32', 'float16', 'bfloat16', 'float64'].includes(this.storageDtype);
    if (numel === 0) {
      return float
        ? { dtype: 'float32', shape: this.shape, data: new Float32Array(0) }
        : { dtype: 'int32', shape: this.shape, data: new Int32Array(0) };
    }
    let last = this.storageOffset;
    for (let d = 0; d < this.shape.length; d++) last += (this.shape[d]! - 1) * this.stride[d]!;
    if (this.storageOffset < 0 || last >= storageNumel || this.stride.some((s) => s < 0)) {
      throw checkpointError(
        this.source,
        `tensor ${name} reaches element ${last} of a storage of ${storageNumel} (corrupt file)`,
      );
    }
    const contiguous = isContiguous(this.shape, this.stride);
    const start = bytes.byteOffset + this.storageOffset * size;
    if (contiguous && this.storageDtype === 'float32') {
      return { dtype: 'float32', shape: this.shape, data: new Float32Array(bytes.buffer, start, numel) };
    }
    if (contiguous && this.storageDtype === 'int32') {
      return { dtype: 'int32', shape: this.shape, data: new Int32Array(bytes.buffer, start, numel) };
    }
    const read = elementReader(bytes, this.storageDtype, this.source, name);
    const indices = stridedIndices(this.storageOffset, this.shape, this.stride);
    if (float) {
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = read(indices[i]!);
      return { dtype: 'float32', shape: this.shape, data: out };
    }
    const out = new Int32Array(numel);
    for (let i = 0; i < numel; i++) out[i] = read(indices[i]!);
    return { dtype: 'int32', shape: this.shape, data: out };
  }
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

/** Storage element index of every tensor element, in row-major order. */
function stridedIndices(offset: number, shape: readonly number[], stride: readonly number[]): Float64Array {
  const numel = numelOf(shape);
  const out = new Float64Array(numel);
  const counter = new Array<number>(shape.length).fill(0);
  let index = offset;
  for (let i = 0; i < numel; i++) {
    out[i] = index;
    for (let d = shape.length - 1; d >= 0; d--) {
      counter[d]!++;
      index += stride[d]!;
      if (counter[d]! < shape[d]!) break;
      index -= stride[d]! * shape[d]!;
      counter[d] = 0;
    }
  }
  return out;
}

let halfTable: Float32Array | undefined;

/** Reads storage element i as a JS number (float or int32-checked integer). */
function elementReader(
  bytes: Uint8Array,
  dtype: StorageDType,
  source: string,
  name: string,
): (i: number) => number {
  const { buffer, byteOffset, byteLength } = bytes;
  switch (dtype) {
    case 'float32': {
      const a = new Float32Array(buffer, byteOffset, byteLength / 4);
      return (i) => a[i]!;
    }
    case 'float64': {
      const a = new Float64Array(buffer, byteOffset, byteLength / 8);
      return (i) => a[i]!;
    }
    case 'float16': {
      if (!halfTable) {
        halfTable = new Float32Array(65536);
        for (let bits = 0; bits < 65536; bits++) halfTable[bits] = halfToFloat(bits);
      }
      const table = halfTable;
      const a = new Uint16Array(buffer, byteOffset, byteLength / 2);
      return (i) => table[a[i]!]!;
    }
    case 'bfloat16': {
      const a = new Uint16Array(buffer, byteOffset, byteLength / 2);
      const word = new Float32Array(1);
      const wordBits = new Uint32Array(word.buffer);
      return (i) => {
        wordBits[0] = a[i]! << 16;
        return word[0]!;
      };
    }
    case 'int64': {
      const a = new BigInt64Array(buffer, byteOffset, byteLength / 8);
      return (i) => {
        const v = a[i]!;
        if (v < -2147483648n || v > 2147483647n) {
          throw checkpointError(
            source,
            `int64 tensor ${name} holds ${v}, outside the int32 range ulmfit uses`,
          );
        }
        return Number(v);
      };
    }
    case 'int32': {
      const a = new Int32Array(buffer, byteOffset, byteLength / 4);
      return (i) => a[i]!;
    }
    case 'int16': {
      const a = new Int16Array(buffer, byteOffset, byteLength / 2);
      return (i) => a[i]!;
    }
    case 'int8': {
      const a = new Int8Array(buffer, byteOffset, byteLength);
      return (i) => a[i]!;
    }
    case 'uint8':
    case 'bool': {
      const a = new Uint8Array(buffer, byteOffset, byteLength);
      return (i) => a[i]!;
    }
  }
}

function checkpointError(source: string, what: string, hint?: string): UlmfitError {
  return new UlmfitError('E_CHECKPOINT', `${source}: ${what}`, hint);
}

// ---------------------------------------------------------------------------------------------
// Unpickling

/** What an unknown global (a class or function we do not model) unpickles to: inert data. */
export interface OpaqueObject {
  __global__: string;
  args: unknown[];
}

type Callable = (...args: unknown[]) => unknown;

/**
 * Unpickles one pickle from `reader` (which advances past it). Tensors become TorchTensorRefs
 * whose storages are registered in `storages` by key. Nothing in the file is ever executed: every
 * global resolves to a fixed TS function or to inert data.
 */
function unpickle(reader: BufferReader, source: string, storages: Map<string, StorageRecord>): unknown {
  const rebuildTensor: Callable = (storage, offset, size, stride) => {
    if (!(storage instanceof StorageRecord)) throw checkpointError(source, 'a tensor without a storage');
    const shape = toIntArray(size, source, 'tensor size');
    const strides = toIntArray(stride, source, 'tensor stride');
    if (typeof offset !== 'number' || shape.length !== strides.length)
      throw checkpointError(source, 'a malformed tensor');
    return new TorchTensorRef(storage, offset, shape, strides, source);
  };
  const globals = new Map<string, Callable>([
    [
      'collections.OrderedDict',
      (items) => new Map(Array.isArray(items) ? (items as [unknown, unknown][]) : []),
    ],
    ['torch._utils._rebuild_tensor_v2', rebuildTensor],
    ['torch._utils._rebuild_tensor', rebuildTensor],
    ['torch._utils._rebuild_parameter', (data) => data],
    ['torch._utils._rebuild_parameter_with_state', (data) => data],
    [
      'torch._tensor._rebuild_from_type_v2',
      (func, _type, args) => (func as Callable)(...(args as unknown[])),
    ],
    ['torch.Size', (dims) => dims],
  ]);
  const parser = new Parser({
    unpicklingTypeOfDictionary: 'Map',
    nameResolver: {
      resolve(module: string, name: string) {
        const known = globals.get(`${module}.${name}`);
        if (known) return known;
        if (module === 'torch' && name in STORAGE_DTYPES) {
          const type = new StorageType(name as StorageClass);
          return function storageType() {
            return type;
          };
        }
        // A constructor-compatible function: REDUCE calls it, NEWOBJ constructs it.
        return function opaque(this: unknown, ...args: unknown[]): OpaqueObject {
          return { __global__: `${module}.${name}`, args };
        };
      },
    },
    persistentResolver: {
      resolve(pid: unknown) {
        return persistentLoad(pid, source, storages);
      },
    },
  });
  return parser.read(reader);
}

/** Storage classes arrive as the resolved global itself (GLOBAL 'torch FloatStorage'). */
function storageTypeOf(value: unknown): StorageType | undefined {
  if (typeof value === 'function') {
    const type = (value as () => unknown)();
    if (type instanceof StorageType) return type;
  }
  return undefined;
}

/** torch's `persistent_load`: ('storage', type, key, location, numel[, view_metadata]). */
function persistentLoad(pid: unknown, source: string, storages: Map<string, StorageRecord>): StorageRecord {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
    throw checkpointError(source, `unsupported persistent id ${JSON.stringify(String(pid))}`);
  }
  const type = storageTypeOf(pid[1]);
  if (!type) throw checkpointError(source, 'a storage of an unsupported element type');
  const key = String(pid[2]);
  const numel = typeof pid[4] === 'number' ? pid[4] : undefined;
  let record = storages.get(key);
  if (!record) {
    record = new StorageRecord(key, type, numel);
    storages.set(key, record);
  }
  const view = pid[5];
  if (Array.isArray(view)) {
    // Legacy files from old torch versions could pickle a view of a storage: (view_key, offset, size).
    const [viewKey, offset, size] = view as [unknown, number, number];
    const base = record;
    const viewRecord = new StorageRecord(String(viewKey), type, size);
    viewRecord.loader = () =>
      base.bytes(source).subarray(offset * type.elementSize, (offset + size) * type.elementSize);
    return viewRecord;
  }
  return record;
}

function toIntArray(value: unknown, source: string, what: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v))) {
    throw checkpointError(source, `a malformed ${what}`);
  }
  return value as number[];
}

// ---------------------------------------------------------------------------------------------
// Containers

export interface TorchCheckpoint {
  format: 'zip' | 'legacy';
  /** The zip's top folder (e.g. `archive`); absent for legacy files. */
  archiveName?: string;
  /** The unpickled object: Maps for dicts, arrays for lists/tuples, TorchTensorRef for tensors. */
  root: unknown;
  source: string;
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
// PROTO 2, LONG1 10 bytes 0x1950a86a20f9469cfc6c (little-endian), STOP: the legacy magic pickle.
const LEGACY_MAGIC = [
  0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];
const LEGACY_PROTOCOL_VERSION = 1001;

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/** Parses a checkpoint's structure; tensor bytes stay in `bytes` until materialized. */
export function loadTorchCheckpoint(bytes: Uint8Array, source = 'the checkpoint'): TorchCheckpoint {
  try {
    if (startsWith(bytes, ZIP_MAGIC)) return loadZip(bytes, source);
    if (startsWith(bytes, LEGACY_MAGIC)) return loadLegacy(bytes, source);
  } catch (err) {
    throw asCheckpointError(err, source);
  }
  if (bytes.length > 0 && bytes[0] === 0x80) {
    throw checkpointError(
      source,
      'is a plain pickle, not a PyTorch checkpoint (no torch.save magic number)',
      'pass the .pth file saved by torch.save / learn.save',
    );
  }
  throw checkpointError(
    source,
    'is not a PyTorch checkpoint (neither a zip archive nor a legacy torch.save file)',
    'pass the .pth file saved by torch.save / learn.save',
  );
}

/** pickleparser and fflate throw plain Errors on bad bytes; report them as a bad checkpoint. */
function asCheckpointError(err: unknown, source: string): UlmfitError {
  if (err instanceof UlmfitError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return checkpointError(
    source,
    `cannot be read (${message}): the file is truncated or corrupt`,
    'download or save it again',
  );
}

function loadZip(bytes: Uint8Array, source: string): TorchCheckpoint {
  // One pass over the central directory collects the names without extracting anything.
  const names: string[] = [];
  unzipSync(bytes, {
    filter: (file) => {
      names.push(file.name);
      return false;
    },
  });
  const first = names[0] ?? '';
  const archiveName = first.includes('/') ? first.slice(0, first.indexOf('/')) : '';
  const pklName = `${archiveName}/data.pkl`;
  if (!archiveName || !names.includes(pklName)) {
    throw checkpointError(
      source,
      `is a zip archive without ${archiveName || '<name>'}/data.pkl, not a PyTorch checkpoint`,
    );
  }
  const extract = (name: string): Uint8Array => {
    const file = unzipSync(bytes, { filter: (f) => f.name === name })[name];
    if (!file) throw checkpointError(source, `the archive lacks ${name} (truncated or corrupt)`);
    return file;
  };
  if (names.includes(`${archiveName}/byteorder`)) {
    const order = new TextDecoder().decode(extract(`${archiveName}/byteorder`)).trim();
    if (order !== 'little')
      throw checkpointError(
        source,
        `was saved with byte order '${order}'; ulmfit reads little-endian files only`,
      );
  }
  const storages = new Map<string, StorageRecord>();
  const root = unpickle(new BufferReader(extract(pklName)), source, storages);
  for (const record of storages.values()) {
    const name = `${archiveName}/data/${record.key}`;
    if (!names.includes(name))
      throw checkpointError(source, `the archive lacks ${name} (truncated or corrupt)`);
    record.loader = () => {
      const data = extract(name);
      if (record.numel !== undefined && data.byteLength !== record.numel * record.type.elementSize) {
        throw checkpointError(
          source,
          `${name} holds ${data.byteLength} bytes, expected ${record.numel * record.type.elementSize}`,
        );
      }
      return data;
    };
  }
  return { format: 'zip', archiveName, root, source };
}

function loadLegacy(bytes: Uint8Array, source: string): TorchCheckpoint {
  const reader = new BufferReader(bytes);
  reader.skip(LEGACY_MAGIC.length);
  const noStorages = new Map<string, StorageRecord>();
  const protocol = unpickle(reader, source, noStorages);
  if (protocol !== LEGACY_PROTOCOL_VERSION) {
    throw checkpointError(
      source,
      `has legacy protocol version ${String(protocol)}; ulmfit reads ${LEGACY_PROTOCOL_VERSION}`,
    );
  }
  const sysInfo = unpickle(reader, source, noStorages);
  if (sysInfo instanceof Map && sysInfo.get('little_endian') === false) {
    throw checkpointError(source, 'was saved on a big-endian machine; ulmfit reads little-endian files only');
  }
  const storages = new Map<string, StorageRecord>();
  const root = unpickle(reader, source, storages);
  const keys = unpickle(reader, source, noStorages);
  if (!Array.isArray(keys))
    throw checkpointError(source, 'has no storage key list after the object (corrupt file)');

  // The raw storages follow in key-list order: int64 element count, then the elements.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let position = reader.position;
  for (const rawKey of keys) {
    const key = String(rawKey);
    const record = storages.get(key);
    if (!record) throw checkpointError(source, `lists storage ${key} that no tensor uses (corrupt file)`);
    if (position + 8 > bytes.length) throw truncated(source, key);
    const count = Number(view.getBigInt64(position, true));
    const start = position + 8;
    const end = start + count * record.type.elementSize;
    if (count < 0 || end > bytes.length) throw truncated(source, key);
    record.loader = () => copyBytes(bytes.subarray(start, end)); // aligned for typed views
    position = end;
  }
  return { format: 'legacy', root, source };
}

function truncated(source: string, key: string): UlmfitError {
  return checkpointError(
    source,
    `ends inside storage ${key}: the file is truncated`,
    'download or save it again',
  );
}

// ---------------------------------------------------------------------------------------------
// Public helpers

export function isTensorRef(value: unknown): value is TorchTensorRef {
  return value instanceof TorchTensorRef;
}

export function readFileBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UlmfitError(
      code === 'ENOENT' ? 'E_INPUT_MISSING' : 'E_CHECKPOINT',
      `cannot read ${path}: ${(err as Error).message}`,
    );
  }
}

/**
 * A dict of tensors (a state dict) as a TensorMap in the file's order. `what` names the dict in
 * errors (e.g. "the checkpoint's 'model' entry").
 */
export function tensorMapOf(value: unknown, source: string, what = 'the checkpoint'): TensorMap {
  if (!(value instanceof Map)) {
    throw checkpointError(source, `${what} is ${describe(value)}, not a state dict (a dict of tensors)`);
  }
  const out: TensorMap = new Map();
  for (const [key, tensor] of value) {
    if (!isTensorRef(tensor)) {
      throw checkpointError(
        source,
        `${what} is not a state dict: entry ${JSON.stringify(String(key))} is ${describe(tensor)}, not a tensor`,
      );
    }
    out.set(String(key), tensor.materialize(String(key)));
  }
  return out;
}

/** The whole file as a flat state dict (no wrapper keys; see fastai-weights for `{'model': …}`). */
export function readTorchStateDict(bytes: Uint8Array, source = 'the checkpoint'): TensorMap {
  const checkpoint = loadTorchCheckpoint(bytes, source);
  return tensorMapOf(checkpoint.root, source);
}

/** A short description of an unpickled value for error messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value instanceof TorchTensorRef) return `a tensor ${shapeText(value.shape)}`;
  if (value instanceof Map) return `a dict of ${value.size} entries`;
  if (Array.isArray(value)) return `a list/tuple of ${value.length} items`;
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return `the value ${String(value)}`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (typeof value === 'object' && '__global__' in value)
    return `an object of type ${(value as OpaqueObject).__global__}`;
  return `an unsupported ${typeof value}`;
}

/**
 * fastai's vocabulary file: a pickled `list[str]` (v1 `itos_wt103.pkl`, or `pickle.dump(vocab)`).
 * A torch.save'd list is accepted too.
 */
export function readItosPickle(bytes: Uint8Array, source = 'the vocabulary pickle'): string[] {
  let value: unknown;
  if (startsWith(bytes, ZIP_MAGIC) || startsWith(bytes, LEGACY_MAGIC)) {
    value = loadTorchCheckpoint(bytes, source).root;
  } else {
    // Protocol ≥ 2 starts with PROTO; protocols 0/1 start a list with MARK or EMPTY_LIST.
    const first = bytes[0];
    if (first !== 0x80 && first !== 0x28 && first !== 0x5d) {
      throw checkpointError(
        source,
        'is not a pickle file',
        'pass the itos .pkl that belongs to the weights (e.g. itos_wt103.pkl)',
      );
    }
    try {
      value = new Parser({ unpicklingTypeOfDictionary: 'Map' }).parse(bytes);
    } catch (err) {
      throw asCheckpointError(err, source);
    }
  }
  if (!Array.isArray(value)) {
    throw checkpointError(
      source,
      `holds ${describe(value)}, not a list of strings (fastai's itos)`,
      'pass the itos .pkl that belongs to the weights',
    );
  }
  const bad = value.findIndex((v) => typeof v !== 'string');
  if (bad >= 0) {
    throw checkpointError(
      source,
      `is not a list of strings: item ${bad} is ${describe(value[bad])}`,
      'pass the itos .pkl that belongs to the weights',
    );
  }
  return value as string[];
}

// ---------------------------------------------------------------------------------------------
// Writing

/** fastai's vocabulary file: `pickle.dump(itos)` of a list of strings (protocol 2). */
export function writeItosPickle(itos: readonly string[]): Uint8Array {
  return pickleProtocol2({ list: [...itos] });
}

const STORAGE_CLASS_OF: Record<TensorDType, StorageClass> = {
  float32: 'FloatStorage',
  float16: 'HalfStorage',
  int32: 'IntStorage',
  int64: 'LongStorage',
};

/** Row-major strides of a contiguous tensor. */
function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d]!;
  }
  return strides;
}

/**
 * A zip-format `torch.save` of an OrderedDict of the tensors, in map order: what
 * `torch.load(f)` (also with `weights_only=True`) returns as a state dict. Tensors over the same
 * bytes (tied copies) share one storage; records are stored uncompressed and 64-byte aligned like
 * torch writes them.
 */
export function writeTorchZip(tensors: TensorMap, options: { archiveName?: string } = {}): Uint8Array {
  const archiveName = options.archiveName ?? 'archive';
  if (!/^[A-Za-z0-9_.-]+$/.test(archiveName))
    throw new Error(`invalid archive name ${JSON.stringify(archiveName)}`);
  const orderedDict: PickleValue = { call: { global: ['collections', 'OrderedDict'] }, args: [] };
  const items: [PickleValue, PickleValue][] = [];
  const records: { name: string; data: Uint8Array }[] = [];
  let key = 0;
  // Tensors over the very same bytes (tied weights) share one storage, as torch.save does.
  const storageOf = new Map<string, string>();
  const identity = new Map<ArrayBufferLike, number>();
  for (const [name, tensor] of tensors) {
    const numel = numelOf(tensor.shape);
    if (tensor.data.length !== numel)
      throw new Error(`tensor ${name}: data length ${tensor.data.length} ≠ ${numel}`);
    if (!identity.has(tensor.data.buffer)) identity.set(tensor.data.buffer, identity.size);
    const bytesId = `${identity.get(tensor.data.buffer)}:${tensor.data.byteOffset}:${tensor.data.byteLength}:${tensor.dtype}`;
    let storageKey = storageOf.get(bytesId);
    if (storageKey === undefined || numel === 0) {
      storageKey = String(key++);
      storageOf.set(bytesId, storageKey);
      records.push({
        name: `${archiveName}/data/${storageKey}`,
        data: new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
      });
    }
    const storage: PickleValue = {
      persistentId: {
        tuple: ['storage', { global: ['torch', STORAGE_CLASS_OF[tensor.dtype]] }, storageKey, 'cpu', numel],
      },
    };
    const rebuilt: PickleValue = {
      call: { global: ['torch._utils', '_rebuild_tensor_v2'] },
      args: [
        storage,
        0,
        { tuple: tensor.shape },
        { tuple: contiguousStrides(tensor.shape) },
        false,
        orderedDict,
      ],
    };
    items.push([name, rebuilt]);
  }
  const pickle = pickleProtocol2({ dictItems: orderedDict, items });
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  return buildStoredZip([
    { name: `${archiveName}/data.pkl`, data: pickle },
    { name: `${archiveName}/byteorder`, data: text('little') },
    ...records,
    { name: `${archiveName}/version`, data: text('3\n') },
  ]);
}
