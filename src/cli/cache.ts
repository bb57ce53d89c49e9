/** `ulmfit cache ls|clear`: the tokenized-corpus cache (text/corpus-cache.ts) listed or emptied. */
import type { Command } from 'commander';
import type { CommandFlags } from '../config/schema.js';
import { CACHE } from '../config/utility.js';
import { clearCache, defaultCacheDir, listCacheEntries, type CacheEntry } from '../text/corpus-cache.js';
import { addCommand } from './options.js';

type Flags = CommandFlags<typeof CACHE>;

export function register(program: Command): void {
  addCommand(program, CACHE).action((action: 'ls' | 'clear', flags: Flags) =>
    action === 'ls' ? list(flags) : clear(flags),
  );
}

function list(flags: Flags): void {
  const dir = flags.cacheDir ?? defaultCacheDir();
  const entries = listCacheEntries(dir);
  if (flags.json) {
    for (const entry of entries) process.stdout.write(JSON.stringify(entryJson(entry)) + '\n');
    return;
  }
  const total = entries.reduce((n, e) => n + e.bytes, 0);
  process.stdout.write(
    `${dir}: ${entries.length} corpus entr${entries.length === 1 ? 'y' : 'ies'}, ${sizeText(total)}\n`,
  );
  for (const e of entries) {
    const shape = e.docs === null ? 'incomplete' : `${e.docs} docs, ${e.tokens} tokens, vocab ${e.vocabSize}`;
    const inputs =
      e.inputs.length === 0
        ? ''
        : `  ${e.inputs[0]}${e.inputs.length > 1 ? ` (+${e.inputs.length - 1})` : ''}`;
    process.stdout.write(
      `${e.name.padEnd(39)} ${sizeText(e.bytes).padStart(9)}  ${e.lastUsed.toISOString().slice(0, 16).replace('T', ' ')}  ${shape}${inputs}\n`,
    );
  }
}

function clear(flags: Flags): void {
  const dir = flags.cacheDir ?? defaultCacheDir();
  const result = clearCache(dir, { olderThanDays: flags.olderThan });
  if (flags.json) {
    process.stdout.write(
      JSON.stringify({
        cache_dir: dir,
        removed: result.removed.map(entryJson),
        busy: result.busy.map((e) => e.name),
        bytes: result.bytes,
      }) + '\n',
    );
    return;
  }
  const which = flags.olderThan === undefined ? '' : ` last used more than ${flags.olderThan} days ago`;
  process.stdout.write(
    `removed ${result.removed.length} corpus entr${result.removed.length === 1 ? 'y' : 'ies'}${which} (${sizeText(result.bytes)}) from ${dir}\n`,
  );
  if (result.busy.length > 0)
    process.stdout.write(
      `left ${result.busy.length} in use by another ulmfit process: ${result.busy.map((e) => e.name).join(', ')}\n`,
    );
}

function entryJson(e: CacheEntry): Record<string, unknown> {
  return {
    name: e.name,
    path: e.path,
    bytes: e.bytes,
    last_used: e.lastUsed.toISOString(),
    docs: e.docs,
    tokens: e.tokens,
    vocab_size: e.vocabSize,
    inputs: e.inputs,
  };
}

function sizeText(bytes: number): string {
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}
