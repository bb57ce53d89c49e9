import { Command, CommanderError } from 'commander';
import { usageError, type UlmfitError } from '../errors.js';
import { PACKAGE_VERSION } from '../version.js';
import { reportError } from './fatal.js';
import { PROGRAM } from '../config/utility.js';
import { addOptions, checkFlagRanges } from './options.js';

/**
 * A CLI command module: adds one subcommand to the program. The action must return (or resolve
 * to) nothing; it reports failure by throwing a UlmfitError.
 */
export type CommandModule = { register(program: Command): void };

/**
 * Every subcommand, in the order `--help` lists them, each in its own file. Loaded lazily: a run
 * of one command imports only that command's module, so `ulmfit tokenize` never pays for
 * loading TF.js.
 */
export const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  tokenize: () => import('./tokenize.js'),
  pretrain: () => import('./pretrain.js'),
  'finetune-lm': () => import('./finetune-lm.js'),
  'lr-find': () => import('./lr-find.js'),
  'train-classifier': () => import('./train-classifier.js'),
  baseline: () => import('./baseline.js'),
  classify: () => import('./classify.js'),
  generate: () => import('./generate.js'),
  serve: () => import('./serve.js'),
  evaluate: () => import('./evaluate.js'),
  plot: () => import('./plot.js'),
  'import-fastai': () => import('./import-fastai.js'),
  'export-fastai': () => import('./export-fastai.js'),
  models: () => import('./models.js'),
  pull: () => import('./pull.js'),
  cache: () => import('./cache.js'),
  demo: () => import('./demo.js'),
  bench: () => import('./bench.js'),
};

/** The command modules `argv` needs: the named subcommand's, or all of them (help, typos). */
async function loadCommands(argv: readonly string[]): Promise<CommandModule[]> {
  const name = argv.slice(2).find((arg) => !arg.startsWith('-'));
  const only = name !== undefined ? COMMANDS[name] : undefined;
  if (only) return [await only()];
  return Promise.all(Object.values(COMMANDS).map((load) => load()));
}

/** The program with the commands `argv` needs (all of them by default, e.g. for docs/cli.md). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command(PROGRAM.name)
    .description(PROGRAM.description)
    .version(PACKAGE_VERSION)
    // Usage errors are printed by main() as one `error [E_USAGE]` line (commander's own are 2-3 lines).
    .configureOutput({ outputError: () => undefined })
    // A fixed width keeps --help identical everywhere, so docs/cli.md can be checked.
    .configureHelp({ helpWidth: 100 });
  addOptions(program, PROGRAM.options)
    // A model or dataset name given to any command is pulled on first use (cli/pull-names.ts).
    .hook('preAction', async (root, command) =>
      (await import('./pull-names.js')).pullNamedArguments(root, command),
    )
    .exitOverride();
  for (const command of await loadCommands(argv)) command.register(program);
  for (const sub of program.commands) sub.exitOverride();
  showDefaultsPlain(program);
  program.hook('preAction', (_program, command) => checkFlagRanges(command)); // every numeric flag against its range
  return program;
}

/**
 * A commander parse error as one E_USAGE line: its message ("unknown option '--x'"), its
 * "(Did you mean --y?)" folded in, and where to read the usage.
 */
export function commanderUsageError(
  err: CommanderError,
  program: Command,
  argv: readonly string[],
): UlmfitError {
  const [first = '', ...rest] = err.message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const message = first.replace(/^error: /, '');
  const suggestion = rest
    .map((line) => line.replace(/^\((.*)\)$/, '$1').replace(/^Did you mean/, 'did you mean'))
    .join(' ');
  const name = argv.slice(2).find((arg) => !arg.startsWith('-'));
  const sub = program.commands.find((c) => c.name() === name);
  const help = `run ulmfit${sub ? ` ${sub.name()}` : ''} --help for usage`;
  return usageError(message, suggestion ? `${suggestion}; ${help}` : help);
}

/**
 * commander shows a string default quoted (`(default: "40")`); numbers and plain words read
 * better as they are typed (`(default: 40)`, `(default: auto)`), like the numeric defaults.
 */
function showDefaultsPlain(program: Command): void {
  for (const command of [program, ...program.commands]) {
    for (const option of command.options) {
      const value: unknown = option.defaultValue;
      if (
        typeof value === 'string' &&
        option.defaultValueDescription === undefined &&
        /^[\w.:-]+$/.test(value)
      )
        option.defaultValueDescription = value;
    }
  }
}

/** Runs the CLI and resolves to the process exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit with code 0; help shown for a missing subcommand is not an error line.
      if (err.exitCode === 0 || err.code === 'commander.help') return err.exitCode === 0 ? 0 : 2;
      return reportError(commanderUsageError(err, program, argv));
    }
    return reportError(err); // one line, whatever it is (cli/fatal.ts)
  }
}
