/**
 * Triton's model configuration (`GET /v2/models/{m}/config`) and repository index
 * (`POST /v2/repository/index`) for the gateway's models. The dynamic-batching section is the
 * plan's: its batch sizes are the preferred ones, its longest batching timeout the queue delay.
 */
import type { Plan } from '../../model/plan.ts';
import type { ModelIO } from '../tensors.ts';

const TYPE: Record<string, string> = {
  BOOL: 'TYPE_BOOL',
  UINT8: 'TYPE_UINT8',
  INT8: 'TYPE_INT8',
  INT16: 'TYPE_INT16',
  INT32: 'TYPE_INT32',
  INT64: 'TYPE_INT64',
  FP32: 'TYPE_FP32',
  FP64: 'TYPE_FP64',
  BYTES: 'TYPE_STRING',
};

export function tritonModelConfig(
  io: ModelIO,
  maxBatchSize: number,
  plan: Plan | undefined,
): Record<string, unknown> {
  const tensor = (s: ModelIO['inputs'][number]) => ({
    name: s.name,
    data_type: TYPE[s.datatype] ?? `TYPE_${s.datatype}`,
    format: 'FORMAT_NONE',
    dims: s.shape,
  });
  const cfg: Record<string, unknown> = {
    name: io.name,
    platform: io.platform,
    backend: 'hetserve',
    version_policy: { latest: { num_versions: 1 } },
    max_batch_size: maxBatchSize,
    input: io.inputs.map(tensor),
    output: io.outputs.map(tensor),
  };
  if (plan) {
    const sizes = [...new Set(plan.groups.map((g) => g.batchSize))].sort((a, b) => a - b);
    const delayS = Math.max(0, ...plan.groups.flatMap((g) => Object.values(g.timeouts)));
    cfg['dynamic_batching'] = {
      preferred_batch_size: sizes,
      max_queue_delay_microseconds: Math.round(delayS * 1e6),
    };
  }
  return cfg;
}

export function repositoryIndex(
  names: readonly string[],
): { name: string; version: string; state: string }[] {
  return names.map((name) => ({ name, version: '1', state: 'READY' }));
}
