/**
 * Regenerates the demo's bundled profile, data/profiles/demo-mlp.profile.json (`npm run
 * profile:demo`): builds the demo MLP with `hetserve profile synth` (the sizes and seed of
 * `DEMO_MLP`, so the profile is of the model the demo serves), measures it with `hetserve profile
 * onnx` (CPU, samples kept) and records in the profile's `source` the commands, the machine and
 * the date. About 2 s of sweep on a 2-core machine.
 *
 * The vCPU sweep covers the bottom of the planners' grid (0.05 vCPU upwards): the MLP takes well
 * under a millisecond, so the invocation fee dominates every plan and the planner picks small
 * functions; measuring there keeps the plan inside the fitted range instead of extrapolating.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEMO_MLP, DEMO_PROFILE_PATH } from './defaults.ts';

/** The `profile onnx` sweep of the bundled profile. */
export const DEMO_SWEEP = {
  vcpu: '0.05,0.1,0.2,0.35,0.5',
  batch: '1,2,3,4',
  runs: '1000',
} as const;

/** `hetserve profile synth …` arguments that build the demo MLP into `out`. */
export function demoSynthArgs(out: string): string[] {
  const o = DEMO_MLP.options;
  return [
    'profile',
    'synth',
    'mlp',
    '--seed',
    String(DEMO_MLP.seed),
    '--inputs',
    String(o.inputs),
    '--hidden',
    String(o.hidden),
    '--layers',
    String(o.layers),
    '--classes',
    String(o.classes),
    '--out',
    out,
  ];
}

/** `hetserve profile onnx …` arguments of the bundled profile's sweep. */
export function demoProfileArgs(model: string, out: string): string[] {
  return [
    'profile',
    'onnx',
    model,
    '--vcpu',
    DEMO_SWEEP.vcpu,
    '--batch',
    DEMO_SWEEP.batch,
    '--runs',
    DEMO_SWEEP.runs,
    '--name',
    'demo-mlp',
    '--no-progress',
    '--out',
    out,
  ];
}

function hetserve(args: string[]): void {
  const bin = fileURLToPath(new URL('../../bin/hetserve.js', import.meta.url));
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`profile:demo: hetserve ${args.slice(0, 2).join(' ')} failed (exit ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-demo-'));
  try {
    const model = join(dir, 'demo-mlp.onnx');
    hetserve(demoSynthArgs(model));
    hetserve(demoProfileArgs(model, DEMO_PROFILE_PATH));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const text = readFileSync(DEMO_PROFILE_PATH, 'utf8');
  const measured = (JSON.parse(text) as { source?: string }).source ?? 'hetserve profile onnx';
  const c = cpus();
  const shown = (args: string[]): string => ['hetserve', ...args].join(' ');
  const source =
    `${measured}. The demo MLP, made by \`npm run profile:demo\` (src/serve/demo-profile.ts): ` +
    `${shown(demoSynthArgs('demo-mlp.onnx'))} && ` +
    `${shown(demoProfileArgs('demo-mlp.onnx', 'data/profiles/demo-mlp.profile.json'))}; ` +
    `machine ${c.length} × ${c[0]?.model.trim() ?? 'unknown CPU'} (${process.platform}/${process.arch}), ` +
    `Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}, ${new Date().toISOString().slice(0, 10)}`;
  // Only the source line changes; the profiler's layout (one line per sample set) is kept.
  writeFileSync(DEMO_PROFILE_PATH, text.replace(JSON.stringify(measured), JSON.stringify(source)));
  process.stderr.write(`profile:demo: wrote ${DEMO_PROFILE_PATH}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
