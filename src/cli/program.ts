/**
 * The bare `hetserve` program and how it runs. Shared by main.ts (which discovers the command
 * files) and the per-command bundles scripts/build.mjs makes (which register one command).
 */
import { Command } from 'commander';
import { reportAndExit } from './io.ts';

/** Name, version and error handling; no commands yet. */
export function createProgram(): Command {
  return (
    new Command('hetserve')
      .description('Cheap, SLO-aware DNN inference on heterogeneous resources (serverless + cluster)')
      .version('0.1.0')
      // A usage error is one line naming the option (commander's own message), not the whole help.
      .showHelpAfterError(false)
      .configureOutput({ outputError: (str, write) => write(str) })
      .exitOverride()
  );
}

/** Parse `argv` with `program`; errors are reported (code + message, never a stack) and exit. */
export async function runProgram(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    reportAndExit(e);
  }
}
