import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import type { MailSender } from '../actions/mail-transport.js';
import {
  type AppConfig,
  inboxGroupMsFromEnv,
  inboxLargeBytesFromEnv,
  registryRefreshMsFromEnv,
  segmentEventsFromEnv,
} from '../config.js';
import type { AuthorisationCheck } from '../detect/detection-reporter.js';
import { type Clock, systemClock } from '../enforcement/outbox/clock.js';
import { messageIdDomainFromEnv } from '../enforcement/pipeline/desk-deps.js';
import { runEnforcementOnce } from '../enforcement/pipeline/enforcement-worker.js';
import { releaseDeadClaims } from '../enforcement/pipeline/release-dead-claims.js';
import { DropDirWatcher } from '../intake/channels/drop-dir-watcher.js';
import { type FeedConfig, FeedPoller } from '../intake/channels/feed-poller.js';
import { ImapPoller } from '../intake/channels/imap-poller.js';
import { type SmtpIntakeServer, startSmtpIntake } from '../intake/channels/smtp-intake-server.js';
import { EvidenceStore } from '../intake/evidence-store.js';
import { InboxCommitter, inboxCounts } from '../intake/inbox/inbox-accept.js';
import {
  type InboxProcessorDeps,
  type InboxRunSummary,
  InboxWorker,
  inboxGroupMsFor,
  processInbox,
} from '../intake/inbox/inbox-worker.js';
import { ParsePool, parsePoolOptionsFromEnv } from '../intake/parse-pool/parse-pool.js';
import { RegistrySnapshotHolder } from '../registry/registry-snapshot.js';
import { openStore, pgliteDirFor, type Store } from '../store/database.js';
import { workerConfigFromEnv } from './action-wiring.js';
import { buildApp } from './app.js';
import { auditAnchorSettingsFromEnv } from './audit-anchoring.js';
import { loadDeskSecret } from './desk-secret.js';
import { consentAuthorisations } from './flow-authorisations.js';
import { routedInboxProcessor, routedSegments } from './inbox-router.js';
import { createMetrics } from './plugins/metrics-plugin.js';
import { publicPagesFeature } from './public/public-pages-plugin.js';
import {
  dropDirSettings,
  imapSettingsFromEnv,
  loadFeedsFile,
  smtpIntakeSettingsFromEnv,
} from './serve-channels.js';
import { EnforcementLoop, type EnforcementParts, enforcementParts } from './serve-enforcement.js';
import { type FlowIntake, startFlowIntake } from './serve-flows.js';
import { Housekeeping, type HousekeepingIntervals, housekeepingTasks } from './serve-housekeeping.js';
import { type PipelineFigures, registerDeskMetrics, registerPipelineMetrics } from './serve-metrics.js';
import { chooseProvider, publishPolicyFolder } from './serve-policies.js';

/**
 * `aupdesk serve`: the whole desk in one process, or one role of it.
 *
 * - `api`: the HTTP app (JSON API, public pages, console) on `--http-port`.
 * - `intake`: the SMTP intake server on `--smtp-port`, the IMAP poller, drop-directory watcher and feed pulls
 *   when configured, and the inbox worker that parses what came in and runs the report pipeline
 *   (attribution, judgement, cases).
 * - `worker`: the enforcement loop: due case steps through the ladder engine, then the outbox (notices,
 *   provisioning hooks, block list, fees).
 * - `all` (default): the three in one process on the embedded store.
 *
 * Several processes split by role share a PostgreSQL server (`DATABASE_URL`); they coordinate only through
 * it (SKIP LOCKED claims with leases), so any number of each can run. On start every process runs the
 * migrations and publishes the policies found under `--policy` (both idempotent), loads the registry
 * snapshot and keeps it fresh (a cheap revision query every few seconds; rebuilt only when assignments
 * changed). Shutdown on SIGINT/SIGTERM stops accepting (HTTP and SMTP listeners close), lets the loops
 * finish their current round, then closes the store. A start releases the claims that a crashed process
 * left (`releaseDeadClaims`: every claim on the embedded store, which one process holds under its lock; on
 * PostgreSQL those of dead processes of this host).
 *
 * The start is one sequence whose order matters (store, policies, registry, loops, listeners; stops in
 * reverse), so it stays one function; the parts with a life of their own live beside it (serve-channels,
 * serve-enforcement, serve-flows, serve-housekeeping, serve-metrics, serve-policies).
 */

export const serveRoles = ['api', 'intake', 'worker', 'all'] as const;
export type ServeRole = (typeof serveRoles)[number];

export interface ServeOptions {
  readonly role?: ServeRole;
  readonly host?: string;
  /** 0 picks a free port. Default 8080. */
  readonly httpPort?: number;
  /** 0 picks a free port. Default 2525. */
  readonly smtpPort?: number;
  /** Folder of policy documents (`<provider>/<version>.yaml`) published on start; default ./policies. */
  readonly policyDir?: string;
  /** The provider the desk serves (public pages, notices); default the only or first published. */
  readonly provider?: string | undefined;
  /** Public base URL for links (security.txt, the form); default AUPDESK_PUBLIC_URL, else the listen address. */
  readonly publicUrl?: string | undefined;
  /** Largest SMTP message (bytes) before `552`; default the intake server's 25 MiB. */
  readonly smtpMaxMessageBytes?: number | undefined;
  /** Largest evidence upload through the complaint form (bytes); default 10 MiB. */
  readonly formMaxUploadBytes?: number | undefined;
  /** Drop directory the intake role watches; default AUPDESK_DROP_DIR, else none. */
  readonly dropDir?: string | undefined;
  /** Feeds file (YAML or JSON) the intake role pulls from; default AUPDESK_FEEDS, else none. */
  readonly feedsFile?: string | undefined;
  /** Intake role: UDP ports of the flow collectors (NetFlow v5/v9 + IPFIX; sFlow v5); 0 picks one. */
  readonly netflowPort?: number | undefined;
  readonly sflowPort?: number | undefined;
  /** Detector thresholds and customer-facing interfaces (serve-flows.ts). */
  readonly flowsConfig?: string | undefined;
  /** SO_RCVBUF each flow socket asks for (default 32 MiB; the kernel caps it at net.core.rmem_max). */
  readonly flowsReceiveBuffer?: number | undefined;
}

export interface ServeDeps {
  readonly config: AppConfig;
  /** Default: the system clock. Tests move a ManualClock past deadlines. */
  readonly clock?: Clock;
  /** Default: pino JSON on stdout at the configured level. */
  readonly logger?: Logger;
  readonly env?: NodeJS.ProcessEnv;
  /** An open store to use instead of opening one from `config` (not closed on stop). */
  readonly store?: Store;
  /** How notices leave; default the AUPDESK_SMTP_* relay, or files under `<data>/outgoing-mail` without one. */
  readonly mailSender?: MailSender;
  /** Loop periods (tests shorten them). */
  readonly intervals?: {
    readonly inboxPollMs?: number;
    readonly workerPollMs?: number;
    readonly registryMs?: number;
    /** Drop-directory scan period and how long a file must stay unchanged (defaults 2 s and 1 s). */
    readonly dropDirPollMs?: number;
    readonly dropDirStableMs?: number;
  } & HousekeepingIntervals;
  /** HTTP settings passed to the app (rate limits, cookie security). */
  readonly http?: { readonly rateLimits?: boolean; readonly secureCookies?: boolean };
  /** Called once the store is open and the policies are published, before anything listens (demo seeding). */
  readonly beforeListen?: (ctx: ServeContext) => Promise<void>;
  /** Pen-test authorisations the flow detections are checked against (compliance's record). */
  readonly authorisations?: AuthorisationCheck;
}

/** What a running desk exposes to its caller (the CLI, tests, the demo). */
export interface ServeContext {
  readonly store: Store;
  readonly evidence: EvidenceStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly providerId: string | undefined;
  readonly registry: RegistrySnapshotHolder;
  /** Run the inbox to empty and one enforcement round now (tests, demo); resolves when done. */
  runOnce(): Promise<{ processed: number; actions: number }>;
}

export interface ServeHandle extends ServeContext {
  readonly role: ServeRole;
  readonly http?: { readonly url: string; readonly port: number; readonly app: FastifyInstance };
  readonly smtp?: {
    readonly host: string;
    readonly port: number;
    /** STARTTLS offered (AUPDESK_INTAKE_SMTP_TLS_KEY/_CERT). */
    readonly starttls: boolean;
    /** Recipient domains taken; empty: any. */
    readonly domains: readonly string[];
  };
  /** The pull channels this process runs (intake role). */
  readonly pull?: {
    readonly dropDir?: string;
    readonly feeds: readonly string[];
    readonly imap?: string;
  };
  /** The flow collectors this process runs (intake role with --netflow-port / --sflow-port). */
  readonly flows?: Pick<FlowIntake, 'netflow' | 'sflow' | 'collector' | 'reporter'>;
  readonly publicUrl: string;
  /** Graceful: stop accepting, drain the loops, close the store. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startServe(options: ServeOptions, deps: ServeDeps): Promise<ServeHandle> {
  const role = options.role ?? 'all';
  const env = deps.env ?? process.env;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? pino({ level: deps.config.logLevel, base: { service: 'aupdesk', role } });
  const host = options.host ?? '127.0.0.1';
  const runs = {
    api: role === 'api' || role === 'all',
    intake: role === 'intake' || role === 'all',
    worker: role === 'worker' || role === 'all',
  };
  const stops: Array<() => Promise<void> | void> = [];
  let stopped = false;

  // Channel settings are checked before anything opens or listens: a bad feeds file stops the start at once.
  const feedsFile = options.feedsFile ?? (env.AUPDESK_FEEDS || undefined);
  const feeds: FeedConfig[] =
    runs.intake && feedsFile ? await loadFeedsFile(path.resolve(feedsFile), env) : [];
  const dropDir = runs.intake ? dropDirSettings(options.dropDir, env) : undefined;
  const imap = runs.intake ? imapSettingsFromEnv(env) : undefined;
  const smtpSettings = runs.intake ? await smtpIntakeSettingsFromEnv(env) : undefined;
  const parsePoolOptions = parsePoolOptionsFromEnv(env);

  const store =
    deps.store ??
    (await openStore({
      databaseUrl: deps.config.databaseUrl,
      pgliteDir: pgliteDirFor(deps.config.dataDir),
      ...(deps.config.databaseSchema ? { schema: deps.config.databaseSchema } : {}),
    }));
  // The store closes last of all, after every listener and loop let go of it.
  if (!deps.store) stops.push(() => store.close());
  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Reverse order of start: listeners first, the store last.
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        logger.error({ err: error }, 'error while stopping');
      }
    }
  };

  try {
    logger.info({ store: store.kind, role }, 'store open, migrations applied');
    if (runs.intake || runs.worker) {
      const released = await releaseDeadClaims(store, clock.now());
      if (released.inbox + released.outbox > 0) {
        logger.warn(released, 'released the claims of a desk that stopped without shutting down');
      }
    }
    const evidence = new EvidenceStore(deps.config.evidenceDir);
    // Closed after every channel stopped (stops run in reverse): the journal's last blobs are copied out.
    stops.push(() => evidence.close());
    await publishPolicyFolder(store.db, options.policyDir ?? path.resolve('policies'), logger);
    const providerId = await chooseProvider(
      store.db,
      options.provider ?? (env.AUPDESK_PROVIDER || undefined),
      logger,
    );

    const registry = new RegistrySnapshotHolder(store.db);
    await registry.refresh();
    registry.start(deps.intervals?.registryMs ?? registryRefreshMsFromEnv(env), (error) =>
      logger.warn({ err: error }, 'registry refresh failed'),
    );
    stops.push(() => registry.stop());

    const committer = new InboxCommitter(store.db);
    // Reports are parsed in worker threads (threads start on first use): a huge attachment never stalls
    // HTTP or SMTP.
    const parsePool = new ParsePool(parsePoolOptions);
    if (runs.intake) {
      parsePool.warmUp().catch((error: unknown) => logger.warn({ err: error }, 'parse pool warm-up failed'));
    }
    const messageIdDomain = messageIdDomainFromEnv(env);
    let enforcementReady: Promise<EnforcementParts> | undefined;
    const enforcement = (): Promise<EnforcementParts> => {
      enforcementReady ??= enforcementParts({
        store,
        clock,
        env,
        providerId,
        messageIdDomain,
        registry,
        evidence,
        logger,
        dataDir: deps.config.dataDir,
        mailSender: deps.mailSender,
      });
      return enforcementReady;
    };

    const inboxWorkers: InboxWorker[] = [];
    // The stages wake each other: a report committed by the inbox worker wakes the enforcement loop, which
    // hands its notice to the relay at once instead of at its next poll.
    let enforcementLoop: EnforcementLoop | undefined;
    // Per-report rates in the log (feed-sized reports at info) and the pipeline figures at /metrics.
    let pipelineFigures: PipelineFigures | undefined;
    const inboxLog = logger.child({ loop: 'inbox' });
    const reportProcessed = (summary: InboxRunSummary): void => {
      for (const item of summary.items) {
        if (item.status !== 'done' || !item.timings) continue;
        const { parseMs, pipelineMs, receivedAt } = item.timings;
        pipelineFigures?.processed({
          status: item.reportStatus ?? 'parsed',
          events: item.events,
          parseMs,
          pipelineMs,
          waitedMs: Date.now() - receivedAt.getTime(),
        });
        const seconds = (parseMs + pipelineMs) / 1000;
        const line = {
          inbox: item.id,
          report: item.reportId,
          format: item.format,
          events: item.events,
          parseMs: Math.round(parseMs),
          pipelineMs: Math.round(pipelineMs),
          eventsPerSecond: seconds > 0 ? Math.round(item.events / seconds) : null,
        };
        if (item.events >= 100) inboxLog.info(line, 'report processed');
        else inboxLog.debug(line, 'report processed');
      }
    };
    const largeBytes = inboxLargeBytesFromEnv(env);
    let inboxDeps: InboxProcessorDeps | undefined;
    /** The inbox's processors: small reports whole, big ones in segments (both lanes and `runOnce`). */
    const inboxDepsOf = (parts: Awaited<ReturnType<typeof enforcement>>): InboxProcessorDeps => {
      inboxDeps ??= {
        db: store.db,
        evidence,
        processReport: routedInboxProcessor(parts.pipeline, parts.policies),
        parse: parsePool.parse,
        segments: routedSegments(
          parts.pipeline,
          parts.policies,
          store.kind === 'postgres' ? store.db : undefined,
        ),
        stream: parsePool.stream,
        segmentEvents: segmentEventsFromEnv(env),
        groupMs: inboxGroupMsFromEnv(env) ?? inboxGroupMsFor(store.kind),
        streamFromBytes: largeBytes,
      };
      return inboxDeps;
    };
    const runOnce = async (): Promise<{ processed: number; actions: number }> => {
      let processed = 0;
      let actions = 0;
      const parts = await enforcement();
      const inbox = inboxDepsOf(parts);
      // Until the inbox is empty: what this call cannot claim, the running inbox worker is processing, so
      // wait for it (bounded: a row held back by retry backoff must not hang the caller).
      const giveUpAt = Date.now() + 15_000;
      for (;;) {
        await registry.refresh();
        const round = await processInbox(inbox, { limit: 100, clock });
        processed += round.done + round.failed;
        if (round.claimed > 0) continue;
        if ((await inboxCounts(store.db)).pending === 0 || Date.now() > giveUpAt) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const enforced = await runEnforcementOnce(parts.worker, clock, parts.executor);
      actions += enforced.actions.done;
      // The background loop, woken by the reports just processed, may hold some of those actions.
      await enforcementLoop?.idle();
      return { processed, actions };
    };

    const context: ServeContext = { store, evidence, clock, logger, providerId, registry, runOnce };
    if (deps.beforeListen) await deps.beforeListen(context);

    if (runs.intake) {
      const inbox = inboxDepsOf(await enforcement());
      // Two lanes (InboxLane): a big feed report is read, parsed and processed in the large one (a segment
      // per transaction) while mail and small reports keep flowing through the small one.
      for (const name of ['small', 'large'] as const) {
        const worker = new InboxWorker(
          { ...inbox, logger: inboxLog.child({ lane: name }) },
          {
            clock,
            pollMs: deps.intervals?.inboxPollMs ?? 2_000,
            lane: { name, largeBytes },
            // A big report's progress as its segments commit: a million rows take minutes.
            onSegment: ({ inboxId, events }) =>
              inboxLog.info({ lane: name, inbox: inboxId, events }, 'report segment committed'),
            onProcessed: (summary) => {
              enforcementLoop?.wake();
              reportProcessed(summary);
            },
          },
        );
        worker.start();
        inboxWorkers.push(worker);
        stops.push(() => worker.stop());
      }
    }
    // Closed before the inbox workers stop (stops run in reverse): a parse under way is abandoned, its row
    // left claimed for the next start (releaseDeadClaims), instead of holding up the shutdown.
    stops.push(() => parsePool.close());
    const wake = (): void => {
      for (const worker of inboxWorkers) worker.wake();
    };

    let http: ServeHandle['http'];
    const secret = await loadDeskSecret(deps.config.dataDir, env);
    const listenPort = options.httpPort ?? 8080;
    let publicUrl = options.publicUrl ?? (env.AUPDESK_PUBLIC_URL || undefined);
    // Served by the API; the intake counts into it when both run in this process.
    const metrics = runs.api ? createMetrics() : undefined;
    const intakeCounters = metrics ? registerDeskMetrics(metrics, store.db) : undefined;
    if (metrics) pipelineFigures = registerPipelineMetrics(metrics);
    if (metrics) {
      const origin = (): string => publicUrl ?? `http://${displayHost(host)}:${listenPort}`;
      const app = await buildApp({
        store,
        config: deps.config,
        evidenceStore: evidence,
        clock,
        registrySnapshot: registry,
        inboxCommitter: committer,
        defaultProvider: providerId,
        logger: logger.child({ component: 'http' }),
        metrics,
        http: {
          publicUrl: publicUrl,
          secureCookies: deps.http?.secureCookies ?? publicUrl?.startsWith('https:') ?? false,
          ...(deps.http?.rateLimits === undefined ? {} : { rateLimits: deps.http.rateLimits }),
        },
        features: [
          publicPagesFeature({
            providerId,
            secret,
            // Resolved per request so a port picked at listen time (0) is what the pages print.
            origin,
            onAccepted: wake,
            maxUploadBytes: options.formMaxUploadBytes,
          }),
        ],
      });
      app.addHook('onResponse', async (request, reply) => {
        // Reports accepted through the API: run the inbox now rather than at the next poll.
        if (request.method === 'POST' && reply.statusCode === 202) wake();
      });
      await app.listen({ host, port: listenPort });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : listenPort;
      publicUrl ??= `http://${displayHost(host)}:${port}`;
      http = { url: `http://${displayHost(host)}:${port}`, port, app };
      const listening = app;
      stops.push(() => listening.close());
      logger.info({ url: http.url }, 'HTTP listening');
    }
    publicUrl ??= `http://${displayHost(host)}:${listenPort}`;

    let smtp: ServeHandle['smtp'];
    let flows: FlowIntake | undefined;
    if (runs.intake) {
      const server: SmtpIntakeServer = await startSmtpIntake(
        { db: store.db, evidence, committer },
        {
          host,
          port: options.smtpPort ?? 2525,
          ...smtpSettings,
          ...(options.smtpMaxMessageBytes ? { maxMessageBytes: options.smtpMaxMessageBytes } : {}),
          logger: logger.child({ component: 'smtp' }),
          onAccepted: (accepted, info) => {
            intakeCounters?.accepted(info.route, info.kind, accepted.duplicate);
            wake();
          },
          ...(intakeCounters ? { onRefused: intakeCounters.refused } : {}),
        },
      );
      smtp = {
        host,
        port: server.port,
        starttls: smtpSettings?.tls !== undefined,
        domains: smtpSettings?.domains ?? [],
      };
      stops.push(() => server.close());
      logger.info({ host, port: server.port }, 'SMTP intake listening');
      if (imap) {
        const poller = new ImapPoller(
          { db: store.db, evidence, committer },
          { ...imap, logger: logger.child({ component: 'imap' }), onAccepted: wake },
        );
        poller.start();
        stops.push(() => poller.stop());
        logger.info({ host: imap.host, mailbox: imap.mailbox ?? 'INBOX' }, 'IMAP poller started');
      }
      if (dropDir) {
        const watcher = new DropDirWatcher(
          { db: store.db, evidence, committer },
          {
            ...dropDir,
            pollMs: deps.intervals?.dropDirPollMs,
            stableMs: deps.intervals?.dropDirStableMs,
            logger: logger.child({ component: 'drop-dir' }),
            onAccepted: wake,
          },
        );
        await watcher.start();
        stops.push(() => watcher.stop());
        logger.info({ dir: dropDir.dir }, 'drop directory watched');
      }
      if (feeds.length > 0) {
        const poller = new FeedPoller({ db: store.db, evidence, committer }, feeds, {
          logger: logger.child({ component: 'feeds' }),
          onAccepted: wake,
        });
        poller.start();
        stops.push(() => poller.stop());
        logger.info({ feeds: feeds.map((f) => f.name), file: feedsFile }, 'feed pulls started');
      }
      if (options.netflowPort !== undefined || options.sflowPort !== undefined) {
        const started = await startFlowIntake(
          {
            host,
            netflowPort: options.netflowPort,
            sflowPort: options.sflowPort,
            configFile: options.flowsConfig,
            receiveBufferBytes: options.flowsReceiveBuffer,
          },
          {
            db: store.db,
            evidence,
            committer,
            registry,
            logger: logger.child({ component: 'flows' }),
            metrics,
            // Recorded pen-test consents (compliance/) unless the caller brings its own check.
            authorisations: deps.authorisations ?? consentAuthorisations(store.db),
            onAccepted: wake,
          },
        );
        flows = started;
        stops.push(() => started.stop());
      }
    }

    if (runs.worker) {
      const parts = await enforcement();
      const loop = new EnforcementLoop(
        parts,
        clock,
        deps.intervals?.workerPollMs ?? workerConfigFromEnv(env).pollMs,
        logger.child({ loop: 'enforcement' }),
      );
      loop.start();
      enforcementLoop = loop;
      stops.push(() => loop.stop());
      // Reports committed by the inbox workers of other processes (PostgreSQL LISTEN/NOTIFY) wake it too.
      const stopListening = await store.listenForWork(() => loop.wake());
      stops.push(stopListening);
    }
    // The notice sender closes after the loops that use it have stopped (stops run in reverse), before the store.
    const ready = enforcementReady;
    if (ready) stops.splice(deps.store ? 0 : 1, 0, async () => (await ready).close());

    // Sessions are the HTTP side's; ANALYZE is for whichever process holds the embedded store.
    const housekeeping = new Housekeeping(
      housekeepingTasks({
        store,
        clock,
        purgeSessions: runs.api,
        intervals: deps.intervals,
        // One anchoring process is enough: the one that runs the worker (it also sends the anchor mail).
        auditAnchor: runs.worker ? auditAnchorSettingsFromEnv(env, deps.config.dataDir) : undefined,
      }),
      logger.child({ loop: 'housekeeping' }),
    );
    housekeeping.start();
    stops.push(() => housekeeping.stop());

    const handle: ServeHandle = {
      ...context,
      role,
      publicUrl,
      ...(http ? { http } : {}),
      ...(smtp ? { smtp } : {}),
      ...(flows ? { flows } : {}),
      ...(runs.intake
        ? {
            pull: {
              ...(dropDir ? { dropDir: dropDir.dir } : {}),
              feeds: feeds.map((f) => f.name),
              ...(imap ? { imap: `${imap.user}@${imap.host}:${imap.port}/${imap.mailbox ?? 'INBOX'}` } : {}),
            },
          }
        : {}),
      stop: stopAll,
    };
    return handle;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}
