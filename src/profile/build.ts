/**
 * Turn sweep measurements into the profile files the planners read, with a fit-error table:
 * - serverless CPU (harmonybatch §4.1): exponential avg/max curves per batch size 1..max;
 * - serverless GPU (§4.2): the whole-GPU line ξ1·b + ξ2;
 * - cluster (kairos §4.2/§8): a per-size latency table per instance type, in ms.
 */
import { ClusterProfileSchema, type ClusterProfile } from '../model/cluster.ts';
import { ServerlessProfileSchema, type ServerlessProfile } from '../model/profile.ts';
import { parseWith } from '../model/validate.ts';
import { HetserveError } from '../model/errors.ts';
import {
  expLatency,
  fitError,
  fitExponential,
  fitLinear,
  MIN_EXP_POINTS,
  type ExpCoef,
  type FitError,
  type Point,
} from './fit.ts';
import type { Measurement, SweepResult } from './measure.ts';
import { dropLargest, summarise } from './stats.ts';
import { cpuSampleSets, gpuSampleSets } from './samples.ts';
import { mean } from 'simple-statistics';

/** The percentile used as "maximum latency" unless told otherwise (harmonybatch §4.1). */
export const DEFAULT_PERCENTILE = 99;

/** One row of the fit-error table. */
export interface FitRow extends FitError {
  section: 'cpu' | 'gpu';
  stat: 'avg' | 'max';
  /** Batch size (cpu rows) or undefined for the single GPU line. */
  batch?: number;
  /** Fitted coefficients: [α, β, γ] for cpu, [ξ1, ξ2] for gpu. */
  coef: number[];
  /** True when the batch size was not measured and its points were interpolated between neighbours. */
  interpolated: boolean;
}

/** Summary points per statistic, as used by the fits and the plot. */
export interface SummaryPoint {
  vcpu?: number;
  batch: number;
  avg: number;
  max: number;
}

export function summaryPoints(measurements: readonly Measurement[], percentile: number): SummaryPoint[] {
  return measurements
    .filter((m) => m.samples.length > 0)
    .map((m) => {
      const s = summarise(m.samples, percentile);
      return { ...(m.vcpu !== undefined ? { vcpu: m.vcpu } : {}), batch: m.batch, avg: s.avg, max: s.max };
    });
}

function noPoints(what: string): HetserveError {
  return new HetserveError('E_TOO_FEW_POINTS', `${what}: the sweep produced no usable measurements`, {
    field: 'measurements',
    value: 0,
    needed: 1,
    hint: 'check that the model runs (or the endpoint answers) at these batch sizes; raise --runs',
  });
}

export interface CpuProfileOptions {
  /** Profile name. Default: the sweep's name. */
  name?: string;
  /** Percentile taken as maximum latency, in (0, 100]. Default 99. */
  percentile?: number;
  /**
   * Largest batch size the profile covers (1..maxBatch, index b−1). Unmeasured sizes inside the
   * measured range are fitted on latencies interpolated linearly in b between the nearest measured
   * sizes. Default: the largest measured batch size.
   */
  maxBatch?: number;
  /**
   * Write the measured latencies into the profile's `samples` (one set per measured vCPU × batch,
   * see samples.ts#compactLatencies), for the simulator to draw from. Default true.
   */
  samples?: boolean;
  /** Most samples kept per configuration. Default 200. */
  maxSamples?: number;
}

/** Latency points (x = vCPU) for batch b, interpolating between measured neighbours if needed. */
function cpuPointsFor(
  byBatch: Map<number, SummaryPoint[]>,
  b: number,
  stat: 'avg' | 'max',
): { points: Point[]; interpolated: boolean } {
  const exact = byBatch.get(b);
  if (exact) return { points: exact.map((p) => ({ x: p.vcpu!, y: p[stat] })), interpolated: false };
  const sizes = [...byBatch.keys()].sort((x, y) => x - y);
  const lo = sizes.filter((s) => s < b).pop();
  const hi = sizes.find((s) => s > b);
  if (lo === undefined || hi === undefined) return { points: [], interpolated: true };
  const w = (b - lo) / (hi - lo);
  const hiByVcpu = new Map(byBatch.get(hi)!.map((p) => [p.vcpu!, p[stat]]));
  const points: Point[] = [];
  for (const p of byBatch.get(lo)!) {
    const yh = hiByVcpu.get(p.vcpu!);
    if (yh !== undefined) points.push({ x: p.vcpu!, y: (1 - w) * p[stat] + w * yh });
  }
  return { points, interpolated: true };
}

/**
 * Fit the serverless CPU section from a (vCPU × batch) sweep. Needs batch 1 measured and at least 3
 * distinct vCPU values per batch size (E_TOO_FEW_POINTS otherwise, saying how many are needed).
 */
export function buildCpuProfile(
  sweep: SweepResult,
  opts: CpuProfileOptions = {},
): { profile: ServerlessProfile; fits: FitRow[] } {
  const percentile = opts.percentile ?? DEFAULT_PERCENTILE;
  const pts = summaryPoints(sweep.measurements, percentile).filter((p) => p.vcpu !== undefined);
  if (pts.length === 0) throw noPoints(sweep.name);
  const byBatch = new Map<number, SummaryPoint[]>();
  for (const p of pts) byBatch.set(p.batch, [...(byBatch.get(p.batch) ?? []), p]);
  if (!byBatch.has(1)) {
    throw new HetserveError(
      'E_TOO_FEW_POINTS',
      `batch: the CPU profile starts at batch size 1, which was not measured`,
      {
        field: 'batch',
        value: [...byBatch.keys()],
        needed: 1,
        hint: 'include 1 in --batch, e.g. --batch 1,2,3,4',
      },
    );
  }
  const maxMeasured = Math.max(...byBatch.keys());
  const maxBatch = opts.maxBatch ?? maxMeasured;
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1 && maxBatch <= maxMeasured)) {
    throw new HetserveError(
      'E_INVALID_OPTION',
      `max-batch: must be an integer in 1..${maxMeasured} (got ${maxBatch})`,
      {
        field: 'maxBatch',
        value: maxBatch,
      },
    );
  }
  const vcpus = pts.map((p) => p.vcpu!);
  const avg: ExpCoef[] = [];
  const max: ExpCoef[] = [];
  const fits: FitRow[] = [];
  for (let b = 1; b <= maxBatch; b++) {
    for (const stat of ['avg', 'max'] as const) {
      const { points, interpolated } = cpuPointsFor(byBatch, b, stat);
      if (new Set(points.map((p) => p.x)).size < MIN_EXP_POINTS && interpolated) {
        throw new HetserveError(
          'E_TOO_FEW_POINTS',
          `cpu.${stat} b=${b}: interpolating between measured batch sizes needs ${MIN_EXP_POINTS} vCPU values measured at both`,
          { field: `cpu.${stat}[${b - 1}]`, value: points.length, needed: MIN_EXP_POINTS },
        );
      }
      const coef = fitExponential(points, { what: `cpu.${stat} b=${b}` });
      (stat === 'avg' ? avg : max).push(coef);
      fits.push({
        section: 'cpu',
        stat,
        batch: b,
        coef,
        interpolated,
        ...fitError(points, (c) => expLatency(coef, c)),
      });
    }
  }
  // Memory: the process's peak RSS grows with the batch; fit RSS(b) = slope·b + intercept.
  const rss = sweep.measurements.filter((m) => m.rssMb !== undefined);
  let memMb: [number, number] = [0, 0];
  if (rss.length > 0) {
    const peakByBatch = new Map<number, number>();
    for (const m of rss) peakByBatch.set(m.batch, Math.max(peakByBatch.get(m.batch) ?? 0, m.rssMb!));
    const memPts = [...peakByBatch].map(([x, y]) => ({ x, y }));
    if (memPts.length >= 2) {
      const { slope, intercept } = fitLinear(memPts, 'memory');
      const s = Math.max(0, slope);
      memMb = [
        round(s, 3),
        round(Math.max(0, intercept, Math.max(...memPts.map((p) => p.y)) - s * maxMeasured), 1),
      ];
    } else {
      memMb = [0, round(memPts[0]!.y, 1)];
    }
  }
  const profile = parseWith(
    ServerlessProfileSchema,
    {
      name: opts.name ?? sweep.name,
      source: sweep.source,
      cpu: { memMb, avg, max, fitRange: [Math.min(...vcpus), Math.max(...vcpus)] },
      ...(opts.samples === false
        ? {}
        : { samples: cpuSampleSets(sweep.measurements, { maxSamples: opts.maxSamples }) }),
    },
    'E_PROFILE_INVALID',
    'profile',
  );
  return { profile, fits };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export interface GpuProfileOptions {
  name?: string;
  percentile?: number;
  /** Host RAM of the GPU function, MB. Default 0 (unknown; set it for real planning). */
  hostMemMb?: number;
  /** Largest batch per GB of GPU memory (design §4.3). Default [] (every batch fits in 1 GB). */
  gpuMemThresholds?: number[];
  /** τ, the unit time slice, s. Default 0.002 (the prototype's value). */
  sliceS?: number;
  /** M_max, GPU memory in GB = slice units. Default 24. */
  sliceUnits?: number;
  /**
   * Write the measured latencies into the profile's `samples` (one whole-GPU set per batch size,
   * see samples.ts#compactLatencies), for the simulator to draw from. Default true.
   */
  samples?: boolean;
  /** Most samples kept per configuration. Default 200. */
  maxSamples?: number;
}

/** Fit the whole-GPU line from a batch sweep measured at the whole GPU (harmonybatch §4.2, §8.3). */
export function buildGpuProfile(
  sweep: SweepResult,
  opts: GpuProfileOptions = {},
): { profile: ServerlessProfile; fits: FitRow[] } {
  const percentile = opts.percentile ?? DEFAULT_PERCENTILE;
  const pts = summaryPoints(sweep.measurements, percentile);
  if (pts.length === 0) throw noPoints(sweep.name);
  const avgPts = pts.map((p) => ({ x: p.batch, y: p.avg }));
  const maxPts = pts.map((p) => ({ x: p.batch, y: p.max }));
  const line = fitLinear(avgPts, 'gpu');
  const maxLine = fitLinear(maxPts, 'gpu');
  const fits: FitRow[] = [
    {
      section: 'gpu',
      stat: 'avg',
      coef: [line.slope, line.intercept],
      interpolated: false,
      ...fitError(avgPts, (b) => line.slope * b + line.intercept),
    },
    {
      section: 'gpu',
      stat: 'max',
      coef: [maxLine.slope, maxLine.intercept],
      interpolated: false,
      // The model has avg ≈ max at the whole GPU (§4.2): score the avg line against the maxima.
      ...fitError(maxPts, (b) => line.slope * b + line.intercept),
    },
  ];
  const profile = parseWith(
    ServerlessProfileSchema,
    {
      name: opts.name ?? sweep.name,
      source: sweep.source,
      gpu: {
        hostMemMb: opts.hostMemMb ?? 0,
        gpuMemThresholds: opts.gpuMemThresholds ?? [],
        xi1: line.slope,
        xi2: line.intercept,
        sliceS: opts.sliceS ?? 0.002,
        sliceUnits: opts.sliceUnits ?? 24,
        gpuShare: 1,
        cpuShare: 0,
      },
      ...(opts.samples === false
        ? {}
        : { samples: gpuSampleSets(sweep.measurements, { maxSamples: opts.maxSamples }) }),
    },
    'E_PROFILE_INVALID',
    'profile',
  );
  return { profile, fits };
}

export interface ClusterProfileOptions {
  /** Model name. Default: the sweep's name. */
  model?: string;
  /**
   * Instance-type name. With a vCPU sweep each vCPU value becomes `${instance}-${vcpu}vcpu`.
   * Default "local".
   */
  instance?: string;
}

/**
 * The per-size latency table of kairos §8: every sample per size (totalMs) and the mean after
 * dropping the single largest (meanMs), in ms. Every instance must cover the same sizes.
 */
export function buildClusterProfile(sweep: SweepResult, opts: ClusterProfileOptions = {}): ClusterProfile {
  const usable = sweep.measurements.filter((m) => m.samples.length > 0);
  if (usable.length === 0) throw noPoints(sweep.name);
  const prefix = opts.instance ?? 'local';
  const sizes = [...new Set(usable.map((m) => m.batch))].sort((a, b) => a - b);
  const groups = new Map<string, Map<number, number[]>>();
  for (const m of usable) {
    const key = m.vcpu === undefined ? prefix : `${prefix}-${m.vcpu}vcpu`;
    const g = groups.get(key) ?? new Map<number, number[]>();
    g.set(m.batch, m.samples);
    groups.set(key, g);
  }
  const instances: ClusterProfile['instances'] = {};
  for (const [key, g] of groups) {
    const missing = sizes.filter((s) => !g.has(s));
    if (missing.length > 0) {
      throw new HetserveError(
        'E_TOO_FEW_POINTS',
        `${key}: no usable measurements at batch sizes ${missing.join(', ')}`,
        {
          field: key,
          value: missing,
        },
      );
    }
    const totalMs = sizes.map((s) => g.get(s)!.map((v) => round(v * 1000, 4)));
    instances[key] = { totalMs, meanMs: totalMs.map((t) => round(mean(dropLargest(t)), 4)) };
  }
  const runs = Math.min(...usable.map((m) => m.samples.length));
  return parseWith(
    ClusterProfileSchema,
    {
      model: opts.model ?? sweep.name,
      unit: 'ms',
      batchSizes: sizes,
      source: sweep.source,
      note: 'meanMs = mean of totalMs after dropping the single largest sample',
      samplesPerBatch: runs,
      instances,
    },
    'E_PROFILE_INVALID',
    'cluster-profile',
  );
}

/** The fit-error table as aligned text (what the CLI prints). */
export function formatFitTable(rows: readonly FitRow[]): string {
  const head = ['section', 'batch', 'stat', 'coefficients', 'MAPE %', 'max err %', 'points'];
  const body = rows.map((r) => [
    r.section,
    r.batch === undefined ? '-' : `${r.batch}${r.interpolated ? '*' : ''}`,
    r.stat,
    r.coef.map((c) => c.toPrecision(4)).join(', '),
    r.mape.toFixed(2),
    r.maxErr.toFixed(2),
    String(r.n),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  if (rows.some((r) => r.interpolated))
    out.push('* batch size not measured: fitted on latencies interpolated in b');
  return out.join('\n');
}
