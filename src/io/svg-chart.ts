/**
 * A small dependency-free SVG line chart: the lr finder's loss curve (cli/lr-plot.ts) and a run's
 * training curves (tasks/training-plot.ts) are both drawn with it. One chart is a `<g>` panel, so a
 * file can hold several side by side (`svgDocument`). Points that are not finite are left out.
 */

export interface ChartSeries {
  /** Shown in the legend (a chart with one series has none). */
  name: string;
  /** [x, y] pairs, in drawing order. */
  points: readonly (readonly [number, number])[];
  color: string;
  /** A dot at every point: for short series (a few epochs) where a line alone hides the data. */
  dots?: boolean | undefined;
}

/** A vertical line across the plot (the lr finder's valley, a stage boundary). */
export interface ChartMarker {
  x: number;
  label?: string | undefined;
  color: string;
}

export interface LineChartOptions {
  series: readonly ChartSeries[];
  xLabel: string;
  yLabel: string;
  title?: string | undefined;
  /** x values are drawn on a log10 axis with ticks at powers of ten (learning rates). */
  logX?: boolean | undefined;
  /** Ticks at whole numbers (epochs). */
  integerX?: boolean | undefined;
  markers?: readonly ChartMarker[] | undefined;
  /** Decimals of the y-axis labels (default 2). */
  yDigits?: number | undefined;
  /** Panel size and its top-left corner in the document. */
  width?: number | undefined;
  height?: number | undefined;
  left?: number | undefined;
  top?: number | undefined;
}

const PAD = 50;

/** The chart as an SVG `<g>` element, placed at (left, top). */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const toX = (x: number): number => (options.logX ? Math.log10(x) : x);
  const series = options.series.map((s) => ({
    ...s,
    drawn: s.points
      .map(([x, y]) => [toX(x), y] as const)
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)),
  }));
  const all = series.flatMap((s) => s.drawn);
  const parts: string[] = [`<g transform="translate(${options.left ?? 0},${options.top ?? 0})">`];
  if (options.title)
    parts.push(
      `<text x="${width / 2}" y="${PAD / 2}" font-size="14" text-anchor="middle">${escapeXml(options.title)}</text>`,
    );
  if (all.length === 0) {
    parts.push(`<text x="${PAD}" y="${height / 2}" font-size="13">no finite values to plot</text>`, '</g>');
    return parts.join('\n');
  }
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number): number => PAD + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * PAD);
  const sy = (y: number): number => height - PAD - ((y - y0) / (y1 - y0 || 1)) * (height - 2 * PAD);
  const n = (v: number): string => v.toFixed(1);
  parts.push(
    `<line x1="${PAD}" y1="${height - PAD}" x2="${width - PAD}" y2="${height - PAD}" stroke="black"/>`,
    `<line x1="${PAD}" y1="${PAD}" x2="${PAD}" y2="${height - PAD}" stroke="black"/>`,
  );
  for (const [tick, label] of xTicks(x0, x1, options)) {
    parts.push(
      `<line x1="${n(sx(tick))}" y1="${height - PAD}" x2="${n(sx(tick))}" y2="${height - PAD + 5}" stroke="black"/>` +
        `<text x="${n(sx(tick))}" y="${height - PAD + 20}" font-size="12" text-anchor="middle">${label}</text>`,
    );
  }
  const digits = options.yDigits ?? 2;
  parts.push(
    `<text x="${width / 2}" y="${height - 10}" font-size="13" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text x="15" y="${height / 2}" font-size="13" transform="rotate(-90 15 ${height / 2})" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
    `<text x="${PAD - 5}" y="${n(sy(y1) + 4)}" font-size="11" text-anchor="end">${y1.toFixed(digits)}</text>`,
    `<text x="${PAD - 5}" y="${n(sy(y0) + 4)}" font-size="11" text-anchor="end">${y0.toFixed(digits)}</text>`,
  );
  for (const s of series) {
    if (s.drawn.length === 0) continue;
    const path = s.drawn.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${n(sx(x))},${n(sy(y))}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    if (s.dots)
      for (const [x, y] of s.drawn)
        parts.push(`<circle cx="${n(sx(x))}" cy="${n(sy(y))}" r="3" fill="${s.color}"/>`);
  }
  for (const marker of options.markers ?? []) {
    const x = toX(marker.x);
    if (!Number.isFinite(x) || x < x0 || x > x1) continue;
    parts.push(
      `<line x1="${n(sx(x))}" y1="${PAD}" x2="${n(sx(x))}" y2="${height - PAD}" stroke="${marker.color}" stroke-dasharray="4"/>`,
    );
    if (marker.label)
      parts.push(
        `<text x="${n(sx(x) + 4)}" y="${PAD + 12}" font-size="12" fill="${marker.color}">${escapeXml(marker.label)}</text>`,
      );
  }
  const named = series.filter((s) => s.drawn.length > 0);
  if (named.length > 1) {
    named.forEach((s, i) => {
      const y = PAD + 4 + i * 16;
      parts.push(
        `<line x1="${width - PAD - 110}" y1="${y}" x2="${width - PAD - 90}" y2="${y}" stroke="${s.color}" stroke-width="2"/>` +
          `<text x="${width - PAD - 85}" y="${y + 4}" font-size="12">${escapeXml(s.name)}</text>`,
      );
    });
  }
  parts.push('</g>');
  return parts.join('\n');
}

/** A whole SVG file holding `panels` (from `lineChart`) on a white background. */
export function svgDocument(width: number, height: number, panels: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}

/** Tick positions (in drawn coordinates) and labels: powers of ten, whole numbers, or the ends. */
function xTicks(x0: number, x1: number, options: LineChartOptions): [number, string][] {
  const ticks: [number, string][] = [];
  if (options.logX) {
    for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) ticks.push([e, `1e${e}`]);
  } else if (options.integerX) {
    // At most ~12 labels, so a 100-epoch run stays legible.
    const step = Math.max(1, Math.ceil((Math.floor(x1) - Math.ceil(x0) + 1) / 12));
    for (let x = Math.ceil(x0); x <= Math.floor(x1); x += step) ticks.push([x, String(x)]);
  } else {
    ticks.push([x0, String(Number(x0.toPrecision(3)))], [x1, String(Number(x1.toPrecision(3)))]);
  }
  return ticks;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
