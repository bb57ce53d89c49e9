/**
 * Option parsers shared by the commands (commander calls them with the raw flag text), and the
 * commands built from their specs (config/): flags, defaults, --help, range checks.
 */
import { Argument, InvalidArgumentError, type Command } from 'commander';
import {
  FLAG_RANGES,
  rangeHelp,
  rangeOf,
  rangeText,
  attributeName,
  longFlag,
  optionKey,
  type CommandSpec,
  type OptionSpec,
} from '../config/schema.js';
import { defaultTokenizerWorkers } from '../config/training.js';
import { usageError } from '../errors.js';

// The range table's home is config/schema.ts; tests read it from here.
export { FLAG_RANGES, rangeHelp };

function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}`);
    return n;
  };
}

function realNumber(min: number, max = Infinity): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a number in [${min}, ${max === Infinity ? '∞' : max}]`);
    }
    return n;
  };
}

/** A number above 0 (e.g. a gradient-clipping norm, where 0 would zero every gradient). */
function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError('expected a number above 0');
  return n;
}

/** A parser that accepts only `choices` (`--backend`, `--update`, `--ngrams`). */
function oneOf(choices: readonly string[]): (value: string) => string {
  const expected = choices.length === 2 ? `${choices[0]} or ${choices[1]}` : `one of ${choices.join(', ')}`;
  return (value) => {
    if (!choices.includes(value)) throw new InvalidArgumentError(`expected ${expected}`);
    return value;
  };
}

/** Collects a repeatable option into an array. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The spec each command was built from (addCommand), for the range check and givenOptions. */
const SPECS = new WeakMap<Command, CommandSpec>();

/** Checks every numeric flag `command` was given (or defaulted) against its range (config/schema.ts rangeOf). */
export function checkFlagRanges(command: Command): void {
  for (const spec of SPECS.get(command)?.options ?? []) {
    const range = rangeOf(spec);
    const raw: unknown = command.getOptionValue(attributeName(spec.flag));
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
    if (!ok) throw usageError(`${longFlag(spec.flag)} must be ${rangeText(range)}, got ${String(raw)}`);
  }
}

/**
 * The options the user typed (not left at their defaults), as the option keys the tasks use:
 * `--resume` compares exactly these with the run's stored settings.
 */
export function givenOptions(command: Command): Set<string> {
  const given = new Set<string>(['inputs']);
  for (const spec of SPECS.get(command)?.options ?? [])
    if (command.getOptionValueSource(attributeName(spec.flag)) === 'cli') given.add(optionKey(spec));
  return given;
}

/** How commander reads an option's text, from its spec: its parser, choices and range. */
function parserOf(spec: OptionSpec): ((value: string, previous?: unknown) => unknown) | undefined {
  const range = rangeOf(spec);
  const min = range?.min ?? 0;
  const convert = ((): ((value: string, previous?: unknown) => unknown) | undefined => {
    switch (spec.parse) {
      case 'int':
        return wholeNumber(min);
      case 'number':
        return realNumber(min);
      case 'fraction':
        return realNumber(min, range?.max ?? Infinity);
      case 'positive':
        return positiveNumber;
      case 'list':
        return collect as (value: string, previous?: unknown) => unknown;
      case undefined:
        return undefined;
    }
  })();
  if (!spec.choices) return convert;
  const check = oneOf(spec.choices);
  return (value, previous) => (convert ?? ((text: string) => text))(check(value), previous);
}

/** `--help`'s line for an option: its help, the CPU count filled in, its range appended. */
function helpOf(spec: OptionSpec): string {
  const help = spec.help.replace('{cpus}', String(defaultTokenizerWorkers()));
  const range = rangeOf(spec);
  const shown = range ? rangeHelp(range) : undefined;
  return shown ? `${help} [range ${shown}]` : help;
}

/** Adds options from their specs (config/), in order. */
export function addOptions(command: Command, options: readonly OptionSpec[]): Command {
  for (const spec of options) {
    const add = (spec.required ? command.requiredOption : command.option).bind(command);
    const parse = parserOf(spec);
    if (parse) add(spec.flag, helpOf(spec), parse, spec.default);
    else if (spec.default !== undefined) add(spec.flag, helpOf(spec), spec.default as string);
    else add(spec.flag, helpOf(spec));
  }
  return command;
}

/**
 * A subcommand of `program` built from its spec (config/): arguments, options, parsers, defaults,
 * --help and the range check (main.ts runs checkFlagRanges before every action). The caller adds
 * the action.
 */
export function addCommand(program: Command, spec: CommandSpec): Command {
  const command = program.command(spec.name).description(spec.description);
  for (const arg of spec.arguments ?? []) {
    const argument = new Argument(arg.syntax, arg.help);
    command.addArgument(arg.choices ? argument.choices(arg.choices) : argument);
  }
  addOptions(command, spec.options);
  if (spec.after) command.addHelpText('after', spec.after);
  SPECS.set(command, spec);
  return command;
}
