/** `ulmfit classify`: predictions of one classifier, or the averaged ensemble of several. */
import type { Command } from 'commander';
import { classifyRows, evaluate, type ClassifyReadStats } from '../infer/classify.js';
import { loadClassifiers } from '../tasks/load-classifiers.js';
import {
  EMPTY_LABEL,
  evaluationOutput,
  formatEvaluation,
  jsonLine,
  resolvedModels,
  textLine,
} from './classify-output.js';
import type { ClassifyEvaluationLine } from './json-output.js';
import { usageError } from '../errors.js';
import type { CommandFlags } from '../config/schema.js';
import { CLASSIFY } from '../config/inference.js';
import { addCommand } from './options.js';

type Flags = CommandFlags<typeof CLASSIFY>;

export function register(program: Command): void {
  addCommand(program, CLASSIFY)
    .addHelpText(
      'after',
      '\nOutput: one line per document, in input order: label<TAB>probability (--with-ids: id<TAB>label<TAB>probability);' +
        `\nan empty document gets the row ${EMPTY_LABEL}<TAB>-, so row i is always document i. With gold labels in the input,` +
        '\naccuracy, macro-F1, per-class scores and the confusion matrix follow on stderr (exit 1 if a gold label is unknown).' +
        '\nA run directory classifies with its model-best/ (else model-last/), averaged with the NB-SVM baseline/ trained' +
        '\nbeside it when there is one (pass <run>/model-best for the classifier alone); stderr says which.' +
        '\n\nExample:\n  ulmfit classify --model runs/imdb-clas --model runs/imdb-clas-bwd aclImdb/test',
    )
    .action(async (inputs: string[], flags: Flags) => run(inputs, flags));
}

async function run(inputs: string[], flags: Flags): Promise<void> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
  const say = (message: string): void => {
    if (!flags.quiet) process.stderr.write(message + '\n');
  };
  if (flags.labelCol !== undefined && !flags.labels)
    throw usageError('--label-col and --no-labels contradict each other', 'give one of them');
  const ensemble = await loadClassifiers(flags.model, flags.backend);
  try {
    // A run directory stands for its models: say which, so a score is never of an unknown model.
    for (const given of new Set(flags.model)) {
      const dirs = ensemble.members.filter((_, i) => ensemble.origins[i] === given).map((m) => m.dir);
      if (dirs.length === 1 && dirs[0] === given) continue;
      say(`model: ${given} → ${resolvedModels(dirs)}`);
    }
    const stats: ClassifyReadStats = { emptySkipped: 0, warnings: [], notes: [] };
    const predicted: string[] = [];
    const gold: string[] = [];
    let total = 0;
    const options = {
      bs: flags.bs,
      idCol: flags.idCol ?? (true as const),
      ...(flags.textCol !== undefined ? { textCol: flags.textCol } : {}),
      ...(flags.labelCol !== undefined ? { labelCol: flags.labelCol } : {}),
      ...(!flags.labels ? { noLabels: true } : {}),
      ...(flags.lineDocs ? { lineDocs: true } : {}),
    };
    for await (const chunk of classifyRows(ensemble, inputs, options, stats)) {
      process.stdout.write(
        chunk
          .map((p) =>
            flags.json ? jsonLine(ensemble.labels, p, flags.topK) : textLine(ensemble.labels, p, flags),
          )
          .join(''),
      );
      for (const p of chunk) {
        if ('empty' in p) continue;
        total += 1;
        if (p.gold !== undefined) {
          predicted.push(p.label);
          gold.push(p.gold);
        }
      }
    }
    for (const warning of stats.warnings) say(`warning: ${warning}`);
    if (stats.emptySkipped > 0) {
      const n = stats.emptySkipped;
      say(
        `warning: ${n} empty document${n === 1 ? '' : 's'}: ${n === 1 ? 'its row is' : 'their rows are'} ${flags.json ? '{"empty": true}' : EMPTY_LABEL}, with no prediction`,
      );
    }
    if (gold.length === 0) return;
    for (const note of stats.notes ?? []) say(`${note} (--no-labels ignores them)`);
    const evaluation = evaluate(ensemble.labels, predicted, gold);
    if (gold.length < total) say(`scored the ${gold.length} of ${total} documents that have a gold label`);
    if (flags.json)
      process.stdout.write(
        JSON.stringify({ evaluation: evaluationOutput(evaluation) } satisfies ClassifyEvaluationLine) + '\n',
      );
    else process.stderr.write(formatEvaluation(evaluation));
  } finally {
    ensemble.dispose();
  }
}
