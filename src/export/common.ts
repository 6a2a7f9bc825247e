/** Helpers shared by the exporters: naming, resource rounding, env, replica bounds, YAML, validation. */
import { stringify } from 'yaml';
import type { z } from 'zod';
import { HetserveError } from '../model/errors.ts';
import type { Plan, PlanGroup } from '../model/plan.ts';
import type { ExportOptions } from './options.ts';

/** Labels every emitted Kubernetes object carries, so `kubectl delete -l` removes an export. */
export function baseLabels(o: ExportOptions): Record<string, string> {
  return { 'app.kubernetes.io/part-of': 'hetserve', 'app.kubernetes.io/instance': o.name };
}

export function groupRef(i: number): string {
  return `group-${i}`;
}
export function groupName(o: ExportOptions, i: number): string {
  return `${o.name}-g${i}`;
}

/** A number for messages: at most 4 decimals, no float noise. */
export const fmt = (x: number): number => Number(x.toFixed(4));

/** Round `x` up to a multiple of `step`, without float noise (0.1 + 0.2 style). */
export function roundUp(x: number, step: number): number {
  const n = Math.ceil(x / step - 1e-9);
  return Number((n * step).toFixed(6));
}

/** Kubernetes CPU quantity in millicores, rounded up: 1.6 -> '1600m'. */
export function cpuQuantity(vcpu: number): string {
  return `${Math.ceil(vcpu * 1000 - 1e-6)}m`;
}
/** Kubernetes memory quantity in MiB, rounded up: 1.625 GB -> '1664Mi'. */
export function memoryQuantity(gb: number): string {
  return `${Math.ceil(gb * 1024 - 1e-6)}Mi`;
}

/** Per-app SLOs (seconds) of the apps in a group, from the plan's app table. */
export function groupSlos(plan: Plan, g: PlanGroup): Record<string, number> {
  const byName = new Map(plan.apps.map((a) => [a.name, a.slo]));
  const out: Record<string, number> = {};
  for (const app of g.apps) {
    const slo = byName.get(app);
    if (slo !== undefined) out[app] = slo;
  }
  return out;
}

/** The smallest batching timeout of a group (seconds): engines with one wait per batch use it. */
export function minTimeout(g: PlanGroup): number {
  const ts = g.apps.map((a) => g.timeouts[a] ?? 0);
  return ts.length ? Math.min(...ts) : 0;
}

/**
 * Whole-second request timeout of a group's function: its largest SLO (a request past every SLO
 * of the group is useless) but never below the planned worst batch latency, and at least 1 s.
 */
export function requestTimeoutS(plan: Plan, g: PlanGroup): number {
  const slos = Object.values(groupSlos(plan, g));
  return Math.max(1, Math.ceil(Math.max(g.latency.max, ...slos) - 1e-9));
}

/** Knative's default max-revision-timeout-seconds; a larger request timeout is rejected. */
export const KNATIVE_MAX_TIMEOUT_S = 600;

/** requestTimeoutS capped at Knative's default maximum, with a warning when capped. */
export function knativeTimeoutS(plan: Plan, g: PlanGroup, ref: string, warnings: string[]): number {
  const t = requestTimeoutS(plan, g);
  if (t <= KNATIVE_MAX_TIMEOUT_S) return t;
  warnings.push(
    `${ref}: request timeout ${t} s capped at Knative's default maximum ${KNATIVE_MAX_TIMEOUT_S} s`,
  );
  return KNATIVE_MAX_TIMEOUT_S;
}

/**
 * Environment the in-pod / in-function batch manager reads. Times are seconds; maps are JSON
 * keyed by app name, apps in SLO order.
 */
export function groupEnv(plan: Plan, g: PlanGroup, i: number): Record<string, string> {
  return {
    HETSERVE_MODEL: plan.model,
    HETSERVE_GROUP: String(i),
    HETSERVE_APPS: g.apps.join(','),
    HETSERVE_BATCH_SIZE: String(g.batchSize),
    HETSERVE_TIMEOUTS_S: JSON.stringify(Object.fromEntries(g.apps.map((a) => [a, g.timeouts[a] ?? 0]))),
    HETSERVE_SLOS_S: JSON.stringify(groupSlos(plan, g)),
  };
}

export function envList(env: Record<string, string>): { name: string; value: string }[] {
  return Object.entries(env).map(([name, value]) => ({ name, value }));
}

/**
 * Replica bounds of a group. Busy instances at the planned rate follow Little's law: batches
 * arrive at rps / batchSize per second and each holds an instance for the average batch latency.
 */
export function replicaBounds(g: PlanGroup, o: ExportOptions): { min: number; max: number; need: number } {
  const need = (g.rps / g.batchSize) * g.latency.avg;
  const max = Math.max(o.minReplicas, 1, Math.ceil(need * o.headroom - 1e-9));
  return { min: o.minReplicas, max, need };
}

/**
 * YAML of one or more documents, separated by '---'. Written YAML-1.1-safe (strings such as
 * 2010-09-09, yes or on are quoted) because Kubernetes, SAM and Serverless Devs parse YAML 1.1.
 */
export function toYaml(docs: readonly unknown[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0, version: '1.1' })).join('---\n');
}

/** A Kubernetes model instance (kubernetes-models) validated against its OpenAPI schema. */
export interface ValidatableModel {
  validate(): void;
  toJSON(): unknown;
}

/** Validate a typed Kubernetes object and return its plain JSON. A failure is an exporter bug. */
export function checkedK8s(target: string, m: ValidatableModel): Record<string, unknown> {
  try {
    m.validate();
  } catch (e) {
    throw new HetserveError(
      'E_INTERNAL',
      `${target}: emitted object fails its schema: ${(e as Error).message}`,
      {
        field: 'export',
        value: m.toJSON(),
      },
    );
  }
  return JSON.parse(JSON.stringify(m.toJSON())) as Record<string, unknown>;
}

/** Validate a non-Kubernetes document (SAM, FC, Ray) against the zod schema of what we emit. */
export function checkedDoc<S extends z.ZodType>(target: string, schema: S, doc: unknown): z.output<S> {
  const r = schema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new HetserveError(
      'E_INTERNAL',
      `${target}: emitted document fails its schema at ${i.path.join('.')}: ${i.message}`,
      { field: 'export', value: doc },
    );
  }
  return r.data;
}
