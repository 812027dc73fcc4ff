import type { Kysely, Transaction } from 'kysely';
import { insertJsonRows, type JsonRowColumns } from '../store/json-rows.js';
import type { Database } from '../store/schema.js';
import type { CaseMessageKind } from '../store/tables/cases.table.js';

/** A case's mail thread (`case_messages`) and analysts' notes (`case_notes`). */

type Db = Kysely<Database> | Transaction<Database>;

export interface CaseMessage {
  readonly id: number;
  readonly caseId: number;
  readonly direction: 'in' | 'out';
  readonly kind: CaseMessageKind;
  readonly messageId: string | null;
  readonly inReplyTo: string | null;
  readonly subject: string | null;
  readonly body: string | null;
  readonly sender: string | null;
  readonly recipient: string | null;
  readonly reportId: number | null;
  readonly outboxKey: string | null;
  readonly at: Date;
}

export type NewCaseMessage = Omit<
  CaseMessage,
  'id' | 'messageId' | 'inReplyTo' | 'subject' | 'body' | 'sender' | 'recipient' | 'reportId' | 'outboxKey'
> &
  Partial<
    Pick<
      CaseMessage,
      'messageId' | 'inReplyTo' | 'subject' | 'body' | 'sender' | 'recipient' | 'reportId' | 'outboxKey'
    >
  >;

export async function addCaseMessage(trx: Transaction<Database>, m: NewCaseMessage): Promise<number> {
  const row = await trx
    .insertInto('case_messages')
    .values(messageRow(m))
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Many messages in multi-row statements of 2,000 (the feed pipeline's notices). */
export async function addCaseMessages(
  trx: Transaction<Database>,
  messages: readonly NewCaseMessage[],
): Promise<void> {
  await insertJsonRows(trx, 'case_messages', MESSAGE_COLUMNS, messages.map(messageRow));
}

const MESSAGE_COLUMNS = {
  case_id: 'integer',
  direction: 'text',
  kind: 'text',
  message_id: 'text',
  in_reply_to: 'text',
  subject: 'text',
  body: 'text',
  sender: 'text',
  recipient: 'text',
  report_id: 'integer',
  outbox_key: 'text',
  at: 'timestamptz',
} as const satisfies JsonRowColumns<string>;

function messageRow(m: NewCaseMessage) {
  return {
    case_id: m.caseId,
    direction: m.direction,
    kind: m.kind,
    message_id: m.messageId ?? null,
    in_reply_to: m.inReplyTo ?? null,
    subject: m.subject ?? null,
    body: m.body ?? null,
    sender: m.sender ?? null,
    recipient: m.recipient ?? null,
    report_id: m.reportId ?? null,
    outbox_key: m.outboxKey ?? null,
    at: m.at,
  };
}

export async function listCaseMessages(db: Db, caseId: number): Promise<CaseMessage[]> {
  const rows = await db
    .selectFrom('case_messages')
    .selectAll()
    .where('case_id', '=', caseId)
    .orderBy('at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    caseId: r.case_id,
    direction: r.direction,
    kind: r.kind,
    messageId: r.message_id,
    inReplyTo: r.in_reply_to,
    subject: r.subject,
    body: r.body,
    sender: r.sender,
    recipient: r.recipient,
    reportId: r.report_id,
    outboxKey: r.outbox_key,
    at: r.at,
  }));
}

/**
 * Our outgoing messages among these Message-IDs (a reply's In-Reply-To and References), newest reference
 * first: which case a reply threads to, and whether it answers a notice or an acknowledgement.
 */
export async function findOutgoingByMessageIds(
  db: Db,
  messageIds: readonly string[],
): Promise<Array<{ caseId: number; kind: CaseMessageKind; messageId: string }>> {
  const ids = [...new Set(messageIds.map(normaliseMessageId).filter((id) => id.length > 2))];
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('case_messages')
    .select(['case_id', 'kind', 'message_id'])
    .where('direction', '=', 'out')
    .where('message_id', 'in', ids)
    .execute();
  const order = new Map(ids.map((id, i) => [id, i]));
  return rows
    .map((r) => ({ caseId: r.case_id, kind: r.kind, messageId: r.message_id ?? '' }))
    .sort((a, b) => (order.get(b.messageId) ?? 0) - (order.get(a.messageId) ?? 0));
}

/** The latest notices sent on any of these cases, newest first (the customer portal's list). */
export async function latestNoticesOfCases(
  db: Db,
  caseIds: readonly number[],
  limit: number,
): Promise<Array<{ caseId: number; subject: string | null; at: Date }>> {
  if (caseIds.length === 0) return [];
  const rows = await db
    .selectFrom('case_messages')
    .select(['case_id', 'subject', 'at'])
    .where('case_id', 'in', [...caseIds])
    .where('direction', '=', 'out')
    .where('kind', '=', 'notice')
    .orderBy('at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ caseId: r.case_id, subject: r.subject, at: r.at }));
}

/** `<id@host>` with angle brackets, trimmed; bare ids get their brackets. */
export function normaliseMessageId(id: string): string {
  const t = id.trim();
  if (t === '') return t;
  return t.startsWith('<') ? t : `<${t}>`;
}

export async function moveCaseMessages(
  trx: Transaction<Database>,
  fromCaseId: number,
  toCaseId: number,
): Promise<number> {
  const moved = await trx
    .updateTable('case_messages')
    .set({ case_id: toCaseId })
    .where('case_id', '=', fromCaseId)
    .returning('id')
    .execute();
  return moved.length;
}

export interface CaseNote {
  readonly id: number;
  readonly caseId: number;
  readonly author: string;
  readonly text: string;
  readonly at: Date;
}

export async function addCaseNote(
  trx: Transaction<Database>,
  note: { caseId: number; author: string; text: string; at: Date },
): Promise<number> {
  const row = await trx
    .insertInto('case_notes')
    .values({ case_id: note.caseId, author: note.author, text: note.text, at: note.at })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function listCaseNotes(db: Db, caseId: number): Promise<CaseNote[]> {
  const rows = await db
    .selectFrom('case_notes')
    .selectAll()
    .where('case_id', '=', caseId)
    .orderBy('at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: r.id, caseId: r.case_id, author: r.author, text: r.text, at: r.at }));
}

export async function moveCaseNotes(
  trx: Transaction<Database>,
  fromCaseId: number,
  toCaseId: number,
): Promise<number> {
  const moved = await trx
    .updateTable('case_notes')
    .set({ case_id: toCaseId })
    .where('case_id', '=', fromCaseId)
    .returning('id')
    .execute();
  return moved.length;
}
