/** Backend factory: config -> Backend. */
import type { BackendConfig } from '../../model/serve-config.ts';
import type { Backend, BackendContext } from './types.ts';
import { ReplayBackend } from './replay.ts';
import { HttpBackend } from './http.ts';
import { OnnxBackend } from './onnx.ts';

export type { Backend, BackendBatch, BackendContext } from './types.ts';
export { ReplayBackend } from './replay.ts';
export { HttpBackend } from './http.ts';
export { OnnxBackend } from './onnx.ts';

export function createBackend(cfg: BackendConfig, ctx: BackendContext): Backend {
  switch (cfg.type) {
    case 'replay':
      return new ReplayBackend(cfg, ctx);
    case 'http':
      return new HttpBackend(cfg, ctx);
    case 'onnx':
      return new OnnxBackend(cfg, ctx);
  }
}
