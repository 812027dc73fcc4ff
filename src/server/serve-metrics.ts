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

/** One inbox row worked off, as the pipeline figures see it. */
export interface ProcessedReportFigures {
  readonly status: string;
  readonly events: number;
  readonly parseMs: number;
  readonly pipelineMs: number;
  /** From receipt (the channel's 250/202) to the row done. */
  readonly waitedMs: number;
}

export interface PipelineFigures {
  processed(figures: ProcessedReportFigures): void;
}

/** Seconds, from 5 ms to 10 min: a mail takes milliseconds, a million-row feed report minutes. */
const STAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * The pipeline's figures at `/metrics`, from this process's inbox worker:
 *
 * - `aupdesk_pipeline_events_total`: events worked off (judged and written); `rate()` of it is the events
 *   processed per second.
 * - `aupdesk_pipeline_reports_total{status}`: reports done, by parse status (parsed, partial, unparsed).
 * - `aupdesk_pipeline_stage_seconds{stage}`: per-report latency of each stage: `parse` (in a parsing
 *   thread), `pipeline` (attribution, judgement, cases, outbox and audit in one transaction) and
 *   `received_to_done` (from the channel's acknowledgement to the row done, queueing included).
 */
export function registerPipelineMetrics(metrics: AppMetrics): PipelineFigures {
  const events = metrics.counter('aupdesk_pipeline_events_total', 'Events worked off by the report pipeline');
  const reports = metrics.counter('aupdesk_pipeline_reports_total', 'Reports worked off, by parse status', [
    'status',
  ]);
  const stages = metrics.histogram(
    'aupdesk_pipeline_stage_seconds',
    'Per-report latency of each pipeline stage (parse, pipeline, received_to_done)',
    ['stage'],
    STAGE_BUCKETS,
  );
  return {
    processed(f) {
      events.inc(f.events);
      reports.inc({ status: f.status });
      stages.observe({ stage: 'parse' }, f.parseMs / 1000);
      stages.observe({ stage: 'pipeline' }, f.pipelineMs / 1000);
      stages.observe({ stage: 'received_to_done' }, Math.max(0, f.waitedMs) / 1000);
    },
  };
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
