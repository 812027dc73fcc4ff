import type { Kysely } from 'kysely';
import { Gauge } from 'prom-client';
import { recordFailedIntake, type TriageStats, triageStats } from '../cases/triage-repository.js';
import { outboxBacklog } from '../enforcement/outbox/outbox-repository.js';
import { inboxBacklog } from '../intake/inbox/inbox-accept.js';
import type { Database } from '../store/schema.js';
import { triageReasons } from '../store/tables/triage.table.js';
import type { AppMetrics } from './plugins/metrics-plugin.js';

/**
 * The desk's own figures at `/metrics`, beside the HTTP and process ones: what an operator alerts on.
 *
 * - `aupdesk_inbox_items{status}`: received items not yet done (`pending`) or given up on (`failed`), read
 *   from the store at each scrape, so every process of a split desk reports the same backlog.
 * - `aupdesk_outbox_actions{status}`: actions `pending`, `running`, `failed` (to be retried) and `dead`
 *   (given up; an operator's turn). Done rows are not counted: that count only grows.
 * - `aupdesk_triage_items{reason}` and `aupdesk_triage_oldest_age_seconds`: the triage queue (what opened
 *   no case and waits for an analyst) and the age of its oldest item.
 * - `aupdesk_smtp_messages_total{route,kind,result}` and `aupdesk_smtp_refusals_total{code}`: what this
 *   process's SMTP intake answered.
 *
 * A scrape that cannot reach the store leaves the gauges at their last values and logs nothing here: the
 * store's state is `/readyz`'s to report.
 */
export interface IntakeCounters {
  accepted(route: string, kind: string, duplicate: boolean): void;
  refused(code: number): void;
}

export function registerDeskMetrics(metrics: AppMetrics, db: Kysely<Database>): IntakeCounters {
  const backlogGauge = (name: string, help: string, read: () => Promise<Record<string, number>>): void => {
    new Gauge({
      name,
      help,
      labelNames: ['status'],
      registers: [metrics.registry],
      async collect() {
        const backlog = await read().catch(() => undefined);
        if (backlog) for (const [status, n] of Object.entries(backlog)) this.set({ status }, n);
      },
    });
  };
  backlogGauge(
    'aupdesk_inbox_items',
    'Intake inbox items not done, by status (pending: waiting to be processed; failed: given up)',
    () => inboxBacklog(db),
  );
  backlogGauge(
    'aupdesk_outbox_actions',
    'Outbox actions not done, by status (dead ones wait for an operator)',
    () => outboxBacklog(db),
  );
  // The triage queue: what waits for a person, by reason, and how long the oldest has waited. Failed intake
  // items are taken into the queue first (idempotent), so the count never lags the inbox.
  let triage: { stats: TriageStats; at: Date } | undefined;
  const readTriage = async (): Promise<{ stats: TriageStats; at: Date } | undefined> => {
    try {
      const at = new Date();
      await recordFailedIntake(db, at);
      triage = { stats: await triageStats(db), at };
      return triage;
    } catch {
      return undefined;
    }
  };
  new Gauge({
    name: 'aupdesk_triage_items',
    help: 'Open triage items (reports and events that opened no case, waiting for an analyst), by reason',
    labelNames: ['reason'],
    registers: [metrics.registry],
    async collect() {
      const read = await readTriage();
      if (!read) return;
      this.reset();
      for (const reason of triageReasons) this.set({ reason }, read.stats.byReason[reason] ?? 0);
    },
  });
  new Gauge({
    name: 'aupdesk_triage_oldest_age_seconds',
    help: 'How long the oldest open triage item has waited since its report was received (0: queue empty)',
    registers: [metrics.registry],
    collect() {
      const oldest = triage?.stats.oldestReceivedAt;
      this.set(oldest && triage ? Math.max(0, (triage.at.getTime() - oldest.getTime()) / 1000) : 0);
    },
  });
  const messages = metrics.counter('aupdesk_smtp_messages_total', 'Messages the SMTP intake accepted', [
    'route',
    'kind',
    'result',
  ]);
  const refusals = metrics.counter('aupdesk_smtp_refusals_total', 'SMTP intake refusals, by reply code', [
    'code',
  ]);
  return {
    accepted: (route, kind, duplicate) =>
      messages.inc({ route, kind, result: duplicate ? 'duplicate' : 'stored' }),
    refused: (code) => refusals.inc({ code: String(code) }),
  };
}
