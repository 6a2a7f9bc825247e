/** The ray exporter: Ray Serve (serve.yaml). File rules from the platform's documented limits. */
import assert from 'node:assert/strict';
import { rayExporter } from '../../src/export/ray.ts';
import { num, runExporterConformance, type Obj } from './exporter.case.ts';

runExporterConformance('ray', rayExporter, {
  files(files, emitted) {
    const cfg = files.get('serve.yaml');
    assert.ok(cfg, 'a Ray Serve config serve.yaml');
    const apps = cfg['applications'] as Obj[];
    assert.deepEqual(apps.map((a) => a.name).sort(), [...emitted].sort());
    const prefixes = apps.map((a) => a.route_prefix);
    assert.equal(new Set(prefixes).size, prefixes.length, 'route prefixes are unique');
    for (const a of apps) {
      assert.match(a.route_prefix, /^\/[^\s]*$/);
      assert.match(a.import_path, /^[\w.]+:[\w.]+$/, 'import_path is module:attribute');
      assert.ok(a.deployments.length > 0);
      for (const d of a.deployments as Obj[]) {
        assert.equal(typeof d.name, 'string');
        assert.ok(d.max_ongoing_requests >= (d.user_config?.max_batch_size ?? 1));
        num(d.ray_actor_options.num_cpus, 'num_cpus', 1e-9, 1024);
        if (d.ray_actor_options.num_gpus !== undefined)
          num(d.ray_actor_options.num_gpus, 'num_gpus', 1e-9, 1);
        const as = d.autoscaling_config;
        if (as) assert.ok(as.min_replicas >= 0 && as.max_replicas >= Math.max(1, as.min_replicas));
      }
    }
  },
});
