import path from 'node:path';
import type { Logger } from 'pino';
import { createSmtpSender, type MailSender, smtpRelayConfigFromEnv } from '../actions/mail-transport.js';
import { loadTestConsentSet } from '../compliance/test-consent-repository.js';
import { triageSettingsFromEnv } from '../config.js';
import { DMCA_STEP_KINDS, dmcaStepHandler } from '../dmca/dmca-workflow.js';
import type { Clock } from '../enforcement/outbox/clock.js';
import type { OutboxExecutor } from '../enforcement/outbox/outbox-executor.js';
import {
  createExecutor,
  runEnforcementOnce,
  type WorkerDeps,
} from '../enforcement/pipeline/enforcement-worker.js';
import { LivePolicies } from '../enforcement/pipeline/live-policies.js';
import type { PipelineDeps } from '../enforcement/pipeline/process-report.js';
import type { EvidenceStore } from '../intake/evidence-store.js';
import type { RegistrySnapshotHolder } from '../registry/registry-snapshot.js';
import type { Store } from '../store/database.js';
import { createActionHandlers, workerConfigFromEnv } from './action-wiring.js';
import { loadDeskSecret } from './desk-secret.js';
import { fileMailSender } from './file-mail-sender.js';

/**
 * The enforcement side of `serve` (serve.ts): the pipeline's and the worker's dependencies built from the
 * store, the environment and the published policies (`enforcementParts`), and the worker's loop
 * (`EnforcementLoop`: one round of due steps and outbox actions, then wait for the poll or a wake-up).
 */

export interface EnforcementParts {
  readonly pipeline: PipelineDeps;
  readonly policies: LivePolicies;
  readonly worker: WorkerDeps;
  readonly executor: OutboxExecutor;
  close(): void;
}

export async function enforcementParts(input: {
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
export class EnforcementLoop {
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
