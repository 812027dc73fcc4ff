import { describe, expect, it } from 'vitest';
import type { MailSender, OutgoingMail } from '../../src/actions/mail-transport.js';
import { memoryAckRateLimiter, ReporterAckAdapter } from '../../src/actions/reporter-ack-adapter.js';
import { type AckPayload, shouldAcknowledge } from '../../src/enforcement/notices/ack-decision.js';
import { ManualClock } from '../../src/enforcement/outbox/clock.js';
import { contextOf, outboxActionOf } from './action-support.js';

const policy = { ownAddresses: ['abuse@desk.example', 'noc@desk.example'], ownDomains: ['desk.example'] };

function ack(
  overrides: Partial<AckPayload> = {},
  headers: Record<string, string> = {},
  feed = false,
): AckPayload {
  return {
    outcome: 'case-opened',
    reporter: { email: 'rita@victim.example', name: 'Rita' },
    caseId: '42',
    receivedAt: '2026-03-02T09:00:00.000Z',
    original: { messageId: '<r1@victim.example>', subject: 'spam from 192.0.2.10', headers, feed },
    ...overrides,
  };
}

describe('shouldAcknowledge: only people, never loops', () => {
  const cases: Array<[string, AckPayload, boolean]> = [
    ['a person', ack(), true],
    ['Auto-Submitted: no is a person', ack({}, { 'auto-submitted': 'no' }), true],
    ['Auto-Submitted: auto-generated', ack({}, { 'auto-submitted': 'auto-generated' }), false],
    ['Auto-Submitted: auto-replied', ack({}, { 'auto-submitted': 'auto-replied' }), false],
    ['a feed report', ack({}, {}, true), false],
    ['Precedence: bulk', ack({}, { precedence: 'bulk' }), false],
    ['a mailing list', ack({}, { 'list-id': '<abuse.lists.example>' }), false],
    ['mailer-daemon', ack({ reporter: { email: 'MAILER-DAEMON@mx.example' } }), false],
    ['noreply', ack({ reporter: { email: 'noreply@reports.example' } }), false],
    ['no-reply', ack({ reporter: { email: 'no-reply@reports.example' } }), false],
    ['a bounce', ack({}, { 'return-path': '<>' }), false],
    ['our own address', ack({ reporter: { email: 'Abuse Desk <abuse@desk.example>' } }), false],
    ['our own domain', ack({ reporter: { email: 'someone@desk.example' } }), false],
    ['one of our own messages', ack({}, { 'x-aupdesk-case': '[AUP-41]' }), false],
    ['a reply to our message', ack({}, { 'in-reply-to': '<aup.abc@desk.example>' }), false],
    ['no address at all', ack({ reporter: { email: 'anonymous' } }), false],
  ];
  it.each(cases)('%s', (_name, payload, expected) => {
    expect(shouldAcknowledge(payload, policy).send).toBe(expected);
  });
});

function capturingSender(): MailSender & { sent: OutgoingMail[] } {
  const sent: OutgoingMail[] = [];
  return {
    sent,
    async sendMail(mail) {
      sent.push(mail);
      return { messageId: mail.messageId, response: '250 ok', accepted: [mail.to], rejected: [] };
    },
  };
}

describe('reporter acknowledgement adapter', () => {
  it('answers a person in the thread of their report, marked auto-replied, with the case tag', async () => {
    const sender = capturingSender();
    const adapter = new ReporterAckAdapter({
      sender,
      from: 'abuse@desk.example',
      providerName: 'Example',
      messageIdDomain: 'desk.example',
      policy,
      rateLimiter: memoryAckRateLimiter(),
    });
    const result = await adapter.perform(outboxActionOf('mail.ack', 'ack/r1', ack()), contextOf('ack/r1'));
    expect(result).toMatchObject({ to: 'rita@victim.example', outcome: 'case-opened' });
    const [mail] = sender.sent;
    expect(mail?.subject).toBe('[AUP-42] Re: spam from 192.0.2.10');
    expect(mail?.inReplyTo).toBe('<r1@victim.example>');
    expect(mail?.headers['Auto-Submitted']).toBe('auto-replied');
    expect(mail?.text).toContain('We have opened case [AUP-42]');
  });

  it('each outcome has its text', async () => {
    const sender = capturingSender();
    const adapter = new ReporterAckAdapter({
      sender,
      from: 'abuse@desk.example',
      providerName: 'Example',
      messageIdDomain: 'desk.example',
      policy,
      rateLimiter: memoryAckRateLimiter({ max: 100 }),
    });
    const outcomes = [
      'joined-case',
      'not-our-network',
      'too-old',
      'rejected-anonymous',
      'unparseable',
    ] as const;
    for (const outcome of outcomes) {
      await adapter.perform(outboxActionOf('mail.ack', `ack/${outcome}`, ack({ outcome })), contextOf('k'));
    }
    const texts = sender.sent.map((m) => m.text);
    expect(texts[0]).toContain('already handling as case [AUP-42]');
    expect(texts[1]).toContain('not assigned to one of our customers');
    expect(texts[2]).toContain('too old');
    expect(texts[3]).toContain('anonymous complaints');
    expect(texts[4]).toContain('could not read your report');
  });

  it('suppresses (without failing) automated senders, and rate-limits per address', async () => {
    const sender = capturingSender();
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    const adapter = new ReporterAckAdapter({
      sender,
      from: 'abuse@desk.example',
      providerName: 'Example',
      messageIdDomain: 'desk.example',
      policy,
      rateLimiter: memoryAckRateLimiter({ max: 2, windowMs: 3_600_000 }),
    });
    const auto = await adapter.perform(
      outboxActionOf('mail.ack', 'a0', ack({}, { 'auto-submitted': 'auto-generated' })),
      contextOf('a0', clock),
    );
    expect(auto).toMatchObject({ suppressed: true });
    const results = [];
    for (let i = 1; i <= 3; i += 1) {
      results.push(
        await adapter.perform(outboxActionOf('mail.ack', `a${i}`, ack()), contextOf(`a${i}`, clock)),
      );
    }
    expect(results[2]).toMatchObject({ suppressed: true, reason: expect.stringMatching(/rate limit/) });
    expect(sender.sent).toHaveLength(2);
    clock.advance(3_600_001);
    await adapter.perform(outboxActionOf('mail.ack', 'a4', ack()), contextOf('a4', clock));
    expect(sender.sent).toHaveLength(3);
  });
});
