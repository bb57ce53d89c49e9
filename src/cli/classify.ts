/** `ulmfit classify`: predictions of one classifier, or the averaged ensemble of several. */
import type { Command } from 'commander';
import type { BackendName } from '../backend.js';
import { classifyInputs, evaluate, topK, type ClassifyReadStats, type Evaluation, type Prediction } from '../infer/classify.js';
import { loadClassifiers } from '../tasks/load-classifiers.js';
import { backendName, collect, wholeNumber } from './options.js';

interface Flags {
  model: string[];
  bs: number;
  topK?: number;
  textCol?: string;
  labelCol?: string;
  lineDocs?: boolean;
  backend: BackendName;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('classify')
    .description('classify documents with a trained classifier (two --model: averaged, e.g. forward + backward)')
    .argument('<inputs...>', 'text files, folders of .txt (a subfolder per label gives gold labels), CSV/TSV/JSONL, or - (one document per line)')
    .requiredOption('--model <dir>', 'classifier directory, train-classifier run directory or baseline directory (repeatable: the probabilities are averaged)', collect)
    .option('--bs <n>', 'documents per forward pass', wholeNumber(1), 64)
    .option('--top-k <k>', 'print the k most probable labels per document', wholeNumber(1))
    .option('--text-col <col>', 'CSV/TSV column or JSONL field with the text (default text)')
    .option('--label-col <col>', 'CSV/TSV column or JSONL field with gold labels (default label, when present)')
    .option('--line-docs', 'a plain text file holds one document per line')
    .option('--backend <name>', 'auto, tensorflow, wasm or cpu', backendName, 'auto')
    .option('--json', 'one JSON object per document with every class probability (and a final {"evaluation"} line for labeled input)')
    .option('--quiet', 'no info or warnings on stderr')
    .addHelpText(
      'after',
      '\nOutput: one line per document, in input order: label<TAB>probability. With gold labels in the input,' +
        '\naccuracy, macro-F1, per-class scores and the confusion matrix follow on stderr (exit 1 if a gold label is unknown).' +
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
  const ensemble = await loadClassifiers(flags.model, flags.backend);
  try {
    const stats: ClassifyReadStats = { emptySkipped: 0, warnings: [] };
    const predicted: string[] = [];
    const gold: string[] = [];
    let total = 0;
    const options = {
      bs: flags.bs,
      ...(flags.textCol !== undefined ? { textCol: flags.textCol } : {}),
      ...(flags.labelCol !== undefined ? { labelCol: flags.labelCol } : {}),
      ...(flags.lineDocs ? { lineDocs: true } : {}),
    };
    for await (const chunk of classifyInputs(ensemble, inputs, options, stats)) {
      process.stdout.write(chunk.map((p) => (flags.json ? jsonLine(ensemble.labels, p, flags.topK) : textLine(ensemble.labels, p, flags.topK))).join(''));
      for (const p of chunk) {
        total += 1;
        if (p.gold !== undefined) {
          predicted.push(p.label);
          gold.push(p.gold);
        }
      }
    }
    for (const warning of stats.warnings) say(`warning: ${warning}`);
    if (stats.emptySkipped > 0) say(`warning: ${stats.emptySkipped} empty document${stats.emptySkipped === 1 ? '' : 's'} skipped (no prediction printed for ${stats.emptySkipped === 1 ? 'it' : 'them'})`);
    if (gold.length === 0) return;
    const evaluation = evaluate(ensemble.labels, predicted, gold);
    if (gold.length < total) say(`scored the ${gold.length} of ${total} documents that have a gold label`);
    if (flags.json) process.stdout.write(JSON.stringify({ evaluation }) + '\n');
    else process.stderr.write(formatEvaluation(evaluation));
  } finally {
    ensemble.dispose();
  }
}

function textLine(labels: readonly string[], p: Prediction, k: number | undefined): string {
  if (k === undefined) return `${p.label}\t${p.probability.toFixed(4)}\n`;
  return topK(labels, p.probabilities, k).map((t) => `${t.label}\t${t.probability.toFixed(4)}`).join('\t') + '\n';
}

function jsonLine(labels: readonly string[], p: Prediction, k: number | undefined): string {
  const probabilities = Object.fromEntries(labels.map((label, c) => [label, p.probabilities[c]!]));
  return JSON.stringify({
    index: p.index,
    origin: p.origin,
    label: p.label,
    probability: p.probability,
    probabilities,
    ...(k !== undefined ? { top_k: topK(labels, p.probabilities, k) } : {}),
    ...(p.gold !== undefined ? { gold: p.gold } : {}),
  }) + '\n';
}

/** The evaluation report: summary, per-class table and confusion matrix (rows gold, columns predicted). */
export function formatEvaluation(e: Evaluation): string {
  const width = Math.max(9, ...e.labels.map((l) => l.length));
  const lines = [`accuracy ${e.accuracy.toFixed(4)}  macro-F1 ${e.f1Macro.toFixed(4)}  (${e.count} documents)`, ''];
  lines.push(`${'class'.padEnd(width)} ${'precision'.padStart(9)} ${'recall'.padStart(9)} ${'f1'.padStart(9)} ${'support'.padStart(9)}`);
  for (const c of e.perClass) {
    lines.push(`${c.label.padEnd(width)} ${c.precision.toFixed(4).padStart(9)} ${c.recall.toFixed(4).padStart(9)} ${c.f1.toFixed(4).padStart(9)} ${String(c.support).padStart(9)}`);
  }
  lines.push('', 'confusion matrix (rows: gold, columns: predicted)');
  const cell = Math.max(6, ...e.labels.map((l) => l.length), ...e.confusion.flat().map((n) => String(n).length));
  lines.push(`${''.padEnd(width)} ${e.labels.map((l) => l.padStart(cell)).join(' ')}`);
  e.confusion.forEach((row, g) => lines.push(`${e.labels[g]!.padEnd(width)} ${row.map((n) => String(n).padStart(cell)).join(' ')}`));
  return lines.join('\n') + '\n';
}
