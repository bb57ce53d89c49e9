/**
 * Inputs → tokenized corpus directory, with the cache. This is the library function behind
 * `ulmfit tokenize` and the one training commands call on raw inputs.
 *
 * One streaming pass reads documents, tokenizes them on worker threads and writes provisional
 * token ids (first-seen order) straight to disk while counting. Then the vocab is built from the
 * counts (or a given one is used) and ids.bin is rewritten in place through an id → vocab-id
 * table. Memory holds only the distinct tokens, their counts and the per-document offsets.
 *
 * The cache key hashes everything the output depends on: input paths, sizes and mtimes, how the
 * inputs are read, the tokenizer settings, the vocab options (or the given vocab), the corpus
 * format and the package version. A hit returns the existing directory untouched.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isUlmfitError, UlmfitError } from '../errors.js';
import { StagedDir } from '../io/atomic.js';
import { lockDir, recoverSiblings, type DirLock } from '../io/dir-lock.js';
import { knownModels, looksLikeName, resolveModelRef } from '../io/model-names.js';
import { PACKAGE_VERSION } from '../version.js';
import {
  DocumentSource,
  resolveInputs,
  type Doc,
  type ResolvedInput,
  type SourceOptions,
} from '../data/sources.js';
import { defaultCacheDir } from './corpus-cache.js';
import { CORPUS_FORMAT_VERSION, CorpusWriter, openCorpus, type CorpusMeta } from './corpus.js';
import { ParallelTokenizer, type ParallelOptions } from './parallel.js';
import { defaultTokenizerSettings, type TokenizerSettings } from './settings.js';
import { Vocab } from './vocab.js';
import { VOCAB_DEFAULTS } from '../config/training.js';

export interface TokenizeProgress {
  docs: number;
  tokens: number;
  bytesRead: number;
  /** Undefined when reading stdin (no ETA). */
  totalBytes: number | undefined;
  seconds: number;
}

export interface TokenizeOptions extends SourceOptions {
  /** Default: fastai's (`defaultTokenizerSettings()`). */
  settings?: TokenizerSettings;
  /** SentencePiece model bytes for subword settings. */
  spmModel?: Uint8Array;
  /** Worker threads; 0 = this thread; default the CPU count (this thread for inputs under 16 MB). */
  workers?: number;
  onProgress?: (progress: TokenizeProgress) => void;
}

export interface TokenizeCorpusOptions extends TokenizeOptions {
  /** fastai defaults: 3 and 60000. Ignored when `vocab` is given. */
  minFreq?: number;
  maxVocab?: number;
  /** Reuse this itos instead of building a vocab (the classifier reuses the LM's). */
  vocab?: readonly string[];
  noCache?: boolean;
  /** Default `$ULMFIT_CACHE_DIR`, else `corpora/` in the user cache directory (text/corpus-cache.ts). */
  cacheDir?: string;
  /** Also place the corpus here (linked or copied from the cache, or written directly with noCache). */
  out?: string;
  /** Replace a non-empty `out`. */
  overwrite?: boolean;
}

export interface TokenizeStats {
  numDocs: number;
  numTokens: number;
  /** Distinct tokens seen. */
  numTypes: number;
  vocabSize: number;
  unknownTokens: number;
  unknownRate: number;
  emptySkipped: number;
  /** Things the caller should tell the user (skipped binary files, ...). */
  warnings: string[];
  seconds: number;
  /** Worker threads used (0 = tokenized in the calling thread). */
  workers: number;
}

export interface TokenizeCorpusResult {
  /** The corpus directory to read (`out` if given, else the cache entry or a temp dir). */
  dir: string;
  /** The cache had it: no tokenization was done. */
  hit: boolean;
  /** `dir` is a temp dir (no cache, no `out`): the caller should remove it when done. */
  temporary: boolean;
  cacheKey: string | null;
  stats: TokenizeStats;
}

/** A vocab to reuse, with the tokenizer it belongs to when it came from a model or corpus directory. */
export interface GivenVocab {
  itos: string[];
  settings?: TokenizerSettings;
  spmModel?: Uint8Array;
}

/**
 * Reads `--vocab`: a vocab.json (itos array) file, or a model/corpus directory holding one (and
 * tokenizer.json, and spm.model for subword tokenizers), or a model name (`en`: io/model-names.ts).
 */
export async function loadGivenVocab(path: string): Promise<GivenVocab> {
  if (!existsSync(path) && looksLikeName(path) && knownModels().some((m) => m.name === path))
    path = resolveModelRef(path);
  const info = await stat(path).catch(() => undefined);
  if (!info)
    throw new UlmfitError(
      'E_INPUT_MISSING',
      `no such vocab file or directory: ${path}`,
      'give a vocab.json or a model directory',
    );
  const dir = info.isDirectory() ? path : undefined;
  const file = dir ? join(dir, 'vocab.json') : path;
  const bad = (what: string) =>
    new UlmfitError(
      'E_MODEL_DIR',
      `${file} ${what}`,
      'give a vocab.json (a JSON array of tokens) or a model directory',
    );
  let itos: unknown;
  try {
    itos = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw bad((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not valid JSON');
  }
  if (!Array.isArray(itos) || itos.length === 0 || !itos.every((t) => typeof t === 'string'))
    throw bad('is not a JSON array of token strings');
  const given: GivenVocab = { itos };
  if (dir && existsSync(join(dir, 'tokenizer.json'))) {
    let settings: unknown;
    try {
      settings = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
    } catch {
      settings = undefined;
    }
    const shape = settings as Partial<TokenizerSettings> | undefined;
    if (
      !shape ||
      typeof shape !== 'object' ||
      (shape.kind !== 'word' && shape.kind !== 'subword') ||
      typeof shape.rules !== 'boolean'
    ) {
      throw new UlmfitError(
        'E_MODEL_DIR',
        `${join(dir, 'tokenizer.json')} is not ulmfit tokenizer settings (kind 'word' or 'subword', rules)`,
        'give a model or corpus directory written by ulmfit',
      );
    }
    given.settings = settings as TokenizerSettings;
    const modelFile = given.settings.subword?.modelFile;
    if (given.settings.kind === 'subword' && modelFile) given.spmModel = await readFile(join(dir, modelFile));
  }
  return given;
}

/** The cache folder when no `cacheDir` is given: `$ULMFIT_HOME/corpora`… (text/corpus-cache.ts). */
export { defaultCacheDir } from './corpus-cache.js';

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** JSON with sorted object keys, so equal settings always hash equal. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The cache key of tokenizing `inputs` with `options`; null when an input is stdin. */
export function corpusCacheKey(
  inputs: readonly ResolvedInput[],
  options: TokenizeCorpusOptions,
): string | null {
  if (inputs.some((i) => i.kind === 'stdin')) return null;
  const payload = {
    package: PACKAGE_VERSION,
    corpusFormat: CORPUS_FORMAT_VERSION,
    inputs: inputs.map((i) => ({
      kind: i.kind,
      files: i.files.map((f) => [resolve(f.path), f.size, f.mtimeMs]),
    })),
    read: {
      textCol: options.textCol ?? null,
      labelCol: options.labelCol ?? null,
      lineDocs: options.lineDocs ?? false,
      encoding: options.encoding ?? 'utf8',
      folderLabels: options.folderLabels ?? true,
    },
    settings: options.settings ?? defaultTokenizerSettings(),
    spmModel: options.spmModel ? sha256(options.spmModel) : null,
    vocab: options.vocab
      ? { given: sha256(JSON.stringify(options.vocab)) }
      : {
          minFreq: options.minFreq ?? VOCAB_DEFAULTS.minFreq,
          maxVocab: options.maxVocab ?? VOCAB_DEFAULTS.maxVocab,
        },
  };
  return sha256(canonicalJson(payload));
}

function checkVocabOptions(options: TokenizeCorpusOptions): void {
  const { minFreq, maxVocab } = options;
  if (minFreq !== undefined && (!Number.isInteger(minFreq) || minFreq < 1)) {
    throw new UlmfitError('E_USAGE', `--min-freq must be a whole number ≥ 1, got ${minFreq}`);
  }
  if (maxVocab !== undefined && (!Number.isInteger(maxVocab) || maxVocab < 1)) {
    throw new UlmfitError('E_USAGE', `--max-vocab must be a whole number ≥ 1, got ${maxVocab}`);
  }
}

async function isNonEmpty(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return false;
  if (!info.isDirectory()) return true;
  return (await readdir(path)).length > 0;
}

/** True when no process has this pid (so its temp directory is an interrupted write). */
function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Removes `*.tmp-<pid>` and `*.old-<pid>` directories left in the cache by processes that died mid-write (io/atomic.ts). */
async function removeDeadTempDirs(cacheDir: string): Promise<void> {
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  for (const name of names) {
    const match = /\.(?:tmp|old)-(\d+)$/.exec(name);
    if (match && Number(match[1]) !== process.pid && isDead(Number(match[1]))) {
      await rm(join(cacheDir, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

/** Places a finished corpus at `out` atomically: hard links where possible, else copies. */
async function placeCorpus(from: string, out: string): Promise<void> {
  const staged = new StagedDir(out);
  try {
    for (const name of await readdir(from)) {
      await link(join(from, name), join(staged.path, name)).catch(() =>
        copyFile(join(from, name), join(staged.path, name)),
      );
    }
  } catch (err) {
    staged.abort();
    throw err;
  }
  staged.commit();
}

/** The meta of a complete cache entry for `key`; undefined when absent or damaged (then it is rebuilt). */
function readCacheEntry(dir: string, key: string): CorpusMeta | undefined {
  if (!existsSync(join(dir, 'meta.json'))) return undefined;
  try {
    const corpus = openCorpus(dir); // checks the files' sizes against meta.json
    corpus.close();
    return corpus.meta.cacheKey === key ? corpus.meta : undefined;
  } catch (err) {
    if (err instanceof UlmfitError) return undefined;
    throw err;
  }
}

function statsFromMeta(meta: CorpusMeta, seconds: number, workers: number): TokenizeStats {
  return {
    numDocs: meta.numDocs,
    numTokens: meta.numTokens,
    numTypes: meta.numTypes,
    vocabSize: meta.vocabSize,
    unknownTokens: meta.unknownTokens,
    unknownRate: meta.unknownRate,
    emptySkipped: meta.emptyDocsSkipped,
    warnings: meta.warnings,
    seconds,
    workers,
  };
}

/**
 * Tokenizes `inputs` into a corpus directory (see corpus.ts), through the cache unless
 * `noCache`. Throws UlmfitErrors for bad input; never leaves a partial directory behind.
 */
export async function tokenizeCorpus(
  inputs: readonly string[],
  options: TokenizeCorpusOptions = {},
): Promise<TokenizeCorpusResult> {
  // One writer per --out: a second `tokenize --out` into the same directory fails at once (E_LOCKED).
  const outLock = options.out ? lockDir(options.out, 'corpus directory') : undefined;
  try {
    if (options.out) recoverSiblings(options.out);
    return await tokenizeLocked(inputs, options);
  } finally {
    outLock?.release();
  }
}

/** The cache entry's lock, or undefined when another live process is writing that entry. */
function tryLockCacheEntry(dir: string): DirLock | undefined {
  try {
    return lockDir(dir, 'corpus cache entry');
  } catch (err) {
    if (isUlmfitError(err) && err.code === 'E_LOCKED') return undefined;
    throw err;
  }
}

async function tokenizeLocked(
  inputs: readonly string[],
  options: TokenizeCorpusOptions,
): Promise<TokenizeCorpusResult> {
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  checkVocabOptions(options);
  if (options.out && !options.overwrite && (await isNonEmpty(options.out))) {
    throw new UlmfitError(
      'E_OUT_EXISTS',
      `${options.out} exists and is not empty`,
      'pass --overwrite, or choose another --out',
    );
  }
  const resolved = await resolveInputs(inputs);
  const key = options.noCache ? null : corpusCacheKey(resolved, options);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  let cached = key ? join(cacheDir, `corpus-${key.slice(0, 32)}`) : undefined;
  // Another process writing the same cache entry: tokenize privately rather than wait or fail.
  const cacheLock = cached ? tryLockCacheEntry(cached) : undefined;
  if (!cacheLock) cached = undefined;
  try {
    return await tokenizeThroughCache(resolved, key, cached, cacheDir, options, seconds);
  } finally {
    cacheLock?.release();
  }
}

async function tokenizeThroughCache(
  resolved: ResolvedInput[],
  key: string | null,
  cached: string | undefined,
  cacheDir: string,
  options: TokenizeCorpusOptions,
  seconds: () => number,
): Promise<TokenizeCorpusResult> {
  const hit = cached ? readCacheEntry(cached, key!) : undefined;
  if (cached && hit) {
    // The entry's mtime is its last use (`ulmfit cache clear --older-than` reads it).
    const now = new Date();
    await utimes(cached, now, now).catch(() => undefined);
    if (options.out) await placeCorpus(cached, options.out);
    return {
      dir: options.out ?? cached,
      hit: true,
      temporary: false,
      cacheKey: key,
      stats: statsFromMeta(hit, seconds(), 0),
    };
  }

  let target: string;
  let temporary = false;
  if (cached) {
    await mkdir(cacheDir, { recursive: true });
    await removeDeadTempDirs(cacheDir);
    target = cached;
  } else if (options.out) {
    target = options.out;
  } else {
    target = join(await mkdtemp(join(tmpdir(), 'ulmfit-corpus-')), 'corpus');
    temporary = true;
  }

  const { meta, workers } = await writeCorpus(resolved, target, key, options);
  if (cached && options.out) await placeCorpus(cached, options.out);
  return {
    dir: options.out ?? target,
    hit: false,
    temporary,
    cacheKey: key,
    stats: statsFromMeta(meta, seconds(), workers),
  };
}

/** The one tokenizing pass plus the vocab and the in-place id rewrite. */
async function writeCorpus(
  resolved: ResolvedInput[],
  target: string,
  key: string | null,
  options: TokenizeCorpusOptions,
): Promise<{ meta: CorpusMeta; workers: number }> {
  const settings = options.settings ?? defaultTokenizerSettings();
  const source = new DocumentSource(resolved, options);
  const writer = await CorpusWriter.create(target);
  let tokenizer: ParallelTokenizer | undefined;
  try {
    tokenizer = await ParallelTokenizer.create(settings, parallelOptions(options, resolved));
    const started = performance.now();
    for await (const batch of tokenizer.run(source.batches())) {
      writer.append(batch.ids, batch.lengths, batch.docs);
      options.onProgress?.({
        docs: writer.numDocs,
        tokens: writer.numTokens,
        bytesRead: source.bytesRead,
        totalBytes: source.totalBytes,
        seconds: (performance.now() - started) / 1000,
      });
    }
    const { vocab, remap, unknownTokens } = vocabFor(tokenizer, options);
    const meta = await writer.finish({
      remap,
      itos: vocab.itos,
      vocabSha256: vocab.sha256(),
      counts: tokenizer.countPairs(),
      settings,
      ...(options.spmModel ? { spmModel: options.spmModel } : {}),
      meta: {
        numTypes: tokenizer.types.length,
        unknownTokens,
        emptyDocsSkipped: source.emptySkipped,
        warnings: source.warnings,
        inputs: resolved.map((i) => i.path),
        cacheKey: key,
        vocabGiven: options.vocab !== undefined,
        minFreq: options.vocab ? null : (options.minFreq ?? VOCAB_DEFAULTS.minFreq),
        maxVocab: options.vocab ? null : (options.maxVocab ?? VOCAB_DEFAULTS.maxVocab),
      },
    });
    return { meta, workers: tokenizer.numWorkers };
  } catch (err) {
    await writer.abort();
    throw err;
  } finally {
    await tokenizer?.close();
  }
}

/**
 * The given vocab, or one built from the counts (fastai's make_vocab), with the table that maps
 * the tokenizer's first-seen ids to vocab ids and how many tokens fall to xxunk.
 */
function vocabFor(
  tokenizer: ParallelTokenizer,
  options: TokenizeCorpusOptions,
): { vocab: Vocab; remap: Int32Array; unknownTokens: number } {
  const vocab = options.vocab
    ? Vocab.fromItos([...options.vocab])
    : Vocab.fromCounts(tokenizer.types, tokenizer.countArray(), {
        minFreq: options.minFreq ?? VOCAB_DEFAULTS.minFreq,
        maxVocab: options.maxVocab ?? VOCAB_DEFAULTS.maxVocab,
      });
  const remap = vocab.numericalize(tokenizer.types);
  let unknownTokens = 0;
  for (let id = 0; id < remap.length; id++) if (remap[id] === 0) unknownTokens += tokenizer.count(id);
  return { vocab, remap, unknownTokens };
}

/**
 * Below this many input bytes the default is to tokenize in this thread. Each worker thread
 * costs about half a CPU-second before it pays off (starting, V8 compiling the tokenizer again,
 * and meeting most of the vocabulary's runs again in its own cache), and the word tokenizer
 * does the Brown corpus (6 MB) in about a second: there one thread used half to two thirds of the
 * CPU of two workers and finished no later on the 2-core machine (docs/spacy-differences.md, Speed).
 * stdin alone, whose size is unknown, is mostly a filter's small input: it gets one thread too
 * (starting two workers took a one-line pipe from 0.26 to 0.46 s); `--workers` still asks for
 * threads, and stdin beside files counts the files.
 */
const SMALL_INPUT_BYTES = 16 * 1024 * 1024;

function parallelOptions(options: TokenizeOptions, resolved: readonly ResolvedInput[]): ParallelOptions {
  const stdin = resolved.some((i) => i.kind === 'stdin');
  const onlyStdin = resolved.every((i) => i.kind === 'stdin');
  const bytes = resolved.reduce((sum, i) => sum + i.files.reduce((s, f) => s + f.size, 0), 0);
  const workers = options.workers ?? (onlyStdin || bytes < SMALL_INPUT_BYTES ? 0 : undefined);
  return {
    ...(workers !== undefined ? { workers } : {}),
    ...(options.spmModel ? { spmModel: options.spmModel } : {}),
    // stdin: tokenize each block as it arrives, so a pipe gets its lines back promptly.
    flushEachBatch: stdin,
  };
}

/** A document with its tokens, as the filter mode prints it. */
export interface TokenizedDoc {
  doc: Doc;
  tokens: string[];
}

/**
 * Tokens of every document, in input order, without building a corpus (the Unix-filter mode).
 * Iterate once; `stats` is set when iteration ends (the vocab for the unknown rate is built from
 * the counts, or is the given one).
 */
export class TokenStream implements AsyncIterable<TokenizedDoc[]> {
  stats: TokenizeStats | undefined;

  constructor(
    private readonly inputs: readonly string[],
    private readonly options: TokenizeCorpusOptions = {},
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<TokenizedDoc[]> {
    const started = performance.now();
    checkVocabOptions(this.options);
    const resolved = await resolveInputs(this.inputs);
    const source = new DocumentSource(resolved, this.options);
    const tokenizer = await ParallelTokenizer.create(
      this.options.settings ?? defaultTokenizerSettings(),
      parallelOptions(this.options, resolved),
    );
    try {
      let docs = 0;
      for await (const batch of tokenizer.run(source.batches())) {
        const out: TokenizedDoc[] = [];
        let at = 0;
        batch.docs.forEach((doc, i) => {
          const n = batch.lengths[i]!;
          const tokens = new Array<string>(n);
          for (let k = 0; k < n; k++) tokens[k] = tokenizer.types[batch.ids[at + k]!]!;
          at += n;
          out.push({ doc, tokens });
        });
        docs += out.length;
        this.options.onProgress?.({
          docs,
          tokens: tokenizer.numTokens,
          bytesRead: source.bytesRead,
          totalBytes: source.totalBytes,
          seconds: (performance.now() - started) / 1000,
        });
        yield out;
      }
      const { vocab, unknownTokens } = vocabFor(tokenizer, this.options);
      this.stats = {
        numDocs: docs,
        numTokens: tokenizer.numTokens,
        numTypes: tokenizer.types.length,
        vocabSize: vocab.itos.length,
        unknownTokens,
        unknownRate: tokenizer.numTokens === 0 ? 0 : unknownTokens / tokenizer.numTokens,
        emptySkipped: source.emptySkipped,
        warnings: source.warnings,
        seconds: (performance.now() - started) / 1000,
        workers: tokenizer.numWorkers,
      };
    } finally {
      await tokenizer.close();
    }
  }
}
