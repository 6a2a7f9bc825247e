/** The registry of exporters and the one entry point that validates input and runs a target. */
import { HetserveError, badField } from '../model/errors.ts';
import { parseWith } from '../model/validate.ts';
import { PlanSchema, type Plan } from '../model/plan.ts';
import { AllocationSchema, type Allocation } from '../model/cluster.ts';
import { parseExportOptions, type ExportOptionsInput } from './options.ts';
import type { DocumentKind, ExportDocument, Exporter, ExportResult } from './types.ts';
import { knativeExporter } from './knative.ts';
import { kserveExporter } from './kserve.ts';
import { lambdaExporter } from './lambda.ts';
import { fcExporter } from './fc.ts';
import { rayExporter } from './ray.ts';
import { kedaExporter } from './keda.ts';
import { gatewayExporter } from './gateway.ts';

export const EXPORTERS: Readonly<Record<string, Exporter>> = Object.freeze(
  Object.fromEntries(
    [
      knativeExporter,
      kserveExporter,
      lambdaExporter,
      fcExporter,
      rayExporter,
      kedaExporter,
      gatewayExporter,
    ].map((e) => [e.target, e]),
  ),
);

export function getExporter(target: string): Exporter {
  const e = Object.hasOwn(EXPORTERS, target) ? EXPORTERS[target] : undefined;
  if (!e) {
    throw badField(
      'E_UNKNOWN_TARGET',
      'target',
      target,
      `unknown export target; known: ${Object.keys(EXPORTERS).join(', ')}`,
    );
  }
  return e;
}

/** Validate a serverless plan beyond its schema: groups present, apps known, a timeout per app. */
export function parsePlan(input: unknown): Plan {
  const plan = parseWith(PlanSchema, input, 'E_PLAN_INVALID', 'plan');
  if (plan.groups.length === 0)
    throw badField('E_PLAN_INVALID', 'plan.groups', plan.groups, 'has no groups to export');
  const known = new Set(plan.apps.map((a) => a.name));
  const seen = new Set<string>();
  plan.groups.forEach((g, i) => {
    for (const app of g.apps) {
      if (!known.has(app)) {
        throw badField('E_PLAN_INVALID', `plan.groups.${i}.apps`, app, 'names an app missing from plan.apps');
      }
      if (seen.has(app))
        throw badField('E_PLAN_INVALID', `plan.groups.${i}.apps`, app, 'app is in two groups');
      seen.add(app);
      if (g.timeouts[app] === undefined) {
        throw badField(
          'E_PLAN_INVALID',
          `plan.groups.${i}.timeouts`,
          g.timeouts,
          `has no timeout for app "${app}"`,
        );
      }
    }
  });
  return plan;
}

/** Validate a cluster allocation beyond its schema: counted types are in the pool, something is counted. */
export function parseAllocation(input: unknown): Allocation {
  const alloc = parseWith(AllocationSchema, input, 'E_ALLOCATION_INVALID', 'allocation');
  const pool = new Set(alloc.pool.map((t) => t.name));
  for (const t of Object.keys(alloc.chosen.counts)) {
    if (!pool.has(t))
      throw badField('E_ALLOCATION_INVALID', 'allocation.chosen.counts', t, 'instance type not in the pool');
  }
  if (!Object.values(alloc.chosen.counts).some((c) => c > 0)) {
    throw badField(
      'E_ALLOCATION_INVALID',
      'allocation.chosen.counts',
      alloc.chosen.counts,
      'allocates no instance',
    );
  }
  return alloc;
}

/** Tell a plan from an allocation by its `kind`, falling back to what the target accepts. */
export function parseDocument(
  input: unknown,
  exporter?: Exporter,
): { doc: ExportDocument; kind: DocumentKind } {
  const k =
    input !== null && typeof input === 'object' ? (input as Record<string, unknown>)['kind'] : undefined;
  const asAllocation =
    k === 'cluster-allocation' || (k !== 'serverless-plan' && exporter?.accepts === 'allocation');
  return asAllocation
    ? { doc: parseAllocation(input), kind: 'allocation' }
    : { doc: parsePlan(input), kind: 'plan' };
}

/**
 * Export a plan or allocation (raw JSON, validated here) to `target`. Throws E_UNKNOWN_TARGET,
 * E_PLAN_INVALID / E_ALLOCATION_INVALID, E_INVALID_INPUT (wrong document for the target),
 * E_INVALID_OPTION, or E_TARGET_UNSUPPORTED when the target can express no part of the input.
 */
export function exportDocument(input: unknown, target: string, options?: ExportOptionsInput): ExportResult {
  const exporter = getExporter(target);
  const { doc, kind } = parseDocument(input, exporter);
  if (exporter.accepts !== 'both' && exporter.accepts !== kind) {
    throw new HetserveError(
      'E_INVALID_INPUT',
      `${target} exports ${exporter.accepts === 'plan' ? 'serverless plans' : 'cluster allocations'}, got a ${kind === 'plan' ? 'serverless plan' : 'cluster allocation'}`,
      {
        field: 'kind',
        value: kind === 'plan' ? 'serverless-plan' : 'cluster-allocation',
        hint: `targets for this document: ${Object.values(EXPORTERS)
          .filter((e) => e.accepts === 'both' || e.accepts === kind)
          .map((e) => e.target)
          .join(', ')}`,
      },
    );
  }
  const result = exporter.export(doc, kind, parseExportOptions(options, doc.model));
  if (result.units.length > 0 && result.units.every((u) => u.unsupported)) {
    throw new HetserveError(
      'E_TARGET_UNSUPPORTED',
      `${target} cannot express any part of this ${kind}: ${result.units.map((u) => `${u.ref}: ${u.unsupported}`).join('; ')}`,
      { field: 'target', value: target },
    );
  }
  return result;
}
