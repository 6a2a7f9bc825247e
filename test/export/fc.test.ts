/** The fc exporter: Alibaba Function Compute (Serverless Devs s.yaml). File rules from the platform's documented limits. */
import assert from 'node:assert/strict';
import { fcExporter } from '../../src/export/fc.ts';
import { num, runExporterConformance, type Obj } from './exporter.case.ts';

runExporterConformance('fc', fcExporter, {
  files(files, emitted) {
    const project = files.get('s.yaml');
    assert.ok(project, 'a Serverless Devs s.yaml');
    assert.equal(project['edition'], '3.0.0');
    const resources = Object.values(project['resources'] as Obj);
    assert.deepEqual(resources.map((x) => x.props.functionName).sort(), [...emitted].sort());
    for (const { component, props: p } of resources) {
      assert.equal(component, 'fc3');
      assert.match(p.functionName, /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/);
      num(p.cpu, 'cpu', 0.05, 16, 0.05);
      num(p.memorySize, 'memorySize', 128, 32768, 64);
      num(p.memorySize / 1024 / p.cpu, 'GB per vCPU', 1 - 1e-9, 4 + 1e-9);
      num(p.timeout, 'timeout', 1, 86400);
      if (p.runtime === 'custom-container') assert.equal(typeof p.customContainerConfig?.image, 'string');
      if (p.gpuConfig) num(p.gpuConfig.gpuMemorySize, 'gpuMemorySize', 1024, 49152, 1024);
    }
    assert.equal(files.get('routes.json')?.['kind'], 'hetserve-gateway-routes');
  },
});
