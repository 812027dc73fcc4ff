import { sql, type Transaction } from 'kysely';
import { isAupError } from '../../errors.js';
import { notifyWork } from '../../store/database.js';
import { type JsonRow, type JsonRowColumns, jsonRowsSource } from '../../store/json-rows.js';
import type { Database } from '../../store/schema.js';
import type { ParsedReport } from '../report.js';
import { originalMessageIdOf } from './inbox-accept.js';
import type {
  InboxClock,
  InboxItem,
  InboxProcessorDeps,
  ProcessedItem,
  ProcessedOutcome,
} from './inbox-types.js';

/**
 * How an inbox row's processing ends, for the whole-report path (inbox-worker.ts) and the segmented one
 * (inbox-segments.ts) alike: its evidence read or the row failed, the fence on the claim, the transaction
 * that marks it done, the retry with backoff.
 */

/** What the parser is told of an inbox row beside its bytes or file (the whole-report and streamed paths). */
export function parseInputOf(
  deps: Pick<InboxProcessorDeps, 'limits'>,
  item: InboxItem,
  row: { file_name: string | null; content_type: string | null },
) {
  return {
    fileName: row.file_name ?? undefined,
    contentType: row.content_type ?? undefined,
    channel: item.channel,
    receivedAt: item.receivedAt,
    evidenceSha256: item.evidenceSha256,
    limits: deps.limits,
  };
}

/**
 * The item's evidence (its bytes, or its checked file). Missing or corrupt evidence cannot get better by
 * retrying: the row fails for an analyst and is kept; any other failure (a disk hiccup) is retried.
 */
export async function readEvidence<T>(
  deps: InboxProcessorDeps,
  item: InboxItem,
  workerId: string,
  clock: InboxClock,
  maxAttempts: number,
  read: () => Promise<T>,
): Promise<{ readonly value: T } | { readonly done: ProcessedItem }> {
  try {
    return { value: await read() };
  } catch (error) {
    if (isAupError(error, 'AUP_ERR_EVIDENCE_NOT_FOUND') || isAupError(error, 'AUP_ERR_EVIDENCE_CORRUPT')) {
      return { done: await finish(deps, item, workerId, clock, { failed: messageOf(error) }) };
    }
    return { done: await retryOrFail(deps, item, workerId, clock, maxAttempts, error) };
  }
}

/** The one transaction that completes a row: fence, the pipeline's writes, `done`. */
export async function finish(
  deps: InboxProcessorDeps,
  item: InboxItem,
  workerId: string,
  clock: InboxClock,
  result: { report: ParsedReport; bytes: Uint8Array } | { failed: string },
): Promise<ProcessedItem> {
  return deps.db.transaction().execute(async (trx) => {
    const { processed, notify } = await finishIn(trx, deps, item, workerId, clock, result);
    if (notify) await notifyWork(trx);
    return processed;
  });
}

/**
 * A row's completion inside `trx` (its own transaction, or a group's: inbox-group.ts): fence, the pipeline's
 * writes, `done`. `notify`: the pipeline ran, so the caller tells other processes when `trx` commits
 * (notices may wait in the outbox) — once per transaction, however many rows it completes.
 */
export async function finishIn(
  trx: Transaction<Database>,
  deps: InboxProcessorDeps,
  item: InboxItem,
  workerId: string,
  clock: InboxClock,
  result: { report: ParsedReport; bytes: Uint8Array } | { failed: string },
  /** The rows already fenced in `trx` (a group's, in one query: `stillMineOf`); absent, this one is fenced here. */
  fenced?: ReadonlySet<string>,
  /** A group's rows still to be marked `done` (`markManyDone` at its end); absent, this one is marked here. */
  doneLater?: DoneRow[],
): Promise<{ processed: ProcessedItem; notify: boolean }> {
  const mine = fenced ? fenced.has(item.id) : await stillMine(trx, item, workerId);
  if (!mine) return { processed: { id: item.id, status: 'lost', events: 0 }, notify: false };
  const at = clock.now();
  if ('failed' in result) {
    await trx
      .updateTable('intake_inbox')
      .set({
        status: 'failed',
        last_error: result.failed.slice(0, 2000),
        processed_at: at,
        claimed_until: null,
      })
      .where('id', '=', item.id)
      .execute();
    return { processed: { id: item.id, status: 'failed', events: 0, error: result.failed }, notify: false };
  }
  const { report } = result;
  let outcome: ProcessedOutcome;
  let notify = false;
  if (item.kind === 'bounce') {
    // Recorded against the message it reports on (one of our notices, when the id is ours).
    outcome = { recorded: 'bounce', bounceOf: originalMessageIdOf(result.bytes) };
  } else if (item.kind !== 'complaint') {
    outcome = { recorded: item.kind };
  } else if (deps.processReport) {
    outcome = await deps.processReport(trx, report, item);
    notify = true;
  } else {
    outcome = { recorded: 'parsed' };
  }
  const done: DoneFacts = {
    status: report.status,
    format: report.format,
    events: report.events.length,
    errors: report.errors.slice(0, 100),
    outcome,
  };
  if (doneLater) doneLater.push({ item, at, done });
  else await markDone(trx, item, at, done);
  const processed: ProcessedItem = {
    id: item.id,
    status: 'done',
    reportStatus: report.status,
    format: report.format,
    events: report.events.length,
    reportId: outcome.reportId,
    ...(report.status === 'unparsed'
      ? { error: report.errors.map((e) => e.message).join('; ') || 'unparsed' }
      : {}),
  };
  return { processed, notify };
}

/** What a row's `done` records of its report (markDone). */
export interface DoneFacts {
  readonly status: ParsedReport['status'];
  readonly format: string;
  readonly events: number;
  readonly errors: readonly unknown[];
  readonly outcome: ProcessedOutcome;
  readonly progress?: string | undefined;
}

/** A row's `done`, kept by a group's transaction to be written with the others (`markManyDone`). */
export interface DoneRow {
  readonly item: InboxItem;
  readonly at: Date;
  readonly done: DoneFacts;
}

/** The row's `done`, with what its report came to (`progress`: a segmented report's last cursor). */
export async function markDone(
  trx: Transaction<Database>,
  item: InboxItem,
  at: Date,
  done: DoneFacts,
): Promise<void> {
  await markManyDone(trx, [{ item, at, done }]);
}

const DONE_COLUMNS = {
  id: 'bigint',
  processed_at: 'timestamptz',
  report_status: 'text',
  report_format: 'text',
  event_count: 'integer',
  parse_errors: 'text',
  report_id: 'integer',
  outcome: 'text',
  progress: 'text',
} as const satisfies JsonRowColumns<string>;

/**
 * The rows `done` in one statement. A group's transaction completes its rows one after another
 * (inbox-group.ts), and an UPDATE per row was one statement a complaint under a burst; its rows' `done` are
 * written together at its end, still in the transaction that holds their writes. The JSON columns go in as
 * their JSON text and are stored as `jsonb`, as the one-row update stored them; a row without `progress`
 * keeps the one it has.
 */
export async function markManyDone(trx: Transaction<Database>, rows: readonly DoneRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values: Array<JsonRow<keyof typeof DONE_COLUMNS>> = rows.map(({ item, at, done }) => ({
    id: item.id,
    processed_at: at,
    report_status: done.status,
    report_format: done.format,
    event_count: done.events,
    parse_errors: JSON.stringify(done.errors),
    report_id: done.outcome.reportId ?? null,
    outcome: JSON.stringify(done.outcome),
    progress: done.progress ?? null,
  }));
  await sql`update intake_inbox as i set status = 'done', processed_at = u.processed_at, claimed_until = null,
      last_error = null, report_status = u.report_status, report_format = u.report_format,
      event_count = u.event_count, parse_errors = u.parse_errors::jsonb, report_id = u.report_id,
      outcome = u.outcome::jsonb, progress = coalesce(u.progress::jsonb, i.progress)
    from ${jsonRowsSource('u', DONE_COLUMNS, values)}
    where i.id = u.id`.execute(trx);
}

/** The claim is still this worker's, this attempt's (the row locked until the transaction ends). */
export async function stillMine(
  trx: Transaction<Database>,
  item: InboxItem,
  workerId: string,
): Promise<boolean> {
  const mine = await trx
    .selectFrom('intake_inbox')
    .select('id')
    .where('id', '=', item.id)
    .where('status', '=', 'pending')
    .where('claimed_by', '=', workerId)
    .where('attempts', '=', item.attempt)
    .forUpdate()
    .executeTakeFirst();
  return mine !== undefined;
}

export async function retryOrFail(
  deps: InboxProcessorDeps,
  item: InboxItem,
  workerId: string,
  clock: InboxClock,
  maxAttempts: number,
  error: unknown,
): Promise<ProcessedItem> {
  const message = messageOf(error).slice(0, 2000);
  const now = clock.now();
  const last = item.attempt >= maxAttempts;
  const backoffMs = Math.min(300_000, 1_000 * 2 ** Math.max(0, item.attempt - 1));
  const updated = await deps.db
    .updateTable('intake_inbox')
    .set(
      last
        ? { status: 'failed', last_error: message, processed_at: now, claimed_by: null, claimed_until: null }
        : { last_error: message, claimed_by: null, claimed_until: new Date(now.getTime() + backoffMs) },
    )
    .where('id', '=', item.id)
    .where('status', '=', 'pending')
    .where('claimed_by', '=', workerId)
    .where('attempts', '=', item.attempt)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) return { id: item.id, status: 'lost', events: 0 };
  return { id: item.id, status: last ? 'failed' : 'retry', events: 0, error: message };
}

/** `stillMine` for several items in one query: the ids of those whose claim is still this attempt's. */
export async function stillMineOf(
  trx: Transaction<Database>,
  items: readonly InboxItem[],
  workerId: string,
): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  const rows = await trx
    .selectFrom('intake_inbox')
    .select('id')
    .where('status', '=', 'pending')
    .where('claimed_by', '=', workerId)
    .where((eb) => eb.or(items.map((i) => eb.and([eb('id', '=', i.id), eb('attempts', '=', i.attempt)]))))
    .orderBy('id')
    .forUpdate()
    .execute();
  return new Set(rows.map((r) => String(r.id)));
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
