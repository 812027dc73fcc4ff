import {
  type AckPayload,
  type AckPolicy,
  ackAddressOf,
  ackPayloadSchema,
  shouldAcknowledge,
} from '../enforcement/notices/ack-decision.js';
import { renderAck } from '../enforcement/notices/ack-templates.js';
import { messageIdFor } from '../enforcement/notices/message-id.js';
import type {
  ActionContext,
  ActionHandler,
  JsonValue,
  OutboxAction,
  PrepareContext,
} from '../enforcement/outbox/action-handler.js';
import { loopHeaders, loopToken } from '../intake/mail-loop.js';
import { type MailSender, mailErrorFor } from './mail-transport.js';

/**
 * `mail.ack`: tells a human reporter what became of their report (case opened, joined a case, not our
 * network, too old, rejected as anonymous, not parseable).
 *
 * Mail loops are the classic abuse-desk failure: an acknowledgement to a feed or an autoresponder that
 * answers again. So an acknowledgement goes only to a person: never to a message marked Auto-Submitted,
 * a list or bulk message, a feed report, a bounce or no-reply address, never to our own addresses, never
 * in answer to our own mail, and no more than a few per address per hour. The desk calls
 * `shouldAcknowledge` (enforcement/notices/ack-decision.ts) before queueing one; the adapter checks again
 * when sending (the rate limit can only be judged then) and records a suppressed acknowledgement as done,
 * with the reason, not as a failure.
 */

/** Per-address limit on acknowledgements. */
export interface AckRateLimiter {
  /**
   * Counts the acknowledgement `key` (its outbox action) to `address` at `now` if the address is under the
   * limit; false when it is over. A key already counted is let through again without counting twice (a
   * retried send).
   */
  take(address: string, now: Date, key: string): Promise<boolean>;
  /**
   * Optional: `take` for several acknowledgements at once, in order (an address may come more than once),
   * as that many `take` calls would decide them; the store's does it in one transaction.
   */
  takeMany?(
    requests: ReadonlyArray<{ readonly address: string; readonly key: string }>,
    now: Date,
  ): Promise<boolean[]>;
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
  /** The rate limit's answers taken for a round by `prepare`, by idempotency key, until `perform` uses them. */
  private readonly taken = new Map<string, boolean>();

  constructor(private readonly options: ReporterAckAdapterOptions) {
    this.loopToken = options.loopToken ?? loopToken();
  }

  /**
   * The round's acknowledgements take their places under the rate limit together (`takeMany`: one
   * transaction instead of one each); `perform` then sends or suppresses each by its answer. One that is
   * not to be sent anyway (or whose payload is malformed) takes no place, as in `perform`.
   */
  async prepare(actions: readonly OutboxAction[], ctx: PrepareContext): Promise<void> {
    const { rateLimiter, policy } = this.options;
    if (!rateLimiter.takeMany) return;
    const requests: Array<{ address: string; key: string }> = [];
    for (const action of actions) {
      const payload = ackPayloadSchema.safeParse(action.payload);
      if (!payload.success || !shouldAcknowledge(payload.data, policy).send) continue;
      requests.push({ address: payload.data.reporter.email, key: action.idempotencyKey });
    }
    if (requests.length === 0) return;
    const answers = await rateLimiter.takeMany(requests, ctx.clock.now());
    for (const [i, request] of requests.entries()) this.taken.set(request.key, answers[i]!);
  }

  async perform(action: OutboxAction<AckPayload>, ctx: ActionContext): Promise<JsonValue> {
    const payload = ackPayloadSchema.parse(action.payload);
    const decision = shouldAcknowledge(payload, this.options.policy);
    if (!decision.send) return { suppressed: true, reason: decision.reason };
    const prepared = this.taken.get(action.idempotencyKey);
    this.taken.delete(action.idempotencyKey);
    if (
      !(
        prepared ??
        (await this.options.rateLimiter.take(payload.reporter.email, ctx.clock.now(), action.idempotencyKey))
      )
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
