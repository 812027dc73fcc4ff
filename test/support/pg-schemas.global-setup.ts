import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * Once per `vitest run`: a run id every test schema name carries (`freshSchemaName`, through
 * AUPDESK_TEST_RUN, which the test processes inherit), and at the end the drop of every schema of this run
 * still there. Most test files drop their own schema on close, but a CLI or desk run against PostgreSQL
 * (cli-backends, the e2e desks) names a schema no one dropped, and the server's catalogue grew by some
 * 130 schemas a run; each new schema's first migration lists every table on the server, so each run was
 * slower than the last. Only this run's schemas are touched: another run on the same server keeps its own.
 */
export default function setup(): (() => Promise<void>) | undefined {
  const run = randomBytes(3).toString('hex');
  process.env.AUPDESK_TEST_RUN = run;
  const url = process.env.DATABASE_URL;
  if (!url) return undefined;
  return async () => {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      const { rows } = await client.query<{ name: string }>(
        "select nspname as name from pg_namespace where nspname like 't\\_' || $1 || '\\_%'",
        [run],
      );
      for (const { name } of rows) await client.query(`drop schema if exists "${name}" cascade`);
    } catch (error) {
      process.stderr.write(`test schemas of run ${run} not dropped: ${String(error)}\n`);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
}
