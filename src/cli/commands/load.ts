import type { Command } from 'commander';
import { parseNumber, readJsonFile } from '../io.ts';
import { HetserveError } from '../../model/errors.ts';

interface LoadCliOpts {
  url: string;
  model: string;
  app: string[];
  apps?: string;
  duration: string;
  trace?: string;
  segment: string;
  scale: string;
  seed: string;
  timeout: string;
  connections: string;
  appVia: string;
  querySizes?: string;
  json?: boolean;
}

/**
 * `name:slo:rps`, as `plan --app` (SLO in s, rate in req/s; the name may contain ':'). The old
 * `name:rps[:slo]` order is refused when it can be told apart (two fields), naming the new form.
 */
function parseAppSpec(s: string): { name: string; rps: number; slo?: number } {
  const parts = s.split(':');
  if (parts.length < 3 || parts[0] === '')
    throw new HetserveError(
      'E_INVALID_OPTION',
      `--app: expected name:slo:rps, as in \`hetserve plan\` (got ${JSON.stringify(s)}; the older name:rps[:slo] order is no longer accepted)`,
      { field: '--app', value: s },
    );
  const rps = parts.pop()!;
  const slo = parts.pop()!;
  return {
    name: parts.join(':'),
    slo: parseNumber('--app slo', slo, { above: 0 }),
    rps: parseNumber('--app rps', rps, { min: 0 }),
  };
}

export function register(program: Command): void {
  program
    .command('load')
    .description(
      'Open-loop load (Poisson or per-minute traces) against any OIP/KServe v2 endpoint; prints latency percentiles per application',
    )
    .option('-u, --url <url>', 'endpoint base URL', 'http://127.0.0.1:8080')
    .option('-m, --model <name>', 'model name at the endpoint', 'mlp')
    .option(
      '-a, --app <name:slo:rps>',
      'an application, its SLO (s) and Poisson rate (req/s), as in `plan --app`; repeatable',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--apps <file>', 'applications as JSON [{name, rps, slo?}] (e.g. data/examples/readme-apps.json)')
    .option('-d, --duration <s>', 'run time in seconds', '10')
    .option(
      '--trace <path>',
      'per-minute request counts: a CSV file or a directory of <app>.csv / app1..N.csv (replaces the rates)',
    )
    .option('--segment <s>', 'seconds per trace minute (smaller = faster replay)', '60')
    .option('--scale <x>', 'multiply every rate', '1')
    .option('--seed <n>', 'RNG seed of arrivals and inputs', '1')
    .option('--timeout <ms>', 'client timeout per request', '30000')
    .option('--connections <n>', 'connections to the endpoint', '64')
    .option(
      '--app-via <how>',
      "name the app by 'header' (x-hetserve-app) or 'parameter' (parameters.app)",
      'header',
    )
    .option(
      '--query-sizes <mix>',
      "cluster mode: send parameters.query_size drawn from 'deeprecsys' or a histogram JSON file {sizes, weights}",
    )
    .option('--json', 'print the report as JSON')
    .action(async (o: LoadCliOpts) => {
      const { runLoad, formatLoadReport } = await import('../../serve/load.ts');
      let apps = o.app.map(parseAppSpec);
      if (o.apps) {
        const doc = readJsonFile(o.apps, '--apps');
        if (!Array.isArray(doc))
          throw new HetserveError('E_INVALID_INPUT', '--apps: expected a JSON array of {name, rps, slo?}', {
            field: '--apps',
            value: o.apps,
          });
        apps = [
          ...apps,
          ...doc.map((a: { name?: unknown; rps?: unknown; slo?: unknown }, i) => {
            if (typeof a?.name !== 'string' || typeof a.rps !== 'number' || !(a.rps >= 0))
              throw new HetserveError(
                'E_APP_INVALID',
                `--apps[${i}]: needs name (string) and rps (number >= 0)`,
                { field: `--apps[${i}]`, value: a },
              );
            return { name: a.name, rps: a.rps, ...(typeof a.slo === 'number' ? { slo: a.slo } : {}) };
          }),
        ];
      }
      if (apps.length === 0)
        throw new HetserveError('E_APPS_EMPTY', 'give --app name:slo:rps (repeatable) or --apps file.json', {
          field: '--app',
          value: [],
        });
      if (o.appVia !== 'header' && o.appVia !== 'parameter')
        throw new HetserveError(
          'E_INVALID_OPTION',
          `--app-via: expected header or parameter (got ${JSON.stringify(o.appVia)})`,
          { field: '--app-via', value: o.appVia },
        );
      let traces: number[][] | undefined;
      if (o.trace) {
        const { readTraces } = await import('../../workload/arrivals.ts');
        traces = readTraces(
          o.trace,
          apps.map((a) => a.name),
        );
      }
      let querySizes: import('../../workload/query-sizes.ts').QuerySizeDistribution | undefined;
      if (o.querySizes !== undefined) {
        const q = await import('../../workload/query-sizes.ts');
        querySizes =
          o.querySizes === 'deeprecsys'
            ? q.deepRecSysSizes()
            : q.sizeDistributionFromHistogram(
                readJsonFile(o.querySizes, '--query-sizes'),
                '--query-sizes',
                1,
              );
      }
      const ctrl = new AbortController();
      process.once('SIGINT', () => ctrl.abort());
      const report = await runLoad({
        url: o.url,
        model: o.model,
        apps,
        traces,
        durationS: parseNumber('--duration', o.duration, { min: 0 }),
        segmentS: parseNumber('--segment', o.segment, { min: 0.001 }),
        scale: parseNumber('--scale', o.scale, { min: 0 }),
        seed: parseNumber('--seed', o.seed, { integer: true, min: 0 }),
        timeoutMs: parseNumber('--timeout', o.timeout, { min: 1 }),
        connections: parseNumber('--connections', o.connections, { integer: true, min: 1 }),
        appVia: o.appVia,
        ...(querySizes ? { querySizes } : {}),
        signal: ctrl.signal,
        onProgress: o.json
          ? undefined
          : (r) => process.stderr.write(`\r${r.durationS.toFixed(0)} s: ${r.sent} sent, ${r.ok} ok   `),
      });
      if (!o.json) process.stderr.write('\n');
      if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else process.stdout.write(formatLoadReport(report) + '\n');
    });
}
