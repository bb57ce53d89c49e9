/**
 * Training commands accept either a tokenized corpus directory (from `ulmfit tokenize --out`) or
 * raw inputs, which go through the same tokenize pipeline and its cache. This module hides the
 * difference: it always hands back an opened Corpus.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UlmfitError } from '../errors.js';
import { CORPUS_FORMAT, openCorpus, type Corpus } from '../text/corpus.js';
import { tokenizeCorpus, type TokenizeCorpusOptions, type TokenizeStats } from '../text/pipeline.js';
import type { TokenizerSettings } from '../text/settings.js';

export interface CorpusInputOptions extends Omit<TokenizeCorpusOptions, 'out' | 'overwrite'> {
  /** The tokenizer the corpus must have been made with (a pretrained model's); checked for corpus dirs. */
  requireSettings?: TokenizerSettings;
}

/** The tokenizing settings a task takes from its caller (flags of the training commands). */
export interface TokenizingFields {
  minFreq?: number | undefined;
  maxVocab?: number | undefined;
  workers?: number | undefined;
  noCache?: boolean | undefined;
  cacheDir?: string | undefined;
  textCol?: string | undefined;
  lineDocs?: boolean | undefined;
  labelCol?: string | undefined;
}

/**
 * CorpusInputOptions for `settings` from a task's options: only the fields the caller set, so
 * the tokenizer's own defaults apply to the rest.
 */
export function corpusInputOptions(
  settings: TokenizerSettings,
  fields: TokenizingFields,
  spmModel?: Uint8Array,
): CorpusInputOptions {
  return {
    settings,
    ...(spmModel ? { spmModel } : {}),
    ...(fields.minFreq !== undefined ? { minFreq: fields.minFreq } : {}),
    ...(fields.maxVocab !== undefined ? { maxVocab: fields.maxVocab } : {}),
    ...(fields.workers !== undefined ? { workers: fields.workers } : {}),
    ...(fields.noCache ? { noCache: true } : {}),
    ...(fields.cacheDir ? { cacheDir: fields.cacheDir } : {}),
    ...(fields.textCol ? { textCol: fields.textCol } : {}),
    ...(fields.lineDocs ? { lineDocs: true } : {}),
    ...(fields.labelCol ? { labelCol: fields.labelCol } : {}),
  };
}

export interface LoadedCorpus {
  corpus: Corpus;
  /** Tokenization statistics when the inputs were raw text (undefined for a corpus dir). */
  stats: TokenizeStats | undefined;
  /** Whether the corpus was read from the cache (or a corpus dir) without tokenizing. */
  hit: boolean;
  /** The SentencePiece model of a subword corpus (stored in the corpus dir; it travels into model dirs). */
  spmModel: Uint8Array | undefined;
  /** Closes the corpus and removes a temporary directory (no cache). */
  close(): void;
}

function spmModelOf(corpus: Corpus): Uint8Array | undefined {
  if (corpus.settings.kind !== 'subword') return undefined;
  const path = join(corpus.dir, corpus.settings.subword?.modelFile ?? 'spm.model');
  if (!existsSync(path)) {
    throw new UlmfitError(
      'E_MODEL_DIR',
      `the subword corpus ${corpus.dir} has no ${path}`,
      're-tokenize the inputs with ulmfit tokenize --subword',
    );
  }
  return readFileSync(path);
}

/** True when `path` is a tokenized corpus directory written by ulmfit. */
export function isCorpusDir(path: string): boolean {
  const meta = join(path, 'meta.json');
  if (!existsSync(meta)) return false;
  try {
    return (JSON.parse(readFileSync(meta, 'utf8')) as { format?: unknown }).format === CORPUS_FORMAT;
  } catch {
    return false;
  }
}

export async function loadCorpusInput(
  inputs: readonly string[],
  options: CorpusInputOptions = {},
): Promise<LoadedCorpus> {
  if (inputs.length === 1 && isCorpusDir(inputs[0]!)) {
    const corpus = openCorpus(inputs[0]!);
    if (options.requireSettings && !sameSettings(corpus.settings, options.requireSettings)) {
      corpus.close();
      throw new UlmfitError(
        'E_MODEL_MISMATCH',
        `the corpus ${inputs[0]} was tokenized with other settings than the model (tokenizer.json differs)`,
        'pass the raw text instead, or re-tokenize it with --vocab <model-dir>',
      );
    }
    if (options.vocab && corpus.vocab.itos.join('\u0000') !== options.vocab.join('\u0000')) {
      corpus.close();
      throw new UlmfitError(
        'E_MODEL_MISMATCH',
        `the corpus ${inputs[0]} has another vocab than the model`,
        'pass the raw text instead, or re-tokenize it with --vocab <model-dir>',
      );
    }
    return { corpus, stats: undefined, hit: true, spmModel: spmModelOf(corpus), close: () => corpus.close() };
  }
  const { requireSettings: _ignored, ...tokenizeOptions } = options;
  const result = await tokenizeCorpus(inputs, tokenizeOptions);
  const corpus = openCorpus(result.dir);
  return {
    corpus,
    stats: result.stats,
    hit: result.hit,
    spmModel: spmModelOf(corpus),
    close: () => {
      corpus.close();
      if (result.temporary) rmSync(result.dir, { recursive: true, force: true });
    },
  };
}

function sameSettings(a: TokenizerSettings, b: TokenizerSettings): boolean {
  const key = (s: TokenizerSettings): string =>
    JSON.stringify([s.kind, s.rules, s.preRules, s.postRules, s.lowercase, s.addEos, s.lang]);
  return key(a) === key(b);
}
