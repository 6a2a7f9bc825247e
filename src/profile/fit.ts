/**
 * Curve fitting for the latency models the planners read:
 * - CPU functions: L(c) = α·exp(−c/β) + γ per batch size, for average and maximum latency
 *   (harmonybatch design §4.1), fitted by Levenberg–Marquardt (ml-levenberg-marquardt).
 * - GPU functions: L0(b) = ξ1·b + ξ2 at the whole GPU (§4.2), by least squares (simple-statistics).
 * - Fit error tables: MAPE and max |error| per batch size, average and maximum.
 */
import { levenbergMarquardt } from 'ml-levenberg-marquardt';
import { linearRegression } from 'simple-statistics';
import { HetserveError } from '../model/errors.ts';

export type ExpCoef = [alpha: number, beta: number, gamma: number];

/** One (x, latency) measurement; x is vCPU for the CPU model, batch size for the GPU line. */
export interface Point {
  x: number;
  y: number;
}

/** Distinct x values the exponential model needs (3 parameters). */
export const MIN_EXP_POINTS = 3;
/** Distinct batch sizes the linear GPU model needs. */
export const MIN_LINEAR_POINTS = 2;
/** Least constant term γ of a CPU curve, as a share of the smallest measured latency. */
const GAMMA_FLOOR = 1e-3;

/** Evaluate α·exp(−c/β) + γ. */
export function expLatency([alpha, beta, gamma]: readonly number[], c: number): number {
  return alpha! * Math.exp(-c / beta!) + gamma!;
}

function distinctXs(points: readonly Point[]): number[] {
  return [...new Set(points.map((p) => p.x))].sort((a, b) => a - b);
}

function sse(coef: readonly number[], points: readonly Point[]): number {
  let s = 0;
  for (const p of points) {
    // Relative residuals: latencies at small c are larger, and the planners care about % error.
    const r = (expLatency(coef, p.x) - p.y) / p.y;
    s += r * r;
  }
  return s;
}

export interface FitExpOptions {
  /** Name of what is being fitted, for error messages (e.g. "cpu.avg b=2"). Default "points". */
  what?: string;
}

/**
 * Fit L(c) = α·exp(−c/β) + γ to (vCPU, latency) points by Levenberg–Marquardt, started from several
 * β guesses (the problem is not convex in β) and keeping the fit with the least squared relative
 * error. Needs at least 3 distinct vCPU values; throws E_TOO_FEW_POINTS otherwise.
 */
export function fitExponential(points: readonly Point[], opts: FitExpOptions = {}): ExpCoef {
  const what = opts.what ?? 'points';
  const usable = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.y > 0);
  const xs = distinctXs(usable);
  if (xs.length < MIN_EXP_POINTS) {
    throw new HetserveError(
      'E_TOO_FEW_POINTS',
      `${what}: the exponential CPU model needs latencies at ${MIN_EXP_POINTS} or more distinct vCPU values, got ${xs.length}`,
      {
        field: what,
        value: xs,
        needed: MIN_EXP_POINTS,
        hint: 'profile more vCPU values, e.g. --vcpu 0.5,1,1.5,2',
      },
    );
  }
  const ys = usable.map((p) => p.y);
  const yMin = Math.min(...ys);
  const yMax = Math.max(...ys);
  const span = xs[xs.length - 1]! - xs[0]!;
  // LM runs on y scaled to O(1) (absolute residuals); candidates are then ranked by relative error.
  const scale = yMax;
  const data = { x: usable.map((p) => p.x), y: ys.map((y) => y / scale) };
  const model =
    ([a, b, g]: number[]) =>
    (c: number): number =>
      a! * Math.exp(-c / b!) + g!;
  const jacobian =
    ([a, b]: number[]) =>
    (c: number): number[] => {
      const e = Math.exp(-c / b!);
      return [e, (a! * c * e) / (b! * b!), 1];
    };
  // γ ≥ a small positive floor and α ≥ 0 keep L(c) positive and non-increasing at every vCPU, not
  // only on the measured points: an unbounded γ < 0 fits noise and predicts negative latency far out.
  const gammaFloor = GAMMA_FLOOR * yMin;
  let best: ExpCoef | undefined;
  let bestErr = Infinity;
  const consider = (coef: ExpCoef): void => {
    if (!coef.every(Number.isFinite) || coef[1] <= 0 || coef[0] < 0 || coef[2] < gammaFloor) return;
    const err = sse(coef, usable);
    if (err < bestErr) {
      bestErr = err;
      best = coef;
    }
  };
  for (const f of [0.1, 0.25, 0.5, 1, 2, 4]) {
    const beta0 = Math.max(1e-3, f * Math.max(span, xs[xs.length - 1]!));
    // Pick α, γ so that the curve passes near the ends for this β guess.
    const e0 = Math.exp(-xs[0]! / beta0);
    const e1 = Math.exp(-xs[xs.length - 1]! / beta0);
    const alpha0 = e0 - e1 > 1e-9 ? (yMax - yMin) / (e0 - e1) : yMax - yMin;
    const gamma0 = Math.max(gammaFloor, yMin - alpha0 * e1);
    let coef: number[];
    try {
      coef = levenbergMarquardt(data, model, {
        initialValues: [alpha0 / scale, beta0, gamma0 / scale],
        jacobianFunction: jacobian,
        minValues: [0, 1e-4, gammaFloor / scale],
        maxValues: [1e6, 1e4, 1e6],
        maxIterations: 300,
        errorTolerance: 1e-12,
        damping: 1e-3,
      }).parameterValues;
    } catch {
      continue;
    }
    if (!coef.every(Number.isFinite) || coef[1]! <= 0) continue;
    const fitted: ExpCoef = [coef[0]! * scale, coef[1]!, Math.max(gammaFloor, coef[2]! * scale)];
    // A bound that binds (γ clamped at its floor) leaves α and β fitted for another γ: refit them
    // with γ held at the floor, so the kept curve is the best one inside the constraints.
    if (fitted[2] <= gammaFloor * (1 + 1e-6)) consider(refitWithGamma(usable, fitted, gammaFloor));
    consider(fitted);
  }
  // All data flat or rising with vCPU: the best non-increasing curve is a constant.
  consider([0, 1, Math.max(gammaFloor, bestConstant(usable))]);
  if (!best) {
    throw new HetserveError('E_TOO_FEW_POINTS', `${what}: the exponential fit did not converge`, {
      field: what,
      value: usable,
      needed: MIN_EXP_POINTS,
      hint: 'check that latency falls (or stays flat) as vCPU grows; measure more runs per configuration',
    });
  }
  return best;
}

/** γ minimising the squared relative error of a constant curve: Σ(1/y) / Σ(1/y²). */
function bestConstant(points: readonly Point[]): number {
  let a = 0;
  let b = 0;
  for (const p of points) {
    a += 1 / p.y;
    b += 1 / (p.y * p.y);
  }
  return a / b;
}

/** Fit α, β of α·exp(−c/β) + γ with γ fixed (LM on two parameters, started from `start`). */
function refitWithGamma(points: readonly Point[], start: ExpCoef, gamma: number): ExpCoef {
  const scale = Math.max(...points.map((p) => p.y));
  const g = gamma / scale;
  try {
    const [a, b] = levenbergMarquardt(
      { x: points.map((p) => p.x), y: points.map((p) => p.y / scale) },
      ([a, b]: number[]) =>
        (c: number): number =>
          a! * Math.exp(-c / b!) + g,
      {
        initialValues: [Math.max(start[0] / scale, 1e-6), start[1]],
        minValues: [0, 1e-4],
        maxValues: [1e6, 1e4],
        maxIterations: 300,
        errorTolerance: 1e-12,
        damping: 1e-3,
      },
    ).parameterValues;
    return [a! * scale, b!, gamma];
  } catch {
    return start;
  }
}

export interface LinearFit {
  /** Slope, s per sample (ξ1). */
  slope: number;
  /** Intercept, s (ξ2). */
  intercept: number;
}

/** Least-squares line L0(b) = ξ1·b + ξ2; needs 2 distinct batch sizes (E_TOO_FEW_POINTS otherwise). */
export function fitLinear(points: readonly Point[], what = 'gpu'): LinearFit {
  const usable = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = distinctXs(usable);
  if (xs.length < MIN_LINEAR_POINTS) {
    throw new HetserveError(
      'E_TOO_FEW_POINTS',
      `${what}: the linear GPU model needs latencies at ${MIN_LINEAR_POINTS} or more distinct batch sizes, got ${xs.length}`,
      {
        field: what,
        value: xs,
        needed: MIN_LINEAR_POINTS,
        hint: 'profile two batch sizes or more, e.g. --batch 1,8',
      },
    );
  }
  const { m, b } = linearRegression(usable.map((p) => [p.x, p.y]));
  return { slope: m, intercept: b };
}

/** Error of a fitted curve against measured points, in percent of the measurement. */
export interface FitError {
  /** Mean absolute percentage error. */
  mape: number;
  /** Largest absolute percentage error. */
  maxErr: number;
  /** Points compared. */
  n: number;
}

export function fitError(points: readonly Point[], predict: (x: number) => number): FitError {
  let sum = 0;
  let worst = 0;
  for (const p of points) {
    const e = (Math.abs(predict(p.x) - p.y) / p.y) * 100;
    sum += e;
    worst = Math.max(worst, e);
  }
  return { mape: points.length ? sum / points.length : 0, maxErr: worst, n: points.length };
}
