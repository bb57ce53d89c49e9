import { lineChart, svgDocument } from '../io/svg-chart.js';

/** The lr finder's loss curve as SVG (log-scale lr axis, the valley marked), like fastai's plot. */
export function lossCurveSvg(lrs: readonly number[], losses: readonly number[], suggested?: number): string {
  const width = 640;
  const height = 400;
  const chart = lineChart({
    series: [
      { name: 'smoothed loss', points: lrs.map((lr, i) => [lr, losses[i]!] as const), color: 'steelblue' },
    ],
    xLabel: 'learning rate (log scale)',
    yLabel: 'smoothed loss',
    logX: true,
    markers:
      suggested !== undefined && suggested > 0
        ? [{ x: suggested, label: `valley ${suggested.toExponential(1)}`, color: 'red' }]
        : [],
    width,
    height,
  });
  return svgDocument(width, height, [chart]);
}
