/**
 * `hetserve export --apply`: server-side apply of the emitted Kubernetes objects through
 * @kubernetes/client-node, with the user's kubeconfig. Explicit opt-in; the files are always
 * written first, so a failed apply leaves them on disk to inspect or apply by hand.
 */
import { HetserveError } from '../model/errors.ts';
import type { ExportResult } from './types.ts';

export interface ApplyOptions {
  /** kubeconfig file. Default: $KUBECONFIG, else ~/.kube/config, else the in-cluster account. */
  kubeconfig?: string;
  /** Context to use. Default: the kubeconfig's current context. */
  context?: string;
  /** Ask the API server to validate without persisting (dryRun=All). Default false. */
  dryRun?: boolean;
  /** Field manager recorded by server-side apply. Default 'hetserve'. */
  fieldManager?: string;
}

export interface AppliedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

/** Apply every Kubernetes object of `result`, in file order (config before workloads before scalers). */
export async function applyExport(
  result: ExportResult,
  options: ApplyOptions = {},
): Promise<AppliedObject[]> {
  const objects = result.files.flatMap((f) => (f.objects ?? []) as unknown as KubeObject[]);
  if (objects.length === 0) {
    throw new HetserveError(
      'E_APPLY_UNAVAILABLE',
      `--apply: ${result.target} writes no Kubernetes objects; deploy its files with the engine's own tool`,
      { field: 'apply', value: result.target },
    );
  }
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
    if (options.context) kc.setCurrentContext(options.context);
  } catch (e) {
    throw new HetserveError(
      'E_APPLY_UNAVAILABLE',
      `--apply: cannot load the kubeconfig (${(e as Error).message})`,
      {
        field: options.kubeconfig ? 'kubeconfig' : 'apply',
        value: options.kubeconfig ?? true,
      },
    );
  }
  if (options.context && !kc.getContextObject(options.context)) {
    throw new HetserveError(
      'E_APPLY_UNAVAILABLE',
      `--context: no context ${JSON.stringify(options.context)} in the kubeconfig`,
      {
        field: 'context',
        value: options.context,
      },
    );
  }
  if (!kc.getCurrentCluster()) {
    throw new HetserveError('E_APPLY_UNAVAILABLE', '--apply: the kubeconfig names no cluster', {
      field: 'apply',
      value: true,
      hint: 'set KUBECONFIG or pass --kubeconfig',
    });
  }
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const applied: AppliedObject[] = [];
  for (const o of objects) {
    const ref = `${o.kind}/${o.metadata.name}`;
    try {
      await api.patch(
        o,
        undefined,
        options.dryRun ? 'All' : undefined,
        options.fieldManager ?? 'hetserve',
        true,
        k8s.PatchStrategy.ServerSideApply,
      );
    } catch (e) {
      const status = (e as { code?: number }).code;
      const body = (e as { body?: unknown }).body;
      let reason = (e as Error).message;
      if (typeof body === 'string') {
        try {
          reason = (JSON.parse(body) as { message?: string }).message ?? reason;
        } catch {
          reason = body.slice(0, 200) || reason;
        }
      }
      throw new HetserveError(
        'E_APPLY_FAILED',
        `--apply: ${ref}${status ? ` (HTTP ${status})` : ''}: ${reason}; ${applied.length} of ${objects.length} objects applied`,
        { field: ref, value: status ?? null, applied },
      );
    }
    applied.push({
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: o.metadata.namespace,
      name: o.metadata.name,
    });
  }
  return applied;
}
