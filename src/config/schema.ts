/**
 * The shape of ulmfit's settings: what an option is (its flag, one-line help, default, how the CLI
 * reads it), the range of every numeric option, and what is derived from them (the flag of a
 * library option, a command line from option values). The values themselves, fastai's defaults
 * and the training commands' options, are in config/training.ts.
 *
 * This folder is in the base layer (.dependency-cruiser.cjs): it is data every layer reads (the
 * CLI builds its flags and --help from it, tasks/ its defaults and config.json keys, data/ its
 * batch defaults) and it imports nothing but node:os.
 */

/** A numeric option's accepted values. */
export interface Range {
  /** whole numbers only */
  int?: boolean;
  min: number;
  max: number;
  /** the bound itself is excluded (an lr of 0, a top-p of 0) */
  minExclusive?: boolean;
  /**
   * the command reads this flag as text and parses it itself (generate): the range check adds the
   * upper bound and whole-number check; non-numbers and low values get the command's own message
   */
  text?: boolean;
}

/**
 * The range of every numeric option, by option name (the commander attribute name), in one
 * table: the CLI checks each value against it before a command runs (cli/options.ts
 * checkFlagRanges) and --help shows it. The upper bounds are far beyond any real run; the model's
 * own memory estimate (model/awd-lstm.ts checkAwdLstmConfig) catches combinations that do not fit
 * the machine.
 */
export const FLAG_RANGES: Readonly<Record<string, Range>> = {
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

/** `a whole number in [1, 64]`, for messages. */
export function rangeText(range: Range): string {
  const kind = range.int ? 'a whole number' : 'a number';
  return `${kind} in ${range.minExclusive ? '(' : '['}${range.min}, ${range.max}]`;
}

/**
 * The range as `--help` shows it (`1–64`, `> 0, ≤ 10`, `≥ 0`), or undefined for a whole number
 * whose top is only a guard against nonsense: `<n>` already says "a count".
 */
export function rangeHelp(range: Range): string | undefined {
  if (range.int && range.max >= 10_000) return undefined;
  const lower = `${range.minExclusive ? '>' : '≥'} ${range.min}`;
  if (range.max >= 10_000) return lower;
  return range.minExclusive ? `${lower}, ≤ ${range.max}` : `${range.min}–${range.max}`;
}

/**
 * How the CLI reads an option's text (cli/options.ts has the parsers): `int`, a whole number from
 * the range's minimum; `number`, a number from the range's minimum; `fraction`, a number within
 * the whole range; `positive`, a number above 0; `backend`, a backend name; `list`, repeatable,
 * collected into an array. Without `parse`: text, or a switch for a flag without a value.
 */
export type Parse = 'int' | 'number' | 'fraction' | 'positive' | 'backend' | 'list';

/** One option of a command. */
export interface OptionSpec {
  /** commander's syntax: `--bs <n>`, `--backwards`, `--no-rules` */
  flag: string;
  /** one line of --help; the range (FLAG_RANGES) is appended to it */
  help: string;
  /** applied by the CLI when the flag is not given, and shown by --help */
  default?: number | string;
  parse?: Parse;
  required?: boolean;
  /**
   * The name of the option in the library's options and config.json when it is not the flag's
   * (`--no-rules` → `settings`, `--schedule` → `stages`).
   */
  key?: string;
  /** In a command line, `--flag=value` (a recipe may start with `-`, which would read as a flag). */
  inline?: boolean;
  /**
   * false: not a setting of the run's result but of the run itself (its directory, output,
   * threads, cache), so not stored in config.json and free to differ on `--resume`.
   */
  persist?: false;
}

/** A command: its options in --help order. */
export interface CommandSpec {
  name: string;
  description: string;
  /** the positional argument, if any */
  argument?: { syntax: string; help: string };
  options: readonly OptionSpec[];
  /** text after the options in --help (default recipes, examples) */
  after?: string;
}

/** The commander attribute name of a flag: `--valid-pct <p>` → `validPct`, `--no-rules` → `rules`. */
export function attributeName(flag: string): string {
  const long = /--(?:no-)?([\w-]+)/.exec(flag)?.[1] ?? flag;
  return long.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}

/** The long flag alone: `--valid-pct <p>` → `--valid-pct`. */
export function longFlag(flag: string): string {
  return flag.split(/[ =]/)[0]!;
}

/** The option's name in the library's options and config.json. */
export function optionKey(spec: OptionSpec): string {
  return spec.key ?? attributeName(spec.flag);
}

/**
 * The keys a training run stores in config.json, in this order: `inputs`, the commands' options
 * (but `persist: false` ones), then `libraryOnly` (options the CLI does not have).
 */
export function runConfigKeys(
  commands: readonly CommandSpec[],
  libraryOnly: readonly string[] = [],
): string[] {
  const keys = new Set<string>(['inputs']);
  for (const command of commands)
    for (const option of command.options) if (option.persist !== false) keys.add(optionKey(option));
  for (const key of libraryOnly) keys.add(key);
  return [...keys];
}

/**
 * A command line's flags for option values given by attribute name, in the order given (the
 * demo's commands.sh): `{ bs: 8, overwrite: true, baseline: false }` → `--bs 8 --overwrite --no-baseline`. A name the command
 * does not have is an error, so a printed command always runs.
 */
export function commandLine(
  command: CommandSpec,
  values: Readonly<Record<string, string | number | boolean | undefined>>,
): (string | number)[] {
  const args: (string | number)[] = [];
  for (const [name, value] of Object.entries(values)) {
    const spec = command.options.find((option) => attributeName(option.flag) === name);
    if (!spec) throw new Error(`ulmfit ${command.name} has no option ${name}`);
    const flag = longFlag(spec.flag);
    const negatable = flag.startsWith('--no-');
    if (value === undefined || value === negatable) continue;
    if (typeof value === 'boolean') args.push(flag);
    else if (spec.inline) args.push(`${flag}=${value}`);
    else args.push(flag, value);
  }
  return args;
}
