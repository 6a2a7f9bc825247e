import type { Command } from 'commander';
import { parseNumber } from '../io.ts';

interface ServeOpts {
  config?: string;
  port?: string;
  host?: string;
  grpcPort?: string;
  demo?: boolean;
  demoScale: string;
  logLevel?: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the serving gateway (OIP/KServe v2 REST, /metrics, dashboard at /). Without --config: the bundled default (synthetic MLP on local ONNX Runtime workers, four apps, demo load on)',
    )
    .option(
      '-c, --config <file>',
      'gateway config, YAML or JSON (`hetserve schema config`); default: the bundled default',
    )
    .option('-p, --port <n>', 'listen port (overrides the config; default 8080, 0 = any free port)')
    .option('--host <addr>', 'listen address (overrides the config; default 127.0.0.1)')
    .option(
      '--grpc-port <n>',
      'OIP gRPC port (overrides the config; default 8081, or 0 with --port 0; 0 = any free port; off = no gRPC)',
    )
    .option(
      '--demo',
      "run the built-in open-loop demo load at the apps' rate hints (default: on without --config)",
    )
    .option('--no-demo', 'no demo load')
    .option('--demo-scale <x>', 'multiply the demo load rates', '1')
    .option('--log-level <level>', 'pino log level (overrides the config)')
    .action(async (o: ServeOpts) => {
      const { readTextFile } = await import('../io.ts');
      const { parseServeConfig, parseServeConfigText } = await import('../../model/serve-config.ts');
      const { defaultServeConfig } = await import('../../serve/defaults.ts');
      const { Gateway } = await import('../../serve/gateway.ts');
      const { resolve } = await import('node:path');
      const configPath = o.config ? resolve(o.config) : undefined;
      const config = configPath
        ? parseServeConfigText(readTextFile(configPath, '--config'), o.config)
        : parseServeConfig(defaultServeConfig(), 'default config');
      if (o.port !== undefined) config.listen.port = parseNumber('--port', o.port, { min: 0, integer: true });
      if (o.host !== undefined) config.listen.host = o.host;
      if (o.grpcPort !== undefined)
        config.listen.grpcPort =
          o.grpcPort === 'off' ? null : parseNumber('--grpc-port', o.grpcPort, { min: 0, integer: true });
      if (o.logLevel !== undefined)
        config.logLevel = parseServeConfig({ ...config, logLevel: o.logLevel }, '--log-level').logLevel;
      const scale = parseNumber('--demo-scale', o.demoScale, { min: 0 });
      const demo = o.demo ?? configPath === undefined;
      const gw = new Gateway({ config, configPath });
      // A bug in one request's path must not take every other request down with the process.
      process.on('unhandledRejection', (e) =>
        gw.logger.error({ err: (e as Error)?.stack ?? String(e) }, 'unhandled rejection'),
      );
      const { url, grpcPort } = await gw.start();
      const pretty = url.replace('127.0.0.1', 'localhost');
      const grpcNote = grpcPort !== undefined ? `, OIP gRPC on port ${grpcPort}` : '';
      process.stderr.write(
        `hetserve gateway on ${pretty}  (dashboard ${pretty}/, metrics ${pretty}/metrics${grpcNote})\n`,
      );
      const demoCtrl = new AbortController();
      if (demo) {
        const { runLoad } = await import('../../serve/load.ts');
        for (const m of config.models) {
          const apps = config.applications.filter((a) => (a.model ?? config.models[0].name) === m.name);
          if (apps.length === 0) continue;
          void runLoad({
            url,
            model: m.name,
            apps,
            scale,
            durationS: Infinity,
            signal: demoCtrl.signal,
          }).catch((e: Error) => gw.logger.error({ err: e.message }, 'demo load stopped'));
        }
        process.stderr.write(
          `demo load on (${config.applications.map((a) => `${a.name} ${a.rps * scale} req/s`).join(', ')}); --no-demo switches it off\n`,
        );
      }
      let stopping = false;
      const stop = async (sig: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        gw.logger.info({ signal: sig }, 'draining');
        demoCtrl.abort();
        const ok = await gw.drain();
        gw.logger.info({ drained: ok }, 'stopped');
        process.exit(ok ? 0 : 1);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
      await new Promise(() => undefined);
    });
}
