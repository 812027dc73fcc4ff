import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { AupError } from '../../errors.js';
import { newWorkerId } from '../../process-identity.js';
import { releaseLeasesOfGoneWorkers } from '../../store/claim-leases.js';
import type { Database } from '../../store/schema.js';
import type { Channel } from '../report.js';
import type { InboxLogger, SmtpEnvelope } from './inbox-accept.js';
import { finishAlone, finishGroups, type ReadRow, type ReadyRow, readRow } from './inbox-group.js';
import { messageOf } from './inbox-row.js';
import { processInSegments, streamsIn } from './inbox-segments.js';
import {
  DEFAULT_INBOX_GROUP_MS,
  DEFAULT_INBOX_LARGE_BYTES,
  DEFAULT_LEASE_MS,
  DEFAULT_MAX_ATTEMPTS,
  type InboxClock,
  type InboxItem,
  type InboxLane,
  type InboxProcessorDeps,
  type InboxRunSummary,
  type ProcessedItem,
  type ProcessInboxOptions,
} from './inbox-types.js';

/**
 * Working the intake inbox off (inbox-accept.ts takes items in): `processInbox` claims pending rows
 * (`FOR UPDATE SKIP LOCKED`, a lease), parses outside any transaction, then in one transaction re-checks its
 * claim (fenced by worker id and attempt), runs the pipeline's processor and marks the row done. A crash
 * anywhere before that commit leaves the row pending; when the lease runs out (or a restarted process
 * releases a dead one's claims, `expireInboxClaims`) the row is processed again from the start, so each
 * row's pipeline writes commit exactly once. Parse failures are not errors: the row is done with
 * `report_status = 'unparsed'` and the reasons, and the evidence stays. `InboxWorker` runs rounds of it.
 *
 * A big report goes another way (inbox-segments.ts): streamed, a segment per transaction, each committed
 * with the row's cursor. The vocabulary is inbox-types.ts (re-exported here); how a row ends, inbox-row.ts.
 */

export * from './inbox-types.js';

const processWorkerIds = new WeakMap<object, string>();

/**
 * Ends at `now` the claims on pending inbox rows held by workers that `isGone` says are gone (a process
 * that has the store to itself says that of every worker; others, of dead processes on their host), so the
 * rows are claimed again at once instead of after the lease. Their attempts are kept, so a message that
 * killed the worker on every attempt still ends `failed`. Returns the number of rows released.
 */
export async function expireInboxClaims(
  db: Kysely<Database>,
  now: Date,
  isGone: (workerId: string) => boolean,
): Promise<number> {
  return releaseLeasesOfGoneWorkers(
    db,
    { table: 'intake_inbox', status: 'pending', touchesUpdatedAt: false },
    now,
    isGone,
  );
}

/** One round: claim up to `limit` due rows and process each. */
export async function processInbox(
  deps: InboxProcessorDeps,
  options: ProcessInboxOptions,
): Promise<InboxRunSummary> {
  const workerId = deps.workerId ?? workerIdFor(deps);
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const summary: InboxRunSummary = {
    claimed: 0,
    done: 0,
    unparsed: 0,
    events: 0,
    retried: 0,
    failed: 0,
    lost: 0,
    items: [],
  };
  const now = options.clock.now();
  const claimed = await deps.db.transaction().execute(async (trx) => {
    // A row whose last allowed claim expired without an outcome (the worker died on it every time) is failed
    // rather than claimed again: a message that crashes the parser must not crash every worker forever.
    await trx
      .updateTable('intake_inbox')
      .set({
        status: 'failed',
        processed_at: now,
        claimed_by: null,
        claimed_until: null,
        last_error: sql<string>`coalesce(last_error, 'the worker died on every attempt (lease expired)')`,
      })
      .where('status', '=', 'pending')
      .where('attempts', '>=', maxAttempts)
      .where('claimed_until', '<=', now)
      .execute();
    return trx
      .updateTable('intake_inbox')
      .set({
        attempts: sql<number>`attempts + 1`,
        claimed_by: workerId,
        claimed_until: new Date(now.getTime() + leaseMs),
      })
      .where(
        'id',
        'in',
        trx
          .selectFrom('intake_inbox')
          .select('id')
          .where('status', '=', 'pending')
          .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', now)]))
          .$if(options.lane?.name === 'small', (q) => q.where('size', '<', options.lane!.largeBytes))
          .$if(options.lane?.name === 'large', (q) => q.where('size', '>=', options.lane!.largeBytes))
          .orderBy('received_at')
          .orderBy('id')
          .limit(Math.max(1, options.limit))
          .forUpdate()
          .skipLocked(),
      )
      .returningAll()
      .execute();
  });
  claimed.sort((a, b) => a.received_at.getTime() - b.received_at.getTime() || Number(a.id) - Number(b.id));
  summary.claimed = claimed.length;

  // Small rows are read and parsed ahead, all at once (the parse pool's threads work while this thread
  // writes), and completed a group per transaction (inbox-group.ts); a big one goes alone: streamed in
  // segments, or (a big mail) read whole in a transaction of its own.
  const groupable = deps.streamFromBytes ?? DEFAULT_INBOX_LARGE_BYTES;
  const groupMs = deps.groupMs ?? DEFAULT_INBOX_GROUP_MS;
  let ahead: Array<Promise<ReadRow>> = [];
  const completeAhead = async (): Promise<void> => {
    const read = await Promise.all(ahead);
    ahead = [];
    const ready: ReadyRow[] = [];
    for (const r of read) {
      if ('done' in r) count(summary, r.done);
      else ready.push(r);
    }
    for (const done of await finishGroups(deps, ready, workerId, options.clock, maxAttempts, groupMs))
      count(summary, done);
  };
  for (const row of claimed) {
    const item: InboxItem = {
      id: String(row.id),
      evidenceSha256: row.evidence_sha256,
      channel: row.channel as Channel,
      route: row.route,
      kind: row.kind,
      envelope: (row.envelope as SmtpEnvelope | null) ?? null,
      receivedAt: row.received_at,
      attempt: row.attempts,
    };
    if (Number(row.size) < groupable) {
      ahead.push(readRow(deps, item, row, workerId, options.clock, maxAttempts));
      continue;
    }
    await completeAhead();
    if (streamsIn(deps, item, row)) {
      count(summary, await processInSegments(deps, item, row, workerId, options, maxAttempts));
      continue;
    }
    const read = await readRow(deps, item, row, workerId, options.clock, maxAttempts);
    count(
      summary,
      'done' in read ? read.done : await finishAlone(deps, read, workerId, options.clock, maxAttempts),
    );
  }
  await completeAhead();
  return summary;
}

function count(summary: InboxRunSummary, result: ProcessedItem): void {
  summary.items.push(result);
  if (result.status === 'done') {
    summary.done += 1;
    summary.events += result.events;
    if (result.reportStatus === 'unparsed') summary.unparsed += 1;
  } else if (result.status === 'failed') summary.failed += 1;
  else if (result.status === 'retry') summary.retried += 1;
  else summary.lost += 1;
}

function workerIdFor(deps: InboxProcessorDeps): string {
  let id = processWorkerIds.get(deps);
  if (!id) {
    id = newWorkerId();
    processWorkerIds.set(deps, id);
  }
  return id;
}

// ---------------------------------------------------------------------------------------------------------
// Worker loop and queries

/**
 * Runs `processInbox` until stopped: a batch whenever `wake()` is called (channels call it after an accept)
 * or every `pollMs`. Store errors are logged and the loop carries on after a pause.
 */
export class InboxWorker {
  private stopped = false;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private pending = false;

  constructor(
    private readonly deps: InboxProcessorDeps & { readonly logger?: InboxLogger | undefined },
    private readonly options: {
      clock: InboxClock;
      batch?: number;
      pollMs?: number;
      /** After a round that completed rows (committed): the next stage can wake instead of waiting its poll. */
      onProcessed?: (summary: InboxRunSummary) => void;
      /** Only this lane's rows (default: every row). */
      lane?: InboxLane;
      /** After each committed segment of a big report (ProcessInboxOptions.onSegment). */
      onSegment?: ProcessInboxOptions['onSegment'];
    },
  ) {}

  start(): void {
    if (this.running) throw new AupError('AUP_ERR_CONFIG_INVALID', 'inbox worker already started');
    this.running = this.loop();
  }

  /** Something was accepted: run a batch soon instead of waiting for the poll. */
  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.running;
    this.running = undefined;
  }

  private async loop(): Promise<void> {
    const batch = this.options.batch ?? 20;
    const pollMs = this.options.pollMs ?? 2_000;
    while (!this.stopped) {
      this.pending = false;
      let claimed = 0;
      try {
        const summary = await processInbox(this.deps, {
          limit: batch,
          clock: this.options.clock,
          lane: this.options.lane,
          onSegment: this.options.onSegment,
        });
        claimed = summary.claimed;
        if (summary.done > 0) this.options.onProcessed?.(summary);
        for (const item of summary.items) {
          if (item.status === 'failed')
            this.deps.logger?.error({ inbox: item.id, error: item.error }, 'intake item failed');
        }
      } catch (error) {
        this.deps.logger?.error({ error: messageOf(error) }, 'inbox processing round failed');
      }
      if (this.stopped) break;
      if (claimed > 0 || this.pending) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }
}
