/**
 * A run's training curves as an SVG file in its run directory (`<run>/training.svg`): train and
 * validation loss per epoch, and validation accuracy per epoch, from metrics.jsonl. Training
 * commands draw it when a run completes; `ulmfit plot <run>` draws it again (or elsewhere).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UlmfitError } from '../errors.js';
import { readMetrics, RUN_LAYOUT } from '../io/artifact.js';
import { writeFileAtomic } from '../io/atomic.js';
import { lineChart, svgDocument, type ChartMarker } from '../io/svg-chart.js';

/** One epoch as the plot reads it from metrics.jsonl. */
export interface PlottedEpoch {
  /** Epochs since the start of the run, from 1. */
  x: number;
  stage: number;
  trainLoss: number | null;
  validLoss: number | null;
  accuracy: number | null;
}

const PANEL_WIDTH = 560;
const PANEL_HEIGHT = 360;

/**
 * The epochs of `<runDir>/metrics.jsonl`. Reads the keys in camelCase (`trainLoss`) or snake_case
 * (`train_loss`), so the plot does not depend on which of the two a version wrote.
 */
export function plottedEpochs(runDir: string): PlottedEpoch[] {
  return readMetrics(runDir).map((row, i) => ({
    x: i + 1,
    stage: numberOr(row['stage'], 0),
    trainLoss: valueOf(row, 'trainLoss', 'train_loss'),
    validLoss: valueOf(row, 'validLoss', 'valid_loss'),
    accuracy: valueOf(row, 'accuracy', 'accuracy'),
  }));
}

/** The SVG of a run's curves: loss on the left, accuracy on the right; dashed lines between stages. */
export function trainingCurvesSvg(epochs: readonly PlottedEpoch[], title = ''): string {
  const markers: ChartMarker[] = [];
  // Stages are counted here, so the labels do not depend on whether metrics.jsonl counts from 0 or 1.
  for (let i = 1; i < epochs.length; i++) {
    if (epochs[i]!.stage !== epochs[i - 1]!.stage)
      markers.push({ x: epochs[i]!.x - 0.5, label: `stage ${markers.length + 2}`, color: 'gray' });
  }
  const points = (pick: (e: PlottedEpoch) => number | null): [number, number][] =>
    epochs.flatMap((e) => {
      const y = pick(e);
      return y === null ? [] : [[e.x, y] as [number, number]];
    });
  const common = {
    xLabel: 'epoch',
    integerX: true,
    markers,
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    top: 20,
  };
  const loss = lineChart({
    ...common,
    title: title ? `${title}: loss` : 'loss',
    yLabel: 'loss',
    series: [
      { name: 'train', points: points((e) => e.trainLoss), color: 'steelblue', dots: true },
      { name: 'valid', points: points((e) => e.validLoss), color: 'darkorange', dots: true },
    ],
  });
  const accuracy = lineChart({
    ...common,
    left: PANEL_WIDTH,
    title: 'validation accuracy',
    yLabel: 'accuracy',
    yDigits: 3,
    series: [{ name: 'valid', points: points((e) => e.accuracy), color: 'darkorange', dots: true }],
  });
  return svgDocument(2 * PANEL_WIDTH, PANEL_HEIGHT + 20, [loss, accuracy]);
}

/**
 * Draws `<runDir>/metrics.jsonl` into `out` (default `<runDir>/training.svg`), written to a
 * temporary name and renamed into place. Returns the path and the number of epochs drawn.
 */
export function writeTrainingPlot(
  runDir: string,
  out = join(runDir, RUN_LAYOUT.plot),
): { path: string; epochs: number } {
  if (!existsSync(join(runDir, RUN_LAYOUT.metrics))) {
    throw new UlmfitError(
      'E_INPUT_MISSING',
      `${runDir} has no ${RUN_LAYOUT.metrics}: not a run directory of pretrain, finetune-lm or train-classifier`,
      'pass the --out directory of a training run',
    );
  }
  const epochs = plottedEpochs(runDir);
  writeFileAtomic(out, trainingCurvesSvg(epochs, runDir));
  return { path: out, epochs: epochs.length };
}

function valueOf(row: Record<string, unknown>, camel: string, snake: string): number | null {
  const value = row[camel] ?? row[snake];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
