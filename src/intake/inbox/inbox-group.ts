import { withAuditBatch } from '../../audit/audit-log.js';
import { notifyWork } from '../../store/database.js';
import { parseReport } from '../parse-report.js';
import type { ParsedReport } from '../report.js';
import {
  type DoneRow,
  finish,
  finishIn,
  markManyDone,
  parseInputOf,
  readEvidence,
  retryOrFail,
  stillMineOf,
} from './inbox-row.js';
import type { InboxClock, InboxItem, InboxProcessorDeps, ProcessedItem } from './inbox-types.js';

/**
 * Small rows (mail, forms, API complaints, small reports), read and parsed ahead and completed a group per
 * transaction. Under a burst of complaints the desk spent most of each one on the transaction around it —
 * begin, the fence, the audit head's lock, the policy check, the work notification, commit and its flush —
 * more than on the complaint's own rows. So the rows a round claimed are parsed at once (the parse pool's
 * threads work while this thread writes), and one transaction takes them in order until it has run
 * `groupMs`, then commits: each row's writes and its `done` still commit together, exactly once.
 *
 * The transaction is bounded in time, not in rows, because on the embedded store it holds the only
 * connection: a mail being accepted waits for it. Should it fail, its rows are done again one per
 * transaction, so only the row at fault is retried and the others are not held back by it.
 */

/** A claimed row, its evidence read and parsed, ready for its transaction. */
export interface ReadyRow {
  readonly item: InboxItem;
  readonly report: ParsedReport;
  readonly bytes: Uint8Array;
  readonly parseMs: number;
}

/** What reading a row came to: ready, or ended already (evidence missing, a parser that threw: a retry). */
export type ReadRow = ReadyRow | { readonly done: ProcessedItem };

/** Reads and parses a claimed row, outside any transaction. */
export async function readRow(
  deps: InboxProcessorDeps,
  item: InboxItem,
  row: { file_name: string | null; content_type: string | null },
  workerId: string,
  clock: InboxClock,
  maxAttempts: number,
): Promise<ReadRow> {
  const read = await readEvidence(deps, item, workerId, clock, maxAttempts, () =>
    deps.evidence.get(item.evidenceSha256),
  );
  if ('done' in read) return read;
  const started = performance.now();
  try {
    const report = await (deps.parse ?? parseReport)({ bytes: read.value, ...parseInputOf(deps, item, row) });
    return { item, report, bytes: read.value, parseMs: performance.now() - started };
  } catch (error) {
    // A parser reports bad input as an unparsed report; one that throws failed (a pool shut down, a bug).
    return { done: await retryOrFail(deps, item, workerId, clock, maxAttempts, error) };
  }
}

/** Completes `rows` in order, a transaction per `groupMs` of work (at least one row each). */
export async function finishGroups(
  deps: InboxProcessorDeps,
  rows: readonly ReadyRow[],
  workerId: string,
  clock: InboxClock,
  maxAttempts: number,
  groupMs: number,
): Promise<ProcessedItem[]> {
  const out: ProcessedItem[] = [];
  let at = 0;
  while (at < rows.length) {
    if (rows.length - at === 1 || groupMs <= 0) {
      out.push(await finishAlone(deps, rows[at]!, workerId, clock, maxAttempts));
      at += 1;
      continue;
    }
    const taken: ProcessedItem[] = [];
    let reached = at;
    try {
      await deps.db.transaction().execute(async (trx) => {
        const started = performance.now();
        let notify = false;
        // The audit entries of all the group's reports in one batch (one statement at the end, not one a
        // report); the head is locked first, as a report's own batch does.
        await withAuditBatch(trx, async () => {
          // The claims of the rows this group may take, fenced in one query (rows it leaves for the next
          // group are fenced again there).
          const fenced = await stillMineOf(
            trx,
            rows.slice(at).map((r) => r.item),
            workerId,
          );
          // Their `done` rows in one statement after the last (written in this transaction all the same).
          const doneLater: DoneRow[] = [];
          for (let i = at; i < rows.length; i++) {
            if (i > at && performance.now() - started >= groupMs) break;
            reached = i + 1;
            const row = rows[i]!;
            const rowStarted = performance.now();
            const done = await finishIn(trx, deps, row.item, workerId, clock, row, fenced, doneLater);
            taken.push(timed(done.processed, row, performance.now() - rowStarted));
            notify ||= done.notify;
          }
          await markManyDone(trx, doneLater);
        });
        // Workers of other processes (PostgreSQL) wake when this commits: notices may wait in the outbox.
        if (notify) await notifyWork(trx);
      });
      out.push(...taken);
      at = reached;
    } catch (error) {
      if (reached - at <= 1) {
        out.push(await retryOrFail(deps, rows[at]!.item, workerId, clock, maxAttempts, error));
        at += 1;
        continue;
      }
      // Rolled back: each row it had taken on its own, so the one at fault is retried and the rest done.
      for (let i = at; i < reached; i++)
        out.push(await finishAlone(deps, rows[i]!, workerId, clock, maxAttempts));
      at = reached;
    }
  }
  return out;
}

/** One row in a transaction of its own; a failure leaves it for a retry with backoff. */
export async function finishAlone(
  deps: InboxProcessorDeps,
  row: ReadyRow,
  workerId: string,
  clock: InboxClock,
  maxAttempts: number,
): Promise<ProcessedItem> {
  try {
    const started = performance.now();
    const done = await finish(deps, row.item, workerId, clock, row);
    return timed(done, row, performance.now() - started);
  } catch (error) {
    return retryOrFail(deps, row.item, workerId, clock, maxAttempts, error);
  }
}

function timed(processed: ProcessedItem, row: ReadyRow, pipelineMs: number): ProcessedItem {
  if (processed.status !== 'done') return processed;
  return { ...processed, timings: { parseMs: row.parseMs, pipelineMs, receivedAt: row.item.receivedAt } };
}
