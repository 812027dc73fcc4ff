import type { Kysely, Selectable, Transaction } from 'kysely';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { DmcaNoticeTable } from '../store/tables/dmca.table.js';
import type { ElementResult, NoticeClaimant } from './notice-check.js';

/**
 * The DMCA tables' one owner: notices and counter-notices (`dmca_notices`), and repeat-infringer strikes
 * (`dmca_strikes`). Plain functions taking `db` or `trx` first; rows map to `DmcaRecord`.
 *
 * Notice status: `awaiting-completion` (incomplete but substantially complying with (ii)–(iv): the sender
 * was asked for the rest), `lapsed` (that request ran out), `rejected` (incomplete otherwise), `takedown`
 * (complete: the customer was told to remove the material), `removed` (removed or disabled), `countered`
 * (a valid counter-notice was forwarded), `restored`, `not-ours` (no infringing URL is on our network).
 * Counter-notice status: `incomplete`, `unmatched` (names no notice of ours), `forwarded` (to the claimant;
 * restore scheduled), `restored`, `suit-filed` (the claimant reported an action: no restore).
 */

type Db = Kysely<Database> | Transaction<Database>;

export type DmcaKind = 'notice' | 'counter-notice';

export interface DmcaRecord {
  readonly id: number;
  readonly ref: string;
  readonly kind: DmcaKind;
  readonly providerId: string | null;
  readonly status: string;
  readonly channel: string;
  readonly evidenceSha256: string | null;
  readonly inboxId: string | null;
  readonly receivedAt: Date;
  readonly sentAt: Date | null;
  readonly sender: NoticeClaimant;
  readonly principal: string | null;
  readonly elements: Record<string, ElementResult>;
  readonly missing: string[];
  readonly works: string[];
  readonly urls: string[];
  readonly copyrightedUrls: string[];
  readonly body: string;
  readonly customerRef: string | null;
  readonly serviceRef: string | null;
  readonly caseRefs: string[];
  readonly noticeId: number | null;
  readonly deadlineAt: Date | null;
  readonly restoreEarliest: string | null;
  readonly restoreLatest: string | null;
  readonly suitReportedAt: Date | null;
  readonly suitDetails: string | null;
  readonly removedAt: Date | null;
  readonly restoredAt: Date | null;
  readonly actionTaken: 'yes' | 'no' | 'partial' | null;
  readonly reason: string | null;
  readonly updatedAt: Date;
}

export function dmcaRefOf(id: number): string {
  return `DMCA-${String(id).padStart(6, '0')}`;
}

export function dmcaIdFromRef(ref: string): number {
  const m = /^(?:DMCA-)?0*([1-9]\d*)$/i.exec(ref.trim());
  const id = m ? Number(m[1]) : Number.NaN;
  if (!Number.isSafeInteger(id) || id > 2_147_483_647) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `"${ref.slice(0, 60)}" is not a DMCA reference (expected DMCA-000123)`,
    );
  }
  return id;
}

function toRecord(r: Selectable<DmcaNoticeTable>): DmcaRecord {
  return {
    id: r.id,
    ref: dmcaRefOf(r.id),
    kind: r.kind,
    providerId: r.provider_id,
    status: r.status,
    channel: r.channel,
    evidenceSha256: r.evidence_sha256,
    inboxId: r.inbox_id,
    receivedAt: r.received_at,
    sentAt: r.sent_at,
    sender: r.sender as NoticeClaimant,
    principal: r.principal,
    elements: r.elements as Record<string, ElementResult>,
    missing: r.missing as string[],
    works: r.works as string[],
    urls: r.urls as string[],
    copyrightedUrls: r.copyrighted_urls as string[],
    body: r.body,
    customerRef: r.customer_ref,
    serviceRef: r.service_ref,
    caseRefs: r.case_refs as string[],
    noticeId: r.notice_id,
    deadlineAt: r.deadline_at,
    restoreEarliest: r.restore_earliest,
    restoreLatest: r.restore_latest,
    suitReportedAt: r.suit_reported_at,
    suitDetails: r.suit_details,
    removedAt: r.removed_at,
    restoredAt: r.restored_at,
    actionTaken: r.action_taken as DmcaRecord['actionTaken'],
    reason: r.reason,
    updatedAt: r.updated_at,
  };
}

export interface NewDmcaRecord {
  readonly kind: DmcaKind;
  readonly providerId: string | null;
  readonly status: string;
  readonly channel: string;
  readonly evidenceSha256?: string | null;
  readonly inboxId?: string | null;
  readonly receivedAt: Date;
  readonly sentAt?: Date | null;
  readonly sender: NoticeClaimant;
  readonly principal?: string | null;
  readonly elements: Record<string, ElementResult>;
  readonly missing: readonly string[];
  readonly works: readonly string[];
  readonly urls: readonly string[];
  readonly copyrightedUrls?: readonly string[];
  readonly body: string;
  readonly noticeId?: number | null;
  readonly reason?: string | null;
  readonly deadlineAt?: Date | null;
}

export async function insertDmcaRecord(trx: Db, input: NewDmcaRecord): Promise<DmcaRecord> {
  const row = await trx
    .insertInto('dmca_notices')
    .values({
      kind: input.kind,
      provider_id: input.providerId,
      status: input.status,
      channel: input.channel,
      evidence_sha256: input.evidenceSha256 ?? null,
      inbox_id: input.inboxId ?? null,
      received_at: input.receivedAt,
      sent_at: input.sentAt ?? null,
      sender: JSON.stringify(input.sender),
      principal: input.principal ?? null,
      elements: JSON.stringify(input.elements),
      missing: JSON.stringify(input.missing),
      works: JSON.stringify(input.works),
      urls: JSON.stringify(input.urls),
      copyrighted_urls: JSON.stringify(input.copyrightedUrls ?? []),
      // The evidence store keeps the bytes; the row keeps enough text to read and forward the notice.
      body: input.body.slice(0, 64 * 1024),
      case_refs: '[]',
      notice_id: input.noticeId ?? null,
      reason: input.reason ?? null,
      deadline_at: input.deadlineAt ?? null,
      updated_at: input.receivedAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toRecord(row);
}

export interface DmcaPatch {
  readonly status?: string;
  readonly customerRef?: string | null;
  readonly serviceRef?: string | null;
  readonly caseRefs?: readonly string[];
  readonly deadlineAt?: Date | null;
  readonly restoreEarliest?: string | null;
  readonly restoreLatest?: string | null;
  readonly suitReportedAt?: Date | null;
  readonly suitDetails?: string | null;
  readonly removedAt?: Date | null;
  readonly restoredAt?: Date | null;
  readonly actionTaken?: 'yes' | 'no' | 'partial' | null;
  readonly reason?: string | null;
  readonly providerId?: string | null;
}

export async function updateDmcaRecord(trx: Db, id: number, patch: DmcaPatch, at: Date): Promise<DmcaRecord> {
  const row = await trx
    .updateTable('dmca_notices')
    .set({
      updated_at: at,
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      ...(patch.customerRef !== undefined ? { customer_ref: patch.customerRef } : {}),
      ...(patch.serviceRef !== undefined ? { service_ref: patch.serviceRef } : {}),
      ...(patch.caseRefs !== undefined ? { case_refs: JSON.stringify(patch.caseRefs) } : {}),
      ...(patch.deadlineAt !== undefined ? { deadline_at: patch.deadlineAt } : {}),
      ...(patch.restoreEarliest !== undefined ? { restore_earliest: patch.restoreEarliest } : {}),
      ...(patch.restoreLatest !== undefined ? { restore_latest: patch.restoreLatest } : {}),
      ...(patch.suitReportedAt !== undefined ? { suit_reported_at: patch.suitReportedAt } : {}),
      ...(patch.suitDetails !== undefined ? { suit_details: patch.suitDetails } : {}),
      ...(patch.removedAt !== undefined ? { removed_at: patch.removedAt } : {}),
      ...(patch.restoredAt !== undefined ? { restored_at: patch.restoredAt } : {}),
      ...(patch.actionTaken !== undefined ? { action_taken: patch.actionTaken } : {}),
      ...(patch.reason !== undefined ? { reason: patch.reason } : {}),
      ...(patch.providerId !== undefined ? { provider_id: patch.providerId } : {}),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AupError('AUP_ERR_NOT_FOUND', `no DMCA record ${dmcaRefOf(id)}`);
  return toRecord(row);
}

export async function getDmcaRecord(
  db: Db,
  id: number,
  options: { forUpdate?: boolean } = {},
): Promise<DmcaRecord | undefined> {
  let q = db.selectFrom('dmca_notices').selectAll().where('id', '=', id);
  if (options.forUpdate) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

export async function requireDmcaRecord(
  db: Db,
  ref: string,
  kind?: DmcaKind,
  options: { forUpdate?: boolean } = {},
): Promise<DmcaRecord> {
  const record = await getDmcaRecord(db, dmcaIdFromRef(ref), options);
  if (!record || (kind && record.kind !== kind)) {
    throw new AupError('AUP_ERR_NOT_FOUND', `no DMCA ${kind ?? 'record'} ${ref.slice(0, 60)}`);
  }
  return record;
}

export interface DmcaListQuery {
  readonly kind?: DmcaKind | undefined;
  readonly status?: string | undefined;
  readonly inboxId?: string | undefined;
  readonly noticeId?: number | undefined;
  /** Rows with id below this (keyset paging, newest first). */
  readonly before?: number | undefined;
  readonly limit?: number | undefined;
}

export async function listDmcaRecords(db: Db, query: DmcaListQuery = {}): Promise<DmcaRecord[]> {
  let q = db
    .selectFrom('dmca_notices')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(query.limit ?? 50);
  if (query.kind) q = q.where('kind', '=', query.kind);
  if (query.status) q = q.where('status', '=', query.status);
  if (query.inboxId) q = q.where('inbox_id', '=', query.inboxId);
  if (query.noticeId) q = q.where('notice_id', '=', query.noticeId);
  if (query.before) q = q.where('id', '<', query.before);
  return (await q.execute()).map(toRecord);
}

/**
 * The notice a counter-notice answers: the one it names, else the newest notice whose material was taken
 * down (`takedown` or `removed`) and shares a URL with it.
 */
export async function findCounteredNotice(
  trx: Db,
  input: { ref: string | null; urls: readonly string[] },
): Promise<DmcaRecord | undefined> {
  if (input.ref) {
    const named = await getDmcaRecord(trx, dmcaIdFromRef(input.ref), { forUpdate: true });
    if (named?.kind === 'notice') return named;
  }
  if (input.urls.length === 0) return undefined;
  const candidates = await trx
    .selectFrom('dmca_notices')
    .selectAll()
    .where('kind', '=', 'notice')
    .where('status', 'in', ['takedown', 'removed'])
    .orderBy('id', 'desc')
    .limit(500)
    .execute();
  const wanted = new Set(input.urls.map(normaliseUrl));
  const hit = candidates.map(toRecord).find((n) => n.urls.some((u) => wanted.has(normaliseUrl(u))));
  return hit ? getDmcaRecord(trx, hit.id, { forUpdate: true }) : undefined;
}

function normaliseUrl(url: string): string {
  return url.trim().replace(/\/+$/, '').toLowerCase();
}

export async function insertStrike(trx: Db, customerRef: string, noticeId: number, at: Date): Promise<void> {
  await trx
    .insertInto('dmca_strikes')
    .values({ customer_ref: customerRef, notice_id: noticeId, at })
    .onConflict((oc) => oc.columns(['customer_ref', 'notice_id']).doNothing())
    .execute();
}

export async function withdrawStrikes(trx: Db, noticeId: number, at: Date, reason: string): Promise<number> {
  const rows = await trx
    .updateTable('dmca_strikes')
    .set({ withdrawn_at: at, withdrawn_reason: reason })
    .where('notice_id', '=', noticeId)
    .where('withdrawn_at', 'is', null)
    .returning('id')
    .execute();
  return rows.length;
}

export interface StrikeRecord {
  readonly customerRef: string;
  readonly noticeRef: string;
  readonly at: Date;
  readonly withdrawn: boolean;
  readonly withdrawnReason: string | null;
}

export async function strikesOf(db: Db, customerRef: string): Promise<StrikeRecord[]> {
  const rows = await db
    .selectFrom('dmca_strikes')
    .selectAll()
    .where('customer_ref', '=', customerRef)
    .orderBy('at')
    .execute();
  return rows.map((r) => ({
    customerRef: r.customer_ref,
    noticeRef: dmcaRefOf(r.notice_id),
    at: r.at,
    withdrawn: r.withdrawn_at !== null,
    withdrawnReason: r.withdrawn_reason,
  }));
}
