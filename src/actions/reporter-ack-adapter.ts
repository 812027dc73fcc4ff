import { domainToASCII } from 'node:url';
import { z } from 'zod';
import type {
  ActionContext,
  ActionHandler,
  JsonValue,
  OutboxAction,
} from '../enforcement/outbox/action-handler.js';
import { loopHeaders, loopToken } from '../intake/mail-loop.js';
import { type MailSender, mailErrorFor, messageIdFor } from './mail-transport.js';
import { ackOutcomes, notActionableTemplates, renderAck } from './templates/ack-templates.js';

/**
 * `mail.ack`: tells a human reporter what became of their report (case opened, joined a case, not our
 * network, too old, rejected as anonymous, not parseable).
 *
 * Mail loops are the classic abuse-desk failure: an acknowledgement to a feed or an autoresponder that
 * answers again. So an acknowledgement goes only to a person: never to a message marked Auto-Submitted,
 * a list or bulk message, a feed report, a bounce or no-reply address, never to our own addresses, never
 * in answer to our own mail, and no more than a few per address per hour. Intake calls
 * `shouldAcknowledge` before queueing one; the adapter checks again when sending (the rate limit can only
 * be judged then) and records a suppressed acknowledgement as done, with the reason, not as a failure.
 */

export const ackPayloadSchema = z
  .object({
    outcome: z.enum(ackOutcomes),
    reporter: z.object({ email: z.string().min(3), name: z.string().optional() }).strict(),
    caseId: z.string().optional(),
    receivedAt: z.iso.datetime({ offset: true }),
    detail: z.string().optional(),
    template: z.enum(notActionableTemplates).optional(),
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

const atext = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const label = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * An address we may send to: an RFC 5321 mailbox with a dot-atom local part of ASCII and a domain of host
 * name labels (at least two; a Unicode domain must convert to its ASCII form). A header decoded with the
 * wrong charset leaves bytes like `Ã¼` or U+FFFD in the local part: never a valid mailbox, so never answered
 * (a mail to it bounces at best, reaches a stranger at worst).
 */
export function isValidMailbox(address: string): boolean {
  if (address.length > 254) return false;
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !local.split('.').every((part) => atext.test(part))) return false;
  if (domain.includes('\uFFFD')) return false;
  const ascii = /^[\x20-\x7e]+$/.test(domain) ? domain : domainToASCII(domain);
  const labels = ascii.replace(/\.$/, '').split('.');
  return labels.length >= 2 && labels.every((l) => label.test(l)) && !/^[0-9]+$/.test(labels.at(-1)!);
}

/** May this report be acknowledged at all (before any rate limit)? Pure. */
export function shouldAcknowledge(payload: AckPayload, policy: AckPolicy): AckDecision {
  const headers = payload.original.headers;
  const address = ackAddressOf(payload.reporter.email);
  const [local = '', domain = ''] = address.split('@');
  if (!address.includes('@')) return { send: false, reason: 'the reporter gave no mail address' };
  if (!isValidMailbox(address)) {
    return { send: false, reason: `${JSON.stringify(address)} is not a valid mailbox (not acknowledged)` };
  }
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

/** Per-address limit on acknowledgements. */
export interface AckRateLimiter {
  /**
   * Counts the acknowledgement `key` (its outbox action) to `address` at `now` if the address is under the
   * limit; false when it is over. A key already counted is let through again without counting twice (a
   * retried send).
   */
  take(address: string, now: Date, key: string): Promise<boolean>;
}

/** The limit: at most `max` acknowledgements per address per `windowMs` (default 3 an hour). */
export interface AckRateLimit {
  readonly max?: number | undefined;
  readonly windowMs?: number | undefined;
}

export const DEFAULT_ACK_RATE_LIMIT = { max: 3, windowMs: 3_600_000 } as const;

/**
 * In-process sliding window, for tests and single-shot tools: one process's view, forgotten on restart.
 * The desk uses the store's (`storeAckRateLimiter`), which every worker shares.
 */
export function memoryAckRateLimiter(options: AckRateLimit = {}): AckRateLimiter {
  const max = options.max ?? DEFAULT_ACK_RATE_LIMIT.max;
  const windowMs = options.windowMs ?? DEFAULT_ACK_RATE_LIMIT.windowMs;
  const sent = new Map<string, Array<{ key: string; at: number }>>();
  return {
    async take(address, now, key) {
      const normalised = ackAddressOf(address);
      const since = now.getTime() - windowMs;
      const recent = (sent.get(normalised) ?? []).filter((s) => s.at > since);
      sent.set(normalised, recent);
      if (recent.some((s) => s.key === key)) return true;
      if (recent.length >= max) return false;
      recent.push({ key, at: now.getTime() });
      return true;
    },
  };
}

export interface ReporterAckAdapterOptions {
  readonly sender: MailSender;
  readonly from: string;
  readonly providerName: string;
  readonly messageIdDomain: string;
  readonly policy: AckPolicy;
  readonly rateLimiter: AckRateLimiter;
  /** The X-Loop token (default `loopToken()`: the one our SMTP intake recognises). */
  readonly loopToken?: string | undefined;
}

export class ReporterAckAdapter implements ActionHandler<AckPayload> {
  readonly kind = 'mail.ack';
  readonly payloadSchema = ackPayloadSchema;

  private readonly loopToken: string;

  constructor(private readonly options: ReporterAckAdapterOptions) {
    this.loopToken = options.loopToken ?? loopToken();
  }

  async perform(action: OutboxAction<AckPayload>, ctx: ActionContext): Promise<JsonValue> {
    const payload = ackPayloadSchema.parse(action.payload);
    const decision = shouldAcknowledge(payload, this.options.policy);
    if (!decision.send) return { suppressed: true, reason: decision.reason };
    if (
      !(await this.options.rateLimiter.take(payload.reporter.email, ctx.clock.now(), action.idempotencyKey))
    ) {
      return {
        suppressed: true,
        reason: `rate limit: too many acknowledgements to ${ackAddressOf(payload.reporter.email)}`,
      };
    }
    const rendered = renderAck({
      outcome: payload.outcome,
      providerName: this.options.providerName,
      receivedAt: payload.receivedAt,
      ...(payload.caseId === undefined ? {} : { caseId: payload.caseId }),
      ...(payload.original.subject === undefined ? {} : { originalSubject: payload.original.subject }),
      ...(payload.detail === undefined ? {} : { detail: payload.detail }),
      ...(payload.template === undefined ? {} : { template: payload.template }),
    });
    const messageId = messageIdFor(action.idempotencyKey, this.options.messageIdDomain);
    const original = payload.original.messageId;
    try {
      const result = await this.options.sender.sendMail({
        from: this.options.from,
        to: payload.reporter.email,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        messageId,
        ...(original ? { inReplyTo: original, references: [original] } : {}),
        headers: {
          // RFC 3834 auto-replied: other responders must not answer it, and our intake recognises it.
          'Auto-Submitted': 'auto-replied',
          ...loopHeaders(this.loopToken),
          'X-Auto-Response-Suppress': 'All',
          'X-Aupdesk-Ack': payload.outcome,
        },
      });
      return { messageId, to: payload.reporter.email, outcome: payload.outcome, response: result.response };
    } catch (error) {
      throw mailErrorFor(error, `acknowledgement to ${payload.reporter.email}`);
    }
  }
}
