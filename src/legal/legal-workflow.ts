import type { Transaction } from 'kysely';
import { type AuditActor, appendAudit } from '../audit/audit-log.js';
import { enqueueAction } from '../enforcement/outbox/outbox-repository.js';
import { historyOf, type InTransactionDeps } from '../enforcement/pipeline/case-transition.js';
import type { CorrespondencePayload } from '../enforcement/planned-action.js';
import { AupError } from '../errors.js';
import type { Channel } from '../intake/report.js';
import { bindingVersion } from '../policy/policy-binding.js';
import type { PolicyDocument } from '../policy/policy-schema.js';
import { customerContact } from '../registry/customer-lookup.js';
import type { Database } from '../store/schema.js';
import { type Assessment, assessRequest } from './assess-request.js';
import type { InformationRequest } from './information-request.js';
import {
  type DisclosureRecord,
  insertDisclosure,
  insertLegalRequest,
  type LegalRequestRecord,
  requireLegalRequest,
  updateLegalRequest,
} from './legal-repository.js';

/**
 * Legal information requests, inside the caller's transaction: record the request, let the binding
 * policy's terms decide (assess-request.ts), answer the requester, tell the customer as the terms say
 * (iITGEN: the request is shared; Secure Packet: prior notice where the law permits; an order that forbids
 * it is recorded instead), log every disclosure, and bill the time actually spent at the policy's rate.
 * Each step writes its audit entry and its letters (outbox `mail.correspondence`) with the state change.
 */

export type LegalDeps = Pick<InTransactionDeps, 'policies' | 'clock'>;

export interface LegalReceipt {
  readonly request: InformationRequest;
  readonly channel: Channel;
  readonly receivedAt: Date;
  readonly evidenceSha256?: string | undefined;
  readonly body?: string | undefined;
  readonly providerId?: string | undefined;
  readonly actor?: AuditActor | undefined;
}

function legalSubject(id: number): string {
  return `legal:${id}`;
}

function policyAt(deps: LegalDeps, at: Date, providerId?: string | null): PolicyDocument {
  return bindingVersion(historyOf(deps, providerId ?? undefined), { at: at.toISOString() }).document;
}

async function letter(
  trx: Transaction<Database>,
  at: Date,
  record: LegalRequestRecord,
  to: { email?: string | undefined; name?: string | undefined },
  kind: string,
  subject: string,
  text: string,
  actor: AuditActor,
): Promise<boolean> {
  if (!to.email) return false;
  const payload: CorrespondencePayload = {
    about: `legal:${record.ref}`,
    letter: kind,
    to: to.email,
    ...(to.name ? { toName: to.name } : {}),
    subject,
    text,
  };
  await enqueueAction(trx, {
    at,
    kind: 'mail.correspondence',
    idempotencyKey: `legal:${record.id}:${kind}`,
    payload,
    actor,
  });
  return true;
}

function money(amount: number, currency: string): string {
  return currency === 'USD' ? `$${amount.toFixed(2)}` : `${currency} ${amount.toFixed(2)}`;
}

export async function recordRequest(
  trx: Transaction<Database>,
  deps: LegalDeps,
  input: LegalReceipt,
): Promise<LegalRequestRecord> {
  const now = deps.clock.now();
  const actor = input.actor ?? 'system:legal';
  const doc = policyAt(deps, input.receivedAt, input.providerId);
  const r = input.request;
  const assessment = assessRequest(doc, r, now);
  // The audit head first (the lock order every writer keeps), then the rows.
  await appendAudit(trx, {
    at: now,
    actor,
    kind: 'legal.request.received',
    subject: 'legal:new',
    payload: {
      kind: r.kind,
      requester: r.requester.name,
      channel: input.channel,
      evidence: input.evidenceSha256 ?? null,
    },
  });
  let record = await insertLegalRequest(trx, {
    providerId: doc.provider.id,
    policyVersion: doc.version,
    kind: r.kind,
    status: assessment.decision,
    channel: input.channel,
    evidenceSha256: input.evidenceSha256 ?? null,
    receivedAt: input.receivedAt,
    requester: r.requester,
    authority: r.authority ?? null,
    matter: r.matter ?? null,
    asks: r.asks,
    deadlineAt: r.deadline ? new Date(r.deadline) : null,
    customerRef: r.customer ?? null,
    nondisclosureOrder: r.nondisclosure_order ?? null,
    estimatedHours: r.estimated_hours,
    assessment,
    body: input.body ?? null,
  });
  await appendAudit(trx, {
    at: now,
    actor,
    kind: 'legal.request.assessed',
    subject: legalSubject(record.id),
    payload: {
      request: record.ref,
      policy: `${doc.provider.id} ${doc.version}`,
      decision: assessment.decision,
      reasons: assessment.reasons,
      fee: assessment.fee,
      customerNotice: assessment.customerNotice,
    },
  });
  await letter(
    trx,
    now,
    record,
    { email: r.requester.email, name: r.requester.name },
    'legal.decision',
    `[${record.ref}] Your ${r.kind.replace(/-/g, ' ')}: ${assessment.decision}`,
    decisionText(doc, record, assessment),
    actor,
  );
  if (
    assessment.decision === 'accepted' &&
    record.customerRef &&
    (assessment.customerNotice === 'share' || assessment.customerNotice === 'prior-notice')
  ) {
    const contact = await customerContact(trx, record.customerRef);
    const told = await letter(
      trx,
      now,
      record,
      { email: contact?.emails[0], name: contact?.name },
      assessment.customerNotice === 'share' ? 'legal.customer-shared' : 'legal.customer-prior-notice',
      `[${record.ref}] A request for information about your account`,
      customerText(doc, record, assessment),
      actor,
    );
    if (told) {
      record = await updateLegalRequest(trx, record.id, { customerNotifiedAt: now }, now);
      await appendAudit(trx, {
        at: now,
        actor,
        kind: 'legal.customer.notified',
        subject: legalSubject(record.id),
        payload: { request: record.ref, customer: record.customerRef, how: assessment.customerNotice },
      });
    }
  }
  return record;
}

function decisionText(doc: PolicyDocument, record: LegalRequestRecord, a: Assessment): string {
  const m = record.matter;
  return [
    `${doc.provider.name} received your request (${record.ref}) on ${record.receivedAt.toISOString().slice(0, 10)}.`,
    m?.court || m?.case_number
      ? `Matter: ${[m.court, m.case_number].filter(Boolean).join(', ')}.`
      : 'No matter was stated.',
    '',
    a.decision === 'accepted'
      ? 'The request is accepted under our Acceptable Use Policy and will be processed.'
      : 'The request is refused under our Acceptable Use Policy:',
    ...a.reasons.map((reason) => `  - ${reason}`),
    '',
    ...a.requester_notices,
    '',
    `Policy: ${doc.title}, version ${doc.version}.`,
  ].join('\n');
}

function customerText(doc: PolicyDocument, record: LegalRequestRecord, a: Assessment): string {
  return [
    `${doc.provider.name} received a ${record.kind.replace(/-/g, ' ')} (${record.ref}) from ${record.requester.name}${record.requester.organisation ? ` (${record.requester.organisation})` : ''} asking for:`,
    ...record.asks.map((ask) => `  - ${ask}`),
    record.matter?.court || record.matter?.case_number
      ? `Matter: ${[record.matter?.court, record.matter?.case_number].filter(Boolean).join(', ')}.`
      : '',
    '',
    a.customerNotice === 'prior-notice'
      ? 'We give you this notice before disclosing anything, as our policy provides where the law permits.'
      : 'Under our policy such requests are not confidential and are shared with the customer concerned.',
  ].join('\n');
}

/** One disclosure under an accepted request, logged with whether the customer was told (or the order that forbids it). */
export async function recordDisclosure(
  trx: Transaction<Database>,
  deps: LegalDeps,
  ref: string,
  input: { what: string; recipient?: string | undefined; actor: AuditActor },
): Promise<DisclosureRecord> {
  const now = deps.clock.now();
  const peek = await requireLegalRequest(trx, ref);
  await appendAudit(trx, {
    at: now,
    actor: input.actor,
    kind: 'legal.disclosure',
    subject: legalSubject(peek.id),
    payload: { request: peek.ref, what: input.what, to: input.recipient ?? peek.requester.name },
  });
  const request = await requireLegalRequest(trx, ref, { forUpdate: true });
  if (request.status !== 'accepted' && request.status !== 'disclosed') {
    throw new AupError(
      'AUP_ERR_LEGAL_STATE',
      `request ${request.ref} is ${request.status}: nothing may be disclosed under it`,
    );
  }
  const notice = request.assessment?.customerNotice ?? 'none';
  if (notice === 'prior-notice' && request.customerNotifiedAt === null) {
    throw new AupError(
      'AUP_ERR_LEGAL_STATE',
      `request ${request.ref}: the policy gives the customer reasonable prior notice before disclosure, and the customer has not been notified (record the customer, or the order that forbids notice)`,
    );
  }
  const disclosure = await insertDisclosure(trx, {
    requestId: request.id,
    what: input.what,
    recipient:
      input.recipient ??
      `${request.requester.name}${request.requester.organisation ? ` (${request.requester.organisation})` : ''}`,
    at: now,
    customerTold: request.customerNotifiedAt !== null,
    customerToldAt: request.customerNotifiedAt,
    forbiddingOrder: notice === 'forbidden' ? request.nondisclosureOrder : null,
    recordedBy: input.actor,
  });
  await updateLegalRequest(trx, request.id, { status: 'disclosed' }, now);
  return disclosure;
}

/** Bill the time actually spent at the policy's rate (the estimate was given on acceptance). */
export async function billRequest(
  trx: Transaction<Database>,
  deps: LegalDeps,
  ref: string,
  input: { hours: number; actor: AuditActor },
): Promise<LegalRequestRecord> {
  const now = deps.clock.now();
  if (!Number.isFinite(input.hours) || input.hours < 0 || input.hours > 10_000) {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'hours must be a number between 0 and 10000');
  }
  const peek = await requireLegalRequest(trx, ref);
  const fee = peek.assessment?.fee ?? null;
  await appendAudit(trx, {
    at: now,
    actor: input.actor,
    kind: 'legal.billed',
    subject: legalSubject(peek.id),
    payload: { request: peek.ref, hours: input.hours, rate: fee?.hourly_rate ?? null },
  });
  const request = await requireLegalRequest(trx, ref, { forUpdate: true });
  if (!fee)
    throw new AupError('AUP_ERR_LEGAL_STATE', `request ${request.ref} carries no fee under its policy`);
  if (request.billedAt)
    throw new AupError('AUP_ERR_LEGAL_STATE', `request ${request.ref} was already billed`);
  const amount = fee.hourly_rate > 0 ? Math.round(fee.hourly_rate * input.hours * 100) / 100 : fee.estimate;
  const saved = await updateLegalRequest(
    trx,
    request.id,
    { billedHours: input.hours, billedAmount: amount, billedAt: now },
    now,
  );
  const doc = policyAt(deps, request.receivedAt, request.providerId);
  await letter(
    trx,
    now,
    saved,
    { email: saved.requester.email, name: saved.requester.name },
    'legal.invoice',
    `[${saved.ref}] Technical assistance fee: ${money(amount, fee.currency)}`,
    [
      `${doc.provider.name} processed your request ${saved.ref}.`,
      `Time spent: ${input.hours} hour${input.hours === 1 ? '' : 's'} at ${money(fee.hourly_rate, fee.currency)} per hour = ${money(amount, fee.currency)} (estimate was ${money(fee.estimate, fee.currency)} for ${fee.estimated_hours} hours).`,
      request.assessment?.legalFeesPassedOn
        ? 'Legal fees we incurred in responding are invoiced separately.'
        : '',
    ].join('\n'),
    input.actor,
  );
  return saved;
}
