import { type Kysely, sql } from 'kysely';
import type { Logger } from 'pino';
import { pruneLoginAttempts } from '../accounts/login-throttle.js';
import { purgeExpiredSessions } from '../accounts/session-repository.js';
import type { Clock } from '../enforcement/outbox/clock.js';
import type { Store } from '../store/database.js';
import type { Database } from '../store/schema.js';
import { type AuditAnchorSettings, anchorAndNotify } from './audit-anchoring.js';

/**
 * Periodic upkeep a running desk does for itself:
 *
 * - **sessions**: `purgeExpiredSessions` deletes people's sessions past their idle or absolute limit (expired
 *   sessions are already refused at lookup; this keeps the table from growing without end), and login-attempt
 *   counters whose window ended. Every hour.
 * - **analyze** (embedded store only): PGlite has no autovacuum daemon, so the planner never gets statistics
 *   by itself; tables it has never analysed look empty and case lists fall back to nested-loop plans that
 *   slow down badly as cases accumulate. A plain `ANALYZE` (sampled, bounded work, no table rewrite) at start
 *   and every 10 minutes keeps the plans sane. A PostgreSQL server's autovacuum does this already.
 *
 * - **audit-anchor** (when AUPDESK_AUDIT_ANCHOR_FILE is set): appends the audit head to the anchor file, and
 *   queues a mail of it when AUPDESK_AUDIT_ANCHOR_MAILTO is set (audit-anchoring.ts). At start and every
 *   AUPDESK_AUDIT_ANCHOR_INTERVAL seconds (default an hour).
 *
 * Each task runs on its own timer; one that fails is logged and tried again at its next turn. `stop()` waits
 * for a running task, so the store is not closed under it.
 */

export interface HousekeepingTask {
  /** Fixed id, used in logs. */
  readonly id: string;
  readonly everyMs: number;
  /** Run once right at start as well (default: first run after one interval). */
  readonly atStart?: boolean;
  run(): Promise<Record<string, unknown> | undefined>;
}

export interface HousekeepingIntervals {
  /** Expired-session purge period (default 1 h). */
  readonly sessionPurgeMs?: number | undefined;
  /** ANALYZE period on the embedded store (default 10 min). */
  readonly analyzeMs?: number | undefined;
}

export const DEFAULT_SESSION_PURGE_MS = 3_600_000;
export const DEFAULT_ANALYZE_MS = 600_000;

/** The tasks a desk process runs, given what it runs and on which store. */
export function housekeepingTasks(input: {
  readonly store: Store;
  readonly clock: Clock;
  readonly purgeSessions: boolean;
  readonly intervals?: HousekeepingIntervals | undefined;
  /** Scheduled audit anchoring (anchor file set): every `intervalMs`, and once at start. */
  readonly auditAnchor?: AuditAnchorSettings | undefined;
}): HousekeepingTask[] {
  const tasks: HousekeepingTask[] = [];
  const db = input.store.db;
  const anchor = input.auditAnchor;
  const anchorFile = anchor?.file;
  if (anchor && anchorFile !== undefined) {
    tasks.push({
      id: 'audit-anchor',
      everyMs: anchor.intervalMs,
      atStart: true,
      run: async () => {
        const done = await anchorAndNotify(db, {
          file: anchorFile,
          mailTo: anchor.mailTo,
          now: input.clock.now(),
        });
        return { seq: done.anchor.seq, hash: done.anchor.hash, mailQueued: done.mailQueued };
      },
    });
  }
  if (input.purgeSessions) {
    tasks.push({
      id: 'purge-sessions',
      everyMs: input.intervals?.sessionPurgeMs ?? DEFAULT_SESSION_PURGE_MS,
      atStart: true,
      run: async () => {
        const purged = await purgeExpiredSessions(db, input.clock.now());
        // Login-attempt counters whose window ended are dead weight too.
        const loginCounters = await pruneLoginAttempts(db, input.clock.now());
        return purged > 0 || loginCounters > 0 ? { purged, loginCounters } : undefined;
      },
    });
  }
  if (input.store.kind === 'pglite') {
    tasks.push({
      id: 'analyze',
      everyMs: input.intervals?.analyzeMs ?? DEFAULT_ANALYZE_MS,
      atStart: true,
      run: async () => {
        await analyzeStore(db);
        return undefined;
      },
    });
  }
  return tasks;
}

/** Gathers planner statistics for every table of the database (`ANALYZE`). */
export async function analyzeStore(db: Kysely<Database>): Promise<void> {
  await sql`analyze`.execute(db);
}

export class Housekeeping {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  /** Completed runs per task id (metrics, tests). */
  readonly runs = new Map<string, number>();

  constructor(
    private readonly tasks: readonly HousekeepingTask[],
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    for (const task of this.tasks) {
      if (task.atStart) this.tick(task);
      else this.schedule(task);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.running]);
  }

  private schedule(task: HousekeepingTask): void {
    if (this.stopped) return;
    const timer = setTimeout(() => this.tick(task), task.everyMs);
    // Upkeep alone must not keep a process alive that is otherwise done.
    timer.unref();
    this.timers.set(task.id, timer);
  }

  private tick(task: HousekeepingTask): void {
    const started = Date.now();
    const run = task
      .run()
      .then((result) => {
        this.runs.set(task.id, (this.runs.get(task.id) ?? 0) + 1);
        const fields = { task: task.id, ms: Date.now() - started, ...result };
        if (result) this.logger.info(fields, 'housekeeping');
        else this.logger.debug(fields, 'housekeeping');
      })
      .catch((error: unknown) => {
        if (!this.stopped) this.logger.warn({ task: task.id, err: error }, 'housekeeping task failed');
      })
      .finally(() => {
        this.running.delete(run);
        this.schedule(task);
      });
    this.running.add(run);
  }
}
