/**
 * Latency table of one model on each instance type, by query size (kairos design §3.2, §7.9, §8).
 *
 * Per (type, size) the table keeps the per-query total latencies (inference + loading, paired by
 * index) with the **single largest sample dropped** (usually the warm-up run), sorted ascending:
 * their mean is the estimate used by the planner and the distributor, the samples themselves are
 * what a simulator draws from. Query sizes are rounded **up** to the profile grid (multiples of 10
 * for the bundled data). Float precision is kept (the prototype rounds to integer ms).
 */
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { quantileSorted } from 'simple-statistics';
import type { ClusterProfile } from '../model/cluster.ts';
import { clusterSchemas } from '../model/cluster-schema.ts';
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
/**
 * Binary copies of the bundled tables (default options), written by the build into dist/cache/
 * (`LatencyTable.writeBundledCaches`): reading one is a file read, where the gzip JSON costs a cold
 * `hetserve allocate` a gunzip, a parse of ~0.6 MB and the sorting (a fifth of its run). Each
 * records the size and gzip trailer (CRC-32) of the data file it was made from and is ignored when
 * they differ; from the sources (src/cache/ does not exist) the JSON is always read.
 */
const CACHE_DIR = new URL('../cache/', import.meta.url);

interface TableCacheHeader {
  model: string;
  batchSizes: number[];
  types: string[];
  /** Row lengths per type, per size. */
  lengths: number[][];
  source: { size: number; trailer: string };
  /** Format 2: the per-size means of each type follow the samples (computed by the build). */
  format: 2;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * What identifies a bundled data file's content: its size and its gzip trailer (the CRC-32 and
 * length of the JSON), which survive the fixed mtimes npm gives unpacked files.
 */
function dataFileStamp(model: string): { size: number; trailer: string } {
  const fd = openSync(new URL(`${model}.json.gz`, DATA_DIR), 'r');
  try {
    const size = fstatSync(fd).size;
    const trailer = Buffer.alloc(8);
    readSync(fd, trailer, 0, 8, Math.max(0, size - 8));
    return { size, trailer: trailer.toString('hex') };
  } finally {
    closeSync(fd);
  }
}

/** Read the bundled latency profile of a Kairos model (gzip JSON). Unknown name: E_UNKNOWN_MODEL. */
export function loadBundledClusterProfile(model: string): ClusterProfile {
  if (!(KAIROS_MODELS as readonly string[]).includes(model)) {
    throw badField('E_UNKNOWN_MODEL', 'model', model, `bundled models are ${KAIROS_MODELS.join(', ')}`, {
      hint: 'or pass a cluster profile JSON file (schema: hetserve schema cluster-profile)',
    });
  }
  // zlib loaded here only: a start that reads the binary copy (see CACHE_DIR) never needs it.
  const { gunzipSync } = createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib');
  const raw = gunzipSync(readFileSync(new URL(`${model}.json.gz`, DATA_DIR))).toString('utf8');
  // Shipped data, validated against ClusterProfileSchema by test/plan/cluster/bundled-data.test.ts: validating
  // ~10⁵ samples again at every start cost a cold `hetserve allocate` a third of its time.
  return JSON.parse(raw) as ClusterProfile;
}

/** Validate a user cluster profile (E_PROFILE_INVALID naming the field). */
export function parseClusterProfile(input: unknown, source = 'profile'): ClusterProfile {
  return parseWith(clusterSchemas().ClusterProfileSchema, input, 'E_PROFILE_INVALID', source);
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

  /** `means`: the per-size means of each type, when already known (the binary copies carry them). */
  private constructor(
    model: string,
    batchSizes: number[],
    samples: Map<string, Float64Array[]>,
    means?: Map<string, Float64Array>,
  ) {
    this.model = model;
    this.batchSizes = batchSizes;
    this.samples = samples;
    this.types = [...samples.keys()];
    this.means = means ?? new Map();
    if (means) return;
    // A plain loop, in index order as a reduce would add (tables from a profile; the binary copies
    // carry the means).
    for (const [t, rows] of samples) {
      const m = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        let sum = 0;
        for (let k = 0; k < r.length; k++) sum += r[k];
        m[i] = sum / r.length;
      }
      this.means.set(t, m);
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
    if (!t) {
      const cached = (opts.dropLargest ?? true) ? LatencyTable.fromCache(model) : undefined;
      t = cached ?? LatencyTable.fromProfile(loadBundledClusterProfile(model), opts);
      bundledCache.set(key, t);
    }
    return t;
  }

  /**
   * The bundled table of `model` (default options) from its binary copy in `dir`, or undefined when
   * there is none, it is damaged, or the data file changed since it was written.
   */
  static fromCache(model: string, dir: URL = CACHE_DIR): LatencyTable | undefined {
    if (!LITTLE_ENDIAN) return undefined; // the copies are written little-endian
    let buf: Buffer;
    try {
      buf = readFileSync(new URL(`kairos-${model}.bin`, dir));
    } catch {
      return undefined;
    }
    try {
      const headerLength = buf.readUInt32LE(0);
      const h = JSON.parse(buf.toString('utf8', 4, 4 + headerLength)) as TableCacheHeader;
      const stamp = dataFileStamp(model);
      if (
        h.format !== 2 ||
        h.model !== model ||
        h.source.size !== stamp.size ||
        h.source.trailer !== stamp.trailer
      ) {
        return undefined;
      }
      const start = (4 + headerLength + 7) & ~7;
      // A copy: the file's bytes need not sit 8-byte aligned in the Buffer's memory.
      const data = new Float64Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
      const samples = new Map<string, Float64Array[]>();
      let at = 0;
      h.types.forEach((type, i) => {
        samples.set(
          type,
          h.lengths[i].map((n) => data.subarray(at, (at += n))),
        );
      });
      // Summing ~10⁵ samples took ~5 ms of a cold start, in code the JIT has not compiled yet.
      const means = new Map<string, Float64Array>();
      for (const type of h.types) means.set(type, data.subarray(at, (at += h.batchSizes.length)));
      return at === data.length ? new LatencyTable(model, h.batchSizes, samples, means) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Write the binary copies of the bundled tables into `dir` (the build; see `fromCache`). */
  static writeBundledCaches(dir: URL = CACHE_DIR): void {
    mkdirSync(dir, { recursive: true });
    for (const model of KAIROS_MODELS) {
      const source = dataFileStamp(model);
      const t = LatencyTable.fromProfile(loadBundledClusterProfile(model));
      const rows = t.types.map((type) => t.samples.get(type)!);
      const header: TableCacheHeader = {
        model,
        batchSizes: [...t.batchSizes],
        types: [...t.types],
        lengths: rows.map((r) => r.map((x) => x.length)),
        source,
        format: 2,
      };
      const head = Buffer.from(JSON.stringify(header), 'utf8');
      const start = (4 + head.length + 7) & ~7;
      // The samples, then each type's means (as this table computed them: the same bits).
      const values = [...rows.flat(), ...t.types.map((type) => t.meanRow(type))];
      const out = Buffer.alloc(start + 8 * values.reduce((n, r) => n + r.length, 0));
      out.writeUInt32LE(head.length, 0);
      head.copy(out, 4);
      let at = start;
      for (const r of values) {
        for (const x of r) {
          out.writeDoubleLE(x, at);
          at += 8;
        }
      }
      // Renamed into place: a CLI starting meanwhile reads the old copy or none.
      const file = new URL(`kairos-${model}.bin`, dir);
      const tmp = new URL(`kairos-${model}.bin.${process.pid}`, dir);
      writeFileSync(tmp, out);
      renameSync(tmp, file);
    }
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
    // quantileSorted only reads `length` and indices: no copy into an array (the planner asks for
    // every row at each start).
    return quantileSorted(this.samplesMs(type, size) as unknown as number[], p);
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
