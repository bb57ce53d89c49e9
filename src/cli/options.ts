/** Option parsers shared by the commands (commander calls them with the raw flag text). */
import { InvalidArgumentError, type Command } from 'commander';
import type { BackendName } from '../backend.js';
import { usageError } from '../errors.js';

export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}`);
    return n;
  };
}

export function realNumber(min: number, max = Infinity): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a number in [${min}, ${max === Infinity ? '∞' : max}]`);
    }
    return n;
  };
}

/** A number above 0 (e.g. a gradient-clipping norm, where 0 would zero every gradient). */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number above 0');
  return n;
}

const BACKENDS: readonly BackendName[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export function backendName(value: string): BackendName {
  if (!(BACKENDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${BACKENDS.join(', ')}`);
  return value as BackendName;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * The range of every numeric flag, by commander attribute name, in one table. Parsers above
 * check the type and the lower bound as the flag is read; `checkFlagRanges` (run by main.ts
 * before every command's action) checks each value against this table, so a size so large that
 * allocation would throw, a NaN, or a probability past 1 is one E_USAGE line naming the flag and
 * its range (generate's --temperature, --top-p and --min-p are checked by its sampling options,
 * with their own messages). The upper bounds are far beyond any real run; the model's own memory estimate
 * (model/awd-lstm.ts checkAwdLstmConfig) catches combinations that do not fit the machine.
 */
interface FlagRange {
  /** whole numbers only */
  int?: boolean;
  min: number;
  max: number;
  /** the bound itself is excluded (an lr of 0, a top-p of 0) */
  minExclusive?: boolean;
  /**
   * the command reads this flag as text and parses it itself (generate): the table adds the upper
   * bound and whole-number check; non-numbers and low values get the command's own message
   */
  text?: boolean;
}

export const FLAG_RANGES: Readonly<Record<string, FlagRange>> = {
  // sizes and counts
  bs: { int: true, min: 1, max: 2 ** 16 },
  bptt: { int: true, min: 1, max: 2 ** 16 },
  maxLen: { int: true, min: 1, max: 2 ** 24 },
  epochs: { int: true, min: 1, max: 100_000 },
  emb: { int: true, min: 1, max: 2 ** 15 },
  hidden: { int: true, min: 1, max: 2 ** 16 },
  layers: { int: true, min: 1, max: 64 },
  vocab: { int: true, min: 3, max: 2 ** 24 },
  vocabSize: { int: true, min: 2, max: 2 ** 20 },
  minFreq: { int: true, min: 1, max: 2 ** 31 - 1 },
  maxVocab: { int: true, min: 1, max: 2 ** 24 },
  maxFeatures: { int: true, min: 1, max: 10 ** 8 },
  ngrams: { int: true, min: 1, max: 2 },
  workers: { int: true, min: 0, max: 1024 },
  trainWorkers: { int: true, min: 1, max: 256 },
  threads: { int: true, min: 1, max: 1024 },
  steps: { int: true, min: 1, max: 10 ** 6 },
  warmup: { int: true, min: 0, max: 10 ** 6 },
  numIt: { int: true, min: 6, max: 10 ** 6 },
  seed: { int: true, min: 0, max: Number.MAX_SAFE_INTEGER, text: true },
  topK: { int: true, min: 1, max: 2 ** 24 },
  words: { int: true, min: 1, max: 10 ** 6, text: true },
  tokens: { int: true, min: 1, max: 10 ** 6, text: true },
  samples: { int: true, min: 1, max: 10 ** 4, text: true },
  // rates, probabilities and multipliers
  validPct: { min: 0, max: 0.99 },
  dropMult: { min: 0, max: 100 },
  olderThan: { min: 0, max: 36_500 },
  lr: { min: 0, max: 10, minExclusive: true },
  startLr: { min: 0, max: 1000, minExclusive: true },
  endLr: { min: 0, max: 1000, minExclusive: true },
  wd: { min: 0, max: 10 },
  clip: { min: 0, max: 10 ** 6, minExclusive: true },
  alpha: { min: 0, max: 10 ** 4 },
  beta: { min: 0, max: 10 ** 4 },
};

function rangeText(range: FlagRange): string {
  const kind = range.int ? 'a whole number' : 'a number';
  return `${kind} in ${range.minExclusive ? '(' : '['}${range.min}, ${range.max}]`;
}

/**
 * The range as `--help` shows it (`1–64`, `> 0, ≤ 10`, `≥ 0`), or undefined for a whole number
 * whose top is only a guard against nonsense: `<n>` already says "a count".
 */
export function rangeHelp(range: FlagRange): string | undefined {
  if (range.int && range.max >= 10_000) return undefined;
  const lower = `${range.minExclusive ? '>' : '≥'} ${range.min}`;
  if (range.max >= 10_000) return lower;
  return range.minExclusive ? `${lower}, ≤ ${range.max}` : `${range.min}–${range.max}`;
}

/**
 * Appends each numeric flag's range from FLAG_RANGES to its `--help` description, so the help
 * and the check read one table.
 */
export function annotateFlagRanges(command: Command): void {
  for (const option of command.options) {
    const range = FLAG_RANGES[option.attributeName()];
    const shown = range ? rangeHelp(range) : undefined;
    if (shown) option.description = `${option.description} [range ${shown}]`;
  }
  for (const sub of command.commands) annotateFlagRanges(sub);
}

/** Checks every numeric flag `command` was given (or defaulted) against FLAG_RANGES. */
export function checkFlagRanges(command: Command): void {
  for (const option of command.options) {
    const key = option.attributeName();
    const range = FLAG_RANGES[key];
    const raw: unknown = command.getOptionValue(key);
    if (!range || raw === undefined) continue;
    if (typeof raw !== 'number' && !(range.text && typeof raw === 'string')) continue;
    const value = typeof raw === 'number' ? raw : raw.trim() === '' ? NaN : Number(raw);
    // Text the command parses itself (generate) keeps its own messages for non-numbers and low values.
    if (typeof raw === 'string' && !(value >= range.min)) continue;
    const ok = Number.isFinite(value) && (!range.int || Number.isInteger(value)) &&
      (range.minExclusive ? value > range.min : value >= range.min) && value <= range.max;
    if (!ok) throw usageError(`${option.long ?? key} must be ${rangeText(range)}, got ${String(raw)}`);
  }
}

/**
 * The options the user typed (not left at their defaults), as the option keys the tasks use:
 * `--resume` compares exactly these with the run's stored settings.
 */
export function givenOptions(command: Command): Set<string> {
  const renamed: Record<string, string> = { rules: 'settings', ignoreLabel: 'ignoreLabels', schedule: 'stages' };
  const given = new Set<string>(['inputs']);
  for (const option of command.options) {
    const key = option.attributeName();
    if (command.getOptionValueSource(key) === 'cli') given.add(renamed[key] ?? key);
  }
  return given;
}
