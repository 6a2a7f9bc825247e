/**
 * The bundled default deployment (`npm start`, `hetserve serve` without --config): the project's
 * synthetic MLP served by local ONNX Runtime workers, the README case's four applications (SLOs
 * 0.5, 0.6, 0.8, 1.0 s; 5, 5, 5, 15 req/s), planned at start with the bundled VGG19 profile as the
 * latency model (profile your own model with `hetserve profile onnx` and point `profile` at it).
 */
import type { ServeConfigInput } from './config.ts';

export const DEFAULT_APPS = [
  { name: 'app0', slo: 0.5, rps: 5 },
  { name: 'app1', slo: 0.6, rps: 5 },
  { name: 'app2', slo: 0.8, rps: 5 },
  { name: 'app3', slo: 1.0, rps: 15 },
];

export function defaultServeConfig(): ServeConfigInput {
  return {
    listen: { host: '127.0.0.1', port: 8080 },
    models: [{ name: 'mlp', source: { synthetic: 'mlp', seed: 1 }, profile: 'VGG19' }],
    applications: DEFAULT_APPS.map((a) => ({ ...a })),
    serving: { mode: 'serverless', backend: { type: 'onnx' } },
    replan: { intervalS: 60, windowS: 60 },
  };
}
