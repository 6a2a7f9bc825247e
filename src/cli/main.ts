#!/usr/bin/env node
/**
 * The `hetserve` command. Each file in ./commands registers one command (or command group) via
 * `export function register(program: Command): void`; they are discovered at start-up so that
 * each area owns its own file. Command files must keep heavy imports (planners, onnxruntime,
 * HTTP servers) inside their action handlers so a cold `hetserve plan` starts fast.
 */
import { Command } from 'commander';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { reportAndExit } from './io.ts';

/**
 * The program with every command, or only `command`'s when a file of that name exists (a run of
 * `hetserve <command> …` needs no other command's file: fewer imports at a cold start).
 */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command('hetserve')
    .description('Cheap, SLO-aware DNN inference on heterogeneous resources (serverless + cluster)')
    .version('0.1.0')
    // A usage error is one line naming the option (commander's own message), not the whole help.
    .showHelpAfterError(false)
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
  const files = readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.includes('.test.'))
    .sort();
  const only = files.find((f) => f.replace(/\.(ts|js)$/, '') === command);
  for (const f of only ? [only] : files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { register?: (p: Command) => void };
    mod.register?.(program);
  }
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const first = argv[2];
  const program = await buildProgram(first && !first.startsWith('-') ? first : undefined);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    reportAndExit(e);
  }
}

const invokedDirectly = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) await main();
