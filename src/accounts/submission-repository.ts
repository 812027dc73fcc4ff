import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

/**
 * Which principal submitted which evidence through the API: what lets a reporter list its own reports and
 * fetch what it sent, and nothing else.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface Submission {
  readonly id: number;
  readonly evidenceSha256: string;
  readonly principal: string;
  readonly channel: string;
  readonly contentType: string;
  readonly size: number;
  readonly inboxRef: string | null;
  readonly submittedAt: Date;
}

export async function recordSubmission(db: Db, s: Omit<Submission, 'id'>): Promise<Submission> {
  const row = await db
    .insertInto('report_submissions')
    .values({
      evidence_sha256: s.evidenceSha256,
      principal: s.principal,
      channel: s.channel,
      content_type: s.contentType.slice(0, 200),
      size: s.size,
      inbox_ref: s.inboxRef,
      submitted_at: s.submittedAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toSubmission(row);
}

/** Submissions, newest first; `principal` narrows to one submitter. */
export async function listSubmissions(
  db: Db,
  q: { principal?: string; beforeId?: number; limit: number },
): Promise<Submission[]> {
  let query = db.selectFrom('report_submissions').selectAll().orderBy('id', 'desc').limit(q.limit);
  if (q.principal !== undefined) query = query.where('principal', '=', q.principal);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  return (await query.execute()).map(toSubmission);
}

export async function getSubmission(db: Db, id: number): Promise<Submission | undefined> {
  const row = await db.selectFrom('report_submissions').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toSubmission(row) : undefined;
}

/** The first submission recorded for an inbox item, optionally only if this principal made it. */
export async function findSubmissionByInbox(
  db: Db,
  inboxRef: string,
  principal?: string,
): Promise<Submission | undefined> {
  let q = db
    .selectFrom('report_submissions')
    .selectAll()
    .where('inbox_ref', '=', inboxRef)
    .orderBy('id')
    .limit(1);
  if (principal !== undefined) q = q.where('principal', '=', principal);
  const row = await q.executeTakeFirst();
  return row ? toSubmission(row) : undefined;
}

/** Did this principal submit this evidence? */
export async function submittedBy(db: Db, principal: string, evidenceSha256: string): Promise<boolean> {
  const row = await db
    .selectFrom('report_submissions')
    .select('id')
    .where('principal', '=', principal)
    .where('evidence_sha256', '=', evidenceSha256)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

function toSubmission(row: {
  id: number;
  evidence_sha256: string;
  principal: string;
  channel: string;
  content_type: string;
  size: number;
  inbox_ref: string | null;
  submitted_at: Date;
}): Submission {
  return {
    id: row.id,
    evidenceSha256: row.evidence_sha256,
    principal: row.principal,
    channel: row.channel,
    contentType: row.content_type,
    size: row.size,
    inboxRef: row.inbox_ref,
    submittedAt: row.submitted_at,
  };
}

/** The inbox items a principal submitted (the newest 10,000): what a reporter's report list covers. */
export async function inboxRefsOf(db: Db, principal: string): Promise<string[]> {
  const rows = await db
    .selectFrom('report_submissions')
    .select('inbox_ref')
    .where('principal', '=', principal)
    .where('inbox_ref', 'is not', null)
    .orderBy('id', 'desc')
    .limit(10_000)
    .execute();
  return [...new Set(rows.map((r) => r.inbox_ref!))];
}
