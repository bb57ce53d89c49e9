/**
 * The tokenized corpus directory (design.md §3): what `ulmfit tokenize` writes and training
 * commands read.
 *
 * ```
 * <dir>/
 *   ids.bin        token ids of every document, concatenated: int32 little-endian
 *   offsets.bin    numDocs+1 float64 little-endian: doc i is ids[offsets[i] .. offsets[i+1])
 *                  (float64 so a corpus may pass 2^31 tokens; exact up to 2^53)
 *   vocab.json     itos array
 *   counts.json    [[token, count], ...] for every token seen, in first-seen order (an array,
 *                  not an object: JS objects reorder integer-like keys, and the order is fastai's
 *                  Counter tie order, so make_vocab can be re-run exactly)
 *   tokenizer.json the TokenizerSettings
 *   spm.model      only for subword tokenizers: the SentencePiece model (tokenizer.json names it)
 *   labels.json    only if any doc has a label: { names (sorted like fastai's Categorize), ids (per doc, -1 = none) }
 *   splits.json    only if any doc has a split: { names: [train, valid, test], ids (per doc, -1 = none) }
 *   meta.json      CorpusMeta
 * ```
 *
 * Writing goes to `<dir>.tmp-<pid>` and is renamed into place, so a directory with this layout
 * is always complete; an interrupted write leaves only a temp directory that nothing reads.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { UlmfitError } from '../errors.js';
import { PACKAGE_VERSION } from '../version.js';
import { SPLITS, type Split } from '../data/sources.js';
import { StagedDir } from '../io/atomic.js';
import { count, readJsonFile, z, type FileProblem } from '../io/validate.js';
import type { TokenizerSettings } from './settings.js';
import { Vocab } from './vocab.js';

export const CORPUS_FORMAT = 'ulmfit-corpus';
/** Bump when the layout changes; it is part of the cache key. */
export const CORPUS_FORMAT_VERSION = 1;

export interface CorpusMeta {
  format: typeof CORPUS_FORMAT;
  formatVersion: number;
  numDocs: number;
  numTokens: number;
  vocabSize: number;
  /** sha256 of vocab.json's itos, to check a model and a corpus agree. */
  vocabSha256: string;
  /** Tokens that map to xxunk (id 0) under this vocab, and their share of all tokens. */
  unknownTokens: number;
  unknownRate: number;
  /** Distinct tokens seen (counts.json entries). */
  numTypes: number;
  /** Empty documents skipped while reading. */
  emptyDocsSkipped: number;
  /** Warnings from reading (e.g. skipped binary files). */
  warnings: string[];
  /** The inputs as given. */
  inputs: string[];
  /** Hash of everything the content depends on; null when written without the cache. */
  cacheKey: string | null;
  hasLabels: boolean;
  hasSplits: boolean;
  /** Whether the vocab was given (`--vocab`) instead of built from these counts. */
  vocabGiven: boolean;
  minFreq: number | null;
  maxVocab: number | null;
  created_by: string;
  createdAt: string;
}

/** Per-document class ids with the class names they index. */
export interface CorpusLabels {
  /** Sorted by code point, as fastai's `Categorize(sort=True)`: neg = 0, pos = 1. */
  names: string[];
  /** `[numDocs]`, -1 for a doc without a label. */
  ids: Int32Array;
}

export interface CorpusSplits {
  names: readonly Split[];
  /** `[numDocs]`, index into `names`, -1 for a doc without a split. */
  ids: Int8Array;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Typed arrays use host byte order; the files are little-endian. Swaps in place on BE hosts. */
function swapIfBigEndian(bytes: Uint8Array, width: 4 | 8): void {
  if (LITTLE_ENDIAN) return;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

function bytesOf(array: Int32Array | Float64Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Python's sorted() order for strings (code points; JS's default sort uses UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Appends int32 or float64 values to a file through a fixed buffer (sync: one user, the writer). */
class TypedFileWriter<A extends Int32Array | Float64Array> {
  private readonly fd: number;
  private used = 0;
  private closed = false;
  count = 0;

  constructor(
    path: string,
    private readonly buffer: A,
  ) {
    this.fd = openSync(path, 'w');
  }

  write(values: A): void {
    let from = 0;
    while (from < values.length) {
      const n = Math.min(values.length - from, this.buffer.length - this.used);
      this.buffer.set(values.subarray(from, from + n), this.used);
      this.used += n;
      from += n;
      if (this.used === this.buffer.length) this.flush();
    }
    this.count += values.length;
  }

  flush(): void {
    if (this.used === 0) return;
    const bytes = bytesOf(this.buffer.subarray(0, this.used));
    swapIfBigEndian(bytes, this.buffer.BYTES_PER_ELEMENT as 4 | 8);
    writeSync(this.fd, bytes);
    this.used = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    closeSync(this.fd);
  }
}

/** A growable typed array of per-document values (labels, splits), -1 = none. */
class PerDoc<A extends Int32Array | Int8Array> {
  private data: A;
  /** One past the last document set. */
  length = 0;

  constructor(private readonly make: (n: number) => A) {
    this.data = make(1024).fill(-1) as A;
  }

  set(i: number, value: number): void {
    if (i >= this.data.length) {
      const grown = this.make(Math.max(this.data.length * 2, i + 1)).fill(-1) as A;
      grown.set(this.data as never);
      this.data = grown;
    }
    this.data[i] = value;
    this.length = Math.max(this.length, i + 1);
  }

  /** The first `n` values, -1 where never set. */
  values(n: number): number[] {
    const out = new Array<number>(n).fill(-1);
    for (let i = 0; i < Math.min(n, this.length); i++) out[i] = this.data[i]!;
    return out;
  }
}

/** Rewrites every id in an int32 file through `table` (`id → table[id]`), block by block. */
function remapInt32File(path: string, table: Int32Array): void {
  const fd = openSync(path, 'r+');
  try {
    const block = new Int32Array(1 << 20);
    const bytes = bytesOf(block);
    for (let position = 0; ;) {
      const read = readSync(fd, bytes, 0, bytes.length, position);
      if (read === 0) break;
      const view = bytes.subarray(0, read);
      swapIfBigEndian(view, 4);
      const n = read >> 2;
      for (let i = 0; i < n; i++) block[i] = table[block[i]!]!;
      swapIfBigEndian(view, 4);
      writeSync(fd, view, 0, read, position);
      position += read;
    }
  } finally {
    closeSync(fd);
  }
}

export interface CorpusFinish {
  /** Provisional id → final vocab id, applied to ids.bin in place; undefined if ids are final. */
  remap?: Int32Array;
  itos: readonly string[];
  vocabSha256: string;
  /** Every token with its count, in first-seen order. */
  counts: Iterable<[string, number]>;
  settings: TokenizerSettings;
  /** The SentencePiece model of a subword tokenizer, written as `settings.subword.modelFile`. */
  spmModel?: Uint8Array;
  meta: Pick<
    CorpusMeta,
    | 'numTypes'
    | 'unknownTokens'
    | 'emptyDocsSkipped'
    | 'warnings'
    | 'inputs'
    | 'cacheKey'
    | 'vocabGiven'
    | 'minFreq'
    | 'maxVocab'
  >;
}

/**
 * Writes a corpus directory atomically: everything goes to `<dir>.tmp-<pid>`, and `finish`
 * renames it to `dir`. Call `abort` on failure to remove the temp directory.
 */
export class CorpusWriter {
  private readonly ids: TypedFileWriter<Int32Array>;
  /** Streamed to disk too: a corpus of many short documents must not hold them in memory. */
  private readonly offsets: TypedFileWriter<Float64Array>;
  private lastOffset = 0;
  private docs = 0;
  /** Label ids in first-seen order (renumbered to sorted order at the end); only when a label exists. */
  private labels: PerDoc<Int32Array> | undefined;
  private readonly labelIds = new Map<string, number>();
  private splits: PerDoc<Int8Array> | undefined;

  private constructor(private readonly staged: StagedDir) {
    const tempDir = staged.path;
    this.ids = new TypedFileWriter(join(tempDir, 'ids.bin'), new Int32Array(1 << 20));
    this.offsets = new TypedFileWriter(join(tempDir, 'offsets.bin'), new Float64Array(1 << 16));
    this.offsets.write(Float64Array.of(0));
  }

  static async create(dir: string): Promise<CorpusWriter> {
    return new CorpusWriter(new StagedDir(dir));
  }

  get numDocs(): number {
    return this.docs;
  }

  get numTokens(): number {
    return this.ids.count;
  }

  /**
   * Appends documents: `ids` holds their tokens back to back, `lengths[i]` tokens for doc i.
   * `docs[i]` gives doc i's label and split.
   */
  append(ids: Int32Array, lengths: Int32Array, docs: readonly { label?: string; split?: Split }[]): void {
    this.ids.write(ids);
    const offsets = new Float64Array(lengths.length);
    for (let i = 0; i < lengths.length; i++) {
      this.lastOffset += lengths[i]!;
      offsets[i] = this.lastOffset;
      const { label, split } = docs[i]!;
      if (label !== undefined) {
        let id = this.labelIds.get(label);
        if (id === undefined) this.labelIds.set(label, (id = this.labelIds.size));
        (this.labels ??= new PerDoc((n) => new Int32Array(n))).set(this.docs, id);
      }
      if (split !== undefined)
        (this.splits ??= new PerDoc((n) => new Int8Array(n))).set(this.docs, SPLITS.indexOf(split));
      this.docs++;
    }
    this.offsets.write(offsets);
  }

  /** Writes the metadata files and renames the directory into place. Returns the meta. */
  async finish(done: CorpusFinish): Promise<CorpusMeta> {
    this.ids.close();
    this.offsets.close();
    if (done.remap) remapInt32File(join(this.staged.path, 'ids.bin'), done.remap);
    await writeFile(join(this.staged.path, 'vocab.json'), JSON.stringify(done.itos));
    await writeFile(join(this.staged.path, 'counts.json'), countsJson(done.counts));
    await writeFile(join(this.staged.path, 'tokenizer.json'), JSON.stringify(done.settings, null, 2) + '\n');
    if (done.spmModel)
      await writeFile(join(this.staged.path, done.settings.subword?.modelFile ?? 'spm.model'), done.spmModel);
    if (this.labels) {
      const firstSeen = [...this.labelIds.keys()];
      const names = [...firstSeen].sort(compareCodePoints);
      const sortedId = firstSeen.map((name) => names.indexOf(name));
      const ids = this.labels.values(this.docs).map((id) => (id < 0 ? -1 : sortedId[id]!));
      await writeFile(join(this.staged.path, 'labels.json'), JSON.stringify({ names, ids }));
    }
    if (this.splits) {
      await writeFile(
        join(this.staged.path, 'splits.json'),
        JSON.stringify({ names: SPLITS, ids: this.splits.values(this.docs) }),
      );
    }
    const numTokens = this.ids.count;
    const meta: CorpusMeta = {
      format: CORPUS_FORMAT,
      formatVersion: CORPUS_FORMAT_VERSION,
      numDocs: this.numDocs,
      numTokens,
      vocabSize: done.itos.length,
      vocabSha256: done.vocabSha256,
      unknownRate: numTokens === 0 ? 0 : done.meta.unknownTokens / numTokens,
      hasLabels: this.labels !== undefined,
      hasSplits: this.splits !== undefined,
      created_by: `ulmfit ${PACKAGE_VERSION}`,
      createdAt: new Date().toISOString(),
      ...done.meta,
    };
    // meta.json last: its presence marks a complete directory even before the rename.
    await writeFile(join(this.staged.path, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    this.staged.commit();
    return meta;
  }

  /** Removes the temp directory (after a failure). Never throws. */
  async abort(): Promise<void> {
    try {
      this.ids.close();
      this.offsets.close();
    } catch {
      // a failed final flush: the directory is removed anyway
    }
    try {
      this.staged.abort();
    } catch {
      // never throws: the caller is already handling a failure
    }
  }
}

/** One `[token, count]` pair per line: diffable, and streams out without one giant string. */
function countsJson(counts: Iterable<[string, number]>): string {
  const lines: string[] = [];
  for (const pair of counts) lines.push(JSON.stringify(pair));
  return `[\n${lines.join(',\n')}\n]\n`;
}

function corpusError(dir: string, what: string): UlmfitError {
  return new UlmfitError(
    'E_INPUT_FORMAT',
    `${dir} is not a usable tokenized corpus: ${what}`,
    CORPUS_PROBLEM.hint,
  );
}

const CORPUS_PROBLEM: FileProblem = {
  code: 'E_INPUT_FORMAT',
  hint: 'the corpus directory is damaged: run ulmfit tokenize <inputs> --out <dir> again',
};

/** The schemas of a corpus directory's JSON files (what `Corpus` accepts; extra keys are kept). */
const CORPUS_SCHEMAS = {
  'meta.json': z.looseObject({
    format: z.literal(CORPUS_FORMAT),
    formatVersion: z.number(),
    numDocs: count,
    numTokens: count,
    vocabSize: count.min(1),
    vocabSha256: z.string(),
    unknownTokens: count,
    unknownRate: z.number().min(0).max(1),
    numTypes: count,
    emptyDocsSkipped: count,
    warnings: z.array(z.string()),
    inputs: z.array(z.string()),
    cacheKey: z.string().nullable(),
    hasLabels: z.boolean(),
    hasSplits: z.boolean(),
    vocabGiven: z.boolean(),
    minFreq: count.nullable(),
    maxVocab: count.nullable(),
  }),
  'tokenizer.json': z.looseObject({
    kind: z.enum(['word', 'subword']),
    rules: z.boolean(),
    preRules: z.array(z.string()),
    postRules: z.array(z.string()),
    lowercase: z.boolean(),
    addEos: z.boolean(),
    lang: z.string(),
    subword: z
      .looseObject({ vocabSize: count, characterCoverage: z.number(), modelFile: z.string() })
      .optional(),
  }),
  'vocab.json': z.array(z.string()).min(1),
  'labels.json': z.object({ names: z.array(z.string()).min(1), ids: z.array(z.number().int().min(-1)) }),
  'splits.json': z.object({ names: z.array(z.enum(SPLITS)), ids: z.array(z.number().int().min(-1)) }),
  'counts.json': z.array(z.tuple([z.string(), count])),
} as const;

/** Reads one of the corpus's JSON files, checked against its schema. */
function readJson<Name extends keyof typeof CORPUS_SCHEMAS>(
  dir: string,
  name: Name,
): z.output<(typeof CORPUS_SCHEMAS)[Name]> {
  return readJsonFile(join(dir, name), CORPUS_SCHEMAS[name], CORPUS_PROBLEM) as z.output<
    (typeof CORPUS_SCHEMAS)[Name]
  >;
}

/** Per-document ids must cover every document and index into `names` (or be -1). */
function checkPerDoc(
  dir: string,
  name: string,
  raw: { names: readonly unknown[]; ids: readonly number[] },
  numDocs: number,
): void {
  if (raw.ids.length !== numDocs)
    throw corpusError(dir, `${name} has ${raw.ids.length} ids for ${numDocs} documents`);
  const bad = raw.ids.findIndex((id) => id >= raw.names.length);
  if (bad >= 0)
    throw corpusError(dir, `${name}: ids[${bad}] is ${raw.ids[bad]} but there are ${raw.names.length} names`);
}

/** Above this, ids.bin is read per document instead of loaded whole. */
const LOAD_WHOLE_BYTES = 1 << 30;

/** A tokenized corpus directory, opened for reading. */
export class Corpus {
  readonly meta: CorpusMeta;
  readonly settings: TokenizerSettings;
  readonly vocab: Vocab;
  /** `[numDocs + 1]`: doc i spans ids[offsets[i] .. offsets[i+1]). */
  readonly offsets: Float64Array;
  readonly labels: CorpusLabels | undefined;
  readonly splits: CorpusSplits | undefined;
  private all: Int32Array | undefined;
  private fd: number | undefined;

  constructor(readonly dir: string) {
    const meta = readJsonFile(join(dir, 'meta.json'), z.looseObject({ format: z.unknown() }), CORPUS_PROBLEM);
    if (meta.format !== CORPUS_FORMAT) throw corpusError(dir, 'meta.json has another format');
    this.meta = readJson(dir, 'meta.json') as unknown as CorpusMeta;
    if (this.meta.formatVersion !== CORPUS_FORMAT_VERSION) {
      throw corpusError(
        dir,
        `format version ${this.meta.formatVersion}, this ulmfit reads ${CORPUS_FORMAT_VERSION}`,
      );
    }
    this.settings = readJson(dir, 'tokenizer.json') as TokenizerSettings;
    const itos = readJson(dir, 'vocab.json');
    if (itos.length !== this.meta.vocabSize)
      throw corpusError(
        dir,
        `vocab.json has ${itos.length} tokens but meta.json says ${this.meta.vocabSize}`,
      );
    this.vocab = Vocab.fromItos(itos);
    const offsetBytes = this.readBinary('offsets.bin', (this.meta.numDocs + 1) * 8);
    swapIfBigEndian(offsetBytes, 8);
    this.offsets = new Float64Array(offsetBytes.buffer, offsetBytes.byteOffset, this.meta.numDocs + 1);
    if (this.offsets[this.meta.numDocs] !== this.meta.numTokens)
      throw corpusError(dir, 'offsets.bin does not match meta.json');
    for (let i = 0; i < this.meta.numDocs; i++) {
      if (!(this.offsets[i]! <= this.offsets[i + 1]!) || !Number.isInteger(this.offsets[i]))
        throw corpusError(dir, `offsets.bin is damaged at document ${i}`);
    }
    const idsPath = join(dir, 'ids.bin');
    if (!existsSync(idsPath)) throw corpusError(dir, 'ids.bin is missing');
    if (statSync(idsPath).size !== this.meta.numTokens * 4)
      throw corpusError(dir, 'ids.bin has the wrong size');
    if (this.meta.hasLabels) {
      const raw = readJson(dir, 'labels.json');
      checkPerDoc(dir, 'labels.json', raw, this.meta.numDocs);
      this.labels = { names: raw.names, ids: Int32Array.from(raw.ids) };
    }
    if (this.meta.hasSplits) {
      const raw = readJson(dir, 'splits.json');
      checkPerDoc(dir, 'splits.json', raw, this.meta.numDocs);
      this.splits = { names: raw.names, ids: Int8Array.from(raw.ids) };
    }
  }

  get numDocs(): number {
    return this.meta.numDocs;
  }

  get numTokens(): number {
    return this.meta.numTokens;
  }

  docLength(i: number): number {
    return this.offsets[i + 1]! - this.offsets[i]!;
  }

  /** Token ids of document i (a view when the corpus is loaded whole; do not modify). */
  doc(i: number): Int32Array {
    if (i < 0 || i >= this.numDocs || !Number.isInteger(i))
      throw new RangeError(`doc ${i} out of range [0, ${this.numDocs})`);
    const start = this.offsets[i]!;
    const end = this.offsets[i + 1]!;
    if (this.all || this.numTokens * 4 <= LOAD_WHOLE_BYTES) return this.ids().subarray(start, end);
    const out = new Int32Array(end - start);
    this.fd ??= openSync(join(this.dir, 'ids.bin'), 'r');
    readSync(this.fd, bytesOf(out), 0, out.byteLength, start * 4);
    swapIfBigEndian(bytesOf(out), 4);
    return out;
  }

  /** Every token id, documents back to back (`[numTokens]`), loaded on first use. */
  ids(): Int32Array {
    if (!this.all) {
      const bytes = this.readBinary('ids.bin', this.numTokens * 4);
      swapIfBigEndian(bytes, 4);
      const all = new Int32Array(bytes.buffer, bytes.byteOffset, this.numTokens);
      // One pass: an id past the vocab would index outside the embedding during training.
      const size = this.vocab.size;
      for (let i = 0; i < all.length; i++) {
        if (all[i]! < 0 || all[i]! >= size)
          throw corpusError(
            this.dir,
            `ids.bin holds token id ${all[i]} at position ${i}, outside the vocab of ${size}`,
          );
      }
      this.all = all;
    }
    return this.all;
  }

  /** Indices of the documents in a split, in corpus order. */
  docsInSplit(split: Split): number[] {
    if (!this.splits) return [];
    const wanted = this.splits.names.indexOf(split);
    const out: number[] = [];
    this.splits.ids.forEach((s, i) => {
      if (s === wanted) out.push(i);
    });
    return out;
  }

  /** Token counts in first-seen order (read on demand: it can be large). */
  counts(): Map<string, number> {
    return new Map(readJson(this.dir, 'counts.json'));
  }

  /** Releases the file handle that per-document reads of a large corpus keep open. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** A whole binary file, aligned for typed-array views, checked against its expected size. */
  private readBinary(name: string, expectedBytes: number): Uint8Array {
    const path = join(this.dir, name);
    if (!existsSync(path)) throw corpusError(this.dir, `${name} is missing`);
    const file = readFileSync(path);
    if (file.length !== expectedBytes) throw corpusError(this.dir, `${name} has the wrong size`);
    if (file.byteOffset % 8 === 0) return file;
    // A small file may sit in Buffer's shared pool at an offset typed-array views cannot use.
    return new Uint8Array(file);
  }
}

/** Opens a corpus directory; throws a UlmfitError naming what is missing or wrong. */
export function openCorpus(dir: string): Corpus {
  if (!existsSync(dir))
    throw new UlmfitError('E_INPUT_MISSING', `no such corpus directory: ${dir}`, 'check the path');
  return new Corpus(dir);
}
