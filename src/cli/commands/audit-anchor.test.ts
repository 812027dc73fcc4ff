import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliBackend, cliBackends, runCli } from '../../../test/support/cli-backends.js';
import { appendAudit } from '../../audit/audit-log.js';
import { listActions } from '../../enforcement/outbox/outbox-repository.js';

/**
 * `aupdesk audit anchor` writes the head outside the database; `audit verify --anchors` then detects what
 * the chain alone cannot: the newest entries deleted and the head rewound to the last one left (a valid,
 * shorter chain), or the tail rewritten consistently.
 */

const backendsReady = cliBackends('aupdesk-audit-anchor-', { holdOpen: true });

async function append(backend: CliBackend, n: number, label: string): Promise<void> {
  const store = await backend.open();
  try {
    for (let i = 0; i < n; i++) {
      await store.db.transaction().execute((trx) =>
        appendAudit(trx, {
          at: new Date(Date.UTC(2025, 3, 1, 10, i)),
          actor: 'system:ladder',
          kind: 'case.state',
          subject: 'case:1',
          payload: { to: `${label}-${i}` },
        }),
      );
    }
  } finally {
    await store.close();
  }
}

describe('aupdesk audit anchor', async () => {
  const backends = await backendsReady;
  let elsewhere: string;
  beforeAll(async () => {
    elsewhere = await mkdtemp(path.join(tmpdir(), 'aupdesk-anchors-'));
  });
  afterAll(async () => {
    await rm(backends[0]!.dataDir, { recursive: true, force: true, maxRetries: 5 });
    await rm(elsewhere, { recursive: true, force: true });
  });

  for (const backend of backends) {
    describe(backend.name, () => {
      const run = (args: string[], env: Record<string, string | undefined> = {}) =>
        runCli({ ...backend.env, ...env }, backend.dataDir, args);

      it('detects the newest entries deleted and the head rewound', async () => {
        const file = path.join(elsewhere, `${backend.name}-anchors.jsonl`);
        await append(backend, 3, 'a');
        const first = await run(['audit', 'anchor', '--file', file]);
        expect(first.code).toBe(0);
        expect(first.out).toMatch(/^anchored entry 3 [0-9a-f]{64} in /);
        await append(backend, 2, 'b');
        // From the environment this time, with a mail queued in the outbox.
        const second = await run(['audit', 'anchor'], {
          AUPDESK_AUDIT_ANCHOR_FILE: file,
          AUPDESK_AUDIT_ANCHOR_MAILTO: 'auditor@example.net',
        });
        expect(second.out).toMatch(/^anchored entry 5 .*; mail to auditor@example.net queued/);
        const lines = (await readFile(file, 'utf8'))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(lines.map((l) => l.seq)).toEqual([3, 5]);
        expect(lines[1]).toMatchObject({
          at: '2025-04-01T10:01:00.000Z',
          hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        });

        const store = await backend.open();
        try {
          const mails = await listActions(store.db, { kind: 'mail.audit-anchor' });
          expect(mails.map((m) => (m.payload as { to: string; anchor: { seq: number } }).anchor.seq)).toEqual(
            [5],
          );
        } finally {
          await store.close();
        }
        expect((await run(['audit', 'verify', '--anchors', file])).out).toMatch(
          /audit ok: 6 entries, .*2 anchors hold/,
        );

        // Delete the newest entries (the anchoring's own enqueue entry and the "b" ones) and rewind the head.
        const tamper = await backend.open();
        try {
          await sql`alter table audit_log disable trigger user`.execute(tamper.db);
          await sql`delete from audit_log where seq > 3`.execute(tamper.db);
          await sql`alter table audit_log enable trigger user`.execute(tamper.db);
          await sql`alter table audit_head disable trigger user`.execute(tamper.db);
          await sql`update audit_head set seq = 3, hash = (select hash from audit_log where seq = 3) where id = 1`.execute(
            tamper.db,
          );
          await sql`alter table audit_head enable trigger user`.execute(tamper.db);
        } finally {
          await tamper.close();
        }
        // The chain alone is consistent: this is what could not be detected before.
        expect((await run(['audit', 'verify'])).code).toBe(0);
        const caught = await run(['audit', 'verify', '--anchors', file]);
        expect(caught.code).toBe(1);
        expect(caught.out).toMatch(/line 2 \(entry 5\): the log ends at entry 3 but was anchored at entry 5/);
      }, 180_000);

      it('detects a tail rewritten consistently, and refuses an anchor file inside the data directory', async () => {
        const file = path.join(elsewhere, `${backend.name}-rewrite.jsonl`);
        await writeFile(
          file,
          `${JSON.stringify({ seq: 2, hash: 'f'.repeat(64), at: '2025-04-01T10:01:00.000Z', anchoredAt: '2025-04-02T00:00:00.000Z' })}\n`,
        );
        const result = await run(['audit', 'verify', '--anchors', file]);
        expect(result.code).toBe(1);
        expect(result.out).toMatch(/entry 2 has hash .* but was anchored as ffffffffffffffff/);
        await writeFile(file, 'not json\n');
        expect((await run(['audit', 'verify', '--anchors', file])).err).toMatch(/line 1: not JSON/);
        const inside = await run(['audit', 'anchor', '--file', path.join(backend.dataDir, 'anchors.jsonl')]);
        expect(inside.code).not.toBe(0);
        expect(inside.err).toMatch(/inside the data directory/);
      }, 120_000);
    });
  }
});
