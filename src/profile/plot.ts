/**
 * SVG plots of measured points against fitted curves (@observablehq/plot rendered into a linkedom
 * document, so no browser is needed).
 */
import type { ServerlessProfile } from '../model/profile.ts';
import type { SummaryPoint } from './build.ts';
import { expLatency } from './fit.ts';
import { badField } from '../model/errors.ts';

interface Row {
  x: number;
  ms: number;
  series: string;
  stat: string;
}

async function render(
  measured: Row[],
  fitted: Row[],
  xLabel: string,
  title: string,
  facetByStat: boolean,
): Promise<string> {
  const Plot = await import('@observablehq/plot');
  const { parseHTML } = await import('linkedom');
  const { document } = parseHTML('<!DOCTYPE html><html><body></body></html>');
  const fx = facetByStat ? 'stat' : undefined;
  const node = Plot.plot({
    document: document as unknown as Document,
    width: facetByStat ? 960 : 640,
    height: 420,
    marginLeft: 60,
    marginRight: 40,
    style: { background: 'white', fontSize: '12px' },
    x: { label: xLabel, grid: true },
    y: { label: 'latency (ms)', grid: true, zero: true },
    color: { legend: false, type: 'ordinal', scheme: 'tableau10' },
    fx: facetByStat ? { label: null } : undefined,
    marks: [
      Plot.line(fitted, { x: 'x', y: 'ms', stroke: 'series', fx, strokeWidth: 1.5 }),
      Plot.dot(measured, { x: 'x', y: 'ms', stroke: 'series', fx, r: 3.5, symbol: 'circle' }),
      Plot.text(
        fitted.filter(
          (r, i) =>
            i === fitted.length - 1 || fitted[i + 1]!.series !== r.series || fitted[i + 1]!.stat !== r.stat,
        ),
        { x: 'x', y: 'ms', text: 'series', fill: 'series', fx, dx: 6, textAnchor: 'start' },
      ),
    ],
    caption: title,
  }) as unknown as Element;
  const svg = node.tagName.toLowerCase() === 'svg' ? node : node.querySelector('svg')!;
  if (!svg.getAttribute('xmlns')) svg.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  // The caption lives outside the <svg> in a <figure>; keep it as the SVG's <title>.
  const t = document.createElement('title');
  t.textContent = title;
  svg.insertBefore(t as unknown as Node, svg.firstChild);
  return svg.outerHTML;
}

/** Measured avg/max latency per (vCPU, batch) as dots, the fitted exponential per batch as lines. */
export async function plotCpuFit(
  points: readonly SummaryPoint[],
  profile: ServerlessProfile,
  title?: string,
): Promise<string> {
  const cpu = profile.cpu;
  if (!cpu) throw badField('E_PROFILE_INVALID', 'profile.cpu', undefined, 'a CPU plot needs a cpu section');
  const withVcpu = points.filter((p) => p.vcpu !== undefined);
  const measured: Row[] = withVcpu.flatMap((p) => [
    { x: p.vcpu!, ms: p.avg * 1000, series: `b=${p.batch}`, stat: 'average' },
    { x: p.vcpu!, ms: p.max * 1000, series: `b=${p.batch}`, stat: 'maximum' },
  ]);
  const lo = Math.min(...withVcpu.map((p) => p.vcpu!));
  const hi = Math.max(...withVcpu.map((p) => p.vcpu!));
  const fitted: Row[] = [];
  for (const [stat, coefs] of [
    ['average', cpu.avg],
    ['maximum', cpu.max],
  ] as const) {
    coefs.forEach((coef, i) => {
      for (let k = 0; k <= 60; k++) {
        const c = lo + ((hi - lo) * k) / 60;
        fitted.push({ x: c, ms: expLatency(coef, c) * 1000, series: `b=${i + 1}`, stat });
      }
    });
  }
  return render(
    measured,
    fitted,
    'vCPU',
    title ?? `${profile.name}: measured (dots) vs fitted α·exp(−c/β)+γ (lines)`,
    true,
  );
}

/** Latency against batch size: measured dots per series, with an optional fitted line per series. */
export async function plotBatchCurve(
  series: ReadonlyArray<{
    name: string;
    points: ReadonlyArray<{ batch: number; avg: number }>;
    line?: { slope: number; intercept: number };
  }>,
  title: string,
): Promise<string> {
  const measured: Row[] = [];
  const fitted: Row[] = [];
  for (const s of series) {
    for (const p of s.points)
      measured.push({ x: p.batch, ms: p.avg * 1000, series: s.name, stat: 'average' });
    const bs = s.points.map((p) => p.batch);
    const lo = Math.min(...bs);
    const hi = Math.max(...bs);
    if (s.line) {
      for (const b of [lo, hi])
        fitted.push({
          x: b,
          ms: (s.line.slope * b + s.line.intercept) * 1000,
          series: s.name,
          stat: 'average',
        });
    } else {
      for (const p of [...s.points].sort((a, b) => a.batch - b.batch)) {
        fitted.push({ x: p.batch, ms: p.avg * 1000, series: s.name, stat: 'average' });
      }
    }
  }
  return render(measured, fitted, 'batch size', title, false);
}
