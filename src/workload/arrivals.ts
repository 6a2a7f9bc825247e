/**
 * Workloads: arrival processes and query sizes.
 *
 * All processes are built on one piecewise-constant-rate Poisson stream (`SegmentedPoisson`):
 * - `poissonArrivals`: constant per-app rates (superposed Poisson streams; each arrival belongs to
 *   app i with probability r_i / Σr).
 * - `traceArrivals`: per-minute request counts (rate = count / 60 within each minute, Poisson
 *   inside the minute), as the HarmonyBatch experiment replays its traces (design §8.2).
 * - `mmppArrivals`: a Markov-modulated Poisson process (bursty): the rate switches between states
 *   after exponentially distributed sojourns.
 * Gaps are exponential by default. `gaps: 'integer-ms'` reproduces the Kairos prototype, which draws
 * each gap in whole ms as Poisson(mean = 1000 / rate) (kairos design §3.4, §7.7): smoother than a
 * Poisson process, so it overstates allowable throughput.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { HetserveError } from '../model/errors.ts';
import type { QuerySizeDistribution } from './query-sizes.ts';
import { DiscreteSampler, Rng } from './rng.ts';

/**
 * A stream of arrivals read one at a time (cursor style, no object per arrival): `time` is the
 * pending arrival's time (+Infinity once exhausted), `app` its application index, `size` its query
 * size (1 where sizes do not matter); `advance()` moves to the next arrival.
 */
export interface ArrivalStream {
  readonly time: number;
  readonly app: number;
  readonly size: number;
  advance(): void;
}

export type GapMode = 'exponential' | 'integer-ms';

/** A time segment with constant per-app rates (req/s) ending at `end` (seconds). */
export interface RateSegment {
  end: number;
  rates: readonly number[];
}

/** Draws a query size (e.g. Kairos batch size); called once per arrival. */
export type SizeSampler = (rng: Rng) => number;

export interface StreamOptions {
  /** Gap distribution (default 'exponential'). */
  gaps?: GapMode;
  /** Query sizes; default every query has size 1. */
  sizes?: SizeSampler;
  /** Stop after this many arrivals (default unlimited). */
  maxArrivals?: number;
}

/** Poisson arrivals with piecewise-constant rates; segments are pulled lazily from `nextSegment`. */
export class SegmentedPoisson implements ArrivalStream {
  time = 0;
  app = 0;
  size = 1;
  /** Arrivals produced so far (including the pending one). */
  count = 0;
  private segEnd = 0;
  private total = 0;
  private cum: Float64Array = new Float64Array(0);
  private readonly integerGaps: boolean;
  private readonly maxArrivals: number;

  constructor(
    private readonly nextSegment: () => RateSegment | null,
    private readonly rng: Rng,
    private readonly opts: StreamOptions = {},
    start = 0,
  ) {
    this.integerGaps = opts.gaps === 'integer-ms';
    this.maxArrivals = opts.maxArrivals ?? Infinity;
    this.time = start;
    this.segEnd = start;
    this.advance();
  }

  advance(): void {
    if (this.count >= this.maxArrivals) {
      this.time = Infinity;
      return;
    }
    let t = this.time;
    for (;;) {
      if (t >= this.segEnd || this.total <= 0) {
        if (!this.loadSegment()) {
          this.time = Infinity;
          return;
        }
        t = Math.max(t, this.segStart);
        if (this.total <= 0) {
          t = this.segEnd;
          continue;
        }
      }
      const gap = this.integerGaps
        ? this.rng.poisson(1000 / this.total) / 1000
        : this.rng.exponential(this.total);
      // Memorylessness makes restarting at a segment boundary exact for exponential gaps.
      if (t + gap >= this.segEnd) {
        t = this.segEnd;
        continue;
      }
      t += gap;
      break;
    }
    this.time = t;
    const cum = this.cum;
    if (cum.length === 1) this.app = 0;
    else {
      const u = this.rng.next() * this.total;
      let i = 0;
      while (i < cum.length - 1 && u >= cum[i]) i++;
      this.app = i;
    }
    this.size = this.opts.sizes ? this.opts.sizes(this.rng) : 1;
    this.count++;
  }

  private segStart = 0;

  private loadSegment(): boolean {
    const seg = this.nextSegment();
    if (seg === null) return false;
    this.segStart = this.segEnd;
    this.segEnd = seg.end;
    const cum = new Float64Array(seg.rates.length);
    let s = 0;
    for (let i = 0; i < seg.rates.length; i++) {
      s += seg.rates[i];
      cum[i] = s;
    }
    this.cum = cum;
    this.total = s;
    return true;
  }
}

/** Constant per-app rates (req/s) from `start` until `end` seconds (default: forever). */
export function poissonArrivals(
  rates: readonly number[],
  rng: Rng,
  opts: StreamOptions & { start?: number; end?: number } = {},
): SegmentedPoisson {
  let done = false;
  const end = opts.end ?? Infinity;
  return new SegmentedPoisson(
    () => {
      if (done) return null;
      done = true;
      return { end, rates };
    },
    rng,
    opts,
    opts.start ?? 0,
  );
}

/**
 * Per-minute traces: `counts[app][minute]` requests in each minute of `segmentS` seconds (default 60),
 * replayed from minute `from` (default 0) for `minutes` minutes (default all).
 */
export function traceArrivals(
  counts: readonly (readonly number[])[],
  rng: Rng,
  opts: StreamOptions & { segmentS?: number; from?: number; minutes?: number } = {},
): SegmentedPoisson {
  const seg = opts.segmentS ?? 60;
  const from = opts.from ?? 0;
  const len = Math.max(0, ...counts.map((c) => c.length));
  const last = Math.min(len, from + (opts.minutes ?? len));
  let k = from;
  return new SegmentedPoisson(
    () => {
      if (k >= last) return null;
      const rates = counts.map((c) => (c[k] ?? 0) / seg);
      k++;
      return { end: (k - from) * seg, rates };
    },
    rng,
    opts,
    0,
  );
}

export interface MmppState {
  /** Per-app rates (req/s) while in this state. */
  rates: readonly number[];
  /** Mean time spent in this state before switching, seconds. */
  meanSojournS: number;
}

/**
 * Markov-modulated Poisson process. From each state the process jumps to one of the other states
 * chosen uniformly at random after an exponential sojourn with the state's mean; starts in state 0.
 * A two-state MMPP with a short high-rate state is the usual bursty workload.
 */
export function mmppArrivals(
  states: readonly MmppState[],
  rng: Rng,
  opts: StreamOptions & { end?: number } = {},
): SegmentedPoisson {
  if (states.length === 0)
    throw new HetserveError('E_INVALID_INPUT', 'mmpp: needs at least one state', {
      field: 'states',
      value: states,
    });
  states.forEach((s, i) => {
    if (!(s.meanSojournS > 0))
      throw new HetserveError(
        'E_INVALID_INPUT',
        `mmpp.states[${i}].meanSojournS: must be > 0 (got ${s.meanSojournS})`,
        {
          field: `states[${i}].meanSojournS`,
          value: s.meanSojournS,
        },
      );
  });
  const end = opts.end ?? Infinity;
  // A separate generator for the modulating chain keeps arrivals and state switches independent.
  const chain = new Rng(rng.nextUint32());
  let state = 0;
  let t = 0;
  return new SegmentedPoisson(
    () => {
      if (t >= end) return null;
      const s = states[state];
      t = Math.min(end, t + chain.exponential(1 / s.meanSojournS));
      if (states.length > 1) {
        const j = Math.floor(chain.next() * (states.length - 1));
        state = j >= state ? j + 1 : j;
      }
      return { end: t, rates: s.rates };
    },
    rng,
    opts,
    0,
  );
}

// ── traces from files ────────────────────────────────────────────────────────────────────────

function traceError(file: string, line: number, value: unknown, why: string): HetserveError {
  return new HetserveError(
    'E_TRACE_INVALID',
    `trace ${JSON.stringify(file)} line ${line}: ${why} (got ${JSON.stringify(value)})`,
    {
      field: 'trace',
      file,
      line,
      value,
    },
  );
}

/**
 * Parse a per-minute request-count trace. Accepted layouts: counts separated by commas and/or
 * newlines (the bundled app{1..4}.csv are one comma-separated row), or two columns
 * `minute,count` (an optional header line of non-numbers is skipped). Counts must be finite,
 * non-negative numbers; anything else is E_TRACE_INVALID naming the file, line and value.
 */
export function parseTraceCsv(text: string, file = '<trace>'): number[] {
  const lines = text.split(/\r?\n/);
  const rows: { line: number; cells: string[] }[] = [];
  lines.forEach((raw, i) => {
    const s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    rows.push({ line: i + 1, cells: s.split(',').map((c) => c.trim()) });
  });
  if (rows.length === 0) throw traceError(file, 1, '', 'the trace is empty');
  const isNum = (c: string): boolean => c !== '' && Number.isFinite(Number(c));
  if (!rows[0].cells.some(isNum) && rows.length > 1) rows.shift(); // header
  const twoCol = rows.length > 1 && rows.every((r) => r.cells.length === 2);
  const out: number[] = [];
  for (const r of rows) {
    const cells = twoCol ? [r.cells[1]] : r.cells;
    for (let j = 0; j < cells.length; j++) {
      const c = cells[j];
      if (c === '' && !twoCol && j === cells.length - 1 && j > 0) continue; // trailing comma
      const v = Number(c);
      if (c === '' || !Number.isFinite(v))
        throw traceError(file, r.line, c, 'a request count must be a number');
      if (v < 0) throw traceError(file, r.line, v, 'a request count must be >= 0');
      out.push(v);
    }
  }
  if (out.length === 0) throw traceError(file, 1, '', 'the trace has no counts');
  return out;
}

export function readTraceFile(path: string): number[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new HetserveError(
      'E_TRACE_INVALID',
      `trace ${JSON.stringify(path)}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        field: 'trace',
        file: path,
        value: path,
      },
    );
  }
  return parseTraceCsv(text, path);
}

/**
 * Traces for named apps from a directory (or a single file shared by every app). In a directory,
 * `<app>.csv` is used when it exists for every app; otherwise the `*.csv` files are taken in
 * natural order (app1, app2, …, app10) and matched to the apps in the order given.
 */
export function readTraces(path: string, appNames: readonly string[]): number[][] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new HetserveError('E_TRACE_INVALID', `trace ${JSON.stringify(path)}: no such file or directory`, {
      field: 'trace',
      file: path,
      value: path,
    });
  }
  if (!isDir) {
    const t = readTraceFile(path);
    return appNames.map(() => t);
  }
  const files = readdirSync(path)
    .filter((f) => f.toLowerCase().endsWith('.csv'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const byName = new Set(files.map((f) => basename(f, '.csv')));
  if (appNames.every((n) => byName.has(n))) return appNames.map((n) => readTraceFile(join(path, `${n}.csv`)));
  if (files.length < appNames.length)
    throw new HetserveError(
      'E_TRACE_INVALID',
      `trace ${JSON.stringify(path)}: ${files.length} CSV file(s) for ${appNames.length} application(s); name them <app>.csv or give one per app`,
      { field: 'trace', file: path, value: files },
    );
  return appNames.map((_, i) => readTraceFile(join(path, files[i])));
}

// ── query sizes ──────────────────────────────────────────────────────────────────────────────

/**
 * A size sampler over a query-size distribution (the cluster planner's `QuerySizeDistribution`: the
 * DeepRecSys-like mix `deepRecSysSizes()` or a user histogram `sizeDistributionFromHistogram()`),
 * drawn with the simulator's generator by the alias method (O(1) per draw).
 */
export function sizeSampler(d: QuerySizeDistribution): SizeSampler {
  const s = new DiscreteSampler(d.sizes, d.probabilities);
  return (rng) => s.draw(rng);
}
