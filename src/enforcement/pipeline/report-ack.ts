import type { Transaction } from 'kysely';
import { caseNumberOf } from '../../cases/case-ref.js';
import { addCaseMessage } from '../../cases/message-repository.js';
import type { ParsedReport } from '../../intake/report.js';
import type { Database } from '../../store/schema.js';
import {
  type AckPayload,
  type AckPolicy,
  ackPayloadSchema,
  shouldAcknowledge,
} from '../notices/ack-decision.js';
import type { AckOutcome } from '../notices/ack-templates.js';
import { messageIdFor } from '../notices/message-id.js';
import { enqueueAction } from '../outbox/outbox-repository.js';

/**
 * The reporter's acknowledgement: one per report, with the outcome that matters most to them, queued in the
 * report's transaction through the outbox (`mail.ack`, key `report:<id>:ack`). Never to an automated sender
 * (feeds, Auto-Submitted, our own detections), never for a re-sent report whose every event we had already
 * (the first copy was answered), and through the adapter's loop guards again when it is sent.
 */

/** What each event came to, as far as the acknowledgement cares. */
export interface AckInput {
  readonly opened: readonly number[];
  readonly joined: readonly number[];
  readonly verdicts: ReadonlySet<string>;
  readonly details: ReadonlyMap<string, string>;
  readonly duplicatesOnly: boolean;
  /** The report threads to a case (a reporter answering us): never answered again, or two robots ping-pong. */
  readonly threaded?: boolean;
}

export interface AckDecisionResult {
  readonly outcome: AckOutcome | null;
  readonly caseId: number | null;
  /** Queued in the outbox. */
  readonly queued: boolean;
  /** Why no acknowledgement goes out, when none does. */
  readonly suppressed?: string;
}

/** The outcome to tell, most useful first: a case, then why not. Null: nothing we have words for. */
export function ackOutcomeOf(
  report: ParsedReport,
  input: AckInput,
): { outcome: AckOutcome | null; caseId: number | null; detail?: string } {
  if (input.opened.length > 0) return { outcome: 'case-opened', caseId: input.opened[0]! };
  if (input.joined.length > 0) return { outcome: 'joined-case', caseId: input.joined[0]! };
  const detail = (verdict: string) => {
    const d = input.details.get(verdict);
    return d === undefined ? {} : { detail: d };
  };
  if (input.verdicts.has('rejected-anonymous'))
    return { outcome: 'rejected-anonymous', caseId: null, ...detail('rejected-anonymous') };
  if (input.verdicts.has('too-old')) return { outcome: 'too-old', caseId: null, ...detail('too-old') };
  if (input.verdicts.has('not-ours'))
    return { outcome: 'not-our-network', caseId: null, ...detail('not-ours') };
  if (report.events.length === 0) {
    const first = report.errors[0]?.message;
    return { outcome: 'unparseable', caseId: null, ...(first ? { detail: first } : {}) };
  }
  return { outcome: null, caseId: null };
}

export async function acknowledgeReport(
  trx: Transaction<Database>,
  report: ParsedReport,
  reportId: number,
  input: AckInput,
  options: { now: Date; ackPolicy?: AckPolicy | undefined; messageIdDomain: string },
): Promise<AckDecisionResult> {
  const { outcome, caseId, detail } = ackOutcomeOf(report, input);
  const none = (suppressed: string): AckDecisionResult => ({ outcome, caseId, queued: false, suppressed });
  if (input.duplicatesOnly) return none('a re-sent report: its events were acknowledged the first time');
  if (input.threaded) return none('a reply on a case thread is not acknowledged (no mail loops)');
  if (outcome === null) return none('no clause covers what was reported: no acknowledgement text for that');
  if (report.channel === 'detection' || report.channel === 'feed')
    return none(`${report.channel} reports are never acknowledged`);
  if (report.reporter.automated) return none('the reporter is an automated sender');
  const email = report.reporter.email;
  if (!email?.includes('@')) return none('the reporter left no mail address');

  const payload: AckPayload = ackPayloadSchema.parse({
    outcome,
    reporter: { email, ...(report.reporter.name ? { name: report.reporter.name } : {}) },
    ...(caseId === null ? {} : { caseId: caseNumberOf(caseId) }),
    receivedAt: report.receivedAt,
    ...(detail === undefined ? {} : { detail }),
    original: {
      ...(report.messageId ? { messageId: report.messageId } : {}),
      ...(report.subject ? { subject: report.subject } : {}),
      // The adapter's loop guard recognises answers to our own mail by these.
      headers:
        report.inReplyTo && report.inReplyTo.length > 0
          ? { 'in-reply-to': report.inReplyTo[0]!, references: report.inReplyTo.join(' ') }
          : {},
      feed: false,
    },
  });
  if (options.ackPolicy) {
    const decision = shouldAcknowledge(payload, options.ackPolicy);
    if (!decision.send) return none(decision.reason);
  }
  const key = `report:${reportId}:ack`;
  await enqueueAction(trx, {
    at: options.now,
    kind: 'mail.ack',
    idempotencyKey: key,
    payload,
    caseId,
    actor: 'system:intake',
  });
  if (caseId !== null) {
    await addCaseMessage(trx, {
      caseId,
      direction: 'out',
      kind: 'ack',
      messageId: messageIdFor(key, options.messageIdDomain),
      inReplyTo: report.messageId ?? null,
      subject: report.subject ?? null,
      recipient: email,
      reportId,
      outboxKey: key,
      at: options.now,
    });
  }
  return { outcome, caseId, queued: true };
}
