import type { Kysely, Selectable, Transaction } from 'kysely';
import { type AuditActor, appendAudit } from '../audit/audit-log.js';
import { enqueueAction } from '../enforcement/outbox/outbox-repository.js';
import type { CorrespondencePayload } from '../enforcement/planned-action.js';
import { AupError } from '../errors.js';
import type { PolicyHistory } from '../policy/policy-loader.js';
import type { Database } from '../store/schema.js';
import type { PrivacyRequestTable } from '../store/tables/compliance.table.js';
import {
  type BreachRecord,
  type ChildDataRequest,
  childDeletionDeadline,
  type PrivacyKind,
  readPrivacyMail,
} from './privacy-request.js';

/**
 * The privacy workflow's store (table `privacy_requests`, owned here): a minor's-data deletion request is
 * recorded with the policy's deadline, completed by an analyst once the data is deleted, and the requester
 * is mailed a confirmation (outbox `mail.correspondence`) in the same transaction as the completion. A
 * breach notification is recorded with the dates the affected parties and the regulator were told. Every
 * step writes its audit entry.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface PrivacyRequestRecord {
  readonly id: number;
  readonly ref: string;
  readonly kind: PrivacyKind;
  readonly status: 'open' | 'completed';
  readonly channel: string;
  readonly receivedAt: Date;
  readonly dueAt: Date | null;
  readonly requester: { readonly name: string | null; readonly email: string | null };
  readonly summary: string;
  readonly affectedNotifiedAt: Date | null;
  readonly regulatorNotifiedAt: Date | null;
  readonly completedAt: Date | null;
  readonly completedBy: string | null;
  readonly completionNote: string | null;
}

export function privacyRef(id: number): string {
  return `PRIV-${String(id).padStart(6, '0')}`;
}

export function privacyIdFromRef(ref: string): number | undefined {
  const m = /^PRIV-(\d{1,12})$/i.exec(ref.trim());
  return m ? Number(m[1]) : undefined;
}

function recordOf(row: Selectable<PrivacyRequestTable>): PrivacyRequestRecord {
  return {
    id: row.id,
    ref: privacyRef(row.id),
    kind: row.kind,
    status: row.status,
    channel: row.channel,
    receivedAt: row.received_at,
    dueAt: row.due_at,
    requester: { name: row.requester_name, email: row.requester_email },
    summary: row.summary,
    affectedNotifiedAt: row.affected_notified_at,
    regulatorNotifiedAt: row.regulator_notified_at,
    completedAt: row.completed_at,
    completedBy: row.completed_by,
    completionNote: row.completion_note,
  };
}

/** Open past its deadline at `now`. */
export function isOverdue(record: PrivacyRequestRecord, now: Date): boolean {
  return record.status === 'open' && record.dueAt !== null && record.dueAt.getTime() < now.getTime();
}

export async function receiveChildDataRequest(
  trx: Transaction<Database>,
  deps: { readonly policies: readonly PolicyHistory[] },
  input: {
    readonly request: ChildDataRequest | { requester: { name?: string; email?: string }; summary: string };
    readonly body: string;
    readonly channel: string;
    readonly receivedAt: Date;
    readonly evidenceSha256?: string | undefined;
    readonly recognised?: boolean;
    readonly missing?: readonly string[];
    readonly actor: AuditActor;
  },
): Promise<PrivacyRequestRecord> {
  const deadline = childDeletionDeadline(deps.policies, input.receivedAt);
  const row = await trx
    .insertInto('privacy_requests')
    .values({
      kind: 'child-data-deletion',
      status: 'open',
      channel: input.channel,
      received_at: input.receivedAt,
      due_at: deadline?.dueAt ?? null,
      requester_name: input.request.requester.name ?? null,
      requester_email: input.request.requester.email ?? null,
      summary: input.request.summary,
      body: input.body.slice(0, 256 * 1024),
      evidence_sha256: input.evidenceSha256 ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const record = recordOf(row);
  await appendAudit(trx, {
    at: input.receivedAt,
    actor: input.actor,
    kind: 'privacy.request.received',
    subject: `privacy:${record.ref}`,
    payload: {
      kind: record.kind,
      channel: record.channel,
      dueAt: record.dueAt?.toISOString() ?? null,
      deadline: deadline ? `${deadline.provider} ${deadline.deadline}` : null,
      recognised: input.recognised ?? true,
      missing: [...(input.missing ?? [])],
      ...(input.evidenceSha256 ? { evidenceSha256: input.evidenceSha256 } : {}),
    },
  });
  return record;
}

export async function recordBreach(
  trx: Transaction<Database>,
  input: { readonly breach: BreachRecord; readonly channel: string; readonly actor: AuditActor },
): Promise<PrivacyRequestRecord> {
  const b = input.breach;
  // A breach is done when both parties the policy names have been told.
  const told = b.affectedNotifiedAt !== undefined && b.regulatorNotifiedAt !== undefined;
  const row = await trx
    .insertInto('privacy_requests')
    .values({
      kind: 'breach',
      status: told ? 'completed' : 'open',
      channel: input.channel,
      received_at: b.discoveredAt,
      summary: b.summary,
      body: b.summary,
      affected_notified_at: b.affectedNotifiedAt ?? null,
      regulator_notified_at: b.regulatorNotifiedAt ?? null,
      completed_at: told ? laterOf(b.affectedNotifiedAt, b.regulatorNotifiedAt) : null,
      completed_by: told ? input.actor : null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const record = recordOf(row);
  await appendAudit(trx, {
    at: b.discoveredAt,
    actor: input.actor,
    kind: 'privacy.breach.recorded',
    subject: `privacy:${record.ref}`,
    payload: {
      discoveredAt: b.discoveredAt.toISOString(),
      affectedNotifiedAt: b.affectedNotifiedAt?.toISOString() ?? null,
      regulatorNotifiedAt: b.regulatorNotifiedAt?.toISOString() ?? null,
    },
  });
  return record;
}

function laterOf(a: Date | undefined, b: Date | undefined): Date | null {
  if (!a || !b) return null;
  return a.getTime() > b.getTime() ? a : b;
}

/**
 * Completes a request: for a deletion, the data is gone and the requester is mailed a confirmation; for a
 * breach, the dates the affected parties and the regulator were told (both needed). Completing twice is an
 * error, not a second mail.
 */
export async function completePrivacyRequest(
  trx: Transaction<Database>,
  input: {
    readonly ref: string;
    readonly at: Date;
    readonly note?: string | undefined;
    readonly affectedNotifiedAt?: Date | undefined;
    readonly regulatorNotifiedAt?: Date | undefined;
    readonly actor: AuditActor;
  },
): Promise<{ record: PrivacyRequestRecord; confirmationQueued: boolean }> {
  const current = await requirePrivacyRequest(trx, input.ref);
  if (current.status === 'completed') {
    throw new AupError('AUP_ERR_INPUT_INVALID', `${current.ref} was completed already`);
  }
  const affected = input.affectedNotifiedAt ?? current.affectedNotifiedAt ?? undefined;
  const regulator = input.regulatorNotifiedAt ?? current.regulatorNotifiedAt ?? undefined;
  if (current.kind === 'breach' && (!affected || !regulator)) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `${current.ref}: a breach is complete when the affected parties and the regulator were told (affectedNotifiedAt, regulatorNotifiedAt)`,
    );
  }
  const row = await trx
    .updateTable('privacy_requests')
    .set({
      status: 'completed',
      completed_at: input.at,
      completed_by: input.actor,
      completion_note: input.note?.trim() || null,
      affected_notified_at: affected ?? null,
      regulator_notified_at: regulator ?? null,
    })
    .where('id', '=', current.id)
    .where('status', '=', 'open')
    .returningAll()
    .executeTakeFirst();
  if (!row)
    throw new AupError('AUP_ERR_STORE_CONFLICT', `${current.ref} changed while it was being completed`);
  const record = recordOf(row);
  let confirmationQueued = false;
  if (record.kind === 'child-data-deletion' && record.requester.email) {
    const payload: CorrespondencePayload = {
      about: `privacy:${record.ref}`,
      letter: 'privacy.deletion-confirmed',
      to: record.requester.email,
      ...(record.requester.name ? { toName: record.requester.name } : {}),
      subject: `[${record.ref}] The personal information you told us about has been deleted`,
      text: confirmationText(record),
    };
    await enqueueAction(trx, {
      at: input.at,
      kind: 'mail.correspondence',
      idempotencyKey: `privacy:${record.id}:confirmation`,
      payload,
      actor: input.actor,
    });
    confirmationQueued = true;
  }
  await appendAudit(trx, {
    at: input.at,
    actor: input.actor,
    kind: 'privacy.request.completed',
    subject: `privacy:${record.ref}`,
    payload: {
      kind: record.kind,
      onTime: record.dueAt === null || input.at.getTime() <= record.dueAt.getTime(),
      confirmationQueued,
      affectedNotifiedAt: record.affectedNotifiedAt?.toISOString() ?? null,
      regulatorNotifiedAt: record.regulatorNotifiedAt?.toISOString() ?? null,
    },
  });
  return { record, confirmationQueued };
}

function confirmationText(record: PrivacyRequestRecord): string {
  return [
    `Dear ${record.requester.name ?? 'requester'},`,
    '',
    `On ${record.receivedAt.toISOString().slice(0, 10)} you asked us (${record.ref}) to delete personal`,
    'information a child under eighteen gave us. We have deleted it from our systems.',
    '',
    `What you told us: ${record.summary.slice(0, 1000)}`,
    ...(record.completionNote ? ['', `What we did: ${record.completionNote}`] : []),
    '',
    `Please quote ${record.ref} if you write to us about it again.`,
  ].join('\n');
}

export async function getPrivacyRequest(db: Db, ref: string): Promise<PrivacyRequestRecord | undefined> {
  const id = privacyIdFromRef(ref);
  if (id === undefined) return undefined;
  const row = await db.selectFrom('privacy_requests').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? recordOf(row) : undefined;
}

export async function requirePrivacyRequest(db: Db, ref: string): Promise<PrivacyRequestRecord> {
  const found = await getPrivacyRequest(db, ref);
  if (!found) throw new AupError('AUP_ERR_NOT_FOUND', `no privacy request "${ref.slice(0, 40)}"`);
  return found;
}

export async function listPrivacyRequests(
  db: Db,
  filter: {
    readonly status?: string | undefined;
    readonly kind?: string | undefined;
    readonly limit?: number;
  } = {},
): Promise<PrivacyRequestRecord[]> {
  let q = db
    .selectFrom('privacy_requests')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 200);
  if (filter.status === 'open' || filter.status === 'completed') q = q.where('status', '=', filter.status);
  if (filter.kind === 'child-data-deletion' || filter.kind === 'breach')
    q = q.where('kind', '=', filter.kind);
  return (await q.execute()).map(recordOf);
}

/**
 * A mail (or form text) to the `privacy` route: read, recorded with the deadline, audited. It is recorded
 * even when the reading misses an element (the requester is owed an answer either way); the audit entry
 * and the result say what was missing so the analyst knows to ask.
 */
export async function receivePrivacyMail(
  trx: Transaction<Database>,
  deps: { readonly policies: readonly PolicyHistory[] },
  input: {
    readonly text: string;
    readonly subject?: string | undefined;
    readonly from: { readonly name?: string | undefined; readonly email?: string | undefined };
    readonly channel: string;
    readonly receivedAt: Date;
    readonly evidenceSha256?: string | undefined;
  },
): Promise<{ record: PrivacyRequestRecord; recognised: boolean; missing: readonly string[] }> {
  const reading = readPrivacyMail(input.text, input.subject);
  const record = await receiveChildDataRequest(trx, deps, {
    request: {
      requester: {
        ...(input.from.name ? { name: input.from.name.slice(0, 300) } : {}),
        ...(input.from.email ? { email: input.from.email.slice(0, 320) } : {}),
      },
      summary: reading.summary,
    },
    body: input.text,
    channel: input.channel,
    receivedAt: input.receivedAt,
    evidenceSha256: input.evidenceSha256,
    recognised: reading.recognised,
    missing: reading.missing,
    actor: 'system:privacy',
  });
  return { record, recognised: reading.recognised, missing: reading.missing };
}
