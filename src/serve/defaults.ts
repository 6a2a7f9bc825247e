/**
 * The bundled default deployment (`npm start`, `hetserve serve` without --config): the project's
 * synthetic MLP served by local ONNX Runtime workers, the README case's four applications (SLOs
 * 0.5, 0.6, 0.8, 1.0 s; 5, 5, 5, 15 req/s), planned at start with the bundled profile of that very
 * MLP (data/profiles/demo-mlp.profile.json, measured by `hetserve profile onnx`; regenerate it
 * with `npm run profile:demo`, see src/serve/demo-profile.ts).
 */
import { fileURLToPath } from 'node:url';
import type { ServeConfigInput } from '../model/serve-config.ts';

export const DEFAULT_APPS = [
  { name: 'app0', slo: 0.5, rps: 5 },
  { name: 'app1', slo: 0.6, rps: 5 },
  { name: 'app2', slo: 0.8, rps: 5 },
  { name: 'app3', slo: 1.0, rps: 15 },
];

/**
 * The demo's model: the synthetic MLP (src/onnx/synthetic-models.ts) with these sizes and
 * weight seed. The bundled profile was measured on exactly this model; change one, regenerate the
 * other (`npm run profile:demo`).
 */
export const DEMO_MLP = {
  seed: 1,
  options: { inputs: 256, hidden: 512, layers: 2, classes: 10 },
} as const;

/**
 * The bundled profile of the demo MLP, as an absolute path (resolved next to this module, so it
 * works from src/ and dist/ and whatever the working directory).
 */
export const DEMO_PROFILE_PATH = fileURLToPath(
  new URL('../../data/profiles/demo-mlp.profile.json', import.meta.url),
);

export function defaultServeConfig(): ServeConfigInput {
  return {
    // gRPC on 8081 (listen.grpcPort's default beside port 8080).
    listen: { host: '127.0.0.1', port: 8080 },
    models: [
      {
        name: 'mlp',
        source: { synthetic: 'mlp', seed: DEMO_MLP.seed, options: { ...DEMO_MLP.options } },
        profile: DEMO_PROFILE_PATH,
        // Plain OIP / Triton clients name no application: they get the demo's main traffic class.
        defaultApp: 'app3',
      },
    ],
    applications: DEFAULT_APPS.map((a) => ({ ...a })),
    serving: { mode: 'serverless', backend: { type: 'onnx' } },
    replan: { intervalS: 60, windowS: 60 },
  };
}
