import type { Kysely, Transaction } from 'kysely';
import { type AuditActor, type AuditEntryInput, appendAudit } from '../../audit/audit-log.js';
import { canonicalJsonOf } from '../../audit/canonical-json.js';
import { caseSubject } from '../../cases/case-ref.js';
import { type CaseRecord, type CaseUpdate, saveCase } from '../../cases/case-repository.js';
import type { CaseState } from '../../cases/case-state.js';
import { addCaseMessage, type NewCaseMessage } from '../../cases/message-repository.js';
import { AupError } from '../../errors.js';
import type { PolicyHistory } from '../../policy/policy-loader.js';
import type { PolicyDocument } from '../../policy/policy-schema.js';
import type { Database } from '../../store/schema.js';
import { type EngineResult, nextStep } from '../ladder-engine.js';
import { messageIdFor } from '../notices/message-id.js';
import { noticeSubject } from '../notices/notice-templates.js';
import type { Clock } from '../outbox/clock.js';
import { enqueueAction } from '../outbox/outbox-repository.js';
import type { PlannedAction } from '../planned-action.js';
import { listSteps, type ScheduleStepInput, scheduleStep } from '../scheduler/step-scheduler.js';

/**
 * One case transition, the unit every writer of a case goes through (a report's event, a due step, an
 * analyst's command, a customer's reply): run the ladder engine on the new input, and in the caller's
 * transaction persist the state, enqueue its actions through the outbox (keys from the engine, so a repeat
 * enqueues nothing), schedule a due step at the engine's `due`, record outgoing
 * notices in the case thread (their Message-ID is derived from the outbox key, so a customer's reply finds
 * the case by In-Reply-To), and append the `case.state` audit entry. All or nothing with the caller.
 *
 * Lock order, for every writer: the audit head first (any `appendAudit`), then case rows. The pipeline
 * appends `report.received` before it touches a case; commands and the step handler append their entry
 * before they lock the case (a read without a lock comes first). Two PostgreSQL workers therefore never
 * hold one and wait for the other.
 */

/** What the case store, the pipeline, the worker and the analyst commands share. */
export interface EnforcementDeps {
  readonly db: Kysely<Database>;
  /** The provider's policy versions (one history per provider the desk serves). */
  readonly policies: PolicyHistory | readonly PolicyHistory[];
  readonly clock: Clock;
  /** Right-hand side of our Message-IDs (the mail adapters' `messageIdDomain`). */
  readonly messageIdDomain: string;
  /** The abuse desk's reply address, quoted in notices. */
  readonly replyTo?: string;
}

/**
 * What code running inside a caller's transaction may use: everything but `db`, so a write meant for the
 * transaction cannot slip out onto another connection.
 */
export type InTransactionDeps = Omit<EnforcementDeps, 'db'>;

/** The scheduler kind of a case's due step. */
export const CASE_STEP_KIND = 'case.step';

export function policyHistories(deps: Pick<EnforcementDeps, 'policies'>): readonly PolicyHistory[] {
  return 'provider' in deps.policies
    ? [deps.policies as PolicyHistory]
    : (deps.policies as readonly PolicyHistory[]);
}

export function historyOf(deps: Pick<EnforcementDeps, 'policies'>, providerId?: string): PolicyHistory {
  const all = policyHistories(deps);
  const found = providerId === undefined ? all[0] : all.find((h) => h.provider === providerId);
  if (!found) {
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      providerId === undefined ? 'no policy is loaded' : `no policy of provider "${providerId}" is loaded`,
    );
  }
  return found;
}

/** The version a case was opened under: it governs the case for its whole life. */
export function policyOfCase(
  deps: Pick<EnforcementDeps, 'policies'>,
  record: Pick<CaseRecord, 'providerId' | 'policyVersion'>,
): PolicyDocument {
  const history = historyOf(deps, record.providerId);
  const loaded = history.versions.find((v) => v.document.version === record.policyVersion);
  if (!loaded) {
    throw new AupError(
      'AUP_ERR_NOT_FOUND',
      `policy ${record.providerId} ${record.policyVersion} (the version the case was opened under) is not loaded`,
    );
  }
  return loaded.document;
}

export interface TransitionOptions {
  readonly actor: AuditActor;
  /** What moved the case: `event`, `step`, `analyst:<command>`, `customer-reply`, `opened`. */
  readonly cause: string;
  /** Other case columns to write with the state (event times, merge, assignment). */
  readonly update?: Omit<CaseUpdate, 'state' | 'at' | 'dueAt'>;
  /** Extra fields for the audit entry. */
  readonly audit?: Record<string, unknown>;
  /**
   * Write nothing when the engine changes nothing (no action, same state, same due): a stale due step
   * firing. Default false: an event or a command is always recorded.
   */
  readonly skipIfUnchanged?: boolean;
}

export interface TransitionResult {
  readonly record: CaseRecord;
  readonly result: EngineResult;
  /** Outbox rows written now (not the ones a repeat found already there). */
  readonly enqueued: readonly string[];
  /** `skipIfUnchanged` applied: nothing was written. */
  readonly unchanged?: boolean;
}

export async function applyCaseTransition(
  trx: Transaction<Database>,
  deps: InTransactionDeps,
  record: CaseRecord,
  state: CaseState,
  now: Date,
  options: TransitionOptions,
): Promise<TransitionResult> {
  const policy = policyOfCase(deps, record);
  const result = nextStep(state, policy, now);
  if (
    options.skipIfUnchanged &&
    result.actions.length === 0 &&
    (result.due?.getTime() ?? null) === (record.dueAt?.getTime() ?? null) &&
    canonicalJsonOf(result.state) === canonicalJsonOf(record.state)
  ) {
    return { record, result, enqueued: [], unchanged: true };
  }
  const saved = await saveCase(trx, record.id, {
    ...options.update,
    state: result.state,
    at: now,
    dueAt: result.due ?? null,
  });

  const enqueued: string[] = [];
  for (const action of result.actions) {
    const row = await enqueueAction(trx, {
      at: now,
      kind: action.kind,
      idempotencyKey: action.idempotencyKey,
      payload: action.payload,
      caseId: record.id,
      actor: options.actor,
    });
    if (!row.created) continue;
    enqueued.push(action.idempotencyKey);
    const message = noticeMessageOf(deps, record, action, now);
    if (message) await addCaseMessage(trx, message);
  }

  await syncDueStep(trx, saved, result.due, now, options.actor);

  await appendAudit(trx, caseStateEntry(record, result, now, options));
  return { record: saved, result, enqueued };
}

/** The case thread's record of a notice just enqueued (its Message-ID from the outbox key); else undefined. */
export function noticeMessageOf(
  deps: Pick<InTransactionDeps, 'messageIdDomain'>,
  record: Pick<CaseRecord, 'id' | 'customerRef'>,
  action: PlannedAction,
  now: Date,
): NewCaseMessage | undefined {
  if (action.kind !== 'mail.notice') return undefined;
  const references = action.payload.references;
  return {
    caseId: record.id,
    direction: 'out',
    kind: 'notice',
    messageId: messageIdFor(action.idempotencyKey, deps.messageIdDomain),
    inReplyTo:
      references.length > 0 ? messageIdFor(references[references.length - 1]!, deps.messageIdDomain) : null,
    subject: noticeSubject(action.payload),
    recipient: `customer:${record.customerRef}`,
    outboxKey: action.idempotencyKey,
    at: now,
  };
}

/** The `case.state` audit entry of a transition from `record` (the case before it). */
export function caseStateEntry(
  record: Pick<CaseRecord, 'id' | 'ref' | 'status'>,
  result: EngineResult,
  now: Date,
  options: Pick<TransitionOptions, 'actor' | 'cause' | 'audit'>,
): AuditEntryInput {
  return {
    at: now,
    actor: options.actor,
    kind: 'case.state',
    subject: caseSubject(record.id),
    payload: {
      case: record.ref,
      cause: options.cause,
      from: record.status,
      to: result.state.status,
      reason: result.reason,
      actions: result.actions.map((a) => a.idempotencyKey),
      proposed: result.proposed.map((a) => `${a.stepId}:${a.kind}`),
      due: result.due?.toISOString() ?? null,
      ...options.audit,
    },
  };
}

/**
 * The due step a transition to `record` (saved) asks for when no pending step of the case is due at that
 * time (`pendingDue`, ms): its key names the case version. A due time already past is due now.
 */
export function dueStepOf(
  record: Pick<CaseRecord, 'id' | 'ref' | 'status' | 'version'>,
  due: Date | undefined,
  now: Date,
  actor: AuditActor,
  pendingDue: readonly number[],
): ScheduleStepInput | undefined {
  if (due === undefined) return undefined;
  const subject = caseSubject(record.id);
  const dueAt = due.getTime() < now.getTime() ? now : due;
  if (pendingDue.includes(dueAt.getTime())) return undefined;
  return {
    at: now,
    subject,
    kind: CASE_STEP_KIND,
    dueAt,
    idempotencyKey: `${subject}:step:v${record.version}`,
    payload: { case: record.ref, status: record.status },
    actor,
  };
}

/**
 * Keeps a pending `case.step` at the engine's `due`: nothing is written when one is already pending at that
 * time, else a new step (its key names the case version, so each new deadline is a new row).
 *
 * Steps made stale by a later transition (a hold, a dismissal, a deadline that moved) are NOT cancelled
 * here: cancelling would update step rows a worker may hold locked while firing them (runDueSteps locks the
 * step, then its handler wants the audit head this transaction already holds), a deadlock between two
 * PostgreSQL workers. A stale step fires as a no-op instead (the engine finds nothing due and the step
 * handler writes nothing but the firing record).
 */
async function syncDueStep(
  trx: Transaction<Database>,
  record: CaseRecord,
  due: Date | undefined,
  now: Date,
  actor: AuditActor,
): Promise<void> {
  if (due === undefined) return;
  const subject = caseSubject(record.id);
  const pending = await listSteps(trx, { subject, status: 'pending', kind: CASE_STEP_KIND, limit: 10_000 });
  const step = dueStepOf(
    record,
    due,
    now,
    actor,
    pending.map((s) => s.dueAt.getTime()),
  );
  if (step) await scheduleStep(trx, step);
}
