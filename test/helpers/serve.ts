/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies are checked by assertions */
/** Shared fixtures of the gateway tests: configs, hand-made plans, an in-process gateway on 127.0.0.1:0. */
import pino from 'pino';
import type { App } from '../../src/model/app.ts';
import type { Plan } from '../../src/model/plan.ts';
import { parseServeConfig, type ServeConfigInput } from '../../src/model/serve-config.ts';
import { Gateway, type GatewayOptions } from '../../src/serve/gateway.ts';

export const APPS = [
  { name: 'a0', slo: 0.5, rps: 5 },
  { name: 'a1', slo: 0.6, rps: 5 },
  { name: 'a2', slo: 0.8, rps: 5 },
  { name: 'a3', slo: 1.0, rps: 15 },
];

export function baseConfig(over: Partial<ServeConfigInput> = {}): ServeConfigInput {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    models: [
      {
        name: 'echo',
        profile: 'VGG19',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
      },
    ],
    applications: APPS,
    serving: { mode: 'serverless', backend: { type: 'replay', latency: 0 } },
    replan: { intervalS: 0, windowS: 10 },
    // A replay latency of 0 against VGG19's profile is a drift of ×0: calibration (on by default)
    // would refit and re-plan under these tests; test/serve/calibration.test.ts turns it on.
    calibration: { enabled: false },
    logLevel: 'silent',
    ...over,
  };
}

/** The live admission test's gateway (and its stall bench's): one replay model at 20 ms, one batch in flight. */
export function floodConfig(): ServeConfigInput {
  return baseConfig({
    models: [
      {
        name: 'echo',
        profile: 'VGG19',
        maxInFlight: 1,
        inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }],
      },
    ],
    serving: { mode: 'serverless', backend: { type: 'replay', latency: 20 } },
  });
}

/** A plan with the given groups of app names (batch size and timeouts per group). */
export function handPlan(
  groups: { apps: string[]; batchSize: number; timeout: number; vcpu?: number }[],
  apps: App[] = APPS,
): Plan {
  return {
    kind: 'serverless-plan',
    algorithm: 'hand',
    model: 'echo',
    priceTable: 'prototype-cny',
    currency: 'CNY',
    compat: 'paper',
    totalCostPerRequest: 1e-6,
    groups: groups.map((g) => ({
      apps: g.apps,
      function: { kind: 'cpu' as const, vcpu: g.vcpu ?? 1, memoryGb: 2 },
      batchSize: g.batchSize,
      timeouts: Object.fromEntries(g.apps.map((a) => [a, g.timeout])),
      costPerRequest: 1e-6,
      trafficShare: 1 / groups.length,
      weightedCost: 1e-6 / groups.length,
      rps: 10,
      latency: { avg: 0.001, max: 0.002 },
      slack: Object.fromEntries(g.apps.map((a) => [a, 0.1])),
    })),
    excluded: [],
    apps: apps.map((a) => ({ name: a.name, slo: a.slo, rps: a.rps })),
  };
}

export async function startGateway(
  cfg: ServeConfigInput = baseConfig(),
  opts: Partial<GatewayOptions> = {},
): Promise<{ gw: Gateway; url: string; grpcPort: number | undefined }> {
  const config = parseServeConfig(cfg);
  const gw = new Gateway({
    config,
    logger: pino({ level: 'silent' }),
    planFn: () => handPlan([{ apps: APPS.map((a) => a.name), batchSize: 4, timeout: 0.005 }]),
    ...opts,
  });
  const { url, grpcPort } = await gw.start();
  return { gw, url, grpcPort };
}

/** Model "echo" with two inputs (x FP32 [4], ids INT64 [3]); replay echoes them as its outputs. */
export function twoInputsConfig(defaultApp: string, over: Partial<ServeConfigInput> = {}): ServeConfigInput {
  return baseConfig({
    models: [
      {
        name: 'echo',
        profile: 'VGG19',
        defaultApp,
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [4] },
          { name: 'ids', datatype: 'INT64', shape: [3] },
        ],
      },
    ],
    ...over,
  });
}

export function inferBody(
  x: number[] = [1, 2, 3, 4],
  app?: string,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    ...(app ? { parameters: { app } } : {}),
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: x }],
    ...extra,
  });
}

export async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const r = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, json, headers: r.headers };
}

/**
 * Wait until `cond()` holds: synchronisation on observable state instead of a fixed sleep. The
 * bound only keeps a broken gateway from hanging the run; it is not a speed target.
 */
export async function waitFor(cond: () => boolean, what: string, boundMs = 30_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > boundMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A promise with its settled state visible (for "not answered yet" checks). */
export function tracked<T>(p: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  const promise = p.finally(() => {
    done = true;
  });
  return { promise, settled: () => done };
}
