import type { Kysely } from 'kysely';
import { Gauge } from 'prom-client';
import { outboxBacklog } from '../enforcement/outbox/outbox-repository.js';
import { inboxBacklog } from '../intake/intake-inbox.js';
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
  new Gauge({
    name: 'aupdesk_inbox_items',
    help: 'Intake inbox items not done, by status (pending: waiting to be processed; failed: given up)',
    labelNames: ['status'],
    registers: [metrics.registry],
    async collect() {
      const backlog = await inboxBacklog(db).catch(() => undefined);
      if (backlog) for (const [status, n] of Object.entries(backlog)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'aupdesk_outbox_actions',
    help: 'Outbox actions not done, by status (dead ones wait for an operator)',
    labelNames: ['status'],
    registers: [metrics.registry],
    async collect() {
      const backlog = await outboxBacklog(db).catch(() => undefined);
      if (backlog) for (const [status, n] of Object.entries(backlog)) this.set({ status }, n);
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
