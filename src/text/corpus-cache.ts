/**
 * The tokenized-corpus cache (design.md §3): where it lives, what it holds, and clearing it.
 *
 * It lives in the user's cache directory beside pulled models and datasets (hub/cache.ts):
 * `$ULMFIT_HOME/corpora`, else `$XDG_CACHE_HOME/ulmfit/corpora`, else `~/.cache/ulmfit/corpora`,
 * so runs in many working directories share it and none gets a cache folder of its own.
 * `$ULMFIT_CACHE_DIR` names another folder; a command's `--cache-dir` wins over both.
 *
 * Each entry is a corpus directory `corpus-<key>` (text/pipeline.ts writes it under the entry's
 * lock, `<entry>.lock`). Its modification time is its last use: a cache hit touches it, so
 * `clear --older-than` removes what no run has read lately.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isUlmfitError } from '../errors.js';
import { hubHome } from '../hub/cache.js';
import { isAlive, lockDir } from '../io/dir-lock.js';

export const CACHE_DIR_ENV = 'ULMFIT_CACHE_DIR';
const ENTRY = /^corpus-[0-9a-f]+$/;
const LEFTOVER = /\.tmp-\d+$/;

/** The cache folder when no --cache-dir is given (see the file comment). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env[CACHE_DIR_ENV] || join(hubHome(env), 'corpora');
}

export interface CacheEntry {
  name: string;
  path: string;
  /** Bytes of its files. */
  bytes: number;
  /** When a run last wrote or read it. */
  lastUsed: Date;
  /** From its meta.json; null when that is missing or unreadable (an interrupted write). */
  docs: number | null;
  tokens: number | null;
  vocabSize: number | null;
  inputs: string[];
}

/** The entries in `dir`, most recently used first (none when `dir` does not exist). */
export function listCacheEntries(dir: string = defaultCacheDir()): CacheEntry[] {
  if (!existsSync(dir)) return [];
  const entries: CacheEntry[] = [];
  for (const name of readdirSync(dir)) {
    if (!ENTRY.test(name)) continue;
    const path = join(dir, name);
    const stats = statSync(path);
    if (!stats.isDirectory()) continue;
    const meta = readMeta(path);
    entries.push({
      name,
      path,
      bytes: sizeOf(path),
      lastUsed: stats.mtime,
      docs: meta?.numDocs ?? null,
      tokens: meta?.numTokens ?? null,
      vocabSize: meta?.vocabSize ?? null,
      inputs: meta?.inputs ?? [],
    });
  }
  return entries.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
}

export interface ClearResult {
  removed: CacheEntry[];
  /** Entries another live process is writing: left alone. */
  busy: CacheEntry[];
  bytes: number;
}

/**
 * Removes every entry of `dir`, or only those last used more than `olderThanDays` days before
 * `now`. An entry is removed under its lock, so one being written is skipped, never torn.
 */
export function clearCache(
  dir: string = defaultCacheDir(),
  options: { olderThanDays?: number | undefined; now?: Date | undefined } = {},
): ClearResult {
  const now = options.now ?? new Date();
  const cutoff =
    options.olderThanDays === undefined ? Infinity : now.getTime() - options.olderThanDays * 86_400_000;
  const result: ClearResult = { removed: [], busy: [], bytes: 0 };
  for (const entry of listCacheEntries(dir)) {
    if (entry.lastUsed.getTime() > cutoff) continue;
    let lock;
    try {
      lock = lockDir(entry.path, 'corpus cache entry');
    } catch (error) {
      if (isUlmfitError(error) && error.code === 'E_LOCKED') {
        result.busy.push(entry);
        continue;
      }
      throw error;
    }
    try {
      rmSync(entry.path, { recursive: true, force: true });
    } finally {
      lock.release();
    }
    result.removed.push(entry);
    result.bytes += entry.bytes;
  }
  // Temporaries of interrupted writes whose process is gone go too (their lock is free).
  if (options.olderThanDays === undefined && existsSync(dir)) {
    for (const name of readdirSync(dir)) {
      if (!LEFTOVER.test(name)) continue;
      const pid = Number(/-(\d+)$/.exec(name)![1]);
      if (pid !== process.pid && !isAlive(pid)) rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
  return result;
}

function readMeta(
  path: string,
): { numDocs?: number; numTokens?: number; vocabSize?: number; inputs?: string[] } | undefined {
  try {
    return JSON.parse(readFileSync(join(path, 'meta.json'), 'utf8')) as {
      numDocs?: number;
      numTokens?: number;
      vocabSize?: number;
      inputs?: string[];
    };
  } catch {
    return undefined;
  }
}

function sizeOf(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.size;
  let bytes = 0;
  for (const name of readdirSync(path)) bytes += sizeOf(join(path, name));
  return bytes;
}
