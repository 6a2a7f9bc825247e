/** `--apply` against a fake Kubernetes API server on 127.0.0.1 (discovery + server-side apply). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { applyExport, exportDocument } from '../../src/export/index.ts';
import { HetserveError } from '../../src/model/errors.ts';
import { fixture } from '../helpers/export.ts';

/** Resources the fake API server advertises, by group/version. */
const DISCOVERY: Record<string, [kind: string, plural: string][]> = {
  '/api/v1': [
    ['ConfigMap', 'configmaps'],
    ['Service', 'services'],
  ],
  '/apis/apps/v1': [
    ['Deployment', 'deployments'],
    ['StatefulSet', 'statefulsets'],
  ],
  '/apis/keda.sh/v1alpha1': [['ScaledObject', 'scaledobjects']],
  '/apis/serving.knative.dev/v1': [['Service', 'services']],
};

interface Seen {
  method: string;
  url: URL;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

async function fakeApi(t: { after: (fn: () => void) => void }, rejectName?: string) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET' && DISCOVERY[url.pathname]) {
        return send(200, {
          kind: 'APIResourceList',
          groupVersion: url.pathname.replace(/^\/apis?\//, ''),
          resources: DISCOVERY[url.pathname].map(([kind, name]) => ({
            kind,
            name,
            namespaced: true,
            singularName: '',
            verbs: ['get', 'patch'],
          })),
        });
      }
      if (req.method === 'PATCH') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        seen.push({ method: req.method, url, contentType: req.headers['content-type'], body });
        if (rejectName && url.pathname.endsWith(`/${rejectName}`)) {
          return send(422, {
            kind: 'Status',
            status: 'Failure',
            message: 'admission webhook denied it',
            code: 422,
          });
        }
        return send(200, body);
      }
      send(404, { kind: 'Status', message: `no route ${url.pathname}`, code: 404 });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-kube-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'config');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'fake', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'u', user: { token: 'test-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'u' } }],
      'current-context': 'fake',
    }),
  );
  return { seen, kubeconfig };
}

test('applies every object of a KEDA export by server-side apply, in file order', async (t) => {
  const { seen, kubeconfig } = await fakeApi(t);
  const result = exportDocument(fixture('alloc.json'), 'keda', { namespace: 'ml' });
  const objects = result.files.flatMap((f) => f.objects ?? []);
  const applied = await applyExport(result, { kubeconfig });
  assert.equal(applied.length, objects.length);
  assert.equal(seen.length, objects.length);
  for (const [i, s] of seen.entries()) {
    const o = objects[i] as { kind: string; metadata: { name: string } };
    assert.equal(s.contentType, 'application/apply-patch+yaml');
    assert.equal(s.url.searchParams.get('fieldManager'), 'hetserve');
    assert.equal(s.url.searchParams.get('force'), 'true');
    assert.equal(s.url.searchParams.get('dryRun'), null);
    assert.match(s.url.pathname, new RegExp(`/namespaces/ml/[a-z]+/${o.metadata.name}$`));
    assert.deepEqual(s.body, o);
  }
  assert.ok(
    seen.some((s) => s.url.pathname.startsWith('/apis/keda.sh/v1alpha1/namespaces/ml/scaledobjects/')),
  );
  assert.ok(seen.some((s) => s.url.pathname.startsWith('/apis/apps/v1/namespaces/ml/statefulsets/')));
});

test('dry run asks the server for dryRun=All', async (t) => {
  const { seen, kubeconfig } = await fakeApi(t);
  await applyExport(exportDocument(fixture('plan-mixed.json'), 'knative'), { kubeconfig, dryRun: true });
  assert.equal(seen.length, 4);
  for (const s of seen) assert.equal(s.url.searchParams.get('dryRun'), 'All');
  assert.deepEqual(
    seen.map((s) => s.url.pathname),
    [
      '/api/v1/namespaces/default/configmaps/vgg19-g0-config',
      '/apis/serving.knative.dev/v1/namespaces/default/services/vgg19-g0',
      '/api/v1/namespaces/default/configmaps/vgg19-g1-config',
      '/apis/serving.knative.dev/v1/namespaces/default/services/vgg19-g1',
    ],
  );
});

test('a refused object is E_APPLY_FAILED naming it, with what was applied before', async (t) => {
  const { kubeconfig } = await fakeApi(t, 'rm2-c5n-2xlarge');
  const result = exportDocument(fixture('alloc.json'), 'keda');
  await assert.rejects(applyExport(result, { kubeconfig }), (e: unknown) => {
    assert.ok(e instanceof HetserveError);
    assert.equal(e.code, 'E_APPLY_FAILED');
    assert.equal(e.exitCode, 4);
    assert.match(e.message, /StatefulSet\/rm2-c5n-2xlarge \(HTTP 422\): admission webhook denied it/);
    assert.ok((e.details['applied'] as unknown[]).length > 0);
    return true;
  });
});

test('non-Kubernetes targets and missing kubeconfigs are refused before any request', async () => {
  await assert.rejects(applyExport(exportDocument(fixture('plan-cpu.json'), 'lambda')), (e: unknown) => {
    assert.ok(e instanceof HetserveError && e.code === 'E_APPLY_UNAVAILABLE');
    return true;
  });
  await assert.rejects(
    applyExport(exportDocument(fixture('plan-cpu.json'), 'knative'), {
      kubeconfig: '/nonexistent/kubeconfig',
    }),
    (e: unknown) => {
      assert.ok(e instanceof HetserveError && e.code === 'E_APPLY_UNAVAILABLE');
      assert.equal(e.details['field'], 'kubeconfig');
      return true;
    },
  );
});
