/**
 * What the gateway and its protocol front ends need of one served model, whatever its mode: the
 * serverless service (src/serve/service.ts: plan groups behind the batch manager) and the cluster
 * service (src/serve/cluster.ts: an instance pool behind the Kairos distributor) both implement it,
 * and test/serve/model-service.case.ts checks both against the same suite.
 */
import type { HetserveError } from '../model/errors.ts';
import type { Plan } from '../model/plan.ts';
import type { LiveSeries } from './live.ts';
import type { DecodedRequest, ModelIO, Tensor } from './tensors.ts';

/** Where an answered request's time went, seconds. */
export interface Timing {
  /** Arrival to answer. */
  latencyS: number;
  /** Arrival to the start of its backend call (batching wait, queueing for an instance). */
  waitS: number;
  /** Backend time of the call that answered it. */
  execS: number;
}

export type Answer =
  | ({
      ok: true;
      outputs: Tensor[];
      /**
       * One timing per sample when the service split the request into samples (serverless mode,
       * several rows); the answer's own timing is then the slowest sample's. Absent: one part.
       */
      parts?: readonly Timing[];
    } & Timing)
  | { ok: false; error: HetserveError };

/** The dashboard's mode-specific view of a service (`/api/live`). */
export type ServiceSnapshot = { mode: 'serverless' | 'cluster' } & Record<string, unknown>;

/** What a service that serves a plan offers the admin endpoints and the periodic re-planning. */
export interface PlannedService extends ModelService {
  readonly plan: Plan;
  readonly planVersion: number;
  /** Install a plan; false when it equals the current one. */
  swap(plan: Plan): Promise<boolean>;
  /** Re-plan with the measured rates (or the ones given). */
  replan(rates?: Record<string, number>): Promise<{ changed: boolean; plan: Plan }>;
  /** Re-plan after the ones running; failures are logged and the plan kept. */
  replanSerial(): Promise<void>;
  /** New SLOs and rate hints for the same applications (config reload). */
  updateApps(apps: readonly { name: string; slo: number; rps: number }[]): void;
}

export interface ModelService {
  readonly mode: 'serverless' | 'cluster';
  readonly io: ModelIO;
  /** Per-second series of the dashboard. */
  readonly live: LiveSeries;
  /** Requests accepted and not yet answered. */
  readonly queued: number;
  /** The plan control when the service serves a plan (serverless mode), else undefined. */
  readonly planned: PlannedService | undefined;
  hasApp(app: string): boolean;
  appNames(): string[];
  /** Measured request rates per app over the sliding window, req/s. */
  rates(): Record<string, number>;
  /**
   * Serve one decoded request (all its rows) for `app`. Resolves with its answer, never rejects;
   * a refusal (unknown app, draining, overload with `retryAfterS`) is an answer with its error.
   */
  infer(req: DecodedRequest, app: string): Promise<Answer>;
  snapshot(): ServiceSnapshot;
  /** Start serving (backends, first plan); called once before the first `infer`. */
  start(): Promise<void>;
  /** One dashboard and metrics point (the gateway calls it every second). */
  tick(): void;
  /** Stop accepting; true once every accepted request is answered, false after `timeoutS`. */
  drain(timeoutS: number): Promise<boolean>;
  /** Stop and close every backend. */
  close(): Promise<void>;
}
