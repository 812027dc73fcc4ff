import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import { type DetectConfig, loadDetectConfig, parseDetectConfig } from '../detect/detect-config.js';
import { type AuthorisationCheck, DetectionReporter } from '../detect/detection-reporter.js';
import { FlowCollector, receiveBufferNote } from '../detect/flow-collector.js';
import { FlowDetectors } from '../detect/flow-detectors.js';
import type { EvidenceStore } from '../intake/evidence-store.js';
import { acceptReport, type InboxCommitter } from '../intake/inbox/inbox-accept.js';
import type { RegistrySnapshotHolder } from '../registry/registry-snapshot.js';
import type { Database } from '../store/schema.js';
import type { AppMetrics } from './plugins/metrics-plugin.js';

/**
 * The flow channel of `aupdesk serve --netflow-port <udp> --sflow-port <udp> [--flows-config <file>]`:
 * collectors and detectors (src/detect/) wired to the desk. Each detection goes through intake's
 * `acceptReport` on the `detection` channel (evidence stored, inbox row committed) and from there through
 * attribution, judgement and cases like any report; one inside a pen-test authorisation (the
 * `AuthorisationCheck` compliance provides) is kept as an `authorised` inbox item and opens no case.
 *
 * The detectors follow the registry: when the holder's snapshot changes, they take the new one.
 *
 * Metrics (`/metrics`, when this process serves HTTP):
 *   aupdesk_flow_datagrams_total{exporter}, aupdesk_flow_records_total{exporter},
 *   aupdesk_flow_dropped_total{exporter,reason}   malformed datagrams dropped, per exporter and reason
 *   aupdesk_flow_detections_total{outcome}         submitted, authorised, failed, dropped
 *   aupdesk_sflow_counter_samples_total            sFlow counter samples (interface counters)
 *   aupdesk_flow_tracked_sources                   sources of ours with detector state
 */
export interface FlowIntakeOptions {
  readonly host: string;
  readonly netflowPort?: number | undefined;
  readonly sflowPort?: number | undefined;
  readonly configFile?: string | undefined;
  readonly receiveBufferBytes?: number | undefined;
}

export interface FlowIntakeDeps {
  readonly db: Kysely<Database>;
  readonly evidence: EvidenceStore;
  readonly committer: InboxCommitter;
  readonly registry: RegistrySnapshotHolder;
  readonly logger: Logger;
  readonly metrics?: AppMetrics | undefined;
  readonly authorisations?: AuthorisationCheck | undefined;
  readonly onAccepted?: () => void;
}

export interface FlowIntake {
  readonly netflow?: { readonly host: string; readonly port: number };
  readonly sflow?: { readonly host: string; readonly port: number };
  readonly collector: FlowCollector;
  readonly detectors: FlowDetectors;
  readonly reporter: DetectionReporter;
  stop(): Promise<void>;
}

export async function startFlowIntake(options: FlowIntakeOptions, deps: FlowIntakeDeps): Promise<FlowIntake> {
  const config: DetectConfig = options.configFile
    ? await loadDetectConfig(options.configFile)
    : parseDetectConfig({});
  const reporter = new DetectionReporter({
    authorisations: deps.authorisations,
    logger: deps.logger,
    intake: {
      async accept(input) {
        const accepted = await acceptReport(
          { db: deps.db, evidence: deps.evidence, committer: deps.committer },
          { ...input, channel: 'detection', route: 'flows' },
        );
        if (input.kind === 'complaint') deps.onAccepted?.();
        return accepted;
      },
    },
  });
  let snapshot = deps.registry.current;
  const detectors = new FlowDetectors({ snapshot, config, onDetection: (d) => reporter.handle(d) });
  const follow = setInterval(() => {
    const current = deps.registry.current;
    if (current !== snapshot) {
      snapshot = current;
      detectors.setSnapshot(current);
    }
  }, 1000);
  follow.unref();
  const collector = new FlowCollector({
    sink: detectors,
    host: options.host,
    netflowPort: options.netflowPort,
    sflowPort: options.sflowPort,
    receiveBufferBytes: options.receiveBufferBytes,
  });
  await collector.start();
  for (const [name, b] of Object.entries(collector.receiveBuffers)) {
    if (b.capped) deps.logger.warn({ socket: name, ...b }, receiveBufferNote(`${name} collector`, b));
    else deps.logger.info({ socket: name, ...b }, 'flow collector receive buffer');
  }
  if (deps.metrics) registerFlowMetrics(deps.metrics, collector, detectors, reporter);
  deps.logger.info(
    { netflow: collector.netflowAddress, sflow: collector.sflowAddress },
    'flow collectors listening',
  );
  return {
    ...(collector.netflowAddress ? { netflow: collector.netflowAddress } : {}),
    ...(collector.sflowAddress ? { sflow: collector.sflowAddress } : {}),
    collector,
    detectors,
    reporter,
    async stop() {
      clearInterval(follow);
      await collector.stop();
      await reporter.idle();
    },
  };
}

function registerFlowMetrics(
  metrics: AppMetrics,
  collector: FlowCollector,
  detectors: FlowDetectors,
  reporter: DetectionReporter,
): void {
  const registers = [metrics.registry];
  const exporters = collector.dispatcher.exporters;
  new Counter({
    name: 'aupdesk_flow_datagrams_total',
    help: 'Flow datagrams received, per exporter',
    labelNames: ['exporter'],
    registers,
    collect() {
      this.reset();
      for (const [exporter, s] of exporters) this.inc({ exporter }, s.datagrams);
    },
  });
  new Counter({
    name: 'aupdesk_flow_records_total',
    help: 'Flow records decoded, per exporter',
    labelNames: ['exporter'],
    registers,
    collect() {
      this.reset();
      for (const [exporter, s] of exporters) this.inc({ exporter }, s.flows);
    },
  });
  new Counter({
    name: 'aupdesk_flow_dropped_total',
    help: 'Malformed flow datagrams dropped, per exporter and reason (truncated, unknown-template, length-mismatch, …)',
    labelNames: ['exporter', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const [exporter, s] of exporters)
        for (const [reason, n] of s.dropped) this.inc({ exporter, reason }, n);
    },
  });
  new Counter({
    name: 'aupdesk_flow_detections_total',
    help: 'Flow detections, by outcome (submitted to the desk, authorised test, failed, dropped when queued too long)',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      for (const [outcome, n] of Object.entries(reporter.counts)) this.inc({ outcome }, n);
    },
  });
  new Counter({
    name: 'aupdesk_sflow_counter_samples_total',
    help: 'sFlow counter samples received (interface counters; not flows)',
    registers,
    collect() {
      this.reset();
      this.inc(collector.dispatcher.sflow.counterSamples);
    },
  });
  new Gauge({
    name: 'aupdesk_flow_tracked_sources',
    help: 'Sources of ours the flow detectors hold state for',
    registers,
    collect() {
      this.set(detectors.trackedSources);
    },
  });
}
