import { createHash } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { MailNoticeAdapter } from '../../src/actions/mail-notice-adapter.js';
import type { MailSender, OutgoingMail } from '../../src/actions/mail-transport.js';
import { getCase } from '../../src/cases/case-repository.js';
import { listCaseMessages } from '../../src/cases/message-repository.js';
import { messageIdFor } from '../../src/enforcement/notices/message-id.js';
import { caseReplyAddress, replyToken } from '../../src/enforcement/notices/reply-token.js';
import { getActionByKey } from '../../src/enforcement/outbox/outbox-repository.js';
import { processReport } from '../../src/enforcement/pipeline/process-report.js';
import { parseReport } from '../../src/intake/parse-report.js';
import { storeNoticeDirectory } from '../../src/server/action-wiring.js';
import { makePolicy } from '../factories.js';
import { apiHarness, bearer } from '../server/api/api-harness.js';
import {
  clockAt,
  historyOf,
  pipelineDeps,
  resetDesk,
  seedRegistry,
  TEST_REPLY_SECRET,
} from '../support/case-support.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * Anyone can send mail that threads to a case: case tags are sequential, notice Message-IDs are seen by the
 * whole thread, our own notice can be replayed with its loop headers stripped. Only a mail from an address
 * the registry holds for the customer AND sent to the case's Reply-To (which carries the per-case token only
 * the notice's recipient saw) is the customer's reply; anything else is a third-party message that changes
 * nothing and that the customer never sees as theirs.
 */

const DESK = 'abuse@desk.example.net';

describeEachBackend('authenticated customer replies', (ctx) => {
  const evidence = new Map<string, Uint8Array>();
  const policy = makePolicy();

  beforeEach(async () => {
    await resetDesk(ctx.store);
    evidence.clear();
  });

  async function setup() {
    const snapshot = await seedRegistry(ctx.store, {
      customers: [
        { ref: 'cust-a', emails: ['ops@a.example'] },
        { ref: 'cust-b', emails: ['ops@b.example'] },
      ],
      services: [
        { ref: 'vps-a', customer: 'cust-a' },
        { ref: 'vps-b', customer: 'cust-b' },
      ],
      assignments: [
        { service: 'vps-a', resource: '198.51.100.0/24', from: '2025-01-01T00:00:00Z' },
        { service: 'vps-b', resource: '203.0.113.0/24', from: '2025-01-01T00:00:00Z' },
      ],
    });
    const clock = clockAt('2026-03-01T12:00:00.000Z');
    const deps = {
      ...pipelineDeps(ctx.store, snapshot, historyOf(policy), clock),
      evidence: { get: async (sha: string) => evidence.get(sha)! },
    };
    const ingest = async (lines: string[]) => {
      const bytes = new TextEncoder().encode([...lines, ''].join('\r\n'));
      const sha = createHash('sha256').update(bytes).digest('hex');
      evidence.set(sha, bytes);
      const parsed = await parseReport({
        bytes,
        channel: 'smtp',
        receivedAt: clock.now(),
        evidenceSha256: sha,
      });
      return processReport(deps, parsed);
    };
    const complaint = (ip: string, id: string) =>
      ingest([
        'From: Reporter <r@reporter.example>',
        `To: ${DESK}`,
        `Subject: spam from ${ip}`,
        'Date: Sun, 01 Mar 2026 11:00:00 +0000',
        `Message-ID: <${id}@reporter.example>`,
        '',
        `We received unsolicited bulk email (spam) from ${ip} on 2026-03-01 10:00 UTC.`,
      ]);
    expect((await complaint('198.51.100.7', 'c1')).cases).toEqual([{ ref: 'AUP-000001', opened: true }]);
    expect((await complaint('203.0.113.7', 'c2')).cases).toEqual([{ ref: 'AUP-000002', opened: true }]);
    clock.set('2026-03-01T13:00:00.000Z');
    const reply = (o: { from: string; to: string; subject: string; inReplyTo?: string; id: string }) =>
      ingest([
        `From: ${o.from}`,
        `To: ${o.to}`,
        `Subject: ${o.subject}`,
        'Date: Sun, 01 Mar 2026 12:59:00 +0000',
        `Message-ID: <${o.id}@mail.example>`,
        ...(o.inReplyTo ? [`In-Reply-To: ${o.inReplyTo}`] : []),
        '',
        'We have fixed it, the case can be closed.',
      ]);
    return { reply, clock };
  }

  const noticeId = messageIdFor('000001/notice/1/mail.notice', 'desk.example.net');
  const tagged = (n: string) => caseReplyAddress(DESK, n, TEST_REPLY_SECRET);

  it('keeps guessed tags, threaded headers, replays and spoofed senders as third-party messages', async () => {
    const { reply } = await setup();
    const attempts = [
      // A guessed case tag from anyone.
      { from: 'attacker@evil.example', to: DESK, subject: 'Re: [AUP-000001] resolved', id: 'a1' },
      // In-Reply-To naming our notice.
      { from: 'attacker@evil.example', to: DESK, subject: 'Re: notice', inReplyTo: noticeId, id: 'a2' },
      // Our own notice sent back with its loop headers stripped.
      { from: DESK, to: 'ops@a.example', subject: '[AUP-000001] Notice', inReplyTo: noticeId, id: 'a3' },
      // The customer's address (spoofable) without the case's reply token.
      { from: 'ops@a.example', to: DESK, subject: 'Re: [AUP-000001] notice', inReplyTo: noticeId, id: 'a4' },
      // The attacker who learnt the token: not the customer's address.
      { from: 'attacker@evil.example', to: tagged('000001'), subject: 'Re: [AUP-000001]', id: 'a5' },
      // The customer's address with a forged token, and with another case's (real) token.
      {
        from: 'ops@a.example',
        to: `abuse+aup-000001.${'a'.repeat(20)}@desk.example.net`,
        subject: 'Re: [AUP-000001]',
        id: 'a6',
      },
      { from: 'ops@a.example', to: tagged('000002'), subject: 'Re: [AUP-000001]', id: 'a7' },
    ];
    for (const attempt of attempts) {
      const result = await reply(attempt);
      expect(result, attempt.id).toMatchObject({
        disposition: 'third-party-reply',
        threadedTo: 'AUP-000001',
      });
    }
    const record = await getCase(ctx.store.db, 1);
    expect(record?.status).toBe('awaiting-cure');
    expect(record?.state.customerRespondedAt).toBeUndefined();
    const inbound = (await listCaseMessages(ctx.store.db, 1)).filter((m) => m.direction === 'in');
    expect(inbound.map((m) => m.kind)).toEqual(Array(attempts.length).fill('third-party'));

    // The customer never sees them as theirs; staff see them as third-party messages.
    const h = await apiHarness(ctx.store);
    try {
      const customer = await ctx.store.db
        .selectFrom('customers')
        .select('id')
        .where('ref', '=', 'cust-a')
        .executeTakeFirstOrThrow();
      const asCustomer = await h.app.inject({
        method: 'GET',
        url: '/api/v1/cases/AUP-000001',
        headers: bearer(await h.key('customer', customer.id)),
      });
      expect(asCustomer.statusCode).toBe(200);
      expect(asCustomer.json().messages.filter((m: { direction: string }) => m.direction === 'in')).toEqual(
        [],
      );
      const asAnalyst = await h.app.inject({
        method: 'GET',
        url: '/api/v1/cases/AUP-000001',
        headers: bearer(await h.key('analyst')),
      });
      expect(
        asAnalyst.json().messages.filter((m: { kind: string }) => m.kind === 'third-party'),
      ).toHaveLength(attempts.length);
    } finally {
      await h.close();
    }
  });

  it("accepts the customer's reply to the case's Reply-To and moves the case to review", async () => {
    const { reply } = await setup();
    const result = await reply({
      from: 'Ops <ops@a.example>',
      to: `"Desk" <${tagged('000001')}>`,
      subject: 'Re: [AUP-000001] Notice',
      inReplyTo: noticeId,
      id: 'ok1',
    });
    expect(result).toMatchObject({ disposition: 'customer-reply', threadedTo: 'AUP-000001' });
    expect((await getCase(ctx.store.db, 1))?.status).toBe('customer-responded');
    const inbound = (await listCaseMessages(ctx.store.db, 1)).filter((m) => m.direction === 'in');
    expect(inbound.map((m) => [m.kind, m.sender])).toEqual([['reply', 'ops@a.example']]);
  });

  it("sends each notice with its case's own Reply-To address", async () => {
    await setup();
    const sent: OutgoingMail[] = [];
    const sender: MailSender = {
      sendMail: async (mail) => {
        sent.push(mail);
        return { messageId: mail.messageId, response: '250 ok', accepted: [mail.to], rejected: [] };
      },
    };
    const adapter = new MailNoticeAdapter({
      sender,
      directory: storeNoticeDirectory(ctx.store.db),
      from: DESK,
      replyTo: `"Abuse desk" <${DESK}>`,
      replySecret: TEST_REPLY_SECRET,
      messageIdDomain: 'desk.example.net',
      loopToken: 'test-loop',
    });
    const action = await getActionByKey(ctx.store.db, '000001/notice/1/mail.notice');
    await adapter.perform(
      action as never,
      {
        signal: new AbortController().signal,
        clock: clockAt('2026-03-01T12:00:00.000Z'),
      } as never,
    );
    const token = replyToken(TEST_REPLY_SECRET, '000001');
    expect(sent[0]?.replyTo).toBe(`"Abuse desk" <abuse+aup-000001.${token}@desk.example.net>`);
    expect(sent[0]?.text).toContain(`abuse+aup-000001.${token}@desk.example.net`);
  });
});
