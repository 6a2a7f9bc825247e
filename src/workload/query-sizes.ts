/**
 * Query-size (batch-size) distributions for cluster mode (kairos design §6.3).
 *
 * A distribution is a list of sizes on the profile grid (10, 20, …, 1000) with exact probabilities,
 * so every planner quantity is an exact expectation rather than a sampled estimate. The simulator
 * draws sizes from the same object with a seeded sampler.
 */
import { seededRandom } from '../model/random.ts';
export { seededRandom };
import { errorFunction } from 'simple-statistics';
import { badField } from '../model/errors.ts';

export interface QuerySizeDistribution {
  /** Sizes in ascending order, each a positive integer (multiples of `step` after `roundUpSize`). */
  readonly sizes: readonly number[];
  /** Probability of each size; same length as `sizes`, sums to 1. */
  readonly probabilities: readonly number[];
}

/** Round a query size up to the next multiple of `step` (the profile grid), as the prototype does. */
export function roundUpSize(size: number, step = 10): number {
  return Math.ceil(size / step) * step;
}

/**
 * The DeepRecSys-like mix of the Kairos prototype (design §6.3), evaluated exactly.
 *
 * Choices the design leaves open (they move results very little):
 * - the three uniform branches draw **integers**, both endpoints included: [1, 99], [200, 599], [600, 999];
 * - the lognormal branch (μ = 5.1, σ = 0.2) is **continuous**; a draw outside [100, 200] is replaced by a
 *   uniform integer in [190, 199];
 * - every draw is then rounded up to a multiple of 10, giving sizes 10..1000.
 * Branch weights are 8/99, 22/99, 5/99 and 64/99 (r = randint(1, 100) takes 99 values).
 * Resulting shares: 8.08 % ≤ 100, 64.70 % in (100, 200], 27.22 % above 200; mean ≈ 243.6.
 */
export function deepRecSysSizes(): QuerySizeDistribution {
  const mass = new Map<number, number>();
  const add = (size: number, p: number): void => {
    const s = roundUpSize(size);
    mass.set(s, (mass.get(s) ?? 0) + p);
  };
  const uniformInts = (lo: number, hi: number, weight: number): void => {
    const n = hi - lo + 1;
    for (let x = lo; x <= hi; x++) add(x, weight / n);
  };
  uniformInts(1, 99, 8 / 99);
  uniformInts(200, 599, 22 / 99);
  uniformInts(600, 999, 5 / 99);
  const logn = 64 / 99;
  const cdf = (x: number): number => 0.5 * (1 + errorFunction((Math.log(x) - 5.1) / (0.2 * Math.SQRT2)));
  const inside = cdf(200) - cdf(100);
  // A continuous value in (s-10, s] rounds up to s; the point mass at exactly 100 has probability 0.
  for (let s = 110; s <= 200; s += 10) add(s, logn * (cdf(s) - cdf(s - 10)));
  for (let x = 190; x <= 199; x++) add(x, (logn * (1 - inside)) / 10);
  return normalise([...mass.entries()]);
}

function normalise(entries: [number, number][]): QuerySizeDistribution {
  entries.sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, p]) => s + p, 0);
  return { sizes: entries.map(([s]) => s), probabilities: entries.map(([, p]) => p / total) };
}

/**
 * Build a distribution from a user histogram. Accepted shapes:
 * - `{ "sizes": [10, 20, …], "weights": [3, 5, …] }` (`probabilities` or `counts` also accepted as the
 *   name of the second array), or
 * - `{ "10": 3, "20": 5, … }` (size → weight).
 * Weights need not sum to 1; sizes are rounded up to multiples of `step` and merged.
 * Bad input throws E_INVALID_INPUT naming `field` and the offending value.
 */
export function sizeDistributionFromHistogram(
  input: unknown,
  field = 'sizes',
  step = 10,
): QuerySizeDistribution {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw badField('E_INVALID_INPUT', field, input, 'expected an object {sizes, weights} or {size: weight}');
  }
  const obj = input as Record<string, unknown>;
  let pairs: [unknown, unknown][];
  if (Array.isArray(obj['sizes'])) {
    const wKey = ['weights', 'probabilities', 'counts'].find((k) => Array.isArray(obj[k]));
    if (!wKey) throw badField('E_INVALID_INPUT', `${field}.weights`, undefined, 'missing weights array');
    const sizes = obj['sizes'] as unknown[];
    const weights = obj[wKey] as unknown[];
    if (sizes.length !== weights.length) {
      throw badField(
        'E_INVALID_INPUT',
        `${field}.${wKey}`,
        weights.length,
        `must have ${sizes.length} entries`,
      );
    }
    pairs = sizes.map((s, i) => [s, weights[i]]);
  } else {
    pairs = Object.entries(obj).map(([k, v]) => [Number(k), v]);
  }
  const mass = new Map<number, number>();
  for (const [s, w] of pairs) {
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) {
      throw badField('E_INVALID_INPUT', `${field}.sizes`, s, 'sizes must be positive numbers');
    }
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw badField('E_INVALID_INPUT', `${field}.weights[${s}]`, w, 'weights must be non-negative numbers');
    }
    const r = roundUpSize(s, step);
    mass.set(r, (mass.get(r) ?? 0) + w);
  }
  const entries = [...mass.entries()].filter(([, w]) => w > 0);
  if (entries.length === 0)
    throw badField('E_INVALID_INPUT', field, input, 'histogram has no positive weight');
  return normalise(entries);
}

/** Mean query size of a distribution. */
export function meanSize(d: QuerySizeDistribution): number {
  return d.sizes.reduce((s, x, i) => s + x * d.probabilities[i], 0);
}

/**
 * Seeded sampler of a distribution by inverse CDF (binary search over cumulative probabilities).
 * `random` defaults to `seededRandom(seed)`; pass your own uniform source to share one stream.
 */
export function createSizeSampler(
  d: QuerySizeDistribution,
  seed = 1,
  random: () => number = seededRandom(seed),
): () => number {
  const cum = new Float64Array(d.sizes.length);
  let acc = 0;
  for (let i = 0; i < cum.length; i++) cum[i] = acc += d.probabilities[i];
  cum[cum.length - 1] = Infinity; // guard against rounding: every draw lands somewhere
  return () => {
    const u = random();
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return d.sizes[lo];
  };
}
