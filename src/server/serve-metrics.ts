import type { Kysely } from 'kysely';
import { Gauge } from 'prom-client';
import { outboxBacklog } from '../enforcement/outbox/outbox-repository.js';
import { inboxBacklog } from '../intake/inbox/inbox-accept.js';
import type { Database } from '../store/schema.js';
import type { AppMetrics } from './plugins/metrics-plugin.js';

/**
 * The desk's own figures at `/metrics`, beside the HTTP and process ones: what an operator alerts on.
 *
 * - `aupdesk_inbox_items{status}`: received items not yet done (`pending`) or given up on (`failed`), read
 *   from the store at each scrape, so every process of a split desk reports the same backlog.
 * - `aupdesk_outbox_actions{status}`: actions `pending`, `running`, `failed` (to be retried) and `dead`
 *   (given up; an operator's turn). Done rows are not counted: that count only grows.
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
