import type { Transaction } from 'kysely';
import { z } from 'zod';
import { type AuditActor, appendAudit } from '../../audit/audit-log.js';
import { caseSubject } from '../../cases/case-ref.js';
import { type CaseRecord, requireCase } from '../../cases/case-repository.js';
import { type AnalystCommand, copyCaseState } from '../../cases/case-state.js';
import { AupError } from '../../errors.js';
import type { Database } from '../../store/schema.js';
import {
  applyCaseTransition,
  type EnforcementDeps,
  type InTransactionDeps,
  type TransitionResult,
} from '../pipeline/case-transition.js';

/**
 * The shared half of the analyst commands (one use case per file beside this one): validate the input,
 * lock the case, append the analyst's command to the case's interventions, re-run the ladder engine, and
 * persist state, actions, due step and the `case.intervention` audit entry in one transaction.
 *
 * The commands live in src/enforcement (not src/cases) because they drive the ladder engine; the case store
 * and the case state schema they read sit to their left in the data flow (DESIGN.md), in src/cases.
 */

export type CaseCommandDeps = EnforcementDeps;

/** An analyst's name as the audit log records it (`user:<name>`). */
export const analystSchema = z
  .string()
  .trim()
  .min(1, 'the analyst is required')
  .max(100)
  .regex(/^\S+$/, 'the analyst is one word (a user name)');

export const caseRefSchema = z.string().trim().min(1, 'the case reference is required');

export function actorOf(analyst: string): AuditActor {
  return `user:${analyst}`;
}

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `${what}: ${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

export interface CommandResult {
  readonly case: CaseRecord;
  /** The engine's account of what happened (an ignored command says why). */
  readonly reason: string;
  /** Outbox keys written by this command. */
  readonly actions: readonly string[];
}

/**
 * A case for a command, read without a lock (a merged case takes no commands: act on the case it was merged
 * into). Commands read first, append their audit entry, and only then lock the row: the lock order of
 * case-transition.ts (audit head, then case rows).
 */
export async function requireOpenCase(trx: Transaction<Database>, ref: string): Promise<CaseRecord> {
  const record = await requireCase(trx, ref);
  if (record.mergedInto !== null) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `case ${record.ref} was merged into case ${record.mergedInto}: act on that case`,
    );
  }
  return record;
}

/** The same, locked for the rest of the transaction (after the caller's audit entry). */
export async function lockOpenCase(trx: Transaction<Database>, ref: string): Promise<CaseRecord> {
  const record = await requireCase(trx, ref, { forUpdate: true });
  if (record.mergedInto !== null) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `case ${record.ref} was merged into case ${record.mergedInto}: act on that case`,
    );
  }
  return record;
}

export async function intervene(
  deps: CaseCommandDeps,
  input: { caseRef: string; analyst: string; command: AnalystCommand; note?: string | undefined },
): Promise<CommandResult> {
  const now = deps.clock.now();
  return deps.db.transaction().execute(async (trx) => {
    const peek = await requireOpenCase(trx, input.caseRef);
    await auditIntervention(trx, peek, input, now);
    const record = await lockOpenCase(trx, input.caseRef);
    const result = await transition(trx, deps, record, input, now);
    return { case: result.record, reason: result.result.reason, actions: result.enqueued };
  });
}

/**
 * The same, inside a transaction the caller holds and that has already appended to the audit log (merge
 * uses it): the `case.intervention` entry, then the transition.
 */
export async function interveneIn(
  trx: Transaction<Database>,
  deps: InTransactionDeps,
  record: CaseRecord,
  input: { analyst: string; command: AnalystCommand; note?: string | undefined },
  now: Date,
): Promise<TransitionResult> {
  await auditIntervention(trx, record, input, now);
  return transition(trx, deps, record, input, now);
}

async function auditIntervention(
  trx: Transaction<Database>,
  record: CaseRecord,
  input: { analyst: string; command: AnalystCommand; note?: string | undefined },
  now: Date,
): Promise<void> {
  await appendAudit(trx, {
    at: now,
    actor: actorOf(input.analyst),
    kind: 'case.intervention',
    subject: caseSubject(record.id),
    payload: {
      case: record.ref,
      command: input.command,
      note: input.note ?? null,
      statusBefore: record.status,
    },
  });
}

function transition(
  trx: Transaction<Database>,
  deps: InTransactionDeps,
  record: CaseRecord,
  input: { analyst: string; command: AnalystCommand; note?: string | undefined },
  now: Date,
): Promise<TransitionResult> {
  const state = copyCaseState(record.state);
  state.interventions.push({
    at: now.toISOString(),
    analyst: input.analyst,
    command: input.command,
    ...(input.note === undefined ? {} : { note: input.note }),
  });
  return applyCaseTransition(trx, deps, record, state, now, {
    actor: actorOf(input.analyst),
    cause: `analyst:${input.command.kind}`,
  });
}

/** Input of the commands that name only the case, the analyst and an optional note. */
export const noteOnlyCommandSchema = z
  .object({ caseRef: caseRefSchema, analyst: analystSchema, note: z.string().max(20_000).optional() })
  .strict();
export type NoteOnlyCommandInput = z.input<typeof noteOnlyCommandSchema>;

type NoteOnlyKind = Extract<
  AnalystCommand['kind'],
  'hold' | 'release' | 'skip-step' | 'mark-cured' | 'reinstate'
>;

/** The whole use case of a command whose intervention carries nothing but its kind. */
export function noteOnlyCommand(
  kind: NoteOnlyKind,
): (deps: CaseCommandDeps, input: NoteOnlyCommandInput) => Promise<CommandResult> {
  return (deps, input) => {
    const i = parseInput(noteOnlyCommandSchema, input, kind);
    return intervene(deps, { caseRef: i.caseRef, analyst: i.analyst, note: i.note, command: { kind } });
  };
}
