import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSchemaName } from '../../../test/support/store-backends.js';
import { appendAudit } from '../../audit/audit-log.js';
import { openStore, pgliteDirFor, type Store } from '../../store/database.js';
import { main } from '../main.js';

/**
 * The CLI opens the store from its configuration, so each backend gets a durable database the test and
 * the CLI open in turn: a PGlite data directory, or a PostgreSQL schema named through DATABASE_URL's
 * `options=-c search_path=…`.
 */
interface CliBackend {
  name: string;
  env: Record<string, string | undefined>;
  dataDir: string;
  open(): Promise<Store>;
}

async function cliBackends(): Promise<CliBackend[]> {
  const list: CliBackend[] = [];
  const dataDir = await mkdtemp(path.join(tmpdir(), 'aupdesk-audit-cli-'));
  list.push({
    name: 'pglite',
    env: { DATABASE_URL: undefined },
    dataDir,
    open: () => openStore({ pgliteDir: pgliteDirFor(dataDir) }),
  });
  const url = process.env.DATABASE_URL;
  if (url) {
    const schema = freshSchemaName();
    const scoped = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema},public`)}`;
    list.push({
      name: 'postgres',
      env: { DATABASE_URL: scoped },
      dataDir,
      open: () => openStore({ databaseUrl: url, schema, poolSize: 2 }),
    });
  }
  return list;
}

async function run(backend: CliBackend, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const saved = Object.fromEntries(Object.keys(backend.env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(backend.env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  try {
    const code = await main(['--data', backend.dataDir, ...args], { out, err });
    return { code, out: Buffer.concat(chunks.out).toString(), err: Buffer.concat(chunks.err).toString() };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const backendsReady = cliBackends();

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
