import { Command, CommanderError } from 'commander';
import { isUlmfitError } from '../errors.js';
import { PACKAGE_VERSION } from '../version.js';

/**
 * A CLI command module: adds one subcommand to the program. The action must return (or resolve
 * to) nothing; it reports failure by throwing a UlmfitError.
 */
export type CommandModule = { register(program: Command): void };

/** Every subcommand, in the order `--help` lists them. Each lives in its own file. */
async function loadCommands(): Promise<CommandModule[]> {
  const modules: Promise<CommandModule>[] = [
    import('./tokenize.js'),
    import('./pretrain.js'),
    import('./finetune-lm.js'),
    import('./lr-find.js'),
    import('./import-fastai.js'),
    import('./export-fastai.js'),
    import('./generate.js'),
    import('./train-classifier.js'),
    import('./classify.js'),
  ];
  return Promise.all(modules);
}

export async function buildProgram(): Promise<Command> {
  const program = new Command('ulmfit')
    .description("fastai's ULMFiT for Node.js: tokenize, pretrain and fine-tune AWD-LSTM language models, train text classifiers, generate text")
    .version(PACKAGE_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const command of await loadCommands()) command.register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/** Runs the CLI and resolves to the process exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message; help and version exit with code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isUlmfitError(err)) {
      process.stderr.write(err.toLine() + '\n');
      return err.exitCode;
    }
    throw err;
  }
}
