import type { Transaction } from 'kysely';
import { appendAudit } from '../../audit/audit-log.js';
import { caseSubject } from '../../cases/case-ref.js';
import { getCase } from '../../cases/case-repository.js';
import { copyCaseState } from '../../cases/case-state.js';
import { addCaseMessage } from '../../cases/message-repository.js';
import { AupError } from '../../errors.js';
import type { Database } from '../../store/schema.js';
import { applyCaseTransition, type EnforcementDeps } from '../pipeline/case-transition.js';

/**
 * A customer's answer through the portal: the same effect as a reply by mail (reply-threading.ts), written
 * in one transaction: the message joins the case thread, the audit log records it, and the case goes to
 * `customer-responded` for an analyst to review (the ladder waits). `cureClaimed` marks the answer as "we
 * fixed it" — the customer cannot close a case; an analyst reviews and marks it cured (or releases it).
 *
 * The customer binding is checked here too (not only in the route): a case of another customer answers
 * `AUP_ERR_NOT_FOUND`, exactly like a case that does not exist.
 */

export interface CustomerResponseInput {
  readonly caseRef: string;
  /** The registry customer the signed-in person speaks for. */
  readonly customerId: number;
  /** The person's e-mail (audit actor and message sender). */
  readonly author: string;
  readonly text: string;
  readonly cureClaimed: boolean;
  /**
   * What the answer is, after the case tag in the thread's subject. Default: "Fixed: please review" when the
   * customer claims a cure, "Reply from the customer portal" otherwise.
   */
  readonly topic?: string;
}

export const MAX_RESPONSE_CHARS = 20_000;

export async function recordCustomerResponse(
  deps: EnforcementDeps,
  input: CustomerResponseInput,
): Promise<{ caseRef: string; status: string; messageId: number }> {
  return deps.db.transaction().execute((trx) => recordCustomerResponseIn(trx, deps, input));
}

/** The same inside the caller's transaction (consent evidence records its rows with the answer, at once). */
export async function recordCustomerResponseIn(
  trx: Transaction<Database>,
  deps: EnforcementDeps,
  input: CustomerResponseInput,
): Promise<{ caseRef: string; status: string; messageId: number }> {
  const text = input.text.trim();
  if (text.length === 0)
    throw new AupError('AUP_ERR_INPUT_INVALID', 'write what you want to tell the abuse desk');
  if (text.length > MAX_RESPONSE_CHARS) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `the answer is longer than ${MAX_RESPONSE_CHARS} characters`);
  }
  const now = deps.clock.now();
  const record = await getCase(trx, input.caseRef, { forUpdate: true });
  if (!record || record.customerId !== input.customerId) {
    throw new AupError('AUP_ERR_NOT_FOUND', `case ${input.caseRef} does not exist`);
  }
  if (record.mergedInto !== null) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `case ${record.ref} was merged into another case: answer that one`,
    );
  }
  const actor = `user:${input.author}` as const;
  const topic =
    input.topic ?? (input.cureClaimed ? 'Fixed: please review' : 'Reply from the customer portal');
  const messageId = await addCaseMessage(trx, {
    caseId: record.id,
    direction: 'in',
    kind: 'reply',
    subject: `[${record.ref}] ${topic}`,
    body: text,
    sender: input.author,
    at: now,
  });
  await appendAudit(trx, {
    at: now,
    actor,
    kind: 'case.message',
    subject: caseSubject(record.id),
    payload: {
      case: record.ref,
      kind: 'reply',
      channel: 'portal',
      message: messageId,
      cureClaimed: input.cureClaimed,
    },
  });
  const state = copyCaseState(record.state);
  state.customerRespondedAt = now.toISOString();
  const { record: saved } = await applyCaseTransition(trx, deps, record, state, now, {
    actor,
    cause: 'customer-reply',
    audit: { channel: 'portal', cureClaimed: input.cureClaimed },
  });
  return { caseRef: saved.ref, status: saved.status, messageId };
}
