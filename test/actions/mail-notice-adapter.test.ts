import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MailNoticeAdapter, type NoticeDirectory } from '../../src/actions/mail-notice-adapter.js';
import { createSmtpSender, smtpRelayConfigFromEnv } from '../../src/actions/mail-transport.js';
import { openCaseState } from '../../src/cases/case-state.js';
import { nextStep } from '../../src/enforcement/ladder-engine.js';
import { caseIdFromSubject } from '../../src/enforcement/notices/case-tag.js';
import { messageIdFor } from '../../src/enforcement/notices/message-id.js';
import type { EvidenceItem } from '../../src/enforcement/notices/notice-templates.js';
import type { NoticePayload, PlannedAction } from '../../src/enforcement/planned-action.js';
import { isAupError } from '../../src/errors.js';
import type { PolicyDocument } from '../../src/policy/policy-schema.js';
import { iitgen, infince, spamClause } from '../enforcement/seed-ladders.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.js';
import { contextOf, fromPlanned } from './action-support.js';

const evidence: EvidenceItem[] = [
  {
    observedAt: '2026-03-01T22:14:05Z',
    eventClass: 'abusive-content/spam',
    source: '192.0.2.10',
    reporter: { name: 'Rita Reporter', email: 'rita@victim.example' },
    excerpt:
      'From: Rita Reporter <rita@victim.example>\nSubject: spam from your network\n\nI got <script>alert(1)</script> spam from 192.0.2.10. Rita Reporter',
  },
];

const directory: NoticeDirectory = {
  async recipientFor(customerId) {
    return customerId === 'cust-1'
      ? { email: 'ops@customer.example', name: 'Customer Ops', serviceLabel: 'VPS vps-17 (192.0.2.10)' }
      : undefined;
  },
  async evidenceFor() {
    return evidence;
  },
};

function notices(policy: PolicyDocument, hours: number[]): PlannedAction[] {
  let state = openCaseState({
    caseId: '42',
    customerId: 'cust-1',
    serviceId: 'svc-1',
    openedAt: new Date('2026-03-02T09:00:00Z'),
    clauses: [spamClause],
    addresses: ['192.0.2.10/32'],
  });
  const out: PlannedAction[] = [];
  for (const h of hours) {
    const result = nextStep(state, policy, new Date(Date.parse('2026-03-02T09:00:00Z') + h * 3_600_000));
    out.push(...result.actions.filter((a) => a.kind === 'mail.notice'));
    state = result.state;
  }
  return out;
}

describe('mail notice adapter against a real SMTP sink', () => {
  let sink: SmtpSink;
  let sender: ReturnType<typeof createSmtpSender>;
  let adapter: MailNoticeAdapter;

  beforeAll(async () => {
    sink = await startSmtpSink();
    const config = smtpRelayConfigFromEnv({
      AUPDESK_SMTP_HOST: '127.0.0.1',
      AUPDESK_SMTP_PORT: String(sink.port),
      AUPDESK_SMTP_SECURE: 'false',
      AUPDESK_MAIL_FROM: 'Example abuse desk <abuse@desk.example>',
    });
    expect(config.messageIdDomain).toBe('desk.example');
    sender = createSmtpSender({ ...config, timeoutMs: 5_000 });
    adapter = new MailNoticeAdapter({
      sender,
      directory,
      from: config.from,
      replyTo: 'abuse@desk.example',
      messageIdDomain: config.messageIdDomain,
    });
  });
  afterEach(() => {
    sink.messages.length = 0;
    sink.failWith = null;
  });
  afterAll(async () => {
    sender.close();
    await sink.close();
  });

  it('delivers the violation notice with case tag, clause text, absolute UTC deadline and automation headers', async () => {
    const [notice] = notices(iitgen, [0]);
    const result = await adapter.perform(fromPlanned(notice!) as never, contextOf(notice!.idempotencyKey));
    expect(sink.messages).toHaveLength(1);
    const { parsed, envelopeTo } = sink.messages[0]!;
    expect(envelopeTo).toEqual(['ops@customer.example']);
    expect(parsed.subject).toBe('[AUP-42] Notice of acceptable use policy violation: Spam');
    expect(caseIdFromSubject(parsed.subject ?? '')).toBe('42');
    expect(parsed.messageId).toBe(messageIdFor('42/notice/1/mail.notice', 'desk.example'));
    expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(parsed.headers.get('x-aupdesk-case')).toBe('[AUP-42]');
    expect(parsed.replyTo?.text).toBe('abuse@desk.example');
    expect(parsed.text).toContain('"No unsolicited bulk email."');
    expect(parsed.text).toContain('by 2026-03-09 09:00 UTC (2026-03-09T09:00:00.000Z)');
    expect(parsed.text).toContain('we may terminate the service');
    // iITGEN does not keep complaints confidential: the reporter is named.
    expect(parsed.text).toContain('Reported by: Rita Reporter, rita@victim.example');
    // The HTML part carries the complaint as text, never as markup.
    expect(parsed.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(parsed.html).not.toContain('<script>');
    expect(result).toMatchObject({ to: 'ops@customer.example', template: 'violation-notice' });
  });

  it('redacts the reporter where the policy says so, and threads later notices to earlier ones', async () => {
    const [first, second] = notices(infince, [0, 72]);
    await adapter.perform(fromPlanned(first!) as never, contextOf(first!.idempotencyKey));
    await adapter.perform(fromPlanned(second!) as never, contextOf(second!.idempotencyKey));
    const [a, b] = sink.messages.map((m) => m.parsed);
    expect(a?.text).not.toContain('rita@victim.example');
    expect(a?.text).not.toContain('Rita Reporter');
    expect(a?.text).toContain('[reporter withheld]');
    expect(a?.text).toContain('I got <script>alert(1)</script> spam from 192.0.2.10.');
    expect(b?.subject).toBe('[AUP-42] Service suspended: acceptable use policy violation: Spam');
    expect(b?.inReplyTo).toBe(a?.messageId);
    expect(b?.references).toBe(a?.messageId);
    expect((second!.payload as NoticePayload).template).toBe('suspension-notice');
  });

  it('the same outbox key sends the same Message-ID again (a repeat is one message to the recipient)', async () => {
    const [notice] = notices(iitgen, [0]);
    await adapter.perform(fromPlanned(notice!) as never, contextOf(notice!.idempotencyKey));
    await adapter.perform(fromPlanned(notice!) as never, contextOf(notice!.idempotencyKey));
    expect(sink.messages.map((m) => m.parsed.messageId)).toEqual([
      sink.messages[0]!.parsed.messageId,
      sink.messages[0]!.parsed.messageId,
    ]);
  });

  it('a relay that answers 4xx is a retryable failure; 5xx is permanent', async () => {
    const [notice] = notices(iitgen, [0]);
    sink.failWith = 451;
    const temporary = await adapter
      .perform(fromPlanned(notice!) as never, contextOf('k'))
      .catch((e: unknown) => e);
    expect(isAupError(temporary, 'AUP_ERR_ACTION_FAILED')).toBe(true);
    sink.failWith = 554;
    const permanent = await adapter
      .perform(fromPlanned(notice!) as never, contextOf('k'))
      .catch((e: unknown) => e);
    expect(isAupError(permanent, 'AUP_ERR_ACTION_REJECTED')).toBe(true);
  });

  it('a customer without a notice address is refused, not retried', async () => {
    const [notice] = notices(iitgen, [0]);
    const payload = { ...(notice!.payload as NoticePayload), customerId: 'nobody' };
    const error = await adapter
      .perform({ ...fromPlanned(notice!), payload } as never, contextOf('k'))
      .catch((e: unknown) => e);
    expect(isAupError(error, 'AUP_ERR_ACTION_REJECTED')).toBe(true);
    expect(sink.messages).toHaveLength(0);
  });
});

describe('relay configuration', () => {
  it('names the variable when the relay is not configured', () => {
    expect(() => smtpRelayConfigFromEnv({})).toThrow(/host/);
    expect(() =>
      smtpRelayConfigFromEnv({
        AUPDESK_SMTP_HOST: 'relay',
        AUPDESK_SMTP_SECURE: 'maybe',
        AUPDESK_MAIL_FROM: 'a@b.c',
      }),
    ).toThrow(/secure/);
  });
});
