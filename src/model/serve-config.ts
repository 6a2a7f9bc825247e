/**
 * Gateway configuration (`hetserve serve --config hetserve.yaml`). YAML or JSON, validated with
 * zod; every error names the field (dotted path) and the value found there. The JSON Schema is
 * published as `hetserve schema config`.
 */
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { HetserveError } from './errors.ts';
import { parseWith } from './validate.ts';
import { CalibrationConfigSchema } from './calibration-config.ts';
import { HOSTILE_DEFAULTS } from './hostile-limits.ts';

/** KServe v2 tensor datatypes the gateway accepts in JSON (BYTES/FP16/BF16 are not batched here). */
export const DATATYPES = ['BOOL', 'UINT8', 'INT8', 'INT16', 'INT32', 'INT64', 'FP32', 'FP64'] as const;
export const DatatypeSchema = z.enum(DATATYPES);
export type Datatype = z.infer<typeof DatatypeSchema>;

/** One tensor of a model; `shape` excludes the batch dimension (each request carries one sample). */
export const TensorSpecSchema = z
  .object({
    name: z.string().min(1),
    datatype: DatatypeSchema,
    shape: z.array(z.number().int().positive()),
  })
  .strict();
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

/** Where the onnx backend gets the model: a built-in synthetic model (built in code) or a file. */
export const ModelSourceSchema = z.union([
  z
    .object({
      /** Synthetic model built by src/onnx/synthetic-models.ts. */
      synthetic: z.enum(['mlp', 'cnn']),
      /** Weight seed (default 1). */
      seed: z.number().int().nonnegative().default(1),
      /**
       * Size options of the builder (src/onnx/synthetic-models.ts): mlp {inputs 256, hidden 512,
       * layers 2, classes 10}; cnn {channels 3, size 32, filters 16, layers 2, classes 10}.
       */
      options: z
        .object({
          inputs: z.number().int().positive().optional(),
          hidden: z.number().int().positive().optional(),
          layers: z.number().int().positive().optional(),
          classes: z.number().int().positive().optional(),
          channels: z.number().int().positive().optional(),
          size: z.number().int().positive().optional(),
          filters: z.number().int().positive().optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
  z.object({ /** Path to an .onnx file, relative to the config file. */ onnx: z.string().min(1) }).strict(),
]);
export type ModelSource = z.infer<typeof ModelSourceSchema>;

export const ReplayBackendSchema = z
  .object({
    type: z.literal('replay'),
    /**
     * Latency per batch: a fixed number of ms, or `{ samplesMs: [...] }` drawn uniformly, or
     * `{ profile: true }` = the model's serverless profile at the group's function (its measured
     * samples when it has some for that configuration, else avg..max; see `samples`), or
     * `{ kairos: {...} }` = measured Kairos samples of an instance type.
     * Default 0.
     */
    latency: z
      .union([
        z.number().nonnegative(),
        z.object({ samplesMs: z.array(z.number().nonnegative()).min(1) }).strict(),
        z
          .object({
            profile: z.literal(true),
            /**
             * 'auto' (default): a batch of size b draws uniformly from the profile's measured
             * samples for the group's function at b (the exact configuration, else the nearest
             * measured vCPU / GPU memory rescaled by the fitted averages: src/profile/samples.ts
             * `sampleLookup`, as `simulate serverless --latency auto`), and from the simulator's
             * avg/max model when there are none (normal around avg, 99th percentile max). 'off':
             * always that model.
             */
            samples: z.enum(['auto', 'off']).default('auto'),
          })
          .strict(),
        z
          .object({
            /**
             * Kairos measured samples (data/kairos): bundled model (rm2, dien, wnd, mtwnd, ncf),
             * instance type (e.g. g4dn.xlarge) and a fixed query size whose samples are drawn
             * (default: each query's own size, rounded up to the profiled grid, at most its largest).
             */
            kairos: z
              .object({
                model: z.string().min(1),
                type: z.string().min(1),
                querySize: z.number().int().positive().optional(),
              })
              .strict(),
          })
          .strict(),
      ])
      .default(0),
    /** Make this fraction of batches fail (fault injection for tests; default 0). */
    failRate: z.number().min(0).max(1).default(0),
    /**
     * Factor on every replayed latency (default 1): a slower or faster function than the latency
     * source says, e.g. to test calibration; also settable at run time (`ReplayBackend.latencyScale`).
     */
    latencyScale: z.number().positive().optional(),
  })
  .strict();

export const OnnxBackendSchema = z
  .object({
    type: z.literal('onnx'),
    /**
     * Worker threads per function instance. Default: derived from the group's vCPU
     * (ceil(vcpu / threadsPerWorker), at least 1).
     */
    workers: z.number().int().positive().optional(),
    /** intra-op threads per worker. Default: min(2, ceil(vcpu)). */
    threadsPerWorker: z.number().int().positive().optional(),
  })
  .strict();

export const HttpBackendSchema = z
  .object({
    type: z.literal('http'),
    /** Base URL of an OIP endpoint; the batch is POSTed to `${url}/v2/models/${model}/infer`. */
    url: z.url(),
    /** Model name at the remote end (default: the gateway's model name). */
    remoteModel: z.string().min(1).optional(),
    /** Per-attempt timeout, ms (default 10000; never beyond the batch deadline). */
    timeoutMs: z.number().positive().default(10_000),
    /** Extra attempts after a failure or timeout (default 1). */
    retries: z.number().int().nonnegative().default(1),
    /** Extra request headers (e.g. authorization for a function URL). */
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const BackendSchema = z.discriminatedUnion('type', [
  ReplayBackendSchema,
  OnnxBackendSchema,
  HttpBackendSchema,
]);
export type BackendConfig = z.infer<typeof BackendSchema>;

export const ModelConfigSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"')
      .max(128),
    /** Model file for the onnx backend (ignored by replay/http). */
    source: ModelSourceSchema.optional(),
    /** Inputs; default: read from the ONNX model (onnx backend) — required for replay/http. */
    inputs: z.array(TensorSpecSchema).min(1).optional(),
    /** Outputs; default: read from the ONNX model; replay echoes inputs when absent. */
    outputs: z.array(TensorSpecSchema).min(1).optional(),
    /**
     * Serverless latency profile the planner uses: a bundled model name (e.g. "VGG19") or a
     * profile JSON path written by `hetserve profile` (relative to the config file). Required in
     * serverless mode; unused in cluster mode.
     */
    profile: z.string().min(1).optional(),
    /**
     * Serverless mode: most batches of one plan group inside its backend at the same time. A further
     * ready batch (full or timed out) waits in the group's buffer until one of them is answered,
     * failed or past its deadline, instead of queueing inside the backend; the buffer is bounded by
     * limits.maxQueue (then 429). An integer >= 1, 'unlimited', or 'auto' (the default when absent):
     * the backend's own concurrency where it has one (onnx: its worker count, one batch per
     * session) and unlimited otherwise (replay and http stand for functions, which scale out). Read
     * when the model starts (not on reload). Unused in cluster mode (an instance runs one query at a
     * time).
     */
    maxInFlight: z.union([z.number().int().positive(), z.enum(['auto', 'unlimited'])]).optional(),
    /**
     * Application of a request that names none (plain Open Inference Protocol and Triton clients
     * know nothing of applications). Absent: such a request gets 400 E_APP_REQUIRED saying how to
     * name one. Must be an application of this model.
     */
    defaultApp: z.string().min(1).optional(),
  })
  .strict();
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

export const ApplicationSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"'),
    /** Model this application calls (default: the only model). */
    model: z.string().optional(),
    /** Latency SLO, seconds (end to end inside the gateway). */
    slo: z.number().positive('must be > 0 seconds'),
    /** Expected request rate, req/s: used for the first plan, then replaced by measured rates. */
    rps: z.number().nonnegative('must be >= 0 requests/s'),
  })
  .strict();
export type ApplicationConfig = z.infer<typeof ApplicationSchema>;

export const ServerlessModeSchema = z
  .object({
    mode: z.literal('serverless'),
    /** Planner algorithm (default: the planner's own default). */
    algorithm: z.string().optional(),
    /** Price table name or JSON path (default: the planner's default). */
    prices: z.string().optional(),
    /** 'paper' (default) or 'prototype' behaviour of the planner. */
    compat: z.enum(['paper', 'prototype']).default('paper'),
    /** Let the planner leave a measured profile's cpu.fitRange (plans then carry W_EXTRAPOLATED). Default false. */
    extrapolate: z.boolean().default(false),
    /**
     * Part of every application's SLO the gateway keeps for what the latency model does not see
     * (its own request handling, the batching timer firing late, backend time above the profile's
     * maximum), ms (default 10). Plans are cut to SLO − this; misses are still counted against the
     * SLO. Must stay below every SLO of the model.
     */
    sloMarginMs: z.number().nonnegative().default(10),
    /** Function backend, instantiated once per plan group with that group's function config. */
    backend: BackendSchema,
  })
  .strict();

export const ClusterInstanceSchema = z
  .object({
    /** Instance name, unique. */
    name: z.string().min(1),
    /** Instance type (for the latency table and the heterogeneity coefficient). */
    type: z.string().min(1),
    backend: BackendSchema,
  })
  .strict();

export const ClusterModeSchema = z
  .object({
    mode: z.literal('cluster'),
    /** Latency target, ms. */
    qosMs: z.number().positive(),
    /** Instance type all others are compared with (the Kairos base type). */
    baseType: z.string().min(1),
    /** Service time of one item per instance type, ms, × the query size (the distributor's estimator); default 1 ms. */
    latencyMs: z.record(z.string(), z.number().nonnegative()).default({}),
    /**
     * Estimate service times from a bundled Kairos latency table instead (rm2, dien, wnd, mtwnd,
     * ncf): the mean of each instance type at the query's size (its batch dimension, or
     * parameters.query_size, rounded up to the profiled grid). `querySize` fixes every query's size
     * instead. Overrides latencyMs.
     */
    kairos: z
      .object({ model: z.string().min(1), querySize: z.number().int().positive().optional() })
      .strict()
      .optional(),
    instances: z.array(ClusterInstanceSchema).min(1),
    /**
     * Live re-allocation (needs `kairos`, whose table the allocator plans with): every `intervalS`
     * the measured rate and size mix (over replan.windowS) pick a configuration within the budget;
     * the pool grows or shrinks when it is short, or when a cheaper one suffices, by `margin`.
     * Absent: the pool stays as `instances`.
     */
    realloc: z
      .object({
        budgetUsdPerHour: z.number().positive(),
        /** Types the pool may use: price (default: data/kairos/aws-ec2-prices.csv), most instances, backend of a new one. */
        pool: z
          .array(
            z
              .object({
                type: z.string().min(1),
                priceUsdPerHour: z.number().positive().optional(),
                maxCount: z.number().int().nonnegative().optional(),
                backend: BackendSchema,
              })
              .strict(),
          )
          .min(1),
        /** Seconds between decisions (default 30). */
        intervalS: z.number().positive().default(30),
        /** Hysteresis: grow only for > (1 + margin) × the capacity, shrink only below (1 − margin) × the cost (default 0.1). */
        margin: z.number().min(0).max(0.9).default(0.1),
        /** Capacity (Kairos upper bound) wanted per unit of measured rate (default 1.25). */
        headroom: z.number().min(1).default(1.25),
        /**
         * `verified` (default): a proposed change is first checked by a short simulation of the
         * current pool and the bound's 5 best candidates (in a worker thread); `bound`: the upper
         * bound alone decides.
         */
        select: z.enum(['verified', 'bound']).default('verified'),
      })
      .strict()
      .optional(),
  })
  .strict();

export const ServeConfigSchema = z
  .object({
    listen: z
      .object({
        /** Default 127.0.0.1 (use 0.0.0.0 to expose). */
        host: z.string().default('127.0.0.1'),
        /** Default 8080; 0 picks a free port. */
        port: z.number().int().min(0).max(65535).default(8080),
        /**
         * Port of the Open Inference Protocol gRPC endpoint (inference.GRPCInferenceService) on the
         * same host. Default 8081, or 0 when `port` is 0 (a gateway on a free port never takes a
         * fixed one); 0 picks a free port; null turns gRPC off.
         */
        grpcPort: z.number().int().min(0).max(65535).nullable().optional(),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8080 }),
    models: z.array(ModelConfigSchema).min(1),
    applications: z.array(ApplicationSchema).min(1),
    serving: z.discriminatedUnion('mode', [ServerlessModeSchema, ClusterModeSchema]),
    replan: z
      .object({
        /** Re-plan period, seconds (default 60); 0 disables re-planning. */
        intervalS: z.number().nonnegative().default(60),
        /** Sliding window for measured rates, seconds (default 60). */
        windowS: z.number().positive().default(60),
      })
      .strict()
      .default({ intervalS: 60, windowS: 60 }),
    limits: z
      .object({
        /** Largest request body, bytes (default 1 MiB): beyond it 413. */
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .default(1 << 20),
        /** Largest leading (batch) dimension of one request; each sample is batched on its own (default 64). */
        maxSamplesPerRequest: z.number().int().positive().default(64),
        /** Requests waiting per model (queued + in backends) before 429 (default 10000). */
        maxQueue: z.number().int().positive().default(10_000),
        /**
         * A request not answered by arrival + SLO × this (or its own deadline_ms) gets 504
         * (default 2: late answers within twice the SLO are still delivered, and counted as misses).
         */
        hardDeadlineFactor: z.number().min(1).default(2),
        /** Retry-After seconds sent with 429/503 (default 1). */
        retryAfterS: z.number().int().nonnegative().default(1),
        /** Grace period for draining on SIGTERM, seconds (default 30). */
        drainS: z.number().positive().default(30),
        // Hostile-traffic limits (src/serve/hostile.ts, docs/reference/hostile-input.md).
        /** Deepest JSON nesting of a body (default 32): beyond it 400 E_JSON_TOO_DEEP. */
        maxJsonDepth: z.number().int().min(2).max(1000).default(HOSTILE_DEFAULTS.maxJsonDepth),
        /** Request line + headers must arrive within this, ms (default 10000): else 408. */
        headersTimeoutMs: z.number().int().positive().default(HOSTILE_DEFAULTS.headersTimeoutMs),
        /** Whole request (headers + body) must arrive within this, ms (default 30000): else 408. */
        requestTimeoutMs: z.number().int().positive().default(HOSTILE_DEFAULTS.requestTimeoutMs),
        /** A body stalled this long, ms, is answered 408 and its connection closed (default 5000). */
        bodyIdleTimeoutMs: z.number().int().positive().default(HOSTILE_DEFAULTS.bodyIdleTimeoutMs),
        /**
         * Serverless admission: 'deadline' (default) admits a request only when its predicted
         * completion meets its deadline and keeps each app's planned share of a saturated group
         * (else 429 E_OVERLOADED with Retry-After at once); 'queue': only maxQueue.
         */
        admission: z.enum(['deadline', 'queue']).default('deadline'),
        /** Idle keep-alive connections close after this, ms (default 65000). */
        keepAliveTimeoutMs: z.number().int().positive().default(HOSTILE_DEFAULTS.keepAliveTimeoutMs),
      })
      .strict()
      .refine((l) => l.headersTimeoutMs <= l.requestTimeoutMs, {
        message: 'headersTimeoutMs must not exceed requestTimeoutMs',
        path: ['headersTimeoutMs'],
      })
      .default({
        maxBodyBytes: 1 << 20,
        maxSamplesPerRequest: 64,
        maxQueue: 10_000,
        hardDeadlineFactor: 2,
        retryAfterS: 1,
        drainS: 30,
        admission: 'deadline',
        ...HOSTILE_DEFAULTS,
      }),
    admin: z
      .object({
        /** Bearer token for /admin/*; absent = admin endpoints off. */
        token: z.string().min(16, 'must be at least 16 characters').optional(),
        /** Environment variable holding the token (used when `token` is absent). */
        tokenEnv: z.string().optional(),
      })
      .strict()
      .default({}),
    /** Online latency calibration, serverless mode (docs/reference/calibration.md). */
    calibration: CalibrationConfigSchema.default({ enabled: true }),
    /** Log level for pino (default info). */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const models = new Set<string>();
    c.models.forEach((m, i) => {
      if (models.has(m.name))
        ctx.addIssue({ code: 'custom', path: ['models', i, 'name'], message: 'duplicate model name' });
      models.add(m.name);
    });
    const apps = new Set<string>();
    c.applications.forEach((a, i) => {
      if (apps.has(a.name))
        ctx.addIssue({ code: 'custom', path: ['applications', i, 'name'], message: 'duplicate application' });
      apps.add(a.name);
      if (a.model === undefined && c.models.length > 1)
        ctx.addIssue({
          code: 'custom',
          path: ['applications', i, 'model'],
          message: 'required when there are several models',
        });
      if (a.model !== undefined && !models.has(a.model))
        ctx.addIssue({ code: 'custom', path: ['applications', i, 'model'], message: 'unknown model' });
    });
    c.models.forEach((m, i) => {
      if (m.defaultApp === undefined) return;
      const own = c.applications.filter((a) => (a.model ?? c.models[0].name) === m.name).map((a) => a.name);
      if (!own.includes(m.defaultApp))
        ctx.addIssue({
          code: 'custom',
          path: ['models', i, 'defaultApp'],
          message: `not an application of model ${m.name}; its applications: ${own.join(', ') || 'none'}`,
        });
    });
  });
export type ServeConfig = z.output<typeof ServeConfigSchema>;
export type ServeConfigInput = z.input<typeof ServeConfigSchema>;

/** Validate a config object. `where` prefixes field paths (e.g. the file name). */
export function parseServeConfig(input: unknown, where = 'config'): ServeConfig {
  return parseWith(ServeConfigSchema, input, 'E_CONFIG_INVALID', where);
}

/** Parse YAML or JSON text (YAML is a superset of JSON), then validate. */
export function parseServeConfigText(text: string, where = 'config'): ServeConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new HetserveError('E_FILE_PARSE', `${where}: not valid YAML/JSON (${(e as Error).message})`, {
      field: where,
      value: text.length > 80 ? text.slice(0, 77) + '...' : text,
    });
  }
  return parseServeConfig(raw, where);
}

/** The gRPC port in effect (see listen.grpcPort); null = gRPC off. */
export function grpcPortOf(c: ServeConfig): number | null {
  const p = c.listen.grpcPort;
  if (p !== undefined) return p;
  return c.listen.port === 0 ? 0 : 8081;
}

/** The model an application calls. */
export function appModel(c: ServeConfig, app: ApplicationConfig): string {
  return app.model ?? c.models[0].name;
}

/** Admin token in effect (config value, else the named environment variable), or undefined. */
export function adminToken(c: ServeConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (c.admin.token) return c.admin.token;
  if (c.admin.tokenEnv) {
    const t = env[c.admin.tokenEnv];
    if (t && t.length >= 16) return t;
  }
  return undefined;
}
