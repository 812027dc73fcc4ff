import { z } from 'zod';
import { ackOutcomes } from './ack-templates.js';

/**
 * Whether a report may be acknowledged, and what the acknowledgement (`mail.ack`) carries. Mail loops are
 * the classic abuse-desk failure: an acknowledgement to a feed or an autoresponder that answers again. So
 * an acknowledgement goes only to a person: never to a message marked Auto-Submitted, a list or bulk
 * message, a feed report, a bounce or no-reply address, never to our own addresses, never in answer to
 * our own mail. The desk decides here before it queues one (enforcement/pipeline/report-ack.ts); the mail
 * adapter asks again when it sends, and adds the per-address rate limit, which only then can be judged.
 */

export const ackPayloadSchema = z
  .object({
    outcome: z.enum(ackOutcomes),
    reporter: z.object({ email: z.string().min(3), name: z.string().optional() }).strict(),
    caseId: z.string().optional(),
    receivedAt: z.iso.datetime({ offset: true }),
    detail: z.string().optional(),
    /** The report's own mail headers that decide whether it may be answered. */
    original: z
      .object({
        messageId: z.string().optional(),
        subject: z.string().optional(),
        /** Header names lower-cased. */
        headers: z.record(z.string(), z.string()).default({}),
        /** The report came from a feed (Shadowserver, ARF from a feedback loop, a blocklist operator). */
        feed: z.boolean().default(false),
      })
      .strict(),
  })
  .strict();
export type AckPayload = z.infer<typeof ackPayloadSchema>;

export interface AckPolicy {
  /** Our own addresses (the abuse desk, the notice sender): never acknowledged. */
  readonly ownAddresses: readonly string[];
  /** Domains whose mail is ours (the Message-ID domain among them). */
  readonly ownDomains: readonly string[];
}

const automatedLocalParts =
  /^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|donotreply|bounces?|bounce[-+].*|auto-?reply|autoresponder|feedback-?loop|fbl|arf|abuse-?reports?|listserv|majordomo|.*-bounces?)$/i;

export type AckDecision = { readonly send: true } | { readonly send: false; readonly reason: string };

/** The address a limit counts by: lower-cased, without a display name. */
export function ackAddressOf(value: string): string {
  return (/<([^>]+)>/.exec(value)?.[1] ?? value).trim().toLowerCase();
}

/** May this report be acknowledged at all (before any rate limit)? Pure. */
export function shouldAcknowledge(payload: AckPayload, policy: AckPolicy): AckDecision {
  const headers = payload.original.headers;
  const address = ackAddressOf(payload.reporter.email);
  const [local = '', domain = ''] = address.split('@');
  if (!address.includes('@')) return { send: false, reason: 'the reporter gave no mail address' };
  if (payload.original.feed) return { send: false, reason: 'feed reports are never acknowledged' };
  const autoSubmitted = headers['auto-submitted']?.trim().toLowerCase();
  if (autoSubmitted && autoSubmitted !== 'no') {
    return { send: false, reason: `the report is Auto-Submitted: ${autoSubmitted}` };
  }
  const precedence = headers.precedence?.trim().toLowerCase();
  if (precedence && ['bulk', 'junk', 'list', 'auto_reply'].includes(precedence)) {
    return { send: false, reason: `the report has Precedence: ${precedence}` };
  }
  if (headers['list-id'] || headers['list-unsubscribe'])
    return { send: false, reason: 'the report came through a mailing list' };
  if (headers['x-auto-response-suppress'] && /all|autoreply/i.test(headers['x-auto-response-suppress'])) {
    return { send: false, reason: 'the sender asked for no automatic replies (X-Auto-Response-Suppress)' };
  }
  if (headers['return-path']?.trim() === '<>')
    return { send: false, reason: 'the report is a bounce (null return path)' };
  if (automatedLocalParts.test(local)) return { send: false, reason: `${address} is an automated mailbox` };
  const own = policy.ownAddresses.map(ackAddressOf);
  const ownDomains = policy.ownDomains.map((d) => d.toLowerCase());
  if (own.includes(address) || ownDomains.includes(domain)) {
    return { send: false, reason: `${address} is one of our own addresses (loop)` };
  }
  if (headers['x-aupdesk-case'] || headers['x-aupdesk-ack']) {
    return { send: false, reason: 'the report is one of our own messages (loop)' };
  }
  // A reply to one of our messages threads to its case; answering it again is how ping-pong loops start.
  const inReplyTo = `${headers['in-reply-to'] ?? ''} ${headers.references ?? ''}`.toLowerCase();
  if (ownDomains.some((d) => inReplyTo.includes(`@${d}>`))) {
    return { send: false, reason: 'a reply to our own message, not a new report (loop)' };
  }
  return { send: true };
}
