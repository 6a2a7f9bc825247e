/**
 * Latency table of one model on each instance type, by query size (kairos design §3.2, §7.9, §8).
 *
 * Per (type, size) the table keeps the per-query total latencies (inference + loading, paired by
 * index) with the **single largest sample dropped** (usually the warm-up run), sorted ascending:
 * their mean is the estimate used by the planner and the distributor, the samples themselves are
 * what a simulator draws from. Query sizes are rounded **up** to the profile grid (multiples of 10
 * for the bundled data). Float precision is kept (the prototype rounds to integer ms).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { quantileSorted } from 'simple-statistics';
import { ClusterProfileSchema, type ClusterProfile } from '../model/cluster.ts';
import { badField } from '../model/errors.ts';
import { parseWith } from '../model/validate.ts';

/** Models whose profiled latencies ship in data/kairos. */
export const KAIROS_MODELS = ['rm2', 'dien', 'wnd', 'mtwnd', 'ncf'] as const;
export type KairosModel = (typeof KAIROS_MODELS)[number];

/** Default QoS target (ms, on p99) per bundled model (design §6.5; non-rm2 values are inferred). */
export const DEFAULT_QOS_MS: Readonly<Record<KairosModel, number>> = {
  rm2: 350,
  dien: 35,
  wnd: 25,
  mtwnd: 25,
  ncf: 5,
};

const DATA_DIR = new URL('../../data/kairos/', import.meta.url);

/** Read the bundled latency profile of a Kairos model (gzip JSON). Unknown name: E_UNKNOWN_MODEL. */
export function loadBundledClusterProfile(model: string): ClusterProfile {
  if (!(KAIROS_MODELS as readonly string[]).includes(model)) {
    throw badField('E_UNKNOWN_MODEL', 'model', model, `bundled models are ${KAIROS_MODELS.join(', ')}`, {
      hint: 'or pass a cluster profile JSON file (schema: hetserve schema cluster-profile)',
    });
  }
  const raw = gunzipSync(readFileSync(new URL(`${model}.json.gz`, DATA_DIR))).toString('utf8');
  // Shipped data, validated against ClusterProfileSchema by test/plan/cluster/bundled-data.test.ts: validating
  // ~10⁵ samples again at every start cost a cold `hetserve allocate` a third of its time.
  return JSON.parse(raw) as ClusterProfile;
}

/** Validate a user cluster profile (E_PROFILE_INVALID naming the field). */
export function parseClusterProfile(input: unknown, source = 'profile'): ClusterProfile {
  return parseWith(ClusterProfileSchema, input, 'E_PROFILE_INVALID', source);
}

export interface LatencyTableOptions {
  /** Drop the single largest sample of each (type, size) before any statistic. Default `true` (design §7.9). Ignored for `meanMs` profiles. */
  dropLargest?: boolean;
}

const bundledCache = new Map<string, LatencyTable>();

/** Immutable latency table; see the module comment for the exact estimator. */
export class LatencyTable {
  readonly model: string;
  readonly types: readonly string[];
  /** Profiled sizes, ascending. */
  readonly batchSizes: readonly number[];
  private readonly samples: Map<string, Float64Array[]>;
  private readonly means: Map<string, Float64Array>;

  private constructor(model: string, batchSizes: number[], samples: Map<string, Float64Array[]>) {
    this.model = model;
    this.batchSizes = batchSizes;
    this.samples = samples;
    this.types = [...samples.keys()];
    this.means = new Map();
    for (const [t, rows] of samples) {
      this.means.set(
        t,
        Float64Array.from(rows, (r) => r.reduce((s, x) => s + x, 0) / r.length),
      );
    }
  }

  /**
   * Build from a (validated) profile. Each type needs one row per batch size: `inferMs` (+ optional
   * `loadMs`, added element-wise), `totalMs`, or `meanMs` (a single value per size, no dropping).
   * Missing or ragged rows throw E_PROFILE_INVALID naming `instances.<type>.<field>[i]`.
   */
  static fromProfile(profile: ClusterProfile, opts: LatencyTableOptions = {}): LatencyTable {
    const dropLargest = opts.dropLargest ?? true;
    const sizes = profile.batchSizes;
    for (let i = 1; i < sizes.length; i++) {
      if (sizes[i] <= sizes[i - 1]) {
        throw badField(
          'E_PROFILE_INVALID',
          `batchSizes[${i}]`,
          sizes[i],
          'batch sizes must be strictly ascending',
        );
      }
    }
    const out = new Map<string, Float64Array[]>();
    const types = Object.keys(profile.instances);
    if (types.length === 0) throw badField('E_PROFILE_INVALID', 'instances', {}, 'no instance types');
    for (const t of types) {
      const p = profile.instances[t];
      const rows: Float64Array[] = [];
      const key = p.totalMs ? 'totalMs' : p.inferMs ? 'inferMs' : 'meanMs';
      const n = (p.totalMs ?? p.inferMs ?? p.meanMs ?? []).length;
      if (n !== sizes.length) {
        throw badField(
          'E_PROFILE_INVALID',
          `instances.${t}.${key}`,
          n,
          `needs one entry per batch size (${sizes.length})`,
          {
            hint: 'every type must cover every size in batchSizes',
          },
        );
      }
      for (let i = 0; i < sizes.length; i++) {
        let row: number[];
        if (p.totalMs) row = p.totalMs[i];
        else if (p.inferMs) {
          const inf = p.inferMs[i];
          const load = p.loadMs?.[i];
          if (p.loadMs && (!load || load.length !== inf.length)) {
            throw badField(
              'E_PROFILE_INVALID',
              `instances.${t}.loadMs[${i}]`,
              load?.length ?? null,
              `needs ${inf.length} samples like inferMs[${i}]`,
            );
          }
          row = load ? inf.map((x, j) => x + load[j]) : inf;
        } else row = [p.meanMs![i]];
        if (row.length === 0) {
          throw badField(
            'E_PROFILE_INVALID',
            `instances.${t}.${key}[${i}]`,
            row,
            `no samples for batch size ${sizes[i]}`,
          );
        }
        const sorted = Float64Array.from(row).sort();
        // Dropping the maximum needs at least two samples to leave one.
        rows.push(
          dropLargest && key !== 'meanMs' && sorted.length > 1
            ? sorted.subarray(0, sorted.length - 1)
            : sorted,
        );
      }
      out.set(t, rows);
    }
    return new LatencyTable(profile.model, [...sizes], out);
  }

  /** Bundled model by name (see KAIROS_MODELS); built once per process (tables are immutable). */
  static bundled(model: string, opts: LatencyTableOptions = {}): LatencyTable {
    const key = `${model}:${opts.dropLargest ?? true}`;
    let t = bundledCache.get(key);
    if (!t) bundledCache.set(key, (t = LatencyTable.fromProfile(loadBundledClusterProfile(model), opts)));
    return t;
  }

  has(type: string): boolean {
    return this.samples.has(type);
  }

  /** Largest profiled size. */
  get maxSize(): number {
    return this.batchSizes[this.batchSizes.length - 1];
  }

  /** Index of the smallest profiled size ≥ `size` (sizes are rounded up). Throws above the largest size. */
  sizeIndex(size: number): number {
    const bs = this.batchSizes;
    let lo = 0;
    let hi = bs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (bs[mid] >= size) hi = mid;
      else lo = mid + 1;
    }
    if (lo === bs.length || !(size > 0)) {
      throw badField(
        'E_INVALID_INPUT',
        'size',
        size,
        `query size must be in (0, ${this.maxSize}] for ${this.model}`,
      );
    }
    return lo;
  }

  /** The profiled size a query of `size` is served at (rounded up to the grid). */
  gridSize(size: number): number {
    return this.batchSizes[this.sizeIndex(size)];
  }

  private rows(type: string): Float64Array[] {
    const r = this.samples.get(type);
    if (!r) {
      throw badField(
        'E_UNKNOWN_INSTANCE_TYPE',
        'type',
        type,
        `not in the ${this.model} profile (has ${this.types.join(', ')})`,
      );
    }
    return r;
  }

  /** Mean latency (ms) of a query of `size` on `type`: the planner's and distributor's estimate. */
  meanMs(type: string, size: number): number {
    const m = this.means.get(type);
    if (!m) this.rows(type);
    return m![this.sizeIndex(size)];
  }

  /** Mean latencies of `type` for every profiled size (index-aligned with `batchSizes`). Do not mutate. */
  meanRow(type: string): Float64Array {
    this.rows(type);
    return this.means.get(type)!;
  }

  /** The retained samples (ms, ascending) of `type` at `size`. Do not mutate. */
  samplesMs(type: string, size: number): Float64Array {
    return this.rows(type)[this.sizeIndex(size)];
  }

  /** Quantile `p` in [0, 1] of the retained samples (simple-statistics `quantileSorted`). */
  quantileMs(type: string, size: number, p: number): number {
    return quantileSorted(Array.from(this.samplesMs(type, size)), p);
  }

  /** Median of the retained samples. */
  medianMs(type: string, size: number): number {
    return this.quantileMs(type, size, 0.5);
  }

  /** One random latency draw (ms) of `type` at `size`, uniform over the retained samples. */
  drawMs(type: string, size: number, random: () => number): number {
    const s = this.samplesMs(type, size);
    return s[Math.min(s.length - 1, Math.floor(random() * s.length))];
  }
}
