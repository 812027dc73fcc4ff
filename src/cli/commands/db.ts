import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerDbCommands(program: Command, context: () => CliContext): void {
  const db = program.command('db').description('database maintenance');
  db.command('migrate')
    .description('apply pending migrations (also done automatically on start)')
    .action(async () => {
      const ctx = context();
      // openStore migrates on open; a second call reports what the first applied.
      const store = await ctx.openStore();
      try {
        const applied = await store.migrate();
        ctx.out.write(
          `${store.kind}: ${applied.length === 0 ? 'schema is up to date' : `applied ${applied.join(', ')}`}\n`,
        );
      } finally {
        await store.close();
      }
    });
}
