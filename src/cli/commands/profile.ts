/**
 * `hetserve profile onnx|http|synth`: measure a model or an endpoint and write the profile the
 * planners read, with the fit-error table and an optional SVG of measured vs fitted latency.
 */
import type { Command } from 'commander';
import { HetserveError } from '../../model/errors.ts';
import { parseNumber, parseNumberList } from '../io.ts';

type OutputKind = 'cpu' | 'gpu' | 'cluster';

interface CommonOpts {
  batch: string;
  runs: string;
  warmup: string;
  percentile: string;
  as?: string;
  instance: string;
  name?: string;
  out?: string;
  plot?: string;
  maxBatch?: string;
  hostMemMb: string;
  sliceS: string;
  sliceUnits: string;
  json?: boolean;
  progress: boolean;
  /** False with --no-samples. */
  samples: boolean;
  maxSamples: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseKind(raw: string | undefined, fallback: OutputKind): OutputKind {
  const v = raw ?? fallback;
  if (v !== 'cpu' && v !== 'gpu' && v !== 'cluster') {
    throw new HetserveError(
      'E_INVALID_OPTION',
      `--as: expected cpu, gpu or cluster (got ${JSON.stringify(v)})`,
      {
        field: '--as',
        value: v,
      },
    );
  }
  return v;
}

/** Parse repeated "key=value" options into a record, naming the option on failure. */
function parsePairs(option: string, pairs: string[], numeric: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf(numeric ? '=' : ':');
    if (i <= 0) {
      throw new HetserveError(
        'E_INVALID_OPTION',
        `${option}: expected ${numeric ? 'NAME=SIZE' : 'Name: value'} (got ${JSON.stringify(p)})`,
        {
          field: option,
          value: p,
        },
      );
    }
    out[p.slice(0, i).trim()] = p.slice(i + 1).trim();
  }
  return out;
}

/** The sweep's progress bar (runs done of all, and the configuration being measured). */
async function sweepProgress(enabled: boolean): Promise<{
  update: (done: number, total: number, config: { vcpu?: number; batch: number }) => void;
  stop: () => void;
}> {
  const { progressBar } = await import('../progress.ts');
  const bar = await progressBar(0, 'profiling', !enabled, true, { unit: 'runs', etaBuffer: 200 });
  return {
    update: (done, total, c) =>
      bar.update(done, total, `${c.vcpu !== undefined ? `vCPU ${c.vcpu}, ` : ''}batch ${c.batch}`),
    stop: () => bar.stop(),
  };
}

function parsePercentile(raw: string): number {
  const percentile = parseNumber('--percentile', raw, { min: 1 });
  if (percentile > 100) {
    throw new HetserveError('E_INVALID_OPTION', `--percentile: must be in [1, 100] (got ${raw})`, {
      field: '--percentile',
      value: raw,
    });
  }
  return percentile;
}

/** Build, write and report the profile of a sweep (shared by `onnx` and `http`). */
async function finishSweep(
  sweep: import('../../profile/measure.ts').SweepResult,
  kind: OutputKind,
  o: CommonOpts,
): Promise<void> {
  const { writeFileSync } = await import('node:fs');
  const build = await import('../../profile/build.ts');
  const percentile = parsePercentile(o.percentile);
  for (const n of sweep.notes) process.stderr.write(`note: ${n}\n`);
  let doc: unknown;
  let fits: import('../../profile/build.ts').FitRow[] = [];
  let svg: string | undefined;
  const name = o.name ?? sweep.name;
  const samples = {
    samples: o.samples,
    maxSamples: parseNumber('--max-samples', o.maxSamples, { integer: true, min: 1 }),
  };
  if (kind === 'cpu') {
    const r = build.buildCpuProfile(sweep, {
      name,
      percentile,
      ...samples,
      ...(o.maxBatch ? { maxBatch: parseNumber('--max-batch', o.maxBatch, { integer: true, min: 1 }) } : {}),
    });
    doc = r.profile;
    fits = r.fits;
    if (o.plot) {
      const { plotCpuFit } = await import('../../profile/plot.ts');
      svg = await plotCpuFit(build.summaryPoints(sweep.measurements, percentile), r.profile);
    }
  } else if (kind === 'gpu') {
    const r = build.buildGpuProfile(sweep, {
      name,
      percentile,
      ...samples,
      hostMemMb: parseNumber('--host-mem-mb', o.hostMemMb, { min: 0 }),
      sliceS: parseNumber('--slice-s', o.sliceS, { min: 1e-6 }),
      sliceUnits: parseNumber('--slice-units', o.sliceUnits, { integer: true, min: 1 }),
    });
    doc = r.profile;
    fits = r.fits;
    if (o.plot) {
      const { plotBatchCurve } = await import('../../profile/plot.ts');
      const g = r.profile.gpu!;
      svg = await plotBatchCurve(
        [
          {
            name: 'whole GPU',
            points: build.summaryPoints(sweep.measurements, percentile),
            line: { slope: g.xi1, intercept: g.xi2 },
          },
        ],
        `${name}: measured (dots) vs fitted ξ1·b+ξ2 (line)`,
      );
    }
  } else {
    const cluster = build.buildClusterProfile(sweep, { model: name, instance: o.instance });
    doc = cluster;
    if (o.plot) {
      const { plotBatchCurve } = await import('../../profile/plot.ts');
      svg = await plotBatchCurve(
        Object.entries(cluster.instances).map(([inst, p]) => ({
          name: inst,
          points: cluster.batchSizes.map((b, i) => ({ batch: b, avg: p.meanMs![i]! / 1000 })),
        })),
        `${cluster.model}: mean latency per batch size (largest sample dropped)`,
      );
    }
  }
  // Arrays of numbers (coefficients, latency samples) on one line each: a sample set stays one line.
  const text =
    JSON.stringify(doc, null, 2).replace(
      /\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]/g,
      (_m, body: string) => `[${body.split(/,\s*/).join(', ')}]`,
    ) + '\n';
  if (o.out) writeFileSync(o.out, text);
  if (svg && o.plot) writeFileSync(o.plot, svg);
  const summary = {
    kind,
    out: o.out ?? null,
    plot: o.plot ?? null,
    sweepSeconds: Math.round(sweep.sweepSeconds * 1000) / 1000,
    configurations: sweep.measurements.length,
    /** Sample sets written into the profile (0 with --no-samples or for cluster tables). */
    sampleSets: kind === 'cluster' ? 0 : ((doc as { samples?: unknown[] }).samples?.length ?? 0),
    fits,
    notes: sweep.notes,
  };
  if (o.json) {
    if (!o.out)
      throw new HetserveError('E_INVALID_OPTION', '--json needs --out (stdout carries the summary)', {
        field: '--json',
        value: true,
      });
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  // Human output: the profile goes to stdout only when there is no --out; the table goes to stderr then.
  const report = (s: string): boolean => (o.out ? process.stdout.write(s) : process.stderr.write(s));
  if (!o.out) process.stdout.write(text);
  report(`profiled ${sweep.measurements.length} configurations in ${sweep.sweepSeconds.toFixed(1)} s\n`);
  if (fits.length) report(build.formatFitTable(fits) + '\n');
  if (kind === 'cluster') {
    // No curve to fit: show the per-size means the cluster planner will use.
    const c = doc as import('../../model/cluster.ts').ClusterProfile;
    const names = Object.keys(c.instances);
    const rows = c.batchSizes.map((b, i) => [
      String(b),
      ...names.map((n) => c.instances[n]!.meanMs![i]!.toFixed(3)),
    ]);
    const head = ['batch', ...names.map((n) => `${n} mean ms`)];
    const w = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
    for (const r of [head, ...rows]) report(r.map((x, j) => x.padEnd(w[j]!)).join('  ') + '\n');
  }
  if (o.out) report(`wrote ${o.out}\n`);
  if (o.plot) report(`wrote ${o.plot}\n`);
}

function addCommon(cmd: Command, defaults: { batch: string; runs: string; warmup: string }): Command {
  return cmd
    .option('--batch <list>', 'batch sizes, comma-separated', defaults.batch)
    .option('--runs <n>', 'measured runs per configuration', defaults.runs)
    .option('--warmup <n>', 'warm-up runs per configuration, discarded', defaults.warmup)
    .option(
      '--percentile <p>',
      'percentile taken as the maximum latency (after dropping the largest sample)',
      '99',
    )
    .option(
      '--as <kind>',
      'profile to write: cpu (serverless CPU curves), gpu (whole-GPU line), cluster (per-size table)',
    )
    .option(
      '--instance <name>',
      'instance-type name in a cluster profile (a vCPU sweep appends -<c>vcpu)',
      'local',
    )
    .option('--name <name>', 'profile (model) name; default: the file name or the OIP model name')
    .option('--max-batch <n>', 'cpu: largest batch size covered (1..n); default: the largest measured')
    .option('--host-mem-mb <mb>', 'gpu: host RAM of the GPU function, MB', '0')
    .option('--slice-s <s>', 'gpu: τ, the unit time slice, s', '0.002')
    .option('--slice-units <n>', 'gpu: M_max, GPU memory in GB = slice units', '24')
    .option(
      '--no-samples',
      'cpu/gpu: leave the measured latencies out of the profile (default: kept in its `samples`, one set per configuration, for `simulate serverless --latency`)',
    )
    .option(
      '--max-samples <n>',
      'cpu/gpu: most samples kept per configuration (evenly spaced quantiles of the sorted samples, largest dropped)',
      '200',
    )
    .option('--out <file>', 'write the profile here (default: print it to stdout)')
    .option('--plot <file.svg>', 'draw measured points against the fitted curves')
    .option('--json', 'print a one-line JSON summary (fits, sweep time) instead of the table; needs --out')
    .option('--no-progress', 'no progress bar on stderr');
}

export function register(program: Command): void {
  const profile = program
    .command('profile')
    .description('Measure a model (onnx) or an endpoint (http) and fit the latency models the planners use');

  addCommon(
    profile
      .command('onnx')
      .argument('<model>', 'ONNX model file (first input dimension = symbolic batch)')
      .description('Profile an ONNX model locally with onnxruntime, emulating vCPU by a CPU-time quota')
      .option('--vcpu <list>', 'vCPU values to emulate, comma-separated', '0.5,1,2')
      .option(
        '--dim <name=size>',
        'size of another symbolic input dimension (repeatable)',
        collect,
        [] as string[],
      )
      .option('--order <order>', 'interleaved (round-robin over configurations) or sequential', 'interleaved')
      .option('--seed <n>', 'seed of the generated inputs', '1')
      .option(
        '--cpus <list>',
        'pin the sweep to these CPUs with taskset (e.g. 0 or 0-1); default: unchanged',
      ),
    { batch: '1,2,3,4', runs: '100', warmup: '3' },
  ).action(
    async (
      model: string,
      o: CommonOpts & { vcpu: string; dim: string[]; order: string; seed: string; cpus?: string },
    ) => {
      const { profileOnnx } = await import('../../profile/onnx-runner.ts');
      // Check what the end of the sweep needs before spending minutes on it.
      const kind = parseKind(o.as, 'cpu');
      if (kind === 'gpu') {
        throw new HetserveError(
          'E_INVALID_OPTION',
          '--as gpu: the ONNX runner measures on CPU; profile a GPU endpoint with `profile http --as gpu` or tools/gpu-profile',
          { field: '--as', value: o.as },
        );
      }
      parsePercentile(o.percentile);
      parseNumber('--max-samples', o.maxSamples, { integer: true, min: 1 });
      if (o.order !== 'interleaved' && o.order !== 'sequential') {
        throw new HetserveError(
          'E_INVALID_OPTION',
          `--order: expected interleaved or sequential (got ${JSON.stringify(o.order)})`,
          {
            field: '--order',
            value: o.order,
          },
        );
      }
      const dims = Object.fromEntries(
        Object.entries(parsePairs('--dim', o.dim, true)).map(([k, v]) => [
          k,
          parseNumber('--dim', v, { integer: true, min: 1 }),
        ]),
      );
      const bar = await sweepProgress(o.progress);
      let sweep;
      try {
        sweep = await profileOnnx(model, {
          vcpus: parseNumberList('--vcpu', o.vcpu, { min: 0.01 }),
          batches: parseNumberList('--batch', o.batch, { integer: true, min: 1 }),
          runs: parseNumber('--runs', o.runs, { integer: true, min: 2 }),
          warmup: parseNumber('--warmup', o.warmup, { integer: true, min: 0 }),
          dims,
          order: o.order,
          seed: parseNumber('--seed', o.seed, { integer: true }),
          ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
          onProgress: bar.update,
        });
      } finally {
        bar.stop();
      }
      await finishSweep(sweep, kind, o);
    },
  );

  addCommon(
    profile
      .command('http')
      .argument('<url>', 'inference endpoint, e.g. http://host/v2/models/NAME/infer')
      .description('Profile an HTTP inference endpoint (OIP v2 JSON or a body template)')
      .option('--vcpu <list>', 'vCPU values to sweep; the --hook resizes the endpoint (HETSERVE_VCPU)')
      .option('--concurrency <n>', 'requests in flight at once', '1')
      .option('--template <file>', 'request body template with {{batch}}, {{data}}, {{rows}} placeholders')
      .option(
        '--input-name <name>',
        'OIP input name (default: every input of the endpoint\'s OIP model metadata, else "input")',
      )
      .option(
        '--input-shape <list>',
        'per-sample input shape, comma-separated (default: from the metadata, else 4)',
      )
      .option('--datatype <type>', 'OIP datatype (default: from the metadata, else FP32)')
      .option('--header <name:value>', 'extra request header (repeatable)', collect, [] as string[])
      .option(
        '--hook <cmd>',
        'shell command run before each configuration (env HETSERVE_VCPU, HETSERVE_BATCH, HETSERVE_URL)',
      )
      .option('--timeout-ms <ms>', 'per-request timeout', '30000'),
    { batch: '1,2,4,8', runs: '20', warmup: '2' },
  ).action(
    async (
      url: string,
      o: CommonOpts & {
        vcpu?: string;
        concurrency: string;
        template?: string;
        inputName?: string;
        inputShape?: string;
        datatype?: string;
        header: string[];
        hook?: string;
        timeoutMs: string;
      },
    ) => {
      const { profileHttp, oipInputs } = await import('../../profile/http-runner.ts');
      const { readTextFile } = await import('../io.ts');
      const vcpus = o.vcpu ? parseNumberList('--vcpu', o.vcpu, { min: 0.01 }) : undefined;
      const kind = parseKind(o.as, vcpus ? 'cpu' : 'cluster');
      parsePercentile(o.percentile);
      parseNumber('--max-samples', o.maxSamples, { integer: true, min: 1 });
      const headers = parsePairs('--header', o.header, false);
      const timeoutMs = parseNumber('--timeout-ms', o.timeoutMs, { integer: true, min: 1 });
      // No body described: the endpoint's own OIP metadata says what to send.
      const described = o.template ?? o.inputName ?? o.inputShape ?? o.datatype;
      const discovered = described === undefined ? await oipInputs(url, headers, timeoutMs) : undefined;
      const bar = await sweepProgress(o.progress);
      let sweep;
      try {
        sweep = await profileHttp({
          url,
          batches: parseNumberList('--batch', o.batch, { integer: true, min: 1 }),
          ...(vcpus ? { vcpus } : {}),
          runs: parseNumber('--runs', o.runs, { integer: true, min: 1 }),
          warmup: parseNumber('--warmup', o.warmup, { integer: true, min: 0 }),
          concurrency: parseNumber('--concurrency', o.concurrency, { integer: true, min: 1 }),
          ...(o.template ? { template: readTextFile(o.template, '--template') } : {}),
          ...(discovered
            ? { inputs: discovered.inputs }
            : {
                inputName: o.inputName ?? 'input',
                inputShape: parseNumberList('--input-shape', o.inputShape ?? '4', { integer: true, min: 1 }),
                datatype: o.datatype ?? 'FP32',
              }),
          headers,
          ...(o.hook ? { hook: o.hook } : {}),
          timeoutMs,
          onProgress: bar.update,
        });
      } finally {
        bar.stop();
      }
      await finishSweep(sweep, kind, o);
    },
  );

  profile
    .command('synth')
    .argument('<kind>', 'mlp or cnn')
    .description('Write a synthetic ONNX model built in code (symbolic batch dimension, seeded weights)')
    .requiredOption('--out <file>', 'output .onnx file')
    .option('--seed <n>', 'weight seed', '1')
    .option('--inputs <n>', 'mlp: features per sample', '256')
    .option('--hidden <n>', 'mlp: hidden width', '512')
    .option('--channels <n>', 'cnn: input channels', '3')
    .option('--size <n>', 'cnn: input height = width', '32')
    .option('--filters <n>', 'cnn: filters per conv layer', '16')
    .option('--layers <n>', 'hidden (mlp) or conv (cnn) layers', '2')
    .option('--classes <n>', 'output width', '10')
    .action(async (kind: string, o: Record<string, string>) => {
      const { buildSynthetic } = await import('../../onnx/synthetic-models.ts');
      const { writeFileSync } = await import('node:fs');
      const int = (k: string): number => parseNumber(`--${k}`, o[k]!, { integer: true, min: 1 });
      const m = buildSynthetic(kind, {
        seed: parseNumber('--seed', o['seed']!, { integer: true }),
        inputs: int('inputs'),
        hidden: int('hidden'),
        channels: int('channels'),
        size: int('size'),
        filters: int('filters'),
        layers: int('layers'),
        classes: int('classes'),
      });
      writeFileSync(o['out']!, m.bytes);
      process.stdout.write(
        `wrote ${o['out']} (${m.kind}, ${m.bytes.length} bytes, input ${m.inputName} [batch, ${m.inputShape.join(', ')}], output ${m.outputName} [batch, ${m.outputShape.join(', ')}])\n`,
      );
    });
}
