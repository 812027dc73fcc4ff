import type { Kysely, Selectable, Transaction } from 'kysely';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { LegalDisclosureTable, LegalRequestTable } from '../store/tables/legal.table.js';
import type { Assessment } from './assess-request.js';
import type { Matter, Requester } from './information-request.js';

/**
 * The legal tables' one owner: information requests (`legal_requests`) and the disclosure log
 * (`legal_disclosures`). Status: `accepted`, `refused`, `disclosed` (at least one disclosure logged),
 * `closed`.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface LegalRequestRecord {
  readonly id: number;
  readonly ref: string;
  readonly providerId: string | null;
  readonly policyVersion: string | null;
  readonly kind: string;
  readonly status: string;
  readonly channel: string;
  readonly evidenceSha256: string | null;
  readonly receivedAt: Date;
  readonly requester: Requester;
  readonly authority: string | null;
  readonly matter: Matter | null;
  readonly asks: string[];
  readonly deadlineAt: Date | null;
  readonly customerRef: string | null;
  readonly nondisclosureOrder: string | null;
  readonly estimatedHours: number;
  readonly assessment: Assessment | null;
  readonly billedHours: number | null;
  readonly billedAmount: number | null;
  readonly billedAt: Date | null;
  readonly customerNotifiedAt: Date | null;
  readonly body: string | null;
  readonly updatedAt: Date;
}

export interface DisclosureRecord {
  readonly id: number;
  readonly requestRef: string;
  readonly what: string;
  readonly recipient: string;
  readonly disclosedAt: Date;
  readonly customerTold: boolean;
  readonly customerToldAt: Date | null;
  readonly forbiddingOrder: string | null;
  readonly recordedBy: string;
}

export function legalRefOf(id: number): string {
  return `LEGAL-${String(id).padStart(6, '0')}`;
}

export function legalIdFromRef(ref: string): number {
  const m = /^(?:LEGAL-)?0*([1-9]\d*)$/i.exec(ref.trim());
  const id = m ? Number(m[1]) : Number.NaN;
  if (!Number.isSafeInteger(id) || id > 2_147_483_647) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `"${ref.slice(0, 60)}" is not a request reference (expected LEGAL-000123)`,
    );
  }
  return id;
}

function toRecord(r: Selectable<LegalRequestTable>): LegalRequestRecord {
  return {
    id: r.id,
    ref: legalRefOf(r.id),
    providerId: r.provider_id,
    policyVersion: r.policy_version,
    kind: r.kind,
    status: r.status,
    channel: r.channel,
    evidenceSha256: r.evidence_sha256,
    receivedAt: r.received_at,
    requester: r.requester as Requester,
    authority: r.authority,
    matter: (r.matter as Matter | null) ?? null,
    asks: r.asks as string[],
    deadlineAt: r.deadline_at,
    customerRef: r.customer_ref,
    nondisclosureOrder: r.nondisclosure_order,
    estimatedHours: Number(r.estimated_hours),
    assessment: (r.assessment as Assessment | null) ?? null,
    billedHours: r.billed_hours === null ? null : Number(r.billed_hours),
    billedAmount: r.billed_amount === null ? null : Number(r.billed_amount),
    billedAt: r.billed_at,
    customerNotifiedAt: r.customer_notified_at,
    body: r.body,
    updatedAt: r.updated_at,
  };
}

function toDisclosure(r: Selectable<LegalDisclosureTable>): DisclosureRecord {
  return {
    id: r.id,
    requestRef: legalRefOf(r.request_id),
    what: r.what,
    recipient: r.recipient,
    disclosedAt: r.disclosed_at,
    customerTold: r.customer_told,
    customerToldAt: r.customer_told_at,
    forbiddingOrder: r.forbidding_order,
    recordedBy: r.recorded_by,
  };
}

export interface NewLegalRequest {
  readonly providerId: string | null;
  readonly policyVersion: string | null;
  readonly kind: string;
  readonly status: string;
  readonly channel: string;
  readonly evidenceSha256?: string | null;
  readonly receivedAt: Date;
  readonly requester: Requester;
  readonly authority?: string | null;
  readonly matter?: Matter | null;
  readonly asks: readonly string[];
  readonly deadlineAt?: Date | null;
  readonly customerRef?: string | null;
  readonly nondisclosureOrder?: string | null;
  readonly estimatedHours: number;
  readonly assessment: Assessment;
  readonly body?: string | null;
}

export async function insertLegalRequest(trx: Db, input: NewLegalRequest): Promise<LegalRequestRecord> {
  const row = await trx
    .insertInto('legal_requests')
    .values({
      provider_id: input.providerId,
      policy_version: input.policyVersion,
      kind: input.kind,
      status: input.status,
      channel: input.channel,
      evidence_sha256: input.evidenceSha256 ?? null,
      received_at: input.receivedAt,
      requester: JSON.stringify(input.requester),
      authority: input.authority ?? null,
      matter: input.matter ? JSON.stringify(input.matter) : null,
      asks: JSON.stringify(input.asks),
      deadline_at: input.deadlineAt ?? null,
      customer_ref: input.customerRef ?? null,
      nondisclosure_order: input.nondisclosureOrder ?? null,
      estimated_hours: input.estimatedHours,
      assessment: JSON.stringify(input.assessment),
      body: input.body ? input.body.slice(0, 64 * 1024) : null,
      updated_at: input.receivedAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRecord(row);
}

export interface LegalPatch {
  readonly status?: string;
  readonly billedHours?: number;
  readonly billedAmount?: number;
  readonly billedAt?: Date;
  readonly customerNotifiedAt?: Date;
}

export async function updateLegalRequest(
  trx: Db,
  id: number,
  patch: LegalPatch,
  at: Date,
): Promise<LegalRequestRecord> {
  const row = await trx
    .updateTable('legal_requests')
    .set({
      updated_at: at,
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      ...(patch.billedHours !== undefined ? { billed_hours: patch.billedHours } : {}),
      ...(patch.billedAmount !== undefined ? { billed_amount: patch.billedAmount } : {}),
      ...(patch.billedAt !== undefined ? { billed_at: patch.billedAt } : {}),
      ...(patch.customerNotifiedAt !== undefined ? { customer_notified_at: patch.customerNotifiedAt } : {}),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AupError('AUP_ERR_NOT_FOUND', `no information request ${legalRefOf(id)}`);
  return toRecord(row);
}

export async function requireLegalRequest(
  db: Db,
  ref: string,
  options: { forUpdate?: boolean } = {},
): Promise<LegalRequestRecord> {
  let q = db.selectFrom('legal_requests').selectAll().where('id', '=', legalIdFromRef(ref));
  if (options.forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  if (!row) throw new AupError('AUP_ERR_NOT_FOUND', `no information request ${ref.slice(0, 60)}`);
  return toRecord(row);
}

export async function listLegalRequests(
  db: Db,
  query: { status?: string | undefined; before?: number | undefined; limit?: number | undefined } = {},
): Promise<LegalRequestRecord[]> {
  let q = db
    .selectFrom('legal_requests')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(query.limit ?? 50);
  if (query.status) q = q.where('status', '=', query.status);
  if (query.before) q = q.where('id', '<', query.before);
  return (await q.execute()).map(toRecord);
}

export async function insertDisclosure(
  trx: Db,
  input: {
    requestId: number;
    what: string;
    recipient: string;
    at: Date;
    customerTold: boolean;
    customerToldAt: Date | null;
    forbiddingOrder: string | null;
    recordedBy: string;
  },
): Promise<DisclosureRecord> {
  const row = await trx
    .insertInto('legal_disclosures')
    .values({
      request_id: input.requestId,
      what: input.what,
      recipient: input.recipient,
      disclosed_at: input.at,
      customer_told: input.customerTold,
      customer_told_at: input.customerToldAt,
      forbidding_order: input.forbiddingOrder,
      recorded_by: input.recordedBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toDisclosure(row);
}

export async function listDisclosures(
  db: Db,
  query: { requestId?: number | undefined; limit?: number } = {},
): Promise<DisclosureRecord[]> {
  let q = db
    .selectFrom('legal_disclosures')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(query.limit ?? 200);
  if (query.requestId) q = q.where('request_id', '=', query.requestId);
  return (await q.execute()).map(toDisclosure);
}
