/**
 * Option parsers shared by the commands (commander calls them with the raw flag text), and the
 * commands built from their specs (config/): flags, defaults, --help, range checks.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { BackendName } from '../backend.js';
import {
  FLAG_RANGES,
  rangeHelp,
  rangeText,
  attributeName,
  optionKey,
  type CommandSpec,
  type OptionSpec,
  type Parse,
} from '../config/schema.js';
import { defaultTokenizerWorkers, TRAINING_COMMANDS } from '../config/training.js';
import { usageError } from '../errors.js';

// The range table's home is config/schema.ts; tests read it from here.
export { FLAG_RANGES, rangeHelp };

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
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError('expected a number above 0');
  return n;
}

const BACKENDS: readonly BackendName[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export function backendName(value: string): BackendName {
  if (!(BACKENDS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${BACKENDS.join(', ')}`);
  return value as BackendName;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
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
    const ok =
      Number.isFinite(value) &&
      (!range.int || Number.isInteger(value)) &&
      (range.minExclusive ? value > range.min : value >= range.min) &&
      value <= range.max;
    if (!ok) throw usageError(`${option.long ?? key} must be ${rangeText(range)}, got ${String(raw)}`);
  }
}

/**
 * The options the user typed (not left at their defaults), as the option keys the tasks use:
 * `--resume` compares exactly these with the run's stored settings.
 */
export function givenOptions(command: Command): Set<string> {
  const given = new Set<string>(['inputs']);
  for (const option of command.options) {
    const key = option.attributeName();
    if (command.getOptionValueSource(key) === 'cli') given.add(LIBRARY_KEYS.get(key) ?? key);
  }
  return given;
}

/** The library's name of each option whose flag says otherwise (`rules` → `settings`), from the specs. */
const LIBRARY_KEYS = new Map<string, string>(
  TRAINING_COMMANDS.flatMap((spec) => spec.options)
    .filter((option) => option.key !== undefined)
    .map((option) => [attributeName(option.flag), optionKey(option)]),
);

function parserOf(parse: Parse, key: string): (value: string, previous?: unknown) => unknown {
  const min = FLAG_RANGES[key]?.min ?? 0;
  switch (parse) {
    case 'int':
      return wholeNumber(min);
    case 'number':
      return realNumber(min);
    case 'fraction':
      return realNumber(min, FLAG_RANGES[key]?.max ?? Infinity);
    case 'positive':
      return positiveNumber;
    case 'backend':
      return backendName;
    case 'list':
      return collect as (value: string, previous?: unknown) => unknown;
  }
}

/** Adds options from their specs (config/), in order. */
export function addOptions(command: Command, options: readonly OptionSpec[]): Command {
  for (const spec of options) {
    const help = spec.help.replace('{cpus}', String(defaultTokenizerWorkers()));
    const add = (spec.required ? command.requiredOption : command.option).bind(command);
    if (spec.parse) add(spec.flag, help, parserOf(spec.parse, attributeName(spec.flag)), spec.default);
    else if (spec.default !== undefined) add(spec.flag, help, spec.default as string);
    else add(spec.flag, help);
  }
  return command;
}

/** A subcommand of `program` built from its spec; the caller adds the action. */
export function addCommand(program: Command, spec: CommandSpec): Command {
  const command = program.command(spec.name).description(spec.description);
  if (spec.argument) command.argument(spec.argument.syntax, spec.argument.help);
  addOptions(command, spec.options);
  if (spec.after) command.addHelpText('after', spec.after);
  return command;
}

/**
 * The flags pretrain, finetune-lm and train-classifier share, as commander parses their options
 * (config/training.ts); each command's interface adds its own.
 */
export interface TrainingFlags {
  out: string;
  valid?: string[];
  validPct?: number;
  emb?: number;
  hidden?: number;
  layers?: number;
  bs?: number;
  bptt: number;
  epochs?: number;
  schedule?: string;
  wd?: number;
  clip?: number;
  alpha: number;
  beta: number;
  seed: number;
  backwards?: boolean;
  rules: boolean;
  minFreq?: number;
  maxVocab?: number;
  textCol?: string;
  workers?: number;
  cache: boolean;
  cacheDir?: string;
  overwrite?: boolean;
  resume?: boolean;
  keepCheckpoint?: boolean;
  backend: BackendName;
  json?: boolean;
  quiet?: boolean;
}
