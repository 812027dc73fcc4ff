import { rm } from 'node:fs/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliBackend, cliBackends, runCli } from '../../../test/support/cli-backends.js';
import { appendAudit } from '../../audit/audit-log.js';

/**
 * The CLI opens the store from its configuration, so each backend gets a durable database the test and
 * the CLI open in turn: a PGlite data directory, or a PostgreSQL schema named through DATABASE_URL's
 * `options=-c search_path=…`.
 */

const run = (backend: CliBackend, args: string[]) => runCli(backend.env, backend.dataDir, args);

const backendsReady = cliBackends('aupdesk-audit-cli-', { holdOpen: true });

describe('aupdesk audit', async () => {
  const backends = await backendsReady;
  afterAll(async () => {
    await rm(backends[0]!.dataDir, { recursive: true, force: true, maxRetries: 5 });
  });

  for (const backend of backends) {
    describe(backend.name, () => {
      let heads: string[] = [];
      beforeAll(async () => {
        const store = await backend.open();
        try {
          heads = [];
          for (let i = 1; i <= 3; i++) {
            const entry = await store.db.transaction().execute((trx) =>
              appendAudit(trx, {
                at: new Date(`2025-04-0${i}T10:00:00.000Z`),
                actor: 'system:ladder',
                kind: 'case.state',
                subject: `case:${i === 3 ? 2 : 1}`,
                payload: { to: `state-${i}` },
              }),
            );
            heads.push(entry.hash);
          }
        } finally {
          await store.close();
        }
      }, 60_000);

      it('verify prints the entry count and head, exit 0', async () => {
        const result = await run(backend, ['audit', 'verify']);
        expect(result).toEqual({ code: 0, out: `audit ok: 3 entries, head ${heads[2]}\n`, err: '' });
      });

      it('list prints entries as JSON lines, filtered by subject', async () => {
        const result = await run(backend, ['audit', 'list', '--subject', 'case:1']);
        expect(result.code).toBe(0);
        const lines = result.out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(lines.map((l) => [l.seq, l.payload.to, l.hash])).toEqual([
          [1, 'state-1', heads[0]],
          [2, 'state-2', heads[1]],
        ]);
        expect(lines[0]).toMatchObject({
          at: '2025-04-01T10:00:00.000Z',
          actor: 'system:ladder',
          kind: 'case.state',
        });
        const bad = await run(backend, ['audit', 'list', '--limit', 'ten']);
        expect(bad.code).toBe(2);
        expect(bad.err).toMatch(/--limit must be a whole number .*AUP_ERR_INPUT_INVALID/);
      });

      it('verify names the tampered entry, exit 1', async () => {
        const store = await backend.open();
        try {
          await sql`alter table audit_log disable trigger user`.execute(store.db);
          await sql`update audit_log set payload = '{"to":"dismissed"}' where seq = 2`.execute(store.db);
          await sql`alter table audit_log enable trigger user`.execute(store.db);
        } finally {
          await store.close();
        }
        const result = await run(backend, ['audit', 'verify']);
        expect(result).toEqual({
          code: 1,
          out: 'audit FAILED at entry 2: hash does not match the entry contents\n',
          err: '',
        });
      });
    });
  }
});
