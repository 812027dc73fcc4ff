import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/audit/audit-log.js';
import { EVENTS_PER_CHUNK } from '../../src/enforcement/pipeline/case-batch.js';
import { cliLaunchArgs } from '../support/built-cli.js';
import { cliBackends, runCli } from '../support/cli-backends.js';

/**
 * Issue 14: `kill -9` of `aupdesk ingest` in the middle of a large Shadowserver report, then the same command
 * again. Nothing is lost and nothing repeated: the report is one report row, each of its rows one event, each
 * case one notice in the outbox, the inbox row done once, and the audit chain verifies.
 *
 * The report is processed a segment per transaction (SEGMENT events, set small here so the report has
 * five), each committing its writes with the inbox row's cursor. The first run is killed as soon as it says
 * a segment is done (its progress line), so the kill falls between or inside later segments; the test
 * checks that the store then holds some segments but not all. The restart takes up the dead process's claim
 * at once (releaseDeadClaims), parses the report again and goes on after the cursor.
 *
 * ROWS is 4,500 by default (three parse chunks, the last a part one) so the test stays near 15 s on this 2-core
 * machine; the 100,000 rows:
 * `AUPDESK_CRASH_ROWS=100000 npx vitest run test/enforcement/pipeline-crash.test.ts` (with the default
 * segment of 10,000 events there: AUPDESK_CRASH_SEGMENT=10000).
 */

const ROWS = Number(process.env.AUPDESK_CRASH_ROWS || 2 * EVENTS_PER_CHUNK + 500);
const SEGMENT = Number(process.env.AUPDESK_CRASH_SEGMENT || 1_000);
const root = path.resolve(import.meta.dirname, '../..');
const HEADER =
  '"timestamp","ip","protocol","port","hostname","tag","dns_version","asn","geo","region","city","min_amplification","p0f_genre","p0f_detail","naics","sic","sector"';

/** Each service's first IPv4 address from a generated registry file. */
function serviceAddresses(csv: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of csv.split('\n').slice(1)) {
    const f = line.split(',');
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(f[4] ?? '');
    if (!m || !f[2] || seen.has(f[2]) || f[6]) continue;
    seen.add(f[2]);
    out.push(`${m[1]}.${m[2]}.${m[3]}.${Number(m[5]) >= 32 ? Number(m[4]) : Number(m[4]) + 1}`);
  }
  return out;
}

const backends = await cliBackends('aupdesk-pipeline-crash-');

afterAll(async () => {
  await rm(backends[0]!.dataDir, { recursive: true, force: true });
});

describe.each(backends.map((b) => [b.name, b] as const))(
  'kill -9 in the middle of a report [%s]',
  (_, backend) => {
    it(`loses nothing and repeats nothing of a ${ROWS}-row report`, async () => {
      // PGlite: the data directory `backend.open()` reads; PostgreSQL: a directory of its own for the evidence.
      const dir = backend.name === 'pglite' ? backend.dataDir : path.join(backend.dataDir, backend.name);
      const env = {
        ...backend.env,
        AUPDESK_PROVIDER: 'infince',
        AUPDESK_LOG_LEVEL: 'silent',
        AUPDESK_PIPELINE_SEGMENT_EVENTS: String(SEGMENT),
        // Every report of the test is processed in segments, whatever its size.
        AUPDESK_INBOX_LARGE_BYTES: '1024',
      };
      const cli = async (args: string[]) => {
        const run = await runCli(env, dir, args);
        expect(run.code, `${args.join(' ')}: ${run.err}`).toBe(0);
        return run;
      };
      // Creates the store (on PostgreSQL the test's schema, which the CLI's search_path names) and migrates it.
      await (await backend.open()).close();
      await cli(['policy', 'publish', path.join(root, 'policies/infince/2019-08-01.yaml')]);
      const registry = path.join(backend.dataDir, `${backend.name}-registry.csv`);
      await cli([
        'registry',
        'generate',
        '--customers',
        '300',
        '--seed',
        '14',
        '--policy',
        'infince@2019-08-01',
        '--out',
        registry,
      ]);
      await cli(['registry', 'import', registry]);
      const addresses = serviceAddresses(await readFile(registry, 'utf8')).slice(0, 200);

      const start = Date.now() - 3 * 3_600_000;
      const lines = [HEADER];
      for (let i = 0; i < ROWS; i++) {
        const t = new Date(start + i * 1000).toISOString().replace('T', ' ').slice(0, 19);
        lines.push(
          `"${t}","${addresses[i % addresses.length]}","udp",53,"crash-${i}.example.net","openresolver","dnsmasq-2.${i % 90}",64496,"NL","NOORD-HOLLAND","AMSTERDAM","3",,,517311,0,`,
        );
      }
      const file = path.join(backend.dataDir, `2026-01-15-scan_dns-crash_${backend.name}-geo.csv`);
      await writeFile(file, `${lines.join('\r\n')}\r\n`);

      // The first run: killed once it says a segment of the report is done (its first progress line with
      // events; stderr is not a terminal, so progress comes as plain lines).
      const child = spawn(process.execPath, [...cliLaunchArgs(), '--data', dir, 'ingest', file], {
        cwd: root,
        env: childEnv(env),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const deadline = Date.now() + 120_000;
      while (!/, [1-9]\d* events/.test(stderr) && Date.now() < deadline) await sleep(20);
      child.kill('SIGKILL');
      expect(await exited, `the first run must still be working when it is killed: ${stderr}`).toBeNull();

      // What the killed run left: some segments committed (the cursor), not the whole report.
      const killed = await backend.open();
      try {
        const row = await killed.db
          .selectFrom('intake_inbox')
          .select(['status', 'progress'])
          .executeTakeFirst();
        expect(row?.status).toBe('pending');
        const done = (row?.progress as { consumed: number } | null)?.consumed ?? 0;
        expect(done % SEGMENT).toBe(0);
        expect(done).toBeGreaterThanOrEqual(SEGMENT);
        expect(done).toBeLessThan(ROWS);
      } finally {
        await killed.close();
      }

      // The same command again: the report is a duplicate of the stored one; the stopped run's row is taken
      // up and goes on after its cursor.
      const again = await cli(['ingest', file]);
      expect(again.err).toContain('took up 1 report(s) a stopped process had left unfinished');
      expect(again.out).toContain('1 duplicate');

      const store = await backend.open();
      try {
        const count = async (query: ReturnType<typeof sql<{ n: string }>>) =>
          Number((await query.execute(store.db)).rows[0]?.n);
        expect(await count(sql`select count(*)::text as n from intake_inbox`)).toBe(1);
        expect(await count(sql`select count(*)::text as n from intake_inbox where status = 'done'`)).toBe(1);
        expect(await count(sql`select count(*)::text as n from reports`)).toBe(1);
        expect(
          await count(sql`select count(*)::text as n from audit_log where kind = 'report.received'`),
        ).toBe(1);
        expect(
          await count(sql`select count(*)::text as n from audit_log where kind = 'report.completed'`),
        ).toBe(1);
        expect(await count(sql`select event_count::text as n from intake_inbox`)).toBe(ROWS);
        expect(await count(sql`select count(*)::text as n from case_events`)).toBe(ROWS);
        expect(await count(sql`select count(distinct fingerprint)::text as n from case_events`)).toBe(ROWS);
        const cases = await count(sql`select count(*)::text as n from cases`);
        expect(cases).toBe(addresses.length);
        expect(
          await count(sql`select count(*)::text as n from outbox_actions where kind = 'mail.notice'`),
        ).toBe(cases);
        expect(
          await count(
            sql`select count(distinct case_id)::text as n from outbox_actions where kind = 'mail.notice'`,
          ),
        ).toBe(cases);
        expect(await count(sql`select count(*)::text as n from case_events where case_id is null`)).toBe(0);
        expect(await verifyAudit(store.db)).toMatchObject({ ok: true });
      } finally {
        await store.close();
      }
    }, 180_000);
  },
);

/** This process's environment with `overrides` applied (undefined: removed). */
function childEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
