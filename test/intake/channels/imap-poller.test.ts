import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createImapClient,
  type ImapClient,
  type ImapPollerOptions,
  pollImapOnce,
} from '../../../src/intake/channels/imap-poller.js';
import { EvidenceStore } from '../../../src/intake/evidence-store.js';
import type { IntakeInboxDeps } from '../../../src/intake/inbox/inbox-accept.js';
import { processInbox } from '../../../src/intake/inbox/inbox-worker.js';
import { describeEachBackend } from '../../support/store-backends.js';
import { type Dovecot, ensureDovecot, startDovecot } from './dovecot-harness.js';

/**
 * IMAP pull against a real Dovecot on loopback (test/intake/channels/dovecot-harness.ts starts a private one).
 */

const installed = ensureDovecot();
if (!installed.ok) {
  // Only where apt is impossible; CI installs dovecot-imapd (scripts/ci-extras.sh), so there it runs.
  console.warn(`SKIPPING IMAP tests: ${installed.reason}`);
}

function complaint(n: number): string {
  return [
    'From: noc@example.net',
    'To: abuse@desk.example',
    `Subject: scan from 192.0.2.${n}`,
    `Message-ID: <imap-${n}@example.net>`,
    'Date: Sat, 28 Feb 2026 22:20:00 +0000',
    '',
    `Host 192.0.2.${n} scanned our network at 2026-02-28T22:00:00Z.`,
    '',
  ].join('\r\n');
}

describe.skipIf(!installed.ok)('IMAP pull (Dovecot)', () => {
  let dovecot: Dovecot;
  let dir: string;
  beforeAll(async () => {
    dovecot = await startDovecot();
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-imap-'));
  }, 60_000);
  afterAll(async () => {
    await dovecot?.stop();
    // Retries: an evidence store may still be copying blobs out of its journal into this directory.
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  async function folderCounts(): Promise<Record<string, number>> {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: dovecot.port,
      secure: false,
      auth: { user: dovecot.user, pass: dovecot.password },
      logger: false,
    });
    await client.connect();
    const out: Record<string, number> = {};
    for (const box of await client.list()) {
      const status = await client.status(box.path, { messages: true });
      out[box.path] = status ? (status.messages ?? 0) : 0;
    }
    await client.logout();
    return out;
  }

  describeEachBackend('poller', (ctx) => {
    let deps: IntakeInboxDeps;
    let options: ImapPollerOptions;
    beforeEach(async () => {
      deps = { db: ctx.store.db, evidence: new EvidenceStore(await mkdtemp(path.join(dir, 'ev-'))) };
      options = { host: '127.0.0.1', port: dovecot.port, user: dovecot.user, password: dovecot.password };
      await sql`delete from intake_inbox`.execute(ctx.store.db);
    });

    it('stores each message, then moves it to the processed folder (created if missing)', async () => {
      for (let i = 1; i <= 3; i++) await dovecot.deliver(complaint(i));
      const summary = await pollImapOnce(deps, options);
      expect(summary).toEqual({ accepted: 3, duplicates: 0, moved: 3, failed: 0 });
      const counts = await folderCounts();
      expect(counts.INBOX).toBe(0);
      expect(counts['aupdesk-processed']).toBeGreaterThanOrEqual(3);
      const rows = await ctx.store.db.selectFrom('intake_inbox').selectAll().orderBy('id').execute();
      expect(rows.map((r) => [r.channel, r.route, r.message_id])).toEqual([
        ['imap', 'abuse', 'imap-1@example.net'],
        ['imap', 'abuse', 'imap-2@example.net'],
        ['imap', 'abuse', 'imap-3@example.net'],
      ]);
      const processed = await processInbox(deps, { limit: 10, clock: { now: () => new Date() } });
      expect(processed.done).toBe(3);
    });

    it('a crash between store and move re-reads the message; the duplicate check keeps it once', async () => {
      await dovecot.deliver(complaint(50));
      await dovecot.deliver(complaint(51));
      // The first poll "dies" right after storing the first message: the move never happens.
      const real = createImapClient(options);
      const crashing = new Proxy(real, {
        get(target, prop, receiver) {
          if (prop === 'messageMove') return async () => Promise.reject(new Error('killed before the move'));
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }) as ImapClient;
      await expect(pollImapOnce(deps, options, crashing)).rejects.toThrow(/killed before the move/);
      expect((await folderCounts()).INBOX).toBe(2);
      const again = await pollImapOnce(deps, options);
      expect(again).toEqual({ accepted: 1, duplicates: 1, moved: 2, failed: 0 });
      expect((await folderCounts()).INBOX).toBe(0);
      const rows = await ctx.store.db.selectFrom('intake_inbox').select('message_id').orderBy('id').execute();
      expect(rows.map((r) => r.message_id)).toEqual(['imap-50@example.net', 'imap-51@example.net']);
    });

    it('moves a message over the size limit to the failed folder instead of taking it', async () => {
      await dovecot.deliver(`Subject: huge\r\n\r\n${'y'.repeat(8_000)}\r\n`);
      const summary = await pollImapOnce(deps, { ...options, maxMessageBytes: 4_096 });
      expect(summary).toMatchObject({ accepted: 0, failed: 1 });
      expect((await folderCounts())['aupdesk-failed']).toBeGreaterThanOrEqual(1);
    });

    it('reports a wrong password as AUP_ERR_STORE_UNAVAILABLE naming the server and user', async () => {
      await expect(pollImapOnce(deps, { ...options, password: 'wrong' })).rejects.toMatchObject({
        code: 'AUP_ERR_STORE_UNAVAILABLE',
        message: expect.stringContaining(`127.0.0.1:${dovecot.port} as abuse`),
      });
    });
  });
});
