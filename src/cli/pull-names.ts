/**
 * Names wherever a model or an input is accepted: before any command runs (a commander preAction
 * hook, cli/main.ts), a `--pretrained`, `--lm`, `--model` or `--vocab` value that names a pullable
 * model (wt103) is pulled if it is not cached yet (io/model-names.ts then resolves the name), and
 * a dataset name among the inputs (`train-classifier imdb`) is pulled and replaced by the files
 * that command reads from it, with the dataset's split and labels (hub/catalog.ts, views):
 * train-classifier and baseline get its training inputs, its validation inputs as --valid and
 * its unlabeled share as --ignore-label, unless given; evaluate and classify get its held-out
 * text; the language-model commands get all of its text. An existing path always wins.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findHubEntry, type HubDataset } from '../hub/catalog.js';
import { offlineFromEnv } from '../hub/cache.js';
import { datasetInputs, pull } from '../tasks/pull.js';
import { usageError } from '../errors.js';
import { reportingPullOptions } from './pull.js';

/** The options whose values are model directories or names. */
const MODEL_OPTIONS = ['pretrained', 'lm', 'model', 'vocab'];

/** Which of a dataset's views each command's inputs take. */
const INPUT_VIEWS: Record<string, 'lm' | 'classifier' | 'heldOut'> = {
  tokenize: 'lm',
  'tokenize-subword': 'lm',
  pretrain: 'lm',
  'finetune-lm': 'lm',
  'lr-find': 'lm',
  'train-classifier': 'classifier',
  baseline: 'classifier',
  evaluate: 'heldOut',
  classify: 'heldOut',
};

const isPullable = (value: string): boolean => !existsSync(value) && findHubEntry(value) !== undefined;

/** Sets an option the user did not give on the command line. */
function setDefault(command: Command, key: string, value: unknown): void {
  const known = command.options.some((option) => option.attributeName() === key);
  if (known && command.getOptionValueSource(key) !== 'cli')
    command.setOptionValueWithSource(key, value, 'default');
}

async function datasetArgs(
  command: Command,
  inputs: string[],
  view: 'lm' | 'classifier' | 'heldOut',
  options: ReturnType<typeof reportingPullOptions>,
): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    const entry = isPullable(input) ? findHubEntry(input) : undefined;
    if (!entry || entry.kind !== 'dataset') {
      out.push(input);
      continue;
    }
    const { dir } = await pull(input, options);
    if (view !== 'classifier') {
      out.push(...datasetInputs(entry, dir, view));
      continue;
    }
    const layout = (entry as HubDataset).views.classifier;
    if (!layout)
      throw usageError(
        `${entry.name} has no labels: it is a language-model dataset`,
        `use it with finetune-lm, pretrain or evaluate; a classifier needs labeled data (e.g. imdb, ag_news)`,
      );
    const at = (rel: string): string => (rel === '.' ? dir : join(dir, rel));
    out.push(...layout.inputs.map(at));
    const validPctGiven = command.getOptionValueSource('validPct') === 'cli';
    if (layout.valid && !validPctGiven) setDefault(command, 'valid', layout.valid.map(at));
    if (layout.ignoreLabels) setDefault(command, 'ignoreLabel', [...layout.ignoreLabels]);
  }
  return out;
}

/** The preAction hook: pulls the names `command` was given (see the file comment). */
export async function pullNamedArguments(_program: Command, command: Command): Promise<void> {
  const flags = command.optsWithGlobals<{ offline?: boolean; quiet?: boolean }>();
  const options = reportingPullOptions({
    offline: Boolean(flags.offline) || offlineFromEnv(),
    quiet: Boolean(flags.quiet),
  });
  for (const key of MODEL_OPTIONS) {
    const value: unknown = command.getOptionValue(key);
    const values = Array.isArray(value) ? value : [value];
    for (const ref of values) {
      if (typeof ref === 'string' && isPullable(ref) && findHubEntry(ref)!.kind === 'model')
        await pull(ref, options);
    }
  }
  // lr-find with --lm searches for a classifier: it reads labeled data, as train-classifier does.
  const view =
    command.name() === 'lr-find' && command.getOptionValue('lm') !== undefined
      ? 'classifier'
      : INPUT_VIEWS[command.name()];
  const index = command.registeredArguments.findIndex((argument) => argument.name() === 'inputs');
  const inputs: unknown = index >= 0 ? command.processedArgs[index] : undefined;
  if (view && Array.isArray(inputs))
    command.processedArgs[index] = await datasetArgs(command, inputs as string[], view, options);
}
