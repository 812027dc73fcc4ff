import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import pino, { type Logger } from 'pino';
import { createSmtpSender, type MailSender, smtpRelayConfigFromEnv } from '../actions/mail-transport.js';
import { loadTestConsentSet } from '../compliance/test-consent-repository.js';
import { type AppConfig, triageSettingsFromEnv } from '../config.js';
import type { AuthorisationCheck } from '../detect/detection-reporter.js';
import { DMCA_STEP_KINDS, dmcaStepHandler } from '../dmca/dmca-workflow.js';
import { type Clock, systemClock } from '../enforcement/outbox/clock.js';
import type { OutboxExecutor } from '../enforcement/outbox/outbox-executor.js';
import { messageIdDomainFromEnv } from '../enforcement/pipeline/desk-deps.js';
import {
  createExecutor,
  runEnforcementOnce,
  type WorkerDeps,
} from '../enforcement/pipeline/enforcement-worker.js';
import { LivePolicies } from '../enforcement/pipeline/live-policies.js';
import type { PipelineDeps } from '../enforcement/pipeline/process-report.js';
import { releaseDeadClaims } from '../enforcement/pipeline/release-dead-claims.js';
import { AupError, isAupError } from '../errors.js';
import { DropDirWatcher } from '../intake/channels/drop-dir-watcher.js';
import { type FeedConfig, FeedPoller } from '../intake/channels/feed-poller.js';
import { ImapPoller } from '../intake/channels/imap-poller.js';
import { type SmtpIntakeServer, startSmtpIntake } from '../intake/channels/smtp-intake-server.js';
import { EvidenceStore } from '../intake/evidence-store.js';
import { InboxCommitter, inboxCounts } from '../intake/inbox/inbox-accept.js';
import {
  type InboxRunSummary,
  InboxWorker,
  processInbox,
  type ReportProcessor,
} from '../intake/inbox/inbox-worker.js';
import { ParsePool, parsePoolOptionsFromEnv } from '../intake/parse-pool/parse-pool.js';
import { loadPolicyTree } from '../policy/policy-loader.js';
import { listProviders, publishPolicyVersion } from '../policy/policy-repository.js';
import { RegistrySnapshotHolder } from '../registry/registry-snapshot.js';
import { openStore, pgliteDirFor, type Store } from '../store/database.js';
import type { Database } from '../store/schema.js';
import { createActionHandlers, workerConfigFromEnv } from './action-wiring.js';
import { buildApp } from './app.js';
import { auditAnchorSettingsFromEnv } from './audit-anchoring.js';
import { loadDeskSecret } from './desk-secret.js';
import { fileMailSender } from './file-mail-sender.js';
import { consentAuthorisations } from './flow-authorisations.js';
import { routedInboxProcessor } from './inbox-router.js';
import { createMetrics } from './plugins/metrics-plugin.js';
import { publicPagesFeature } from './public/public-pages-plugin.js';
import {
  dropDirSettings,
  imapSettingsFromEnv,
  loadFeedsFile,
  smtpIntakeSettingsFromEnv,
} from './serve-channels.js';
import { type FlowIntake, startFlowIntake } from './serve-flows.js';
import { Housekeeping, type HousekeepingIntervals, housekeepingTasks } from './serve-housekeeping.js';
import { type PipelineFigures, registerDeskMetrics, registerPipelineMetrics } from './serve-metrics.js';

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
 * Past 600 lines because the start is one sequence whose order matters (store, policies, registry, loops,
 * listeners; stops in reverse); the parts with a life of their own live beside it (serve-channels,
 * serve-housekeeping, serve-metrics).
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
    registry.start(deps.intervals?.registryMs ?? 5_000, (error) =>
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

    let inboxWorker: InboxWorker | undefined;
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
    let processor: ReportProcessor | undefined;
    const runOnce = async (): Promise<{ processed: number; actions: number }> => {
      let processed = 0;
      let actions = 0;
      const parts = await enforcement();
      processor ??= routedInboxProcessor(parts.pipeline, parts.policies);
      // Until the inbox is empty: what this call cannot claim, the running inbox worker is processing, so
      // wait for it (bounded: a row held back by retry backoff must not hang the caller).
      const giveUpAt = Date.now() + 15_000;
      for (;;) {
        await registry.refresh();
        const round = await processInbox(
          { db: store.db, evidence, processReport: processor, parse: parsePool.parse },
          { limit: 100, clock },
        );
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
      const parts = await enforcement();
      processor ??= routedInboxProcessor(parts.pipeline, parts.policies);
      inboxWorker = new InboxWorker(
        {
          db: store.db,
          evidence,
          processReport: processor,
          parse: parsePool.parse,
          logger: inboxLog,
        },
        {
          clock,
          pollMs: deps.intervals?.inboxPollMs ?? 2_000,
          onProcessed: (summary) => {
            enforcementLoop?.wake();
            reportProcessed(summary);
          },
        },
      );
      inboxWorker.start();
      const worker = inboxWorker;
      stops.push(() => worker.stop());
    }
    // Closed before the inbox worker stops (stops run in reverse): a parse under way is abandoned, its row
    // left claimed for the next start (releaseDeadClaims), instead of holding up the shutdown.
    stops.push(() => parsePool.close());
    const wake = (): void => inboxWorker?.wake();

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

// ---------------------------------------------------------------------------------------------------------

interface EnforcementParts {
  readonly pipeline: PipelineDeps;
  readonly policies: LivePolicies;
  readonly worker: WorkerDeps;
  readonly executor: OutboxExecutor;
  close(): void;
}

async function enforcementParts(input: {
  store: Store;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  providerId: string | undefined;
  messageIdDomain: string;
  registry: RegistrySnapshotHolder;
  evidence: EvidenceStore;
  logger: Logger;
  dataDir: string;
  mailSender: MailSender | undefined;
}): Promise<EnforcementParts> {
  const { store, clock, env } = input;
  // Every published provider, the default first, kept current as versions are published (no restart).
  const live = await LivePolicies.load(store.db, input.providerId);
  const policies = live.histories;
  input.logger.info(
    { providers: live.providers(), default: live.defaultProvider },
    `judging each customer under its own provider's AUP (${live.providers().join(', ')}); customers with none: ${live.defaultProvider ?? live.providers()[0]}`,
  );
  const providerName =
    policies[0]?.versions[policies[0].versions.length - 1]?.document.provider.name ??
    input.providerId ??
    'aupdesk';
  const workerEnv = workerConfigFromEnv(env);
  const abuseMail = policies[0]?.versions.at(-1)?.document.provider.abuse_contact.email;
  const from =
    env.AUPDESK_MAIL_FROM ||
    (abuseMail ? `"${providerName} abuse desk" <${abuseMail}>` : 'abuse@aupdesk.invalid');
  let sender: MailSender & { close?(): void };
  if (input.mailSender) {
    sender = input.mailSender;
  } else if (env.AUPDESK_SMTP_HOST) {
    sender = createSmtpSender(smtpRelayConfigFromEnv({ ...env, AUPDESK_MAIL_FROM: from }));
  } else {
    const dir = path.join(input.dataDir, 'outgoing-mail');
    sender = fileMailSender(dir);
    input.logger.warn(
      { dir },
      'no SMTP relay configured (AUPDESK_SMTP_HOST): notices are written as .eml files instead',
    );
  }
  const replyTo = workerEnv.replyTo ?? from;
  const replySecret = await loadDeskSecret(input.dataDir, env);
  const base = { db: store.db, policies, clock, messageIdDomain: input.messageIdDomain, replyTo };
  const handlers = createActionHandlers({
    db: store.db,
    sender,
    from,
    replyTo,
    replySecret,
    messageIdDomain: input.messageIdDomain,
    providerName,
    provisioning: workerEnv.provisioning,
  });
  const dmcaSteps = dmcaStepHandler({ ...base, snapshot: () => input.registry.current });
  const worker: WorkerDeps = {
    ...base,
    handlers,
    stepHandlers: Object.fromEntries(DMCA_STEP_KINDS.map((kind) => [kind, dmcaSteps])),
    executor: { logger: input.logger.child({ component: 'outbox' }) },
  };
  return {
    pipeline: {
      ...base,
      snapshot: () => input.registry.current,
      evidence: input.evidence,
      // Vulnerability-test consents (compliance/): a consented scan is recorded as authorised, no case.
      authorisations: loadTestConsentSet,
      replySecret,
      triage: triageSettingsFromEnv(env),
    },
    policies: live,
    worker,
    executor: createExecutor(worker, clock),
    close: () => sender.close?.(),
  };
}

/** The worker's loop: one enforcement round, then wait for the poll interval (or stop). */
class EnforcementLoop {
  private stopped = false;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private pending = false;
  /** The round under way, if any: actions it claimed are being performed until it settles. */
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly parts: EnforcementParts,
    private readonly clock: Clock,
    private readonly pollMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  /**
   * New work was committed (the inbox worker finished reports, so notices may wait in the outbox): run a
   * round now instead of at the next poll. A wake during a round runs another one right after it.
   */
  wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.running;
  }

  /**
   * Resolves once no round is under way. A caller that runs a round of its own (`runOnce`) waits for this
   * too: a round woken a moment earlier may hold the claims on the very actions it came to perform.
   */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async round(): Promise<void> {
    try {
      await this.parts.policies.refresh(this.parts.worker.db);
      const round = await runEnforcementOnce(this.parts.worker, this.clock, this.parts.executor);
      if (round.steps.fired + round.actions.claimed > 0)
        this.logger.info({ steps: round.steps, actions: round.actions }, 'enforcement round');
    } catch (error) {
      this.logger.error({ err: error }, 'enforcement round failed');
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.pending = false;
      this.inFlight = this.round();
      await this.inFlight;
      this.inFlight = undefined;
      if (this.stopped) break;
      if (this.pending) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }
}

/** Publishes every policy version under `dir` (identical re-publish is a no-op; a changed one is refused). */
async function publishPolicyFolder(db: Kysely<Database>, dir: string, logger: Logger): Promise<void> {
  if (!existsSync(dir)) {
    logger.warn({ dir }, 'policy folder not found: serving the policies already published');
    return;
  }
  const histories = await loadPolicyTree(dir);
  for (const history of histories) {
    for (const version of history.versions) {
      try {
        const result = await publishPolicyVersion(db, version);
        if (result.status === 'published')
          logger.info({ provider: result.provider, version: result.version }, 'policy published');
      } catch (error) {
        if (!isAupError(error, 'AUP_ERR_POLICY_VERSION_EXISTS')) throw error;
        logger.warn(
          { file: version.file, err: error.message },
          'policy file differs from the published version: kept the published one',
        );
      }
    }
  }
}

async function chooseProvider(
  db: Kysely<Database>,
  wanted: string | undefined,
  logger: Logger,
): Promise<string | undefined> {
  const providers = (await listProviders(db)).map((r) => r.id);
  if (wanted !== undefined) {
    if (!providers.includes(wanted)) {
      throw new AupError(
        'AUP_ERR_CONFIG_INVALID',
        `--provider ${wanted}: no policy of that provider is published (published: ${providers.join(', ') || 'none'})`,
      );
    }
    return wanted;
  }
  if (providers.length > 1) {
    logger.warn(
      { providers, chosen: providers[0] },
      `several providers are published: each customer is judged under its own provider's AUP; customers naming none under ${providers[0]} (choose with --provider)`,
    );
  }
  return providers[0];
}

function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}
