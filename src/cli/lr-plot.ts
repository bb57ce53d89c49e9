/** A dependency-free SVG of the lr finder's loss curve (log-scale lr axis), like fastai's plot. */
export function lossCurveSvg(lrs: readonly number[], losses: readonly number[], suggested?: number): string {
  const width = 640;
  const height = 400;
  const pad = 50;
  const points = lrs.map((lr, i) => [Math.log10(lr), losses[i]!] as const).filter(([, loss]) => Number.isFinite(loss));
  if (points.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text x="20" y="40">no finite losses</text></svg>\n`;
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number): number => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (y: number): number => height - pad - ((y - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  const path = points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
  const ticks: string[] = [];
  for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) {
    ticks.push(`<line x1="${sx(e)}" y1="${height - pad}" x2="${sx(e)}" y2="${height - pad + 5}" stroke="black"/><text x="${sx(e)}" y="${height - pad + 20}" font-size="12" text-anchor="middle">1e${e}</text>`);
  }
  const marker = suggested !== undefined && suggested > 0
    ? `<line x1="${sx(Math.log10(suggested))}" y1="${pad}" x2="${sx(Math.log10(suggested))}" y2="${height - pad}" stroke="red" stroke-dasharray="4"/><text x="${sx(Math.log10(suggested)) + 4}" y="${pad + 12}" font-size="12" fill="red">valley ${suggested.toExponential(1)}</text>`
    : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="black"/>`,
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="black"/>`,
    ...ticks,
    `<text x="${width / 2}" y="${height - 10}" font-size="13" text-anchor="middle">learning rate (log scale)</text>`,
    `<text x="15" y="${height / 2}" font-size="13" transform="rotate(-90 15 ${height / 2})" text-anchor="middle">smoothed loss</text>`,
    `<text x="${pad - 5}" y="${sy(y1) + 4}" font-size="11" text-anchor="end">${y1.toFixed(2)}</text>`,
    `<text x="${pad - 5}" y="${sy(y0) + 4}" font-size="11" text-anchor="end">${y0.toFixed(2)}</text>`,
    `<path d="${path}" fill="none" stroke="steelblue" stroke-width="2"/>`,
    marker,
    '</svg>',
    '',
  ].join('\n');
}
