import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSmtpSender } from '../../src/actions/mail-transport.js';
import { storeFeeRepository } from '../../src/actions/store-action-repositories.js';
import { verifyAudit } from '../../src/audit/audit-log.js';
import { getCase } from '../../src/cases/case-repository.js';
import { messageIdFor } from '../../src/enforcement/notices/message-id.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { runEnforcementOnce, type WorkerDeps } from '../../src/enforcement/pipeline/enforcement-worker.js';
import { type PipelineDeps, processReport } from '../../src/enforcement/pipeline/process-report.js';
import { createActionHandlers } from '../../src/server/action-wiring.js';
import { makePolicy } from '../factories.js';
import {
  clockAt,
  historyOf,
  pipelineDeps,
  reportOf,
  resetDesk,
  seedRegistry,
  TEST_REPLY_SECRET,
} from '../support/case-support.js';
import { type LoopbackSinks, startLoopbackSinks } from '../support/loopback-sinks.js';
import { describeEachBackend } from '../support/store-backends.js';

const SECRET = 'a-webhook-secret-of-at-least-32-characters';

describeEachBackend('enforcement end to end (SMTP sink, webhook receiver)', (ctx) => {
  const clock = clockAt('2026-03-01T12:00:00.000Z');
  let sinks: LoopbackSinks;
  let sender: ReturnType<typeof createSmtpSender>;

  beforeAll(async () => {
    // A real SMTP server and a real webhook receiver on loopback: what arrives there is what we check.
    sinks = await startLoopbackSinks({ secret: SECRET, now: () => clock.now(), hookPath: '/aup' });
    sender = createSmtpSender({
      host: '127.0.0.1',
      port: sinks.smtpPort,
      secure: false,
      requireTls: false,
      from: '"Example abuse desk" <abuse@desk.example.net>',
      messageIdDomain: 'desk.example.net',
      timeoutMs: 5_000,
    });
  });
  afterAll(async () => {
    sender?.close();
    await sinks?.close();
  });

  it('sends the notice, suspends once when the cure period has run out, and keeps the audit chain whole', async () => {
    await resetDesk(ctx.store);
    const snapshot = await seedRegistry(ctx.store, {
      customers: [{ ref: 'cust-a', name: 'Alpha Hosting Ltd', emails: ['ops@a.example'] }],
      services: [{ ref: 'vps-a', customer: 'cust-a' }],
      assignments: [{ service: 'vps-a', resource: '198.51.100.0/24', from: '2025-01-01T00:00:00Z' }],
    });
    const base = pipelineDeps(ctx.store, snapshot, historyOf(makePolicy()), clock);
    const deps: WorkerDeps & PipelineDeps = {
      ...base,
      handlers: createActionHandlers({
        db: ctx.store.db,
        sender,
        from: 'abuse@desk.example.net',
        replyTo: 'abuse@desk.example.net',
        replySecret: TEST_REPLY_SECRET,
        messageIdDomain: 'desk.example.net',
        providerName: 'Example Hosting',
        provisioning: { webhook: { url: sinks.webhookUrl, secret: SECRET } },
      }),
      executor: { random: () => 0, backoff: { baseMs: 1_000 } },
    };
    sinks.mails.length = 0;
    sinks.hooks.length = 0;

    await processReport(
      deps,
      reportOf({
        subject: 'Spam from 198.51.100.7',
        messageId: '<complaint-1@reporter.example>',
        events: [{ 'source.ip': '198.51.100.7', raw: 'Received: from [198.51.100.7] spam run' }],
      }),
    );
    const first = await runEnforcementOnce(deps, clock);
    expect(first.actions).toMatchObject({ done: 2, dead: 0 });

    const noticeKey = '000001/notice/1/mail.notice';
    const notice = sinks.mails.find((m) => m.to && JSON.stringify(m.to).includes('ops@a.example'));
    expect(notice?.subject).toBe('[AUP-000001] Notice of acceptable use policy violation: Spam');
    expect(notice?.messageId).toBe(messageIdFor(noticeKey, 'desk.example.net'));
    expect(notice?.headers.get('auto-submitted')).toBe('auto-generated');
    expect(notice?.text).toContain('2026-03-04');
    expect(notice?.text).toContain('No unsolicited bulk email.');
    const ack = sinks.mails.find((m) => JSON.stringify(m.to).includes('alice@reporter.example'));
    expect(ack?.subject).toContain('[AUP-000001]');
    expect(ack?.inReplyTo).toBe('<complaint-1@reporter.example>');
    expect(sinks.hooks).toHaveLength(0);

    // Inside the cure period nothing happens.
    clock.set('2026-03-03T12:00:00.000Z');
    const waiting = await runEnforcementOnce(deps, clock);
    expect(waiting.steps.fired).toBe(0);
    expect(sinks.hooks).toHaveLength(0);

    // Past the deadline: the due step fires, the suspension goes out through the webhook, once.
    clock.set('2026-03-04T12:00:01.000Z');
    const due = await runEnforcementOnce(deps, clock);
    expect(due.steps.fired).toBe(1);
    expect(sinks.hooks).toHaveLength(1);
    expect(sinks.hooks[0]).toMatchObject({
      signatureOk: true,
      key: '000001/suspend/1/provision.suspend',
      body: { action: 'suspend', service: 'vps-a', customer: 'cust-a', case: '000001' },
    });
    expect((await getCase(ctx.store.db, 1))?.status).toBe('suspended');
    const suspensionNotice = sinks.mails.find((m) => m.subject?.includes('Service suspended'));
    expect(suspensionNotice?.inReplyTo).toBe(messageIdFor(noticeKey, 'desk.example.net'));

    // Running again (a restarted worker, the same instant) repeats nothing.
    await runEnforcementOnce(deps, clock);
    expect(sinks.hooks.filter((h) => h.body.action === 'suspend')).toHaveLength(1);
    expect(await listActions(ctx.store.db, { kind: 'provision.suspend' })).toHaveLength(1);
    expect((await listActions(ctx.store.db, { status: 'done' })).length).toBe(4);

    // Seven days later the ladder terminates the service.
    clock.set('2026-03-11T12:00:02.000Z');
    await runEnforcementOnce(deps, clock);
    expect(sinks.hooks.map((h) => h.body.action)).toEqual(['suspend', 'terminate']);
    expect((await getCase(ctx.store.db, 1))?.status).toBe('terminated');
    expect(await storeFeeRepository(ctx.store.db).list()).toEqual([]);

    expect(await verifyAudit(ctx.store.db)).toMatchObject({ ok: true });
  });
});
