import type { Kysely } from 'kysely';
import { z } from 'zod';
import { AuditAnchorMailAdapter } from '../actions/audit-anchor-mail-adapter.js';
import { BlocklistAdapter } from '../actions/blocklist-adapter.js';
import { CorrespondenceMailAdapter } from '../actions/correspondence-mail-adapter.js';
import { FeeAdapter } from '../actions/fee-adapter.js';
import { MailNoticeAdapter, type NoticeDirectory } from '../actions/mail-notice-adapter.js';
import { createSmtpSender, type MailSender, smtpRelayConfigFromEnv } from '../actions/mail-transport.js';
import { PolicyChangeMailAdapter } from '../actions/policy-change-mail-adapter.js';
import { type CommandConfig, ProvisioningCommandAdapter } from '../actions/provisioning-command-adapter.js';
import { ProvisioningWebhookAdapter, type WebhookConfig } from '../actions/provisioning-webhook-adapter.js';
import { ReporterAckAdapter } from '../actions/reporter-ack-adapter.js';
import {
  storeAckRateLimiter,
  storeBlocklistRepository,
  storeFeeRepository,
} from '../actions/store-action-repositories.js';
import { caseIdFromRef } from '../cases/case-ref.js';
import { getReport, listCaseEvents } from '../cases/report-repository.js';
import type { EvidenceItem } from '../enforcement/notices/notice-templates.js';
import type { ActionHandler } from '../enforcement/outbox/action-handler.js';
import { AupError } from '../errors.js';
import { loopToken } from '../intake/mail-loop.js';
import type { Reporter } from '../intake/report.js';
import { customerContact } from '../registry/customer-lookup.js';
import type { Database } from '../store/schema.js';

/**
 * The real outbox handlers, wired to the store and the configured far ends: notices and acknowledgements
 * through the SMTP relay, provisioning through the webhook or the local command (one of them, by config),
 * block list and fees on the case tables. This is composition: enforcement/ queues actions by kind and
 * knows no adapter; actions/ delivers and knows no configuration; here (for `serve` and `aupdesk worker`)
 * the two are put together.
 */

export interface ActionWiring {
  readonly db: Kysely<Database>;
  readonly sender: MailSender;
  /** `From:` of notices and acknowledgements. */
  readonly from: string;
  /** The abuse desk mailbox customers answer to (our intake reads it). */
  readonly replyTo: string;
  /** The desk secret: each notice's Reply-To carries its case's reply token (notices/reply-token.ts). */
  readonly replySecret: Uint8Array | undefined;
  readonly messageIdDomain: string;
  readonly providerName: string;
  readonly provisioning: { readonly webhook: WebhookConfig } | { readonly command: CommandConfig } | null;
  /** X-Loop token of notices and acknowledgements (default `loopToken()` from the environment). */
  readonly loopToken?: string | undefined;
}

/** Notice recipients from the registry, evidence from the case's events. */
export function storeNoticeDirectory(db: Kysely<Database>): NoticeDirectory {
  return {
    async recipientFor(customerRef, serviceRef) {
      const contact = await customerContact(db, customerRef, serviceRef);
      const email = contact?.emails[0];
      if (!contact || !email) return undefined;
      return {
        email,
        name: contact.name,
        ...(contact.serviceRef
          ? { serviceLabel: `${contact.serviceKind ?? 'service'} ${contact.serviceRef}` }
          : {}),
      };
    },
    async evidenceFor(caseNumber) {
      const events = await listCaseEvents(db, { caseId: caseIdFromRef(caseNumber) });
      const reporters = new Map<number, Reporter | undefined>();
      const items: EvidenceItem[] = [];
      for (const e of events.slice(0, 50)) {
        if (!reporters.has(e.reportId)) {
          reporters.set(e.reportId, (await getReport(db, e.reportId))?.reporter as Reporter | undefined);
        }
        const reporter = reporters.get(e.reportId);
        items.push({
          observedAt: e.eventTime.toISOString(),
          eventClass: e.classification,
          source: e.sourceIp ?? e.sourceUrl ?? e.sourceFqdn ?? '?',
          ...(reporter && !reporter.automated
            ? {
                reporter: {
                  ...(reporter.name ? { name: reporter.name } : {}),
                  ...(reporter.email ? { email: reporter.email } : {}),
                  ...(reporter.organisation ? { organisation: reporter.organisation } : {}),
                },
              }
            : {}),
          ...(e.event.raw ? { excerpt: e.event.raw } : {}),
        });
      }
      return items;
    },
  };
}

export function createActionHandlers(wiring: ActionWiring): ActionHandler[] {
  const handlers: ActionHandler[] = [];
  const ownDomain = wiring.messageIdDomain;
  // Read once: a bad AUPDESK_LOOP_TOKEN stops the worker at start, not at its first notice.
  const token = wiring.loopToken ?? loopToken();
  handlers.push(
    new MailNoticeAdapter({
      sender: wiring.sender,
      directory: storeNoticeDirectory(wiring.db),
      from: wiring.from,
      replyTo: wiring.replyTo,
      ...(wiring.replySecret === undefined ? {} : { replySecret: wiring.replySecret }),
      messageIdDomain: ownDomain,
      loopToken: token,
    }) as ActionHandler,
    new ReporterAckAdapter({
      sender: wiring.sender,
      from: wiring.from,
      providerName: wiring.providerName,
      messageIdDomain: ownDomain,
      policy: { ownAddresses: [wiring.from, wiring.replyTo], ownDomains: [ownDomain] },
      rateLimiter: storeAckRateLimiter(wiring.db),
      loopToken: token,
    }) as ActionHandler,
    new CorrespondenceMailAdapter({
      sender: wiring.sender,
      from: wiring.from,
      replyTo: wiring.replyTo,
      messageIdDomain: ownDomain,
      loopToken: token,
    }) as ActionHandler,
    new PolicyChangeMailAdapter({
      sender: wiring.sender,
      directory: {
        async recipientsFor(customerRef) {
          const contact = await customerContact(wiring.db, customerRef);
          return contact ? { name: contact.name, emails: contact.emails } : undefined;
        },
      },
      from: wiring.from,
      replyTo: wiring.replyTo,
      messageIdDomain: ownDomain,
      loopToken: token,
    }) as ActionHandler,
    new AuditAnchorMailAdapter({
      sender: wiring.sender,
      from: wiring.from,
      messageIdDomain: ownDomain,
      loopToken: token,
    }) as ActionHandler,
    new FeeAdapter(storeFeeRepository(wiring.db)) as ActionHandler,
    ...(new BlocklistAdapter(storeBlocklistRepository(wiring.db)).handlers() as ActionHandler[]),
  );
  if (wiring.provisioning && 'webhook' in wiring.provisioning) {
    handlers.push(
      ...(new ProvisioningWebhookAdapter(wiring.provisioning.webhook).handlers() as ActionHandler[]),
    );
  } else if (wiring.provisioning && 'command' in wiring.provisioning) {
    handlers.push(
      ...(new ProvisioningCommandAdapter(wiring.provisioning.command).handlers() as ActionHandler[]),
    );
  }
  return handlers;
}

const workerEnvSchema = z.object({
  AUPDESK_PROVIDER: z.string().min(1).optional(),
  AUPDESK_REPLY_TO: z.string().min(3).optional(),
  AUPDESK_PROVISION_WEBHOOK_URL: z.url().optional(),
  AUPDESK_PROVISION_WEBHOOK_SECRET: z.string().optional(),
  AUPDESK_PROVISION_COMMAND: z.string().optional(),
  AUPDESK_WORKER_POLL_MS: z.coerce.number().int().min(50).max(3_600_000).default(5_000),
});

export interface WorkerEnvConfig {
  /** The provider whose published policy versions the desk enforces (default: the only one published). */
  readonly provider: string | undefined;
  readonly pollMs: number;
  readonly replyTo: string | undefined;
  readonly provisioning: ActionWiring['provisioning'];
}

/**
 * Worker settings from the environment: AUPDESK_PROVIDER, AUPDESK_REPLY_TO, AUPDESK_WORKER_POLL_MS, and
 * provisioning by AUPDESK_PROVISION_WEBHOOK_URL + AUPDESK_PROVISION_WEBHOOK_SECRET or AUPDESK_PROVISION_COMMAND
 * (a JSON argv array, e.g. `["/usr/local/bin/suspend-hook", "{action}"]`). The SMTP relay has its own
 * variables (mail-transport.ts).
 */
export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnvConfig {
  const parsed = workerEnvSchema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('AUPDESK_') && v !== '')),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `environment variable ${String(issue?.path[0] ?? '?')}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const e = parsed.data;
  let provisioning: ActionWiring['provisioning'] = null;
  if (e.AUPDESK_PROVISION_WEBHOOK_URL && e.AUPDESK_PROVISION_COMMAND) {
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      'set AUPDESK_PROVISION_WEBHOOK_URL or AUPDESK_PROVISION_COMMAND, not both',
    );
  }
  if (e.AUPDESK_PROVISION_WEBHOOK_URL) {
    provisioning = {
      webhook: { url: e.AUPDESK_PROVISION_WEBHOOK_URL, secret: e.AUPDESK_PROVISION_WEBHOOK_SECRET ?? '' },
    };
  } else if (e.AUPDESK_PROVISION_COMMAND) {
    let argv: unknown;
    try {
      argv = JSON.parse(e.AUPDESK_PROVISION_COMMAND);
    } catch {
      argv = undefined;
    }
    const checked = z.array(z.string().min(1)).min(1).safeParse(argv);
    if (!checked.success) {
      throw new AupError(
        'AUP_ERR_CONFIG_INVALID',
        'AUPDESK_PROVISION_COMMAND must be a JSON array of strings (the argv)',
      );
    }
    provisioning = { command: { argv: checked.data } };
  }
  return {
    provider: e.AUPDESK_PROVIDER,
    pollMs: e.AUPDESK_WORKER_POLL_MS,
    replyTo: e.AUPDESK_REPLY_TO,
    provisioning,
  };
}

/** The SMTP relay and the handlers from the environment, for `aupdesk worker`. */
export function actionWiringFromEnv(
  db: Kysely<Database>,
  providerName: string,
  replySecret: Uint8Array,
  env: NodeJS.ProcessEnv = process.env,
): { wiring: ActionWiring; close(): void } {
  const relay = smtpRelayConfigFromEnv(env);
  const config = workerConfigFromEnv(env);
  const sender = createSmtpSender(relay);
  return {
    wiring: {
      db,
      sender,
      from: relay.from,
      replyTo: config.replyTo ?? relay.from,
      replySecret,
      messageIdDomain: relay.messageIdDomain,
      providerName,
      provisioning: config.provisioning,
    },
    close: () => sender.close(),
  };
}
