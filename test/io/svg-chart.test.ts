import { describe, expect, it } from 'vitest';
import { lineChart, svgDocument } from '../../src/io/svg-chart.js';

describe('lineChart', () => {
  it('draws one path per series with finite points, a legend for several, markers and escaped text', () => {
    const chart = lineChart({
      series: [
        {
          name: 'train',
          points: [
            [1, 2],
            [2, 1.5],
            [3, Number.NaN],
          ],
          color: 'steelblue',
          dots: true,
        },
        {
          name: 'valid <b>',
          points: [
            [1, 2.2],
            [2, 1.9],
          ],
          color: 'darkorange',
        },
      ],
      xLabel: 'epoch',
      yLabel: 'loss & more',
      integerX: true,
      markers: [{ x: 1.5, label: 'stage 2', color: 'gray' }],
    });
    expect(chart.match(/<path /g)).toHaveLength(2);
    expect(chart.match(/<circle /g)).toHaveLength(2); // the NaN point is left out
    expect(chart).toContain('valid &lt;b&gt;');
    expect(chart).toContain('loss &amp; more');
    expect(chart).toContain('stage 2');
    expect(chart).toMatch(/>2\.20</); // the y range's top label
    expect(chart).not.toContain('NaN');
  });

  it('log-scale x gets ticks at powers of ten; one series has no legend; nothing finite says so', () => {
    const chart = lineChart({
      series: [
        {
          name: 'loss',
          points: [
            [1e-5, 3],
            [1e-3, 2],
            [1e-1, 4],
          ],
          color: 'blue',
        },
      ],
      xLabel: 'lr',
      yLabel: 'loss',
      logX: true,
    });
    expect(chart).toContain('>1e-5<');
    expect(chart).toContain('>1e-1<');
    expect(chart).not.toContain('>loss</text>\n<line'); // no legend entry
    expect(
      lineChart({
        series: [{ name: 'x', points: [[1, Number.NaN]], color: 'red' }],
        xLabel: 'a',
        yLabel: 'b',
      }),
    ).toContain('no finite values');
  });

  it('svgDocument wraps panels in one file on white', () => {
    const svg = svgDocument(100, 50, ['<g></g>', '<g></g>']);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="100" height="50"/);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<g>/g)).toHaveLength(2);
  });
});
