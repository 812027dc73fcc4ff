import type { Command } from 'commander';
import { chargeUncertified } from '../../compliance/licence-certification.js';
import { DMCA_STEP_KINDS, dmcaStepHandler } from '../../dmca/dmca-workflow.js';
import { systemClock } from '../../enforcement/outbox/clock.js';
import { historyOf } from '../../enforcement/pipeline/case-transition.js';
import { deskDeps } from '../../enforcement/pipeline/desk-deps.js';
import {
  createExecutor,
  type EnforcementRoundSummary,
  runEnforcementOnce,
  type WorkerDeps,
} from '../../enforcement/pipeline/enforcement-worker.js';
import { releaseDeadClaims } from '../../enforcement/pipeline/release-dead-claims.js';
import { AupError } from '../../errors.js';
import {
  actionWiringFromEnv,
  createActionHandlers,
  workerConfigFromEnv,
} from '../../server/action-wiring.js';
import { loadDeskSecret } from '../../server/desk-secret.js';
import type { CliContext } from '../context.js';

/**
 * `aupdesk worker [--once] [--poll <ms>]`: fires due case steps and works off the outbox with the real
 * handlers (SMTP relay from AUPDESK_SMTP_*, provisioning from AUPDESK_PROVISION_*; see docs/enforcement.md).
 * Loops until SIGINT/SIGTERM, finishing the round in progress before it exits; `--once` runs one round.
 * Prints one JSON line per round that did something.
 */
export function registerWorkerCommands(program: Command, context: () => CliContext): void {
  program
    .command('worker')
    .description('run the enforcement worker: due steps and the outbox')
    .option('--once', 'run one round and exit')
    .option('--poll <ms>', 'pause between rounds when idle (default $AUPDESK_WORKER_POLL_MS or 5000)')
    .action(async (options: { once?: boolean; poll?: string }) => {
      const ctx = context();
      const config = workerConfigFromEnv();
      const pollMs = options.poll === undefined ? config.pollMs : Number(options.poll);
      if (!Number.isInteger(pollMs) || pollMs < 50) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          '--poll must be a whole number of milliseconds, at least 50',
        );
      }
      const store = await ctx.openStore();
      let closeMail = (): void => undefined;
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      try {
        const released = await releaseDeadClaims(store, systemClock.now());
        if (released.inbox + released.outbox > 0) {
          ctx.err.write(
            `aupdesk worker: released the claims of a stopped process (${released.outbox} action(s), ${released.inbox} inbox item(s))\n`,
          );
        }
        const base = await deskDeps(store.db, systemClock);
        const providerName = historyOf(base).versions.at(-1)?.document.provider.name ?? 'aupdesk';
        const mail = actionWiringFromEnv(
          store.db,
          providerName,
          await loadDeskSecret(ctx.config.dataDir, process.env),
        );
        closeMail = mail.close;
        const deps: WorkerDeps = {
          ...base,
          replyTo: mail.wiring.replyTo,
          messageIdDomain: mail.wiring.messageIdDomain,
          handlers: createActionHandlers(mail.wiring),
          // The DMCA deadlines need no registry: the takedown step carries the holders it found.
          stepHandlers: Object.fromEntries(DMCA_STEP_KINDS.map((kind) => [kind, dmcaStepHandler(base)])),
        };
        const executor = createExecutor(deps, systemClock);
        const report = (summary: EnforcementRoundSummary): void => {
          const busy =
            summary.steps.fired +
            summary.steps.retried +
            summary.steps.failed +
            summary.actions.claimed +
            summary.actions.dead;
          if (busy > 0 || options.once) {
            ctx.out.write(
              `${JSON.stringify({ at: systemClock.now().toISOString(), steps: summary.steps, actions: summary.actions })}\n`,
            );
          }
        };
        // Licence certifications past their deadline get their fee queued before the outbox runs, so the
        // same round records it (compliance/licence-certification.ts; idempotent per period).
        const round = async (): Promise<EnforcementRoundSummary> => {
          await chargeUncertified(store.db, systemClock.now());
          return runEnforcementOnce(deps, systemClock, executor);
        };
        if (options.once) {
          report(await round());
          return;
        }
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        ctx.err.write(`aupdesk worker: running (poll ${pollMs} ms); SIGINT or SIGTERM stops it\n`);
        while (!stop.signal.aborted) {
          try {
            report(await round());
          } catch (error) {
            // A lost database connection must not end the worker: the next round retries.
            ctx.err.write(
              `aupdesk worker: round failed: ${error instanceof Error ? error.message : String(error)}\n`,
            );
          }
          await sleep(pollMs, stop.signal);
        }
        ctx.err.write('aupdesk worker: stopped\n');
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        closeMail();
        await store.close();
      }
    });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
