/**
 * Building a model's cluster service from the gateway config: start the pool's backends, the
 * per-size latency estimator (a bundled Kairos table or `latencyMs` × size), prices, and the
 * re-allocation options (starting and warming new instances).
 */
import type { Logger } from 'pino';
import type { ClusterOracle } from '../plan/cluster/oracle.ts';
import type { QuerySizeDistribution } from '../workload/query-sizes.ts';
import type { TimerSource } from '../dispatch/clock.ts';
import type { LatencyEstimator } from '../dispatch/types.ts';
import type { App } from '../model/app.ts';
import { HetserveError } from '../model/errors.ts';
import type { Backend, BackendContext } from './backends/types.ts';
import type { BackendConfig, ModelConfig, ServeConfig } from '../model/serve-config.ts';
import { ClusterService, type ClusterReallocOptions } from './cluster.ts';
import type { GatewayMetrics } from './metrics.ts';
import { assembleBatch, type ModelIO } from './tensors.ts';

type ClusterServing = Extract<ServeConfig['serving'], { mode: 'cluster' }>;

export interface ClusterSetup {
  serving: ClusterServing;
  model: ModelConfig;
  apps: App[];
  factory: (cfg: BackendConfig, ctx: BackendContext) => Backend;
  baseDir: string;
  timers: TimerSource;
  metrics: GatewayMetrics;
  logger: Logger;
  limits: ServeConfig['limits'];
  windowS: number;
  /** Sees each query an instance answered (the model's statistics). */
  onBatch?: (size: number, execS: number) => void;
}

const badType = (where: string, t: string, model: string, known: readonly string[]): HetserveError =>
  new HetserveError(
    'E_CONFIG_INVALID',
    `${where}: type ${JSON.stringify(t)} is not in the ${model} table; known: ${known.join(', ')}`,
    { field: `${where}.type`, value: t },
  );

/** One warm-up query of zeros, so a new instance's first real query does not pay its start-up. */
async function warm(backend: Backend, io: ModelIO): Promise<void> {
  const zeros = io.inputs.map((s) => new Array<number>(s.shape.reduce((a, b) => a * b, 1)).fill(0));
  await backend.infer({
    inputs: assembleBatch(io, [{ samples: zeros }]),
    size: 1,
    signal: new AbortController().signal,
  });
}

/**
 * The default rule's check for re-allocation: the simulator, briefly (allocate's verification
 * defaults), in one worker thread so that the gateway's event loop keeps serving meanwhile.
 */
async function reallocVerifier(model: string): Promise<(sizes: QuerySizeDistribution) => ClusterOracle> {
  const { verificationOracle } = await import('../simulate/allocate-verified.ts');
  return (sizes) => verificationOracle({ model, sizes }, { workers: 1 });
}

export async function startClusterService(o: ClusterSetup): Promise<ClusterService> {
  const { serving, model: m } = o;
  const types = [
    ...new Set([
      ...serving.instances.map((i) => i.type),
      serving.baseType,
      ...(serving.realloc?.pool ?? []).map((p) => p.type),
    ]),
  ];
  let estimateMs: LatencyEstimator | undefined;
  let table: import('../predict/latency-table.ts').LatencyTable | undefined;
  if (serving.kairos) {
    const { LatencyTable } = await import('../predict/latency-table.ts');
    const t = LatencyTable.bundled(serving.kairos.model);
    table = t;
    for (const ty of types)
      if (!t.has(ty)) throw badType('serving.instances', ty, serving.kairos.model, t.types);
    // Beyond the profiled sizes the largest one stands in.
    estimateMs = (type, size) => t.meanMs(type, Math.min(size, t.maxSize));
  }
  const instances = [];
  for (const inst of serving.instances) {
    const backend = o.factory(inst.backend, { id: `${m.name}/${inst.name}`, model: m, baseDir: o.baseDir });
    instances.push({ name: inst.name, type: inst.type, backend, io: await backend.start() });
  }
  const { ec2Prices } = await import('../plan/cluster/allocate.ts');
  const ec2 = ec2Prices();
  const prices: Record<string, number> = {};
  for (const t of types) if (ec2.has(t)) prices[t] = ec2.get(t)!;
  let realloc: ClusterReallocOptions | undefined;
  const r = serving.realloc;
  if (r) {
    if (!table)
      throw new HetserveError(
        'E_CONFIG_INVALID',
        'serving.realloc: needs serving.kairos (the table the allocator plans with)',
        {
          field: 'serving.realloc',
          value: undefined,
        },
      );
    const pool = r.pool.map((p, i) => {
      const price = p.priceUsdPerHour ?? ec2.get(p.type);
      if (price === undefined)
        throw new HetserveError(
          'E_CONFIG_INVALID',
          `serving.realloc.pool[${i}].priceUsdPerHour: required for ${JSON.stringify(p.type)} (not in the EC2 price table)`,
          { field: `serving.realloc.pool[${i}].priceUsdPerHour`, value: undefined },
        );
      prices[p.type] = price;
      return { ...p, price };
    });
    if (!pool.some((p) => p.type === serving.baseType))
      throw new HetserveError(
        'E_CONFIG_INVALID',
        `serving.realloc.pool: must list the base type ${serving.baseType}`,
        {
          field: 'serving.realloc.pool',
          value: pool.map((p) => p.type),
        },
      );
    const io = instances[0].io;
    realloc = {
      table,
      types: pool.map((p) => ({
        name: p.type,
        priceUsdPerHour: p.price,
        ...(p.maxCount !== undefined ? { maxCount: p.maxCount } : {}),
      })),
      budgetUsdPerHour: r.budgetUsdPerHour,
      intervalS: r.intervalS,
      margin: r.margin,
      headroom: r.headroom,
      ...(r.select === 'verified' ? { verify: await reallocVerifier(serving.kairos!.model) } : {}),
      startInstance: async (type, name) => {
        const p = pool.find((x) => x.type === type)!;
        const backend = o.factory(p.backend, { id: `${m.name}/${name}`, model: m, baseDir: o.baseDir });
        try {
          await backend.start();
          await warm(backend, io);
        } catch (e) {
          await backend.close();
          throw e;
        }
        return backend;
      },
    };
  }
  const service = new ClusterService({
    io: instances[0].io,
    apps: o.apps,
    instances,
    qosMs: serving.qosMs,
    baseType: serving.baseType,
    latencyMs: serving.latencyMs,
    ...(estimateMs ? { estimateMs } : {}),
    ...(serving.kairos?.querySize !== undefined ? { fixedQuerySize: serving.kairos.querySize } : {}),
    prices,
    ...(realloc ? { realloc } : {}),
    timers: o.timers,
    metrics: o.metrics,
    logger: o.logger,
    maxQueue: o.limits.maxQueue,
    hardDeadlineFactor: o.limits.hardDeadlineFactor,
    windowS: o.windowS,
    admission: o.limits.admission,
    ...(o.onBatch ? { onBatch: o.onBatch } : {}),
  });
  o.logger.info(
    { model: m.name, instances: serving.instances.map((i) => `${i.name}:${i.type}`), realloc: !!realloc },
    'cluster pool started',
  );
  return service;
}
