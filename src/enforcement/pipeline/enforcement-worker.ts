import type { Transaction } from 'kysely';
import { appendAudit } from '../../audit/audit-log.js';
import { caseSubject } from '../../cases/case-ref.js';
import { getCase } from '../../cases/case-repository.js';
import type { Database } from '../../store/schema.js';
import type { ActionHandler, JsonValue } from '../outbox/action-handler.js';
import type { Clock } from '../outbox/clock.js';
import {
  type ExecutorRunSummary,
  OutboxExecutor,
  type OutboxExecutorOptions,
} from '../outbox/outbox-executor.js';
import {
  type RunDueStepsSummary,
  runDueSteps,
  type ScheduledStep,
  type StepHandler,
} from '../scheduler/step-scheduler.js';
import { applyCaseTransition, CASE_STEP_KIND, type EnforcementDeps } from './case-transition.js';

/**
 * The enforcement worker's one round: fire the due steps (each re-runs the ladder engine for its case and
 * persists state, actions and the next due step in the step's own transaction), then work off the outbox
 * with the real handlers until nothing more is due. `aupdesk worker` calls it in a loop; tests call it after
 * moving the clock.
 */

export interface WorkerDeps extends EnforcementDeps {
  readonly handlers: readonly ActionHandler[];
  /**
   * Handlers of due steps other than the case ladder's, by kind (the DMCA takedown deadline and restore,
   * wired by the composition root: enforcement cannot import the workflows to its right).
   */
  readonly stepHandlers?: Readonly<Record<string, StepHandler>>;
  /** Executor settings (lease, backoff, hooks, logger, worker id). */
  readonly executor?: Omit<OutboxExecutorOptions, 'db' | 'handlers' | 'clock'>;
}

export interface EnforcementRoundSummary {
  readonly steps: RunDueStepsSummary;
  readonly actions: ExecutorRunSummary;
}

/** The scheduler handler for `case.step`: re-run the engine for the case at `now`. */
export function caseStepHandler(deps: EnforcementDeps) {
  return async (
    trx: Transaction<Database>,
    step: ScheduledStep,
    ctx: { readonly now: Date },
  ): Promise<JsonValue | undefined> => {
    if (step.kind !== CASE_STEP_KIND) return { skipped: `unknown step kind ${step.kind}` };
    const id = Number(/^case:(\d+)$/.exec(step.subject)?.[1]);
    const peek = Number.isSafeInteger(id) ? await getCase(trx, id) : undefined;
    if (!peek) return { skipped: 'no such case' };
    if (peek.mergedInto !== null) return { skipped: `merged into case ${peek.mergedInto}` };
    // The audit head before the case row (the lock order of case-transition.ts).
    await appendAudit(trx, {
      at: ctx.now,
      actor: 'system:scheduler',
      kind: 'case.step',
      subject: caseSubject(peek.id),
      payload: { case: peek.ref, step: step.id, due: step.dueAt.toISOString() },
    });
    const record = (await getCase(trx, id, { forUpdate: true }))!;
    const {
      record: saved,
      result,
      unchanged,
    } = await applyCaseTransition(trx, deps, record, record.state, ctx.now, {
      actor: 'system:scheduler',
      cause: 'step',
      audit: { step: step.id },
      skipIfUnchanged: true,
    });
    if (unchanged) return { case: saved.ref, unchanged: true, status: saved.status };
    return {
      case: saved.ref,
      from: record.status,
      to: saved.status,
      actions: result.actions.map((a) => a.idempotencyKey),
    };
  };
}

export async function runEnforcementOnce(
  deps: WorkerDeps,
  clock: Clock = deps.clock,
  executor?: OutboxExecutor,
): Promise<EnforcementRoundSummary> {
  const stepDeps: EnforcementDeps = { ...deps, clock };
  const caseHandler = caseStepHandler(stepDeps);
  const others = deps.stepHandlers ?? {};
  const steps = await runDueSteps(deps.db, clock, (trx, step, ctx) =>
    step.kind !== CASE_STEP_KIND && others[step.kind]
      ? others[step.kind]!(trx, step, ctx)
      : caseHandler(trx, step, ctx),
  );
  const exec = executor ?? createExecutor(deps, clock);
  const actions = await exec.drain({ batch: 20, maxRounds: 1_000 });
  return { steps, actions };
}

export function createExecutor(deps: WorkerDeps, clock: Clock = deps.clock): OutboxExecutor {
  return new OutboxExecutor({ ...deps.executor, db: deps.db, handlers: deps.handlers, clock });
}
