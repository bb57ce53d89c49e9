/**
 * The shape of ulmfit's settings: what an option is (its flag, one-line help, default, range, how
 * the CLI reads it), the range of every numeric option, and what is derived from them: the flags
 * of a library option, a command line from option values, and, at the type level, the flags a
 * command's action receives (`CommandFlags`) and the options of the library function it calls
 * (`LibraryOptions`). The values themselves are in the other files of this folder: training.ts
 * (fastai's defaults; pretrain, finetune-lm, train-classifier, lr-find, demo, baseline),
 * inference.ts (generate, classify, evaluate, serve), utility.ts (tokenize and the rest).
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
  networks: { int: true, min: 1, max: 16 },
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
  // serve: a port, and limits whose tops are what a timer or a buffer can hold
  port: { int: true, min: 0, max: 65535 },
  maxBatch: { int: true, min: 1, max: 2 ** 16 },
  maxQueue: { int: true, min: 1, max: 2 ** 31 - 1 },
  maxTexts: { int: true, min: 1, max: 2 ** 31 - 1 },
  maxTextChars: { int: true, min: 1, max: 2 ** 31 - 1 },
  maxBodyBytes: { int: true, min: 1, max: 2 ** 31 - 1 },
  // Node's timers take at most 2^31-1 ms (a longer one fires at once)
  batchWaitMs: { int: true, min: 0, max: 2 ** 31 - 1 },
  timeoutMs: { int: true, min: 1, max: 2 ** 31 - 1 },
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
  labelSmoothing: { min: 0, max: 0.99 },
  l2sp: { min: 0, max: 10 ** 6 },
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

/** The backends `--backend` accepts (compute/backend.ts starts them). */
export const BACKEND_NAMES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * What a classifier's concat pooling reads at every position (model/heads.ts): `last` is fastai's,
 * the last LSTM layer; `emb+last` adds the embedded words; `all` the embedded words and every layer.
 */
export const POOL_SOURCES = ['last', 'emb+last', 'all'] as const;
export type PoolSource = (typeof POOL_SOURCES)[number];

/**
 * How the CLI reads an option's text (cli/options.ts has the parsers): `int`, a whole number from
 * the range's minimum; `number`, a number from the range's minimum; `fraction`, a number within
 * the whole range; `positive`, a number above 0; `list`, repeatable, collected into an array.
 * Without `parse`: text, or a switch for a flag without a value.
 */
export type Parse = 'int' | 'number' | 'fraction' | 'positive' | 'list';

/**
 * One option of a command. Commands declare their options `as const`, so that the types below can
 * read each flag's name and value type from the declaration itself.
 */
export interface OptionSpec {
  /** commander's syntax: `--bs <n>`, `--backwards`, `--no-rules` */
  flag: string;
  /** one line of --help; the range (FLAG_RANGES, or `range`) is appended to it */
  help: string;
  /** applied by the CLI when the flag is not given, and shown by --help */
  default?: number | string;
  parse?: Parse;
  /** the only values accepted (`--backend`: BACKEND_NAMES); with `parse: 'int'` they are read as numbers */
  choices?: readonly string[];
  /** the range where this option's differs from FLAG_RANGES' entry for its name */
  range?: Range;
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
  /** false: the CLI's own (how it prints: --json, --quiet, --svg), not an option of the library function it calls. */
  library?: false;
}

/** A positional argument. */
export interface ArgumentSpec {
  /** commander's syntax: `<inputs...>`, `<model>` */
  syntax: string;
  help: string;
  /** the only values accepted */
  choices?: readonly string[];
}

/** A command: its arguments and options in --help order. */
export interface CommandSpec {
  name: string;
  description: string;
  arguments?: readonly ArgumentSpec[];
  options: readonly OptionSpec[];
  /** text after the options in --help (default recipes, examples) */
  after?: string;
}

/**
 * The range of an option, for its parser's lower bound, the check and --help: its own, else
 * FLAG_RANGES' entry for its name. The check reads only numbers and `text` ranges' strings
 * (cli/options.ts checkFlagRanges).
 */
export function rangeOf(spec: OptionSpec): Range | undefined {
  return spec.range ?? FLAG_RANGES[attributeName(spec.flag)];
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
 * demo's commands.sh): `{ bs: 8, overwrite: true, baseline: false }` → `--bs 8 --overwrite
 * --no-baseline`. A name the command does not have is a type error, and an error at run time, so a
 * printed command always runs.
 */
export function commandLine<C extends CommandSpec>(
  command: C,
  values: { readonly [Name in FlagName<C>]?: string | number | boolean | undefined },
): (string | number)[] {
  const args: (string | number)[] = [];
  for (const [name, value] of Object.entries(values) as [string, string | number | boolean | undefined][]) {
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

// ---------------------------------------------------------------------------------------------
// Types read from a declaration. A command declared `as const` keeps each flag's text, parser,
// choices and default as literal types, so the types below compute, without a second list, the
// flags commander passes to the command's action and the options the library function takes.

/** `'--no-valid-pct <p>'` → `'valid-pct'`: the long flag's words, as attributeName reads them. */
type FlagWords<Flag extends string> = Flag extends `--no-${infer Rest}`
  ? FirstWord<Rest>
  : Flag extends `--${infer Rest}`
    ? FirstWord<Rest>
    : never;
type FirstWord<Text extends string> = Text extends `${infer Word} ${string}` ? Word : Text;
type CamelCase<Words extends string> = Words extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : Words;

/** attributeName as a type: `'--valid-pct <p>'` → `'validPct'`. */
export type AttributeName<Flag extends string> = CamelCase<FlagWords<Flag>>;

/** The value an option holds: a number (parsed), a list, one of its choices, text, or a switch. */
export type OptionValue<O extends OptionSpec> = O extends { parse: 'list' }
  ? string[]
  : O extends { parse: 'int' | 'number' | 'fraction' | 'positive' }
    ? number
    : O extends { choices: readonly (infer Choice)[] }
      ? Choice
      : O['flag'] extends `${string}<${string}`
        ? string
        : boolean;

type OptionOf<C extends CommandSpec> = C['options'][number];
type FlagName<C extends CommandSpec> = AttributeName<OptionOf<C>['flag']>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Whether commander always gives the option a value: a default, a required option, or a `--no-` switch (true unless given). */
type AlwaysSet<O extends OptionSpec> = O extends { default: number | string } | { required: true }
  ? true
  : O['flag'] extends `--no-${string}`
    ? true
    : false;

/**
 * The names always set by every command of `C` (a union of commands: a flag that only some of them
 * always set may be missing). `keyof` a union of objects is the keys they all have.
 */
type AlwaysSetNames<C extends CommandSpec> = keyof (C extends CommandSpec
  ? { [O in OptionOf<C> as AlwaysSet<O> extends true ? AttributeName<O['flag']> : never]: true }
  : never);

/**
 * The flags commander passes to the action of `C` (or of any command of a union `C`), by attribute
 * name: in `CommandFlags<typeof PRETRAIN>`, `bptt` is a `number` (it has a default), `lr` an
 * optional `string`, `rules` a `boolean` (`--no-rules`).
 */
export type CommandFlags<C extends CommandSpec> = Simplify<
  { [O in OptionOf<C> as AttributeName<O['flag']> & AlwaysSetNames<C>]: OptionValue<O> } & {
    [O in OptionOf<C> as Exclude<AttributeName<O['flag']>, AlwaysSetNames<C>>]?: OptionValue<O>;
  }
>;

type OptionKey<O extends OptionSpec> = O extends { key: infer Key extends string }
  ? Key
  : AttributeName<O['flag']>;
type LibraryOption<C extends CommandSpec> = Exclude<OptionOf<C>, { library: false }>;
type RequiredKeys<C extends CommandSpec> = keyof (C extends CommandSpec
  ? { [O in LibraryOption<C> as O extends { required: true } ? OptionKey<O> : never]: true }
  : never);

/**
 * The options of the library function that `C`'s action calls, as far as the command declares
 * them: by library key (`settings` for `--no-rules`), optional but for those every command of `C`
 * requires, without the CLI's own flags (`library: false`). Each has the flag's value type; where
 * the library takes something richer (`--schedule`'s recipe text → `Stage[]`), the interface that
 * extends this omits and redeclares it (tasks/lm.ts LmTrainOptions).
 */
export type LibraryOptions<C extends CommandSpec> = Simplify<
  { [O in LibraryOption<C> as OptionKey<O> & RequiredKeys<C>]: OptionValue<O> } & {
    [O in LibraryOption<C> as Exclude<OptionKey<O>, RequiredKeys<C>>]?: OptionValue<O> | undefined;
  }
>;
