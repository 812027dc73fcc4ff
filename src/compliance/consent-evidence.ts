import type { Kysely, Selectable, Transaction } from 'kysely';
import { z } from 'zod';
import { appendAudit } from '../audit/audit-log.js';
import { caseSubject } from '../cases/case-ref.js';
import { getCase } from '../cases/case-repository.js';
import { closedStatuses } from '../cases/correlate-event.js';
import { actorOf, analystSchema } from '../enforcement/commands/case-command.js';
import { recordCustomerResponseIn } from '../enforcement/commands/customer-response-portal.js';
import { markCured } from '../enforcement/commands/mark-cured.js';
import { releaseCase } from '../enforcement/commands/release-case.js';
import type { EnforcementDeps } from '../enforcement/pipeline/case-transition.js';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { ConsentEvidenceTable } from '../store/tables/compliance.table.js';

/**
 * Consent evidence (Secure Packet §4.3: the customer must "evidence consent within 72 hours"), per
 * recipient: the address, when consent was given, where (the source), how it was obtained (the method) and
 * how the address was confirmed (table `consent_evidence`, owned here). Submitting it is a customer's
 * answer on the case (the thread gets the evidence as text, the case goes to `customer-responded`, the
 * ladder waits); the analyst then accepts it (the case is marked cured) or rejects it (the case is released
 * from review and the ladder goes on). Every submission and decision is audited.
 */

type Db = Kysely<Database> | Transaction<Database>;

export const recipientEvidenceSchema = z
  .object({
    address: z
      .string()
      .trim()
      .min(1, 'required')
      .max(320)
      .regex(/^[^\s@]+@[^\s@]+$/, 'an e-mail address'),
    time: z
      .string()
      .trim()
      .min(1, 'required')
      .max(40)
      .refine((t) => !Number.isNaN(Date.parse(t)), 'a date or date-time (2026-10-02T10:14:00Z)'),
    // "required", not zod's "Too small: expected string to have >=1 characters": a customer reads it.
    source: z.string().trim().min(1, 'required').max(1000),
    method: z.string().trim().min(1, 'required').max(1000),
    confirmation: z.string().trim().min(1, 'required').max(2000),
  })
  .strict();
export type RecipientEvidence = z.output<typeof recipientEvidenceSchema>;

export const recipientsSchema = z.array(recipientEvidenceSchema).min(1).max(200);

export type EvidenceStatus = 'pending' | 'accepted' | 'rejected';

export interface ConsentEvidence {
  readonly id: number;
  readonly caseId: number;
  readonly recipients: readonly RecipientEvidence[];
  readonly submittedAt: Date;
  readonly submittedBy: string;
  readonly status: EvidenceStatus;
  readonly decidedAt: Date | null;
  readonly decidedBy: string | null;
  readonly note: string | null;
}

export async function submitConsentEvidence(
  deps: EnforcementDeps,
  input: {
    readonly caseRef: string;
    readonly customerId: number;
    readonly author: string;
    readonly recipients: unknown;
  },
): Promise<ConsentEvidence> {
  const parsed = recipientsSchema.safeParse(input.recipients);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length
      ? `recipient ${Number(issue.path[0]) + 1} ${issue.path.slice(1).join('.')}: `
      : '';
    throw new AupError('AUP_ERR_INPUT_INVALID', `consent evidence: ${where}${issue?.message ?? 'invalid'}`);
  }
  const recipients = parsed.data;
  const current = await getCase(deps.db, input.caseRef);
  if (current && current.customerId === input.customerId && closedStatuses.has(current.status)) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `case ${current.ref} is ${current.status}: no evidence is needed`,
    );
  }
  const now = deps.clock.now();
  // One transaction: the answer on the thread (it checks the case is the customer's and holds the ladder
  // for review) and the evidence rows stand or fall together.
  return deps.db.transaction().execute(async (trx) => {
    await recordCustomerResponseIn(trx, deps, {
      caseRef: input.caseRef,
      customerId: input.customerId,
      author: input.author,
      text: evidenceText(recipients),
      cureClaimed: true,
      topic: `Consent evidence for ${recipients.length} recipient${recipients.length === 1 ? '' : 's'}: please review`,
    });
    const record = await getCase(trx, input.caseRef);
    if (!record) throw new AupError('AUP_ERR_NOT_FOUND', `case ${input.caseRef} does not exist`);
    const row = await trx
      .insertInto('consent_evidence')
      .values({
        case_id: record.id,
        recipients: JSON.stringify(recipients),
        submitted_at: now,
        submitted_by: input.author,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      at: now,
      actor: `user:${input.author}`,
      kind: 'case.consent-evidence',
      subject: caseSubject(record.id),
      payload: { case: record.ref, evidence: row.id, recipients: recipients.map((r) => r.address) },
    });
    return evidenceOf(row);
  });
}

export async function listConsentEvidence(db: Db, caseId: number): Promise<ConsentEvidence[]> {
  const rows = await db
    .selectFrom('consent_evidence')
    .selectAll()
    .where('case_id', '=', caseId)
    .orderBy('id')
    .execute();
  return rows.map(evidenceOf);
}

/**
 * The analyst's decision. Accepted: the case is marked cured (the ladder stops). Rejected: the case leaves
 * review and the ladder goes on from where it waited (a deadline already passed acts at once).
 */
export async function decideConsentEvidence(
  deps: EnforcementDeps,
  input: {
    readonly caseRef: string;
    readonly id: number;
    readonly decision: 'accept' | 'reject';
    readonly analyst: string;
    readonly note?: string;
  },
): Promise<{ evidence: ConsentEvidence; caseStatus: string }> {
  const analyst = analystSchema.parse(input.analyst);
  const now = deps.clock.now();
  const evidence = await deps.db.transaction().execute(async (trx) => {
    const record = await getCase(trx, input.caseRef);
    if (!record) throw new AupError('AUP_ERR_NOT_FOUND', `case ${input.caseRef} does not exist`);
    const row = await trx
      .selectFrom('consent_evidence')
      .selectAll()
      .where('id', '=', input.id)
      .where('case_id', '=', record.id)
      .forUpdate()
      .executeTakeFirst();
    if (!row)
      throw new AupError('AUP_ERR_NOT_FOUND', `case ${record.ref} has no consent evidence ${input.id}`);
    if (row.status !== 'pending') {
      throw new AupError(
        'AUP_ERR_STORE_CONFLICT',
        `consent evidence ${input.id} was already ${row.status} by ${row.decided_by}`,
      );
    }
    const status = input.decision === 'accept' ? 'accepted' : 'rejected';
    const updated = await trx
      .updateTable('consent_evidence')
      .set({ status, decided_at: now, decided_by: actorOf(analyst), note: input.note?.trim() || null })
      .where('id', '=', input.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      at: now,
      actor: actorOf(analyst),
      kind: `case.consent-evidence-${status}`,
      subject: caseSubject(record.id),
      payload: { case: record.ref, evidence: input.id, ...(input.note ? { note: input.note } : {}) },
    });
    return evidenceOf(updated);
  });
  const note = `consent evidence ${input.id} ${evidence.status}${input.note ? `: ${input.note}` : ''}`;
  const command = input.decision === 'accept' ? markCured : releaseCase;
  const result = await command(deps, { caseRef: input.caseRef, analyst, note });
  return { evidence, caseStatus: result.case.status };
}

function evidenceText(recipients: readonly RecipientEvidence[]): string {
  return [
    `Consent evidence (Secure Packet §4.3) for ${recipients.length} recipient(s):`,
    ...recipients.map(
      (r) =>
        `- ${r.address}: consent given ${r.time}; source: ${r.source}; method: ${r.method}; confirmation: ${r.confirmation}`,
    ),
  ].join('\n');
}

function evidenceOf(row: Selectable<ConsentEvidenceTable>): ConsentEvidence {
  return {
    id: row.id,
    caseId: row.case_id,
    recipients: row.recipients as RecipientEvidence[],
    submittedAt: row.submitted_at,
    submittedBy: row.submitted_by,
    status: row.status === 'accepted' || row.status === 'rejected' ? row.status : 'pending',
    decidedAt: row.decided_at,
    decidedBy: row.decided_by,
    note: row.note,
  };
}
