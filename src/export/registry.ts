/** The registry of exporters and the one entry point that validates input and runs a target. */
import { HetserveError, badField } from '../model/errors.ts';
import { parseWith } from '../model/validate.ts';
import { appRoutes, parsePlan as parseModelPlan, type Plan } from '../model/plan.ts';
import { PRICE_TABLE_NAMES } from '../predict/prices.ts';
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

/** A serverless plan by the model's rules (src/model/plan.ts), with something to export. */
export function parsePlan(input: unknown): Plan {
  const plan = parseModelPlan(input);
  if (plan.groups.length === 0)
    throw badField('E_PLAN_INVALID', 'plan.groups', plan.groups, 'has no groups to export');
  // The exported gateway config names this table; `serve` would refuse an unknown one at start.
  if (
    !/\.json$/i.test(plan.priceTable) &&
    !(PRICE_TABLE_NAMES as readonly string[]).includes(plan.priceTable)
  )
    throw badField(
      'E_UNKNOWN_PRICE_TABLE',
      'plan.priceTable',
      plan.priceTable,
      `unknown price table; bundled: ${PRICE_TABLE_NAMES.join(', ')}`,
      {
        hint: 'plan with a bundled table, or set priceTable to the path of the JSON table the gateway will read',
      },
    );
  return plan;
}

/** Apps a plan splits over several groups, with the groups of each. */
export function splitApps(plan: Plan): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [app, routes] of appRoutes(plan))
    if (routes.length > 1)
      out.set(
        app,
        routes.map((r) => r.group),
      );
  return out;
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
  if (kind === 'plan' && exporter.splitApps !== undefined) {
    const split = splitApps(doc as Plan);
    const [app, groups] = split.entries().next().value ?? [];
    if (app !== undefined)
      throw new HetserveError(
        'E_TARGET_UNSUPPORTED',
        `${target} cannot serve app ${JSON.stringify(app)}, which the plan splits over groups ${groups!.join(', ')} (appRps): ${exporter.splitApps}`,
        {
          field: `plan.groups.${groups![0]}.appRps.${app}`,
          value: app,
          target,
          hint: 'export with --target gateway, lambda or fc (weighted routes), or plan with an algorithm that does not split apps (harmony, optimal)',
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
