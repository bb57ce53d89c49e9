/** What `ulmfit classify` prints: plain and JSON rows, the evaluation report. */
import { basename, dirname, join, sep } from 'node:path';
import { RUN_LAYOUT } from '../io/artifact.js';
import { ENSEMBLE_CHOICE_FILE } from '../io/ensemble-choice.js';
import { topK, type EmptyRow, type Evaluation, type Prediction } from '../infer/classify.js';
import type { ClassifyEvaluationLine, ClassifyRowOutput } from './json-output.js';

/** The label column of an empty document's row (plain output). */
export const EMPTY_LABEL = '(empty)';

/** What a resolved run directory's model is, for the stderr line. */
export const RESOLVED_WHY: Record<string, string> = {
  'model-best': ' (model-best: the epoch with the best validation score)',
  'model-last': ' (model-last: the last epoch; the run has no model-best)',
  baseline:
    ' (the NB-SVM baseline trained on the same split, averaged in; <run>/model-best alone leaves it out)',
};

/**
 * The stderr line's list of what a `--model` resolved to: each directory with what it is; a run's
 * further networks (`<run>/networks/<k>/…` beside the run's own model-best/) are listed together,
 * said once; a run that resolved to its baseline alone (its ensemble.json chose it) says why.
 */
export function resolvedModels(dirs: readonly string[]): string {
  if (dirs.length === 1 && basename(dirs[0]!) === RUN_LAYOUT.baseline)
    return `${dirs[0]!} (the NB-SVM baseline alone: train-classifier found it clearly better than with the networks on held-out documents, ${join(dirname(dirs[0]!), ENSEMBLE_CHOICE_FILE)}; <run>/model-best for the first network)`;
  const networksDir = dirs.length > 0 ? join(dirname(dirs[0]!), RUN_LAYOUT.networks) + sep : undefined;
  const isNetwork = (dir: string, i: number): boolean =>
    i > 0 && networksDir !== undefined && dir.startsWith(networksDir);
  const networks = dirs.filter(isNetwork);
  return dirs
    .map((dir, i) => {
      if (!isNetwork(dir, i)) return dir + (RESOLVED_WHY[basename(dir)] ?? '');
      if (dir !== networks[networks.length - 1]) return dir;
      const others = networks.length === 1 ? 'other network' : `${networks.length} other networks`;
      return `${dir} (the run's ${others}, each trained on its own seed; the run's ${networks.length + 1} networks weigh as one)`;
    })
    .join(' + ');
}

export function textLine(
  labels: readonly string[],
  p: Prediction | EmptyRow,
  flags: { topK?: number | undefined; withIds?: boolean | undefined },
): string {
  const id = flags.withIds ? `${p.id ?? p.origin}\t` : '';
  if ('empty' in p) return `${id}${EMPTY_LABEL}\t-\n`;
  if (flags.topK === undefined) return `${id}${p.label}\t${p.probability.toFixed(4)}\n`;
  return (
    id +
    topK(labels, p.probabilities, flags.topK)
      .map((t) => `${t.label}\t${t.probability.toFixed(4)}`)
      .join('\t') +
    '\n'
  );
}

export function jsonLine(labels: readonly string[], p: Prediction | EmptyRow, k: number | undefined): string {
  const where = { index: p.index, ...(p.id !== undefined ? { id: p.id } : {}), origin: p.origin };
  const gold = p.gold !== undefined ? { gold: p.gold } : {};
  const row: ClassifyRowOutput =
    'empty' in p
      ? { ...where, empty: true, label: null, probability: null, probabilities: null, ...gold }
      : {
          ...where,
          label: p.label,
          probability: p.probability,
          probabilities: Object.fromEntries(labels.map((label, c) => [label, p.probabilities[c]!])),
          ...(k !== undefined ? { top_k: topK(labels, p.probabilities, k) } : {}),
          ...gold,
        };
  return JSON.stringify(row) + '\n';
}

/** The evaluation with the output convention's snake_case keys. */
export function evaluationOutput(e: Evaluation): ClassifyEvaluationLine['evaluation'] {
  return {
    count: e.count,
    accuracy: e.accuracy,
    f1_macro: e.f1Macro,
    per_class: e.perClass,
    confusion: e.confusion,
    labels: e.labels,
  };
}

/** The evaluation report: summary, per-class table and confusion matrix (rows gold, columns predicted). */
export function formatEvaluation(e: Evaluation): string {
  const width = Math.max(9, ...e.labels.map((l) => l.length));
  const lines = [
    `accuracy ${e.accuracy.toFixed(4)}  macro-F1 ${e.f1Macro.toFixed(4)}  (${e.count} documents)`,
    '',
  ];
  lines.push(
    `${'class'.padEnd(width)} ${'precision'.padStart(9)} ${'recall'.padStart(9)} ${'f1'.padStart(9)} ${'support'.padStart(9)}`,
  );
  for (const c of e.perClass) {
    lines.push(
      `${c.label.padEnd(width)} ${c.precision.toFixed(4).padStart(9)} ${c.recall.toFixed(4).padStart(9)} ${c.f1.toFixed(4).padStart(9)} ${String(c.support).padStart(9)}`,
    );
  }
  lines.push('', 'confusion matrix (rows: gold, columns: predicted)');
  const cell = Math.max(
    6,
    ...e.labels.map((l) => l.length),
    ...e.confusion.flat().map((n) => String(n).length),
  );
  lines.push(`${''.padEnd(width)} ${e.labels.map((l) => l.padStart(cell)).join(' ')}`);
  e.confusion.forEach((row, g) =>
    lines.push(`${e.labels[g]!.padEnd(width)} ${row.map((n) => String(n).padStart(cell)).join(' ')}`),
  );
  return lines.join('\n') + '\n';
}
