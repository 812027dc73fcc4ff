import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getReport, listCaseEvents } from '../../src/cases/report-repository.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { cliBackends, runCli } from '../support/cli-backends.js';

/**
 * `aupdesk ingest` through main(): files go through the intake inbox and the report pipeline with the desk's
 * published policy and registry, so a complaint about a registered address opens a case (with its notice
 * and acknowledgement queued for the worker), the same complaint again opens nothing, and a desk with no
 * policy refuses before storing anything.
 */

const REGISTRY = [
  'customer,email,service,kind,resource,valid_from,valid_to,customer_name,country',
  'cust-a,ops@a.example,vps-a,vps,198.51.100.0/24,2025-01-01,,Alpha Hosting Ltd,GB',
].join('\n');

function complaint(ip: string, id: string, at: Date): string {
  return [
    'From: Rita Reporter <rita@victim.example>',
    'To: abuse@desk.example.net',
    `Subject: Spam from ${ip}`,
    `Message-ID: <${id}@victim.example>`,
    `Date: ${at.toUTCString()}`,
    '',
    'Hello,',
    '',
    `We received unsolicited bulk email (spam) from ${ip} at ${at.toISOString().slice(0, 19)}Z.`,
    'Please make it stop.',
    '',
    'Rita',
    '',
  ].join('\r\n');
}

let files: string;
beforeAll(async () => {
  files = await mkdtemp(path.join(tmpdir(), 'aupdesk-ingest-files-'));
  const hourAgo = new Date(Date.now() - 3_600_000);
  await writeFile(path.join(files, 'registry.csv'), REGISTRY);
  await writeFile(path.join(files, 'ours.eml'), complaint('198.51.100.7', 'ours', hourAgo));
  await writeFile(path.join(files, 'elsewhere.eml'), complaint('203.0.113.50', 'elsewhere', hourAgo));
});
afterAll(async () => {
  await rm(files, { recursive: true, force: true, maxRetries: 5 });
});

const backends = await cliBackends('aupdesk-ingest-cli-', { holdOpen: true });

for (const backend of backends) {
  describe(`aupdesk ingest through the pipeline [${backend.name}]`, () => {
    const env = {
      ...backend.env,
      AUPDESK_MAIL_FROM: 'abuse@desk.example.net',
      AUPDESK_PROVIDER: undefined,
      AUPDESK_REPLY_TO: undefined,
    };
    const cli = (args: string[]) => runCli(env, backend.dataDir, args);

    afterAll(async () => {
      if (backend === backends[backends.length - 1])
        await rm(backend.dataDir, { recursive: true, force: true, maxRetries: 5 });
    });

    it('refuses while no policy is published, storing nothing', async () => {
      // Opening migrates (and, on PostgreSQL, creates the schema the CLI's search_path names).
      const store = await backend.open();
      await store.close();
      const refused = await cli(['ingest', path.join(files, 'ours.eml')]);
      expect(refused.code).not.toBe(0);
      expect(refused.err).toContain('no policy is published');
      const again = await backend.open();
      try {
        expect(await again.db.selectFrom('intake_inbox').select('id').execute()).toEqual([]);
      } finally {
        await again.close();
      }
    });

    it('opens a case for a complaint about a registered address, with its notice and acknowledgement queued', async () => {
      const published = await cli(['policy', 'publish', 'policies/iitgen/2018-02-24.yaml']);
      expect(published.code, published.err).toBe(0);
      const imported = await cli(['registry', 'import', path.join(files, 'registry.csv')]);
      expect(imported.code, imported.err).toBe(0);

      const ingested = await cli(['ingest', path.join(files, 'ours.eml'), path.join(files, 'elsewhere.eml')]);
      expect(ingested.code, ingested.err).toBe(0);
      expect(ingested.out.trim().split('\n')).toEqual([
        'ingest: 2 files, 2 accepted, 0 duplicates, 0 failed, 2 events',
        'cases: 1 opened, 0 joined: AUP-000001',
      ]);

      const listed = await cli(['cases', 'list', '--json']);
      expect(listed.code, listed.err).toBe(0);
      expect(
        listed.out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual([
        expect.objectContaining({
          ref: 'AUP-000001',
          state: 'awaiting-cure',
          customer: 'cust-a',
          service: 'vps-a',
        }),
      ]);

      const store = await backend.open();
      try {
        const events = await listCaseEvents(store.db, {});
        expect(events.map((e) => [e.sourceIp, e.verdict])).toEqual(
          expect.arrayContaining([
            ['198.51.100.7', 'violation'],
            ['203.0.113.50', 'not-ours'],
          ]),
        );
        // The report came in on the file channel; its inbox row records the pipeline's outcome.
        const caseEvent = events.find((e) => e.verdict === 'violation')!;
        expect((await getReport(store.db, caseEvent.reportId))?.channel).toBe('file');
        const rows = await store.db
          .selectFrom('intake_inbox')
          .select(['status', 'report_id', 'outcome'])
          .orderBy('id')
          .execute();
        expect(rows.map((r) => r.status)).toEqual(['done', 'done']);
        expect(rows.every((r) => r.report_id !== null)).toBe(true);
        // Notices and acknowledgements wait in the outbox for `aupdesk worker`.
        const actions = await listActions(store.db, {});
        expect(actions.filter((a) => a.kind === 'mail.notice')).toHaveLength(1);
        expect(actions.filter((a) => a.kind === 'mail.ack').map((a) => a.status)).toEqual([
          'pending',
          'pending',
        ]);
      } finally {
        await store.close();
      }

      // The same complaint again is a duplicate at the door: no second case, nothing more queued.
      const repeat = await cli(['ingest', path.join(files, 'ours.eml')]);
      expect(repeat.code, repeat.err).toBe(0);
      expect(repeat.out.trim().split('\n')).toEqual([
        'ingest: 1 file, 0 accepted, 1 duplicate, 0 failed, 0 events',
      ]);
      const after = await cli(['cases', 'list', '--json']);
      expect(after.out.trim().split('\n')).toHaveLength(1);
    });
  });
}
