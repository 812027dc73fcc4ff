import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { appendAudit } from '../../src/audit/audit-log.js';
import { ManualClock } from '../../src/enforcement/outbox/clock.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { housekeepingTasks } from '../../src/server/serve-housekeeping.js';
import { describeEachBackend } from '../support/store-backends.js';

/** `serve`'s scheduled anchor: the housekeeping task appends the head and queues the mail. */
describeEachBackend('scheduled audit anchor', (ctx) => {
  it('appends the head to the anchor file at each run and queues a mail of it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-anchor-task-'));
    try {
      const file = path.join(dir, 'anchors.jsonl');
      const clock = new ManualClock('2026-06-01T12:00:00Z');
      const tasks = housekeepingTasks({
        store: ctx.store,
        clock,
        purgeSessions: false,
        auditAnchor: { file, intervalMs: 60_000, mailTo: 'auditor@example.net' },
      });
      const task = tasks.find((t) => t.id === 'audit-anchor');
      expect(task).toMatchObject({ everyMs: 60_000, atStart: true });
      await ctx.store.db.transaction().execute((trx) =>
        appendAudit(trx, {
          at: clock.now(),
          actor: 'system',
          kind: 'case.state',
          subject: 'case:1',
          payload: {},
        }),
      );
      const first = await task!.run();
      clock.advance(60_000);
      const second = await task!.run();
      const lines = (await readFile(file, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({ seq: first?.seq, anchoredAt: '2026-06-01T12:00:00.000Z' });
      // The first run's mail was queued with an audit entry of its own: the second anchor is past it.
      expect(lines[1].seq).toBe(Number(first?.seq) + 1);
      expect(second).toMatchObject({ mailQueued: true });
      expect(await listActions(ctx.store.db, { kind: 'mail.audit-anchor' })).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
