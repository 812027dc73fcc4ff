import type { Kysely, Transaction } from 'kysely';
import type { ReportProcessor } from '../../intake/intake-inbox.js';
import type { Database } from '../../store/schema.js';
import { type PipelineDeps, processReport } from './process-report.js';

/**
 * The pipeline as the intake inbox's processor: `processReport` runs inside the inbox's transaction, so the
 * report's writes (report row, events, cases, outbox actions, audit) and the inbox row's `done` commit
 * together — a report is processed exactly once even if the worker dies at any point.
 *
 * `processReport` opens its own transaction on `deps.db`; here `db` is the inbox's transaction, seen
 * through a view whose `transaction().execute(fn)` runs `fn` in that same transaction (Kysely refuses
 * nested transactions). Everything else is the transaction itself.
 */
export function inboxProcessorFor(deps: Omit<PipelineDeps, 'db'>): ReportProcessor {
  return async (trx, report) => {
    const result = await processReport({ ...deps, db: joinTransaction(trx) } as PipelineDeps, report);
    return {
      reportId: result.reportId,
      disposition: result.disposition,
      cases: result.cases.map((c) => c.ref),
      ...(result.threadedTo ? { threadedTo: result.threadedTo } : {}),
    };
  };
}

/** A Kysely whose transactions are the given, already open transaction. */
export function joinTransaction(trx: Transaction<Database>): Kysely<Database> {
  return new Proxy(trx, {
    get(target, prop, receiver) {
      if (prop === 'transaction') {
        const builder = {
          execute: <T>(fn: (t: Transaction<Database>) => Promise<T>): Promise<T> => fn(target),
          setIsolationLevel: () => builder,
          setAccessMode: () => builder,
        };
        return () => builder;
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as Kysely<Database>;
}
