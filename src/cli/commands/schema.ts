import type { Command } from 'commander';
import { HetserveError } from '../../model/errors.ts';
import { printJson } from '../io.ts';

export function register(program: Command): void {
  program
    .command('schema')
    .argument('<name>', 'document: apps, plan, profile, cluster-profile, pool, allocation, prices, config')
    .description('Print the JSON Schema of a document hetserve reads or writes')
    .action(async (name: string) => {
      const { SCHEMAS, documentJsonSchema } = await import('../../model/schemas.ts');
      const schema = await documentJsonSchema(name);
      if (!schema) {
        throw new HetserveError(
          'E_INVALID_OPTION',
          `schema: unknown document ${JSON.stringify(name)}; known: ${Object.keys(SCHEMAS).join(', ')}`,
          { field: 'name', value: name },
        );
      }
      printJson(schema);
    });
}
