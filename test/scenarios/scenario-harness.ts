import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { BlocklistAdapter, memoryBlocklistRepository } from '../../src/actions/blocklist-adapter.js';
import { CorrespondenceMailAdapter } from '../../src/actions/correspondence-mail-adapter.js';
import { FeeAdapter, memoryFeeRepository } from '../../src/actions/fee-adapter.js';
import { MailNoticeAdapter } from '../../src/actions/mail-notice-adapter.js';
import { createSmtpSender } from '../../src/actions/mail-transport.js';
import { PolicyChangeMailAdapter } from '../../src/actions/policy-change-mail-adapter.js';
import {
  type ProvisioningRequestBody,
  ProvisioningWebhookAdapter,
  verifyWebhookSignature,
} from '../../src/actions/provisioning-webhook-adapter.js';
import { memoryAckRateLimiter, ReporterAckAdapter } from '../../src/actions/reporter-ack-adapter.js';
import { loadTestConsentSet } from '../../src/compliance/test-consent-repository.js';
import type { ActionHandler } from '../../src/enforcement/outbox/action-handler.js';
import { ManualClock } from '../../src/enforcement/outbox/clock.js';
import { runEnforcementOnce, type WorkerDeps } from '../../src/enforcement/pipeline/enforcement-worker.js';
import {
  type PipelineDeps,
  type ProcessReportResult,
  processReport,
} from '../../src/enforcement/pipeline/process-report.js';
import type { IntakeEvent } from '../../src/intake/event.js';
import type { ParsedReport } from '../../src/intake/report.js';
import { loadPolicyDirectory, type PolicyHistory } from '../../src/policy/policy-loader.js';
import type { Store } from '../../src/store/database.js';
import { type RegistrySpec, resetDesk, seedRegistry } from '../support/case-support.js';
import { type ReceivedMail, startSmtpSink } from '../support/smtp-sink.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * One abuse desk for a scenario test: the real store (whichever backend describeEachBackend gives), a seed
 * policy from policies/<provider>/, a registry, `processReport` for intake, and the real adapters behind the
 * outbox executor, talking to a real SMTP server and a real HTTP webhook receiver on loopback. The clock is
 * a ManualClock: `advanceTo` moves it and runs what is due (scheduler, then outbox), as the worker would.
 *
 * The sinks live for the test file (`startSinks` in beforeAll); `openDesk` resets the desk's tables and the
 * sinks for each test. `describeScenarios` wires both for one provider's seed policy.
 */

export const DESK_DOMAIN = 'desk.example.net';
export const DESK_ADDRESS = `abuse@${DESK_DOMAIN}`;
export const WEBHOOK_SECRET = 'scenario-webhook-secret-0123456789abcdef';

export interface ReceivedHook {
  readonly headers: IncomingHttpHeaders;
  readonly body: ProvisioningRequestBody;
  readonly signatureValid: boolean;
}

export interface Sinks {
  readonly smtpPort: number;
  readonly webhookUrl: string;
  readonly mail: ReceivedMail[];
  readonly hooks: ReceivedHook[];
  /** The clock the webhook receiver checks timestamps against (the desk's). */
  clock: ManualClock;
  reset(): void;
  close(): Promise<void>;
}

export async function startSinks(): Promise<Sinks> {
  const hooks: ReceivedHook[] = [];
  const smtp = await startSmtpSink();
  const mail = smtp.messages;

  const sinks = { clock: new ManualClock('2026-01-01T00:00:00Z') } as { clock: ManualClock };
  const http: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const check = verifyWebhookSignature({
        secret: WEBHOOK_SECRET,
        timestamp: header(request.headers['x-aupdesk-timestamp']),
        signature: header(request.headers['x-aupdesk-signature']),
        body: text,
        now: sinks.clock.now(),
      });
      hooks.push({
        headers: request.headers,
        body: JSON.parse(text) as ProvisioningRequestBody,
        signatureValid: check.valid,
      });
      response.writeHead(check.valid ? 200 : 401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: check.valid }));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/hooks/aupdesk`;

  return Object.assign(sinks, {
    smtpPort: smtp.port,
    webhookUrl,
    mail,
    hooks,
    reset() {
      mail.length = 0;
      hooks.length = 0;
    },
    async close() {
      await smtp.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  });
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export interface Desk {
  readonly clock: ManualClock;
  readonly deps: PipelineDeps;
  readonly policy: PolicyHistory;
  readonly blocklist: ReturnType<typeof memoryBlocklistRepository>;
  /** Intake: one parsed report through the pipeline at the clock's time, then what is due. */
  submit(report: ParsedReport): Promise<ProcessReportResult>;
  /** Move the clock (forwards only) and run what fell due. */
  advanceTo(iso: string): Promise<void>;
  /** What the worker does each round: fire due case steps, then perform the outbox. */
  runEnforcement(): Promise<void>;
  /** Notices to one address (acknowledgements and others excluded by recipient). */
  mailTo(address: string): ReceivedMail[];
}

const policyCache = new Map<string, PolicyHistory>();

export async function openDesk(
  store: Store,
  sinks: Sinks,
  options: { provider: string; registry: RegistrySpec; now: string },
): Promise<Desk> {
  await resetDesk(store);
  sinks.reset();
  const clock = new ManualClock(options.now);
  sinks.clock = clock;
  let policy = policyCache.get(options.provider);
  if (!policy) {
    policy = await loadPolicyDirectory(`policies/${options.provider}`);
    policyCache.set(options.provider, policy);
  }
  const snapshot = await seedRegistry(store, options.registry);
  const deps: PipelineDeps = {
    db: store.db,
    policies: policy,
    clock,
    messageIdDomain: DESK_DOMAIN,
    replyTo: DESK_ADDRESS,
    snapshot: () => snapshot,
    ackPolicy: { ownAddresses: [DESK_ADDRESS], ownDomains: [DESK_DOMAIN] },
    authorisations: loadTestConsentSet,
  };
  const emails = new Map(
    options.registry.customers.map((c) => [c.ref, c.emails?.[0] ?? `ops@${c.ref}.example`]),
  );
  const sender = createSmtpSender({
    host: '127.0.0.1',
    port: sinks.smtpPort,
    secure: false,
    requireTls: false,
    from: `"Abuse desk" <${DESK_ADDRESS}>`,
    messageIdDomain: DESK_DOMAIN,
    timeoutMs: 10_000,
  });
  const providerName = policy.versions[0]!.document.provider.name;
  const blocklist = memoryBlocklistRepository();
  const handlers: ActionHandler[] = [
    new MailNoticeAdapter({
      sender,
      from: `"${providerName} abuse desk" <${DESK_ADDRESS}>`,
      replyTo: DESK_ADDRESS,
      messageIdDomain: DESK_DOMAIN,
      directory: {
        async recipientFor(customerId, serviceId) {
          const email = emails.get(customerId);
          return email ? { email, name: customerId, serviceLabel: serviceId } : undefined;
        },
        async evidenceFor() {
          return [];
        },
      },
    }) as ActionHandler,
    new ReporterAckAdapter({
      sender,
      from: `"${providerName} abuse desk" <${DESK_ADDRESS}>`,
      providerName,
      messageIdDomain: DESK_DOMAIN,
      policy: { ownAddresses: [DESK_ADDRESS], ownDomains: [DESK_DOMAIN] },
      rateLimiter: memoryAckRateLimiter({ max: 100 }),
    }) as ActionHandler,
    ...(new ProvisioningWebhookAdapter({
      url: sinks.webhookUrl,
      secret: WEBHOOK_SECRET,
    }).handlers() as ActionHandler[]),
    ...(new BlocklistAdapter(blocklist).handlers() as ActionHandler[]),
    new FeeAdapter(memoryFeeRepository()) as ActionHandler,
    new CorrespondenceMailAdapter({
      sender,
      from: `"${providerName}" <${DESK_ADDRESS}>`,
      replyTo: DESK_ADDRESS,
      messageIdDomain: DESK_DOMAIN,
    }) as ActionHandler,
    new PolicyChangeMailAdapter({
      sender,
      from: `"${providerName}" <${DESK_ADDRESS}>`,
      replyTo: DESK_ADDRESS,
      messageIdDomain: DESK_DOMAIN,
      directory: {
        async recipientsFor(customerRef) {
          const email = emails.get(customerRef);
          return email ? { name: customerRef, emails: [email] } : undefined;
        },
      },
    }) as ActionHandler,
  ];
  const worker: WorkerDeps = {
    ...deps,
    handlers,
    executor: { workerId: 'scenario-worker', random: () => 0, backoff: { baseMs: 1000, maxMs: 1000 } },
  };
  // One worker round, as `aupdesk worker` runs it: due case steps, then the outbox.
  const runEnforcement = async (): Promise<void> => {
    await runEnforcementOnce(worker, clock);
  };

  return {
    clock,
    deps,
    policy,
    blocklist,
    async submit(report) {
      const result = await processReport(deps, report);
      await runEnforcement();
      return result;
    },
    async advanceTo(iso) {
      clock.set(iso);
      await runEnforcement();
    },
    runEnforcement,
    mailTo(address) {
      return sinks.mail.filter((m) => m.envelopeTo.includes(address));
    },
  };
}

export interface ScenarioContext {
  /** The backend's store, open inside the tests. */
  readonly store: Store;
  /** The file's SMTP sink and webhook receiver, started in beforeAll. */
  readonly sinks: Sinks;
  /** A fresh desk for the provider at `now` (ISO), on `scenarioRegistry`. */
  open(now: string): Promise<Desk>;
}

/**
 * One provider's scenario suite: the sinks start once for the test file and are shared by every backend
 * (`openDesk` resets them per test), and the body runs once per backend as `describeEachBackend` does.
 */
export function describeScenarios(
  title: string,
  provider: string,
  body: (ctx: ScenarioContext) => void,
): void {
  let sinks: Sinks | undefined;
  beforeAll(async () => {
    sinks = await startSinks();
  });
  afterAll(async () => {
    await sinks?.close();
  });
  const started = (): Sinks => {
    if (!sinks) throw new Error('scenario sinks are used before beforeAll started them');
    return sinks;
  };
  describeEachBackend(title, (backend) => {
    body({
      get store() {
        return backend.store;
      },
      get sinks() {
        return started();
      },
      open: (now) => openDesk(backend.store, started(), { provider, registry: scenarioRegistry, now }),
    });
  });
}

/** The scenario registry: the same customers as test/fixtures/scenarios/registry.csv. */
export const scenarioRegistry: RegistrySpec = {
  customers: [
    { ref: 'acme-mail', emails: ['noc@acme-mail.example'] },
    { ref: 'gamehost', emails: ['ops@gamehost.example'] },
    { ref: 'labco', emails: ['it@labco.example'] },
    { ref: 'mediaco', emails: ['legal@mediaco.example'] },
    { ref: 'dnsco', emails: ['hostmaster@dnsco.example'] },
  ],
  services: [
    { ref: 'acme-vps-1', customer: 'acme-mail', kind: 'vps' },
    { ref: 'gamehost-ded-7', customer: 'gamehost', kind: 'dedicated' },
    { ref: 'labco-vps', customer: 'labco', kind: 'vps' },
    { ref: 'mediaco-web', customer: 'mediaco', kind: 'shared-hosting' },
    { ref: 'dnsco-vps', customer: 'dnsco', kind: 'vps' },
  ],
  assignments: [
    { service: 'acme-vps-1', resource: '198.51.100.0/28', from: '2026-01-01T00:00:00Z' },
    { service: 'gamehost-ded-7', resource: '198.51.100.32/29', from: '2026-01-01T00:00:00Z' },
    { service: 'labco-vps', resource: '198.51.100.40/29', from: '2026-01-01T00:00:00Z' },
    { service: 'mediaco-web', resource: 'media-share.example', from: '2026-01-01T00:00:00Z' },
    { service: 'dnsco-vps', resource: '198.51.100.48/29', from: '2026-01-01T00:00:00Z' },
  ],
};

let evidenceCounter = 0;

/** A parsed report as `aupdesk parse --json` prints it (the evidence hash unique per call). */
export function complaint(options: {
  receivedAt: string;
  reporter?: ParsedReport['reporter'];
  channel?: ParsedReport['channel'];
  subject?: string;
  event: Partial<IntakeEvent> & Pick<IntakeEvent, 'classification.taxonomy' | 'classification.type'>;
}): ParsedReport {
  evidenceCounter += 1;
  const time = new Date(Date.parse(options.receivedAt) - 3_600_000).toISOString();
  return {
    format: 'email',
    channel: options.channel ?? 'smtp',
    receivedAt: options.receivedAt,
    evidenceSha256: createHash('sha256')
      .update(`scenario-${evidenceCounter}-${options.receivedAt}`)
      .digest('hex'),
    reporter: options.reporter ?? {
      name: 'Alice Recipient',
      email: 'alice@recipient.example',
      anonymous: false,
      automated: false,
    },
    status: 'parsed',
    subject: options.subject ?? 'Abuse from your network',
    messageId: `<scenario-${evidenceCounter}@recipient.example>`,
    events: [{ 'time.source': time, 'feed.name': 'free-text', ...options.event } as IntakeEvent],
    errors: [],
  };
}

export const spamFrom = (ip: string, receivedAt: string) =>
  complaint({
    receivedAt,
    event: { 'classification.taxonomy': 'abusive-content', 'classification.type': 'spam', 'source.ip': ip },
  });

export const ddosFrom = (ip: string, receivedAt: string) =>
  complaint({
    receivedAt,
    reporter: { name: 'Bob NOC', email: 'noc@transit-isp.example', anonymous: false, automated: false },
    event: {
      'classification.taxonomy': 'availability',
      'classification.type': 'ddos',
      'source.ip': ip,
      'destination.ip': '192.0.2.80',
    },
  });

export const anonymousBruteForce = (ip: string, receivedAt: string) =>
  complaint({
    receivedAt,
    channel: 'form',
    reporter: { anonymous: true, automated: false },
    event: {
      'classification.taxonomy': 'intrusion-attempts',
      'classification.type': 'brute-force',
      'source.ip': ip,
      'destination.port': 22,
    },
  });

/** Notice mails only (acknowledgements go to reporters): the text body and the headers tests check. */
export function noticeFacts(mail: ReceivedMail): {
  subject: string;
  text: string;
  autoSubmitted: string | undefined;
  messageId: string | undefined;
  references: string[];
  inReplyTo: string | undefined;
} {
  const header = (name: string) => {
    const value = mail.parsed.headers.get(name);
    return typeof value === 'string' ? value : undefined;
  };
  const refs = mail.parsed.references;
  return {
    subject: mail.parsed.subject ?? '',
    text: mail.parsed.text ?? '',
    autoSubmitted: header('auto-submitted'),
    messageId: mail.parsed.messageId,
    references: refs === undefined ? [] : Array.isArray(refs) ? refs : [refs],
    inReplyTo: mail.parsed.inReplyTo,
  };
}
