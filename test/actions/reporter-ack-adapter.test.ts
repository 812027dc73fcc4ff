import { describe, expect, it } from 'vitest';
import type { MailSender, OutgoingMail } from '../../src/actions/mail-transport.js';
import {
  type AckRateLimiter,
  memoryAckRateLimiter,
  ReporterAckAdapter,
} from '../../src/actions/reporter-ack-adapter.js';
import { type AckPayload, shouldAcknowledge } from '../../src/enforcement/notices/ack-decision.js';
import type { OutboxAction } from '../../src/enforcement/outbox/action-handler.js';
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

/** The adapter under test: Example's desk, `sender` and `rateLimiter`. */
function adapterOf(sender: MailSender, rateLimiter: AckRateLimiter): ReporterAckAdapter {
  return new ReporterAckAdapter({
    sender,
    from: 'abuse@desk.example',
    providerName: 'Example',
    messageIdDomain: 'desk.example',
    policy,
    rateLimiter,
  });
}

describe('reporter acknowledgement adapter', () => {
  it('answers a person in the thread of their report, marked auto-replied, with the case tag', async () => {
    const sender = capturingSender();
    const adapter = adapterOf(sender, memoryAckRateLimiter());
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
    const adapter = adapterOf(sender, memoryAckRateLimiter({ max: 100 }));
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
    const adapter = adapterOf(sender, memoryAckRateLimiter({ max: 2, windowMs: 3_600_000 }));
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

  it("takes a round's places under the rate limit at once (prepare), and each send follows its answer", async () => {
    const sender = capturingSender();
    const clock = new ManualClock('2026-03-02T09:00:00Z');
    const memory = memoryAckRateLimiter({ max: 2, windowMs: 3_600_000 });
    const calls: string[] = [];
    const rateLimiter = {
      take: async (address: string, now: Date, key: string) => {
        calls.push(`take ${key}`);
        return memory.take(address, now, key);
      },
      takeMany: async (requests: ReadonlyArray<{ address: string; key: string }>, now: Date) => {
        calls.push(`takeMany ${requests.map((r) => r.key).join(',')}`);
        const out: boolean[] = [];
        for (const r of requests) out.push(await memory.take(r.address, now, r.key));
        return out;
      },
    };
    const adapter = adapterOf(sender, rateLimiter);
    const actions: Array<OutboxAction<AckPayload>> = [
      outboxActionOf('mail.ack', 'b1', ack()),
      // Never sent (an autoresponder), so it takes no place; a malformed payload takes none either.
      outboxActionOf('mail.ack', 'b2', ack({}, { 'auto-submitted': 'auto-replied' })),
      outboxActionOf('mail.ack', 'b3', { not: 'an ack' } as unknown as AckPayload),
      outboxActionOf('mail.ack', 'b4', ack()),
      outboxActionOf('mail.ack', 'b5', ack()),
    ];
    await adapter.prepare(actions, { clock, workerId: 'w' });
    expect(calls).toEqual(['takeMany b1,b4,b5']);
    const results = [];
    for (const action of actions.filter((a) => a.idempotencyKey !== 'b3'))
      results.push(await adapter.perform(action, contextOf(action.idempotencyKey, clock)));
    expect(results.map((r) => (r as { suppressed?: boolean }).suppressed ?? false)).toEqual([
      false,
      true,
      false,
      true,
    ]);
    expect(sender.sent).toHaveLength(2);
    // Its answer used, a later perform of the same action (a retry) asks the limiter again.
    await adapter.perform(actions[0]!, contextOf('b1', clock));
    expect(calls).toEqual(['takeMany b1,b4,b5', 'take b1']);
  });
});
