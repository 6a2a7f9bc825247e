/**
 * The Ray Serve application the Ray export's default import path names (deploy/ray/hetserve_ray.py):
 * it compiles, and its wiring holds when imported against a small stand-in for `ray.serve`
 * (recording @serve.deployment and @serve.batch) and for onnxruntime: @serve.batch starts from the
 * batch size and wait the exported serve.yaml sets, reconfigure applies the exported user_config,
 * and a request is answered through the batch with the model's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { exportDocument } from '../../src/export/index.ts';
import { RAY_DEPLOYMENT } from '../../src/export/ray.ts';
import { fixture } from '../helpers/export.ts';

const PYTHON = '/usr/bin/python3';

const FAKE_SERVE = `
CALLS = {}

class _Deployment:
    def __init__(self, cls):
        self.func_or_class = cls
        CALLS['deployment'] = cls.__name__
    def bind(self, *args, **kwargs):
        return ('bound', self.func_or_class, args, kwargs)

def deployment(cls=None, **options):
    wrap = lambda c: _Deployment(c)
    return wrap(cls) if cls is not None else wrap

def batch(max_batch_size=10, batch_wait_timeout_s=0.0):
    CALLS['batch'] = {'max_batch_size': max_batch_size, 'batch_wait_timeout_s': batch_wait_timeout_s}
    def decorate(fn):
        async def one(self, item):
            out = await fn(self, [item])
            return out[0]
        one.set_max_batch_size = lambda n: CALLS.__setitem__('set_max_batch_size', n)
        one.set_batch_wait_timeout_s = lambda s: CALLS.__setitem__('set_batch_wait_timeout_s', s)
        return one
    return decorate
`;

const FAKE_ORT = `
RUNS = []
class _Arg:
    def __init__(self, name):
        self.name = name
class InferenceSession:
    def __init__(self, path, providers=None):
        self.path = path
    def get_inputs(self):
        return [_Arg('x')]
    def get_outputs(self):
        return [_Arg('y')]
    def run(self, names, feeds):
        RUNS.append({'names': names, 'shape': list(feeds['x'].shape)})
        return [feeds['x'] * 2]
def get_available_providers():
    return ['CPUExecutionProvider']
`;

const FAKE_STARLETTE = `
class Response:
    def __init__(self, content, status_code=200, media_type=None):
        self.body = content
        self.status_code = status_code
        self.media_type = media_type
`;

const DRIVER = `
import asyncio, json, os, sys
import hetserve_ray
from ray import serve
import onnxruntime

cfg = json.loads(sys.argv[1])
App = serve.CALLS['deployment']
model = hetserve_ray.app[1]()
model.reconfigure(cfg)

class Request:
    def __init__(self, body):
        self.body = body
    async def json(self):
        return self.body

ok = asyncio.run(model(Request({'inputs': [{'name': 'x', 'shape': [1, 4], 'datatype': 'FP32', 'data': [1, 2, 3, 4]}]})))
bad = asyncio.run(model(Request({'inputs': [{'name': 'x', 'shape': [2, 4], 'datatype': 'FP32', 'data': [0] * 8}]})))
print(json.dumps({
    'deployment': App,
    'batch': serve.CALLS['batch'],
    'set_max_batch_size': serve.CALLS.get('set_max_batch_size'),
    'set_batch_wait_timeout_s': serve.CALLS.get('set_batch_wait_timeout_s'),
    'model_path': model.session.path,
    'runs': onnxruntime.RUNS,
    'ok': [ok.status_code, json.loads(ok.body)],
    'bad': [bad.status_code, json.loads(bad.body)],
}))
`;

test('the shipped Ray Serve application compiles and is wired to the exported serve.yaml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hetserve-ray-'));
  try {
    const r = exportDocument(fixture('plan-mixed.json'), 'ray');
    const module = r.files.find((f) => f.path === 'hetserve_ray.py');
    assert.ok(module, 'the export ships the application its import path names');
    const serveYaml = parse(r.files.find((f) => f.path === 'serve.yaml')!.content) as {
      applications: {
        import_path: string;
        runtime_env: { env_vars: Record<string, string> };
        deployments: { name: string; user_config: Record<string, unknown> }[];
      }[];
    };
    writeFileSync(join(dir, 'hetserve_ray.py'), module.content);
    const compiled = spawnSync(PYTHON, ['-m', 'py_compile', join(dir, 'hetserve_ray.py')], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPYCACHEPREFIX: join(dir, 'pycache') },
    });
    assert.equal(compiled.status, 0, compiled.stderr);

    mkdirSync(join(dir, 'ray'));
    writeFileSync(join(dir, 'ray', '__init__.py'), '');
    writeFileSync(join(dir, 'ray', 'serve.py'), FAKE_SERVE);
    writeFileSync(join(dir, 'onnxruntime.py'), FAKE_ORT);
    mkdirSync(join(dir, 'starlette'));
    writeFileSync(join(dir, 'starlette', '__init__.py'), '');
    writeFileSync(join(dir, 'starlette', 'responses.py'), FAKE_STARLETTE);
    writeFileSync(join(dir, 'driver.py'), DRIVER);

    // The GPU group: batch 12 in the plan, so the environment and user_config differ from defaults.
    const app = serveYaml.applications[1]!;
    assert.equal(app.import_path.split(':')[0], 'hetserve_ray');
    const dep = app.deployments[0]!;
    assert.equal(dep.name, RAY_DEPLOYMENT);
    const userConfig = { ...dep.user_config, max_batch_size: 7, batch_wait_timeout_s: 0.05 };
    const run = spawnSync(PYTHON, [join(dir, 'driver.py'), JSON.stringify(userConfig)], {
      cwd: dir,
      encoding: 'utf8',
      env: {
        PATH: process.env['PATH'] ?? '',
        PYTHONPATH: dir,
        PYTHONPYCACHEPREFIX: join(dir, 'pycache'),
        ...app.runtime_env.env_vars,
      },
    });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(out['deployment'], RAY_DEPLOYMENT);
    // @serve.batch starts from the plan's batch size and wait (the exported environment) ...
    assert.deepEqual(out['batch'], {
      max_batch_size: Number(app.runtime_env.env_vars['HETSERVE_BATCH_SIZE']),
      batch_wait_timeout_s: Number(app.runtime_env.env_vars['HETSERVE_BATCH_WAIT_S']),
    });
    assert.equal(out['batch'] && (out['batch'] as { max_batch_size: number }).max_batch_size, 12);
    // ... and reconfigure applies user_config.
    assert.equal(out['set_max_batch_size'], 7);
    assert.equal(out['set_batch_wait_timeout_s'], 0.05);
    assert.equal(out['model_path'], `/models/${app.runtime_env.env_vars['HETSERVE_MODEL']}.onnx`);
    // One request: a batch of one sample through the model, its output answered in OIP v2 form.
    assert.deepEqual(out['runs'], [{ names: ['y'], shape: [1, 4] }]);
    assert.deepEqual(out['ok'], [
      200,
      {
        model_name: 'VGG19',
        outputs: [{ name: 'y', shape: [1, 4], datatype: 'FP32', data: [2, 4, 6, 8] }],
      },
    ]);
    const bad = out['bad'] as [number, { error: string }];
    assert.equal(bad[0], 400);
    assert.match(bad[1].error, /shape/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
