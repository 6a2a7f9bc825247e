/**
 * The predictor: evaluates any candidate group configuration (apps, function, batch size) under
 * one model, price table and compatibility mode. Planners, the exact search, the simulator and the
 * gateway all call `Predictor.evaluate`, so "feasible" and "cost" mean the same thing everywhere.
 */
import type { FunctionConfig } from '../model/plan.ts';
import type { PriceTable } from '../model/prices.ts';
import type { ServerlessProfile } from '../model/profile.ts';
import { badField } from '../model/errors.ts';
import { batchSizeDistribution, equivalentTimeout, type Compat } from './batching.ts';
import { costPerRequest, expectedCostPerRequest, invocationCost, type BilledResources } from './cost.ts';
import {
  DEFAULT_GPU_MAX_OVERHEAD,
  cpuLatencyAvg,
  cpuLatencyMax,
  cpuMaxBatch,
  gpuFunctionVcpu,
  gpuLatencyAvg,
  gpuLatencyMax,
  type Latency,
} from './latency.ts';
import { cpuFunctionMemoryGb, gpuFunctionMemoryGb, gpuMinMemoryGb } from './memory.ts';
import { resolvePriceTable } from './prices.ts';
import { assertPhysicalProfile } from './validity.ts';

/**
 * How a group's cost per request is computed.
 * - 'full-batch': paper Eq. 6 at the configured batch size b (Eq. 9 guarantees b arrivals are expected).
 * - 'expected': E[batch cost]/E[batch size] under the truncated-Poisson batch-size distribution of
 *   the group rate over the equivalent timeout (design §10.8; smaller batches cost more).
 * In compat 'prototype' the prototype's rule always applies: cost at b_eff = min(b, ⌊R·T⌋ + 1).
 */
export type CostModel = 'full-batch' | 'expected';

export interface PredictorOptions {
  /** Price table name, file path or table. Default 'prototype-cny'. */
  prices?: string | PriceTable;
  /** 'paper' (default): paper-correct formulas. 'prototype': the prototype's quirks (design §10). */
  compat?: Compat;
  /** Factor on the GPU maximum latency when m < M_max. Default 1.2 (design §4.2). */
  gpuMaxOverhead?: number;
  /** Default 'full-batch'. Ignored in compat 'prototype'. */
  costModel?: CostModel;
}

/** A group's apps, sorted by SLO ascending (seconds, req/s). */
export interface GroupInput {
  readonly slos: readonly number[];
  readonly rates: readonly number[];
}

export type FunctionChoice = { kind: 'cpu'; vcpu: number } | { kind: 'gpu'; gpuMemoryGb: number };

/** Why a configuration is infeasible. */
export type InfeasibleReason =
  | 'no-such-function' // the profile has no CPU / GPU section, or the batch size is not profiled
  | 'memory' // RAM or GPU-memory rule broken (design §4.3, constraint 8)
  | 'slo' // some t^w + L_max > s^w (constraint 10)
  | 'batch-fill'; // b > ⌊r^X·T^X⌋ + 1 (constraint 9)

export interface GroupEvaluation {
  feasible: boolean;
  reason?: InfeasibleReason;
  /** The function as it would be deployed (RAM and vCPU filled in); null when it cannot exist. */
  function: FunctionConfig | null;
  batchSize: number;
  latency: Latency;
  /** Per-app batching timeouts t^w, s (same order as the input). */
  timeouts: number[];
  /** T^X, s. */
  equivalentTimeout: number;
  /** r^X, req/s. */
  rate: number;
  /** Batch size the cost is evaluated at. */
  effectiveBatch: number;
  /** Predicted cost per request (price-table currency); Infinity when infeasible. */
  costPerRequest: number;
  /** Per app: s^w − t^w − L_max (≥ 0 iff the SLO holds under the model). */
  slack: number[];
}

export interface EvaluateOptions {
  /** Fixed per-app timeouts (re-evaluating a given plan) instead of the timeout rule t^w = s^w − L_max. */
  timeouts?: readonly number[];
  /** Treat the average latency as the maximum (BATCH's deterministic model). */
  deterministic?: boolean;
}

const INF_LATENCY: Latency = { avg: Infinity, max: Infinity };

export class Predictor {
  readonly profile: ServerlessProfile;
  readonly prices: PriceTable;
  readonly compat: Compat;
  readonly gpuMaxOverhead: number;
  readonly costModel: CostModel;

  constructor(profile: ServerlessProfile, options: PredictorOptions = {}) {
    assertPhysicalProfile(profile);
    this.profile = profile;
    this.prices = resolvePriceTable(options.prices);
    this.compat = options.compat ?? 'paper';
    if (this.compat !== 'paper' && this.compat !== 'prototype') {
      throw badField('E_INVALID_OPTION', 'compat', this.compat, "must be 'paper' or 'prototype'");
    }
    this.gpuMaxOverhead = options.gpuMaxOverhead ?? DEFAULT_GPU_MAX_OVERHEAD;
    if (!(this.gpuMaxOverhead >= 1) || !Number.isFinite(this.gpuMaxOverhead)) {
      throw badField(
        'E_INVALID_OPTION',
        'gpuMaxOverhead',
        this.gpuMaxOverhead,
        'must be a finite number >= 1',
      );
    }
    this.costModel = options.costModel ?? 'full-batch';
    if (this.costModel !== 'full-batch' && this.costModel !== 'expected') {
      throw badField('E_INVALID_OPTION', 'costModel', this.costModel, "must be 'full-batch' or 'expected'");
    }
  }

  /** Average and maximum latency of a batch on a function (NaN when not profiled). */
  latency(fn: FunctionChoice, batch: number): Latency {
    if (fn.kind === 'cpu') {
      return {
        avg: cpuLatencyAvg(this.profile, fn.vcpu, batch),
        max: cpuLatencyMax(this.profile, fn.vcpu, batch),
      };
    }
    return {
      avg: gpuLatencyAvg(this.profile, fn.gpuMemoryGb, batch),
      max: gpuLatencyMax(this.profile, fn.gpuMemoryGb, batch, this.gpuMaxOverhead),
    };
  }

  /** Maximum latency only (the planners' hot path). */
  maxLatency(fn: FunctionChoice, batch: number): number {
    return fn.kind === 'cpu'
      ? cpuLatencyMax(this.profile, fn.vcpu, batch)
      : gpuLatencyMax(this.profile, fn.gpuMemoryGb, batch, this.gpuMaxOverhead);
  }

  /** Billed resources of a function able to run batch b, or null when the memory rules forbid it. */
  resources(fn: FunctionChoice, batch: number): BilledResources | null {
    if (fn.kind === 'cpu') {
      if (!this.profile.cpu || batch < 1 || batch > cpuMaxBatch(this.profile)) return null;
      const mem = cpuFunctionMemoryGb(this.profile, fn.vcpu, batch);
      return mem === null ? null : { kind: 'cpu', vcpu: fn.vcpu, memoryGb: mem, gpuMemoryGb: 0 };
    }
    if (!this.profile.gpu || batch < 1) return null;
    if (fn.gpuMemoryGb < gpuMinMemoryGb(this.profile, batch)) return null;
    const mem = gpuFunctionMemoryGb(this.profile, fn.gpuMemoryGb);
    return mem === null
      ? null
      : { kind: 'gpu', vcpu: gpuFunctionVcpu(fn.gpuMemoryGb), memoryGb: mem, gpuMemoryGb: fn.gpuMemoryGb };
  }

  /** Cost per request of one batch of `batch` requests (average latency, billing granularity applied). */
  batchCostPerRequest(fn: FunctionChoice, res: BilledResources, batch: number): number {
    return costPerRequest(this.prices, res, this.latency(fn, batch).avg, batch);
  }

  /**
   * Evaluate a group on a function at batch size b. Timeouts follow the paper's rule
   * t^w = s^w − L_max (largest meeting the SLO) unless given; with b = 1 they are 0 (nothing to
   * wait for), except on GPU under compat 'prototype', which stores s^w − L_max (design §10.12).
   */
  evaluate(
    group: GroupInput,
    fn: FunctionChoice,
    batch: number,
    opts: EvaluateOptions = {},
  ): GroupEvaluation {
    const n = group.slos.length;
    let rate = 0;
    for (let i = 0; i < n; i++) rate += group.rates[i];
    const res = this.resources(fn, batch);
    if (!res) {
      const known =
        fn.kind === 'cpu' ? !!this.profile.cpu && batch <= cpuMaxBatch(this.profile) : !!this.profile.gpu;
      return infeasible(known ? 'memory' : 'no-such-function', batch, rate, n);
    }
    const lat = this.latency(fn, batch);
    const lmax = opts.deterministic ? lat.avg : lat.max;
    const timeouts = new Array<number>(n);
    const slack = new Array<number>(n);
    let sloOk = true;
    const zeroWait = batch === 1 && !(this.compat === 'prototype' && fn.kind === 'gpu');
    for (let i = 0; i < n; i++) {
      const room = group.slos[i] - lmax;
      const t = opts.timeouts ? opts.timeouts[i] : zeroWait ? 0 : room;
      timeouts[i] = t;
      slack[i] = room - t;
      if (room < 0 || slack[i] < -1e-12) sloOk = false;
    }
    const teq = n === 1 ? timeouts[0] : equivalentTimeout(timeouts, group.rates, this.compat);
    const fill = rate * teq;
    let fillOk: boolean;
    let effectiveBatch = batch;
    let cost: number;
    if (this.compat === 'prototype') {
      fillOk = batch === 1 || 1 + fill > batch;
      effectiveBatch = batch === 1 ? 1 : Math.min(batch, Math.floor(fill) + 1);
      cost = this.batchCostPerRequest(fn, res, effectiveBatch);
    } else {
      fillOk = batch <= Math.floor(fill + 1e-9) + 1;
      if (this.costModel === 'expected' && batch > 1) {
        const dist = batchSizeDistribution(rate, teq, batch);
        cost = expectedCostPerRequest(this.prices, res, dist, (k) => this.latency(fn, k).avg);
      } else {
        cost = costPerRequest(this.prices, res, lat.avg, batch);
      }
    }
    const feasible = sloOk && fillOk;
    return {
      feasible,
      ...(feasible ? {} : { reason: sloOk ? 'batch-fill' : 'slo' }),
      function:
        res.kind === 'cpu'
          ? { kind: 'cpu', vcpu: res.vcpu, memoryGb: res.memoryGb }
          : { kind: 'gpu', gpuMemoryGb: res.gpuMemoryGb, vcpu: res.vcpu, memoryGb: res.memoryGb },
      batchSize: batch,
      latency: lat,
      timeouts,
      equivalentTimeout: teq,
      rate,
      effectiveBatch,
      costPerRequest: cost,
      slack,
    };
  }

  /**
   * Expected cost per request of an evaluated group under the truncated-Poisson batch-size
   * distribution (reported beside the model's cost; design §10.8).
   */
  expectedCost(ev: GroupEvaluation): number {
    const f = ev.function;
    if (!f) return Infinity;
    const fn: FunctionChoice =
      f.kind === 'cpu' ? { kind: 'cpu', vcpu: f.vcpu } : { kind: 'gpu', gpuMemoryGb: f.gpuMemoryGb };
    const res = this.resources(fn, ev.batchSize);
    if (!res) return Infinity;
    if (ev.batchSize === 1) return invocationCost(this.prices, res, ev.latency.avg);
    const dist = batchSizeDistribution(ev.rate, Math.max(0, ev.equivalentTimeout), ev.batchSize);
    return expectedCostPerRequest(this.prices, res, dist, (k) => this.latency(fn, k).avg);
  }
}

/**
 * True when `evaluate` (compat 'paper', timeouts by the rule) surely finds Eq. 9 holding for a
 * group of `n` apps at batch b whose L_max is `lmax`, judged from the group's rate and T^X of its
 * SLOs (`teqOfSlos`) without the O(n) fold over its timeouts. Exactly, T^X(s − L) = T^X(s) − L (Eq. 5
 * is shift-equivariant); the two float folds differ by rounding only, under 16·n·ε·max|t| each
 * (each Eq. 5 step is 1-Lipschitz in the max norm), and the margin required here is ~100 times
 * that. False means "not sure": ask `evaluate`. Planners use it to defer building evaluations of
 * candidates they may never keep; the evaluation made later is the same. b = 1 always fills
 * (zero timeouts). The caller checks L_max ≤ min SLO itself (constraint 10).
 */
export function surelyFillsPaper(
  rate: number,
  teqOfSlos: number,
  lmax: number,
  batch: number,
  n: number,
  maxSlo: number,
): boolean {
  if (batch === 1) return true;
  const margin = rate * (teqOfSlos - lmax) - (batch - 1);
  return margin > 1e-12 * (n + 1) * rate * (Math.abs(maxSlo) + Math.abs(lmax) + 1);
}

function infeasible(reason: InfeasibleReason, batch: number, rate: number, n: number): GroupEvaluation {
  return {
    feasible: false,
    reason,
    function: null,
    batchSize: batch,
    latency: INF_LATENCY,
    timeouts: new Array<number>(n).fill(0),
    equivalentTimeout: 0,
    rate,
    effectiveBatch: batch,
    costPerRequest: Infinity,
    slack: new Array<number>(n).fill(-Infinity),
  };
}

/** Shorthand: `new Predictor(profile, options)`. */
export function createPredictor(profile: ServerlessProfile, options: PredictorOptions = {}): Predictor {
  return new Predictor(profile, options);
}
