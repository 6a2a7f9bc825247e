/**
 * Report helpers: charts drawn with @observablehq/plot server-side (linkedom supplies the DOM),
 * written as SVG and rasterised to PNG with @resvg/resvg-js; Markdown tables.
 *
 * Charts are pure SVG (no HTML legend): series are labelled directly at their last point, which
 * survives rasterisation and reads without a colour key.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Log-scale y axis (default false). */
  logY?: boolean;
  width?: number;
  height?: number;
}

export interface BarChartSpec {
  title: string;
  yLabel: string;
  /** One bar per (group, series) pair. */
  bars: { group: string; series: string; value: number }[];
  width?: number;
  height?: number;
  logY?: boolean;
}

// Plot and linkedom are loaded on first use: the CLI must start fast when no report is asked for.
async function libs(): Promise<{ Plot: typeof import('@observablehq/plot'); document: Document }> {
  const Plot = await import('@observablehq/plot');
  const { parseHTML } = await import('linkedom');
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  return { Plot, document: document as unknown as Document };
}

function finishSvg(node: unknown): string {
  const el = node as {
    outerHTML: string;
    tagName?: string;
    querySelector?: (s: string) => { outerHTML: string } | null;
  };
  const inner = el.tagName?.toLowerCase() === 'svg' ? el : (el.querySelector?.('svg') ?? el);
  let svg = inner.outerHTML;
  if (!svg.includes('xmlns=')) svg = svg.replace('<svg', '<svg xmlns="http://www.w3.org/2000/svg"');
  return svg;
}

// The title is drawn inside the SVG (Plot's own title option wraps the chart in an HTML <figure>).
// With facets it is drawn in the first facet only.
function titleMark(Plot: typeof import('@observablehq/plot'), title: string, firstFacet?: string) {
  const style = {
    frameAnchor: 'top-left',
    dy: -38,
    fontSize: 15,
    fontWeight: 'bold',
    textAnchor: 'start',
  } as const;
  return firstFacet === undefined
    ? Plot.text([title], style)
    : Plot.text([{ fx: firstFacet, t: title }], { ...style, fx: 'fx', text: 't' });
}

const FONT = { fontFamily: 'DejaVu Sans, Arial, sans-serif', fontSize: '12px', background: 'white' } as const;

export async function lineChartSvg(spec: LineChartSpec): Promise<string> {
  const { Plot, document } = await libs();
  const rows = spec.series.flatMap((s) => s.points.map((p) => ({ x: p.x, y: p.y, name: s.name })));
  const node = Plot.plot({
    document,
    width: spec.width ?? 760,
    height: spec.height ?? 340,
    marginRight: 110,
    marginTop: 56,
    style: FONT,
    x: { label: spec.xLabel, grid: true },
    marginLeft: 64,
    y: { label: spec.yLabel, grid: true, type: spec.logY ? 'log' : 'linear', tickFormat: '.3~g' },
    color: { type: 'categorical', scheme: 'tableau10', domain: spec.series.map((s) => s.name) },
    marks: [
      titleMark(Plot, spec.title),
      Plot.lineY(rows, { x: 'x', y: 'y', stroke: 'name', strokeWidth: 1.6 }),
      // A key in the right margin, one line per series (labels at line ends collide when lines overlap).
      ...spec.series.map((sr, i) =>
        Plot.text([sr.name], {
          frameAnchor: 'top-right',
          dx: 104,
          dy: 4 + 16 * i,
          fill: () => sr.name,
          textAnchor: 'end',
          fontSize: 12,
          fontWeight: 'bold',
        }),
      ),
    ],
  });
  return finishSvg(node);
}

export async function barChartSvg(spec: BarChartSpec): Promise<string> {
  const { Plot, document } = await libs();
  const seriesNames = [...new Set(spec.bars.map((b) => b.series))];
  const groups = [...new Set(spec.bars.map((b) => b.group))];
  const node = Plot.plot({
    document,
    width: spec.width ?? 760,
    height: spec.height ?? 360,
    marginBottom: 50,
    marginTop: 56,
    style: FONT,
    fx: { label: null, padding: 0.15, domain: groups },
    x: { axis: null, domain: seriesNames },
    marginLeft: 64,
    y: { label: spec.yLabel, grid: true, type: spec.logY ? 'log' : 'linear', tickFormat: '.3~g' },
    color: { type: 'categorical', scheme: 'tableau10', domain: seriesNames },
    marks: [
      titleMark(Plot, spec.title, groups[0]),
      Plot.barY(spec.bars, { fx: 'group', x: 'series', y: 'value', fill: 'series' }),
      Plot.text(spec.bars, {
        fx: 'group',
        x: 'series',
        y: 'value',
        text: (d: { series: string }) => d.series,
        dy: -6,
        fontSize: 10,
        lineAnchor: 'bottom',
      }),
      ...(spec.logY ? [] : [Plot.ruleY([0])]),
    ],
  });
  return finishSvg(node);
}

/** Write `name.svg` and `name.png` (rasterised at 2× for sharp text) into `dir`; returns the file names. */
export async function writeFigure(
  dir: string,
  name: string,
  svg: string,
): Promise<{ svg: string; png: string }> {
  const { Resvg } = await import('@resvg/resvg-js');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.svg`), svg);
  const png = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  writeFileSync(join(dir, `${name}.png`), png);
  return { svg: `${name}.svg`, png: `${name}.png` };
}

/** A Markdown table; numbers are formatted by `fmt` (default: 4 significant digits). */
export function markdownTable(
  head: string[],
  rows: (string | number)[][],
  fmt: (v: number) => string = sig,
): string {
  const cell = (v: string | number): string => (typeof v === 'number' ? fmt(v) : v);
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** 4 significant digits, exponent form for very small/large numbers. */
export function sig(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e7) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

/** Plain-text table for the terminal (right-aligned numbers). */
export function textTable(
  head: string[],
  rows: (string | number)[][],
  fmt: (v: number) => string = sig,
): string {
  const cells = [head, ...rows.map((r) => r.map((v) => (typeof v === 'number' ? fmt(v) : v)))];
  const widths = head.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? '').length)));
  return cells
    .map((r, i) => {
      const line = r
        .map((c, j) =>
          i > 0 && typeof rows[i - 1][j] === 'number' ? c.padStart(widths[j]) : c.padEnd(widths[j]),
        )
        .join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}
