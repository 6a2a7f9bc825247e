/**
 * A small, seeded Bayesian optimiser: Gaussian-process surrogate (squared-exponential / RBF kernel)
 * with expected-improvement acquisition. It exists for the MBS baseline (harmonybatch design §7),
 * which provisions each group with "5 random initial points + 10 iterations" of Bayesian
 * optimisation. No maintained TypeScript BO library with a seedable generator was found, so this
 * one is kept deliberately small; linear algebra (Cholesky) comes from ml-matrix, the generator
 * from pure-rand, the normal CDF from simple-statistics.
 *
 * It MAXIMISES `objective` over a box. Runs are deterministic for a given seed.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { errorFunction } from 'simple-statistics';

export interface BayesOptOptions {
  /** Random points evaluated before the surrogate is used. Default 5 (bayes_opt's default). */
  initPoints?: number;
  /** Surrogate-guided evaluations after the random ones. Default 10. */
  iterations?: number;
  /** Seed of the xoroshiro128+ generator; the same seed gives the same run. Default 1. */
  seed?: number;
  /**
   * Random candidates scored by expected improvement per iteration; the best is evaluated next.
   * Default 1000.
   */
  candidates?: number;
  /** Exploration margin ξ of expected improvement, in standardised objective units. Default 0.01. */
  xi?: number;
  /** Observation noise variance added to the kernel diagonal (standardised units). Default 1e-6. */
  noise?: number;
  /**
   * RBF length scales tried (inputs scaled to [0, 1] per dimension); the one with the highest log
   * marginal likelihood is used at each iteration. Default [0.05, 0.1, 0.2, 0.35, 0.5, 1].
   */
  lengthScales?: readonly number[];
  /**
   * Maps a proposed point to the point actually evaluated (e.g. rounding onto a grid). Default:
   * identity. The GP is fitted on the mapped points.
   */
  project?: (x: number[]) => number[];
  /**
   * A finite search space (e.g. every grid point). When given, initial points are drawn from it
   * without replacement and the acquisition is maximised exactly over its not-yet-evaluated points
   * instead of over `candidates` random points; `bounds` then only scale the inputs. Default: none
   * (continuous box).
   */
  domain?: ReadonlyArray<readonly number[]>;
}

export interface BayesOptSample {
  x: number[];
  /** Objective value; −Infinity (or any non-finite value) marks an infeasible point. */
  y: number;
}

export interface BayesOptResult {
  /**
   * Best sample seen (the first one on ties). When every sample was infeasible it is the first
   * sample, with y = −Infinity.
   */
  best: BayesOptSample;
  /** Every evaluation, in order. */
  history: BayesOptSample[];
}

const DEFAULT_LENGTH_SCALES = [0.05, 0.1, 0.2, 0.35, 0.5, 1] as const;

/** Standard normal CDF and density. */
function normCdf(z: number): number {
  return 0.5 * (1 + errorFunction(z / Math.SQRT2));
}
function normPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

function positiveInt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min)
    throw new RangeError(`bayesOpt: ${name} must be an integer ≥ ${min} (got ${v})`);
  return v;
}

/** A fitted GP posterior over points in the unit box, on standardised y. */
interface Posterior {
  predict(u: number[]): { mean: number; sd: number };
  logLik: number;
}

function sqDist(a: number[], b: number[]): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) {
    const d = a[k] - b[k];
    s += d * d;
  }
  return s;
}

function fitGp(us: number[][], ys: number[], ell: number, noise: number): Posterior | undefined {
  const n = us.length;
  const k = new Matrix(n, n);
  const inv2l2 = 1 / (2 * ell * ell);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = Math.exp(-sqDist(us[i], us[j]) * inv2l2) + (i === j ? noise : 0);
      k.set(i, j, v);
      k.set(j, i, v);
    }
  }
  const chol = new CholeskyDecomposition(k);
  if (!chol.isPositiveDefinite()) return undefined;
  const alpha = chol.solve(Matrix.columnVector(ys));
  const l = chol.lowerTriangularMatrix;
  let logDet = 0;
  for (let i = 0; i < n; i++) logDet += 2 * Math.log(l.get(i, i));
  let yAy = 0;
  for (let i = 0; i < n; i++) yAy += ys[i] * alpha.get(i, 0);
  const logLik = -0.5 * yAy - 0.5 * logDet;
  // Dense copies for the hot prediction loop (thousands of candidates per iteration).
  const lower = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) lower[i * n + j] = l.get(i, j);
  const a = Float64Array.from({ length: n }, (_, i) => alpha.get(i, 0));
  const kv = new Float64Array(n);
  const v = new Float64Array(n);
  return {
    logLik,
    predict(u) {
      let mean = 0;
      for (let i = 0; i < n; i++) {
        kv[i] = Math.exp(-sqDist(u, us[i]) * inv2l2);
        mean += kv[i] * a[i];
      }
      // Posterior variance 1 + noise − |L⁻¹k|², by forward substitution.
      let q = 0;
      for (let i = 0; i < n; i++) {
        let t = kv[i];
        for (let j = 0; j < i; j++) t -= lower[i * n + j] * v[j];
        v[i] = t / lower[i * n + i];
        q += v[i] * v[i];
      }
      return { mean, sd: Math.sqrt(Math.max(1 + noise - q, 1e-12)) };
    },
  };
}

/**
 * Maximise `objective` over the box `bounds` ([lo, hi] per dimension). Non-finite objective values
 * are infeasible: they never become the best sample, and for the surrogate they are replaced by the
 * worst finite value seen minus the spread of the finite values (so the GP learns to avoid them
 * without a −1e9 outlier flattening everything else).
 */
export function bayesOpt(
  objective: (x: number[]) => number,
  bounds: ReadonlyArray<readonly [number, number]>,
  options: BayesOptOptions = {},
): BayesOptResult {
  const initPoints = positiveInt('initPoints', options.initPoints ?? 5, 1);
  const iterations = positiveInt('iterations', options.iterations ?? 10, 0);
  const candidates = positiveInt('candidates', options.candidates ?? 1000, 1);
  const seed = options.seed ?? 1;
  const xi = options.xi ?? 0.01;
  const noise = options.noise ?? 1e-6;
  const lengthScales = options.lengthScales ?? DEFAULT_LENGTH_SCALES;
  const project = options.project ?? ((x: number[]) => x);
  if (bounds.length === 0) throw new RangeError('bayesOpt: bounds must have at least one dimension');
  for (const [lo, hi] of bounds) {
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi)) {
      throw new RangeError(`bayesOpt: bad bound [${lo}, ${hi}]`);
    }
  }
  const rng = xoroshiro128plus(seed);
  const randomPoint = () => bounds.map(([lo, hi]) => lo + uniformFloat64(rng) * (hi - lo));
  const toUnit = (x: number[]) =>
    x.map((v, d) => (bounds[d][1] > bounds[d][0] ? (v - bounds[d][0]) / (bounds[d][1] - bounds[d][0]) : 0));

  const domain = options.domain;
  if (domain && domain.length === 0) throw new RangeError('bayesOpt: domain must not be empty');
  // Unsampled domain indices; drawing one swaps it to the end (O(1) without replacement).
  const pool = domain ? Array.from(domain.keys()) : [];
  // Sampled flags and unit-box coordinates of the domain, computed once (the acquisition scans them all).
  const used = domain ? new Uint8Array(domain.length) : undefined;
  const domainUnits = domain?.map((x) => toUnit(project([...x])));
  const drawDomain = (): number[] => {
    const i = Math.floor(uniformFloat64(rng) * pool.length);
    const idx = pool[i];
    pool[i] = pool[pool.length - 1];
    pool.pop();
    used![idx] = 1;
    return [...domain![idx]];
  };
  const takeDomain = (idx: number): number[] => {
    used![idx] = 1;
    const i = pool.indexOf(idx);
    if (i >= 0) {
      pool[i] = pool[pool.length - 1];
      pool.pop();
    }
    return [...domain![idx]];
  };
  const history: BayesOptSample[] = [];
  let best: BayesOptSample = { x: project(bounds.map(([lo]) => lo)), y: -Infinity };
  const evaluate = (raw: number[]) => {
    const x = project(raw);
    const y = objective(x);
    const sample = { x, y: Number.isFinite(y) ? y : -Infinity };
    history.push(sample);
    // The first sample stands in until a feasible one appears (as bayes_opt's max() does).
    if (sample.y > best.y || history.length === 1) best = sample;
  };

  const nextRandom = () => (domain ? (pool.length > 0 ? drawDomain() : undefined) : randomPoint());
  for (let i = 0; i < initPoints; i++) {
    const x = nextRandom();
    if (!x) break;
    evaluate(x);
  }

  for (let it = 0; it < iterations; it++) {
    const finite = history.filter((s) => Number.isFinite(s.y)).map((s) => s.y);
    let next: number[] | undefined;
    if (finite.length > 0) {
      const lo = Math.min(...finite);
      const hi = Math.max(...finite);
      const spread = hi - lo || Math.abs(hi) || 1;
      const raw = history.map((s) => (Number.isFinite(s.y) ? s.y : lo - spread));
      const mu = raw.reduce((a, b) => a + b, 0) / raw.length;
      const sd = Math.sqrt(raw.reduce((a, b) => a + (b - mu) ** 2, 0) / raw.length) || 1;
      const ys = raw.map((v) => (v - mu) / sd);
      const us = history.map((s) => toUnit(s.x));
      let post: Posterior | undefined;
      for (const ell of lengthScales) {
        const p = fitGp(us, ys, ell, noise);
        if (p && (!post || p.logLik > post.logLik)) post = p;
      }
      if (post) {
        const target = (hi - mu) / sd + xi;
        const ei = (x: number[]) => {
          const { mean, sd: s } = post!.predict(toUnit(project(x)));
          const z = (mean - target) / s;
          return (mean - target) * normCdf(z) + s * normPdf(z);
        };
        let bestEi = -Infinity;
        if (domain) {
          let bestIdx = -1;
          const units = domainUnits!;
          // Ascending index order, so ties go to the first domain point: deterministic.
          for (let idx = 0; idx < units.length; idx++) {
            if (used![idx]) continue;
            const { mean, sd: s } = post.predict(units[idx]);
            const z = (mean - target) / s;
            const v = (mean - target) * normCdf(z) + s * normPdf(z);
            if (v > bestEi) {
              bestEi = v;
              bestIdx = idx;
            }
          }
          if (bestIdx >= 0) next = takeDomain(bestIdx);
        } else {
          for (let c = 0; c < candidates; c++) {
            const x = randomPoint();
            const v = ei(x);
            if (v > bestEi) {
              bestEi = v;
              next = x;
            }
          }
        }
      }
    }
    // Nothing feasible yet, or the surrogate could not be fitted: keep exploring at random.
    const x = next ?? nextRandom();
    if (!x) break; // a finite domain is exhausted
    evaluate(x);
  }
  return { best, history };
}
