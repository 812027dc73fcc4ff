import { z } from 'zod';
import { appendAudit } from '../../audit/audit-log.js';
import { caseSubject } from '../../cases/case-ref.js';
import { type CaseRecord, createCase, previousCases } from '../../cases/case-repository.js';
import { copyCaseState, openCaseState } from '../../cases/case-state.js';
import { listCaseEvents, moveCaseEvents, type StoredCaseEvent } from '../../cases/report-repository.js';
import { AupError } from '../../errors.js';
import { applyCaseTransition } from '../pipeline/case-transition.js';
import {
  actorOf,
  analystSchema,
  type CaseCommandDeps,
  caseRefSchema,
  lockOpenCase,
  parseInput,
  requireOpenCase,
} from './case-command.js';

/**
 * Split chosen events off a case into a new case (same customer, service, clause and policy version): for
 * when correlation put two unrelated incidents together. The new case starts its own ladder (its own notice);
 * both cases' addresses and event times are recomputed from the events they keep.
 */
export const splitCaseSchema = z
  .object({
    caseRef: caseRefSchema,
    analyst: analystSchema,
    eventIds: z.array(z.number().int().positive()).min(1, 'choose the events to split off'),
    note: z.string().max(20_000).optional(),
  })
  .strict();
export type SplitCaseInput = z.input<typeof splitCaseSchema>;

function subjectsOf(events: readonly StoredCaseEvent[]): { addresses: string[]; urls: string[] } {
  return {
    addresses: [
      ...new Set(events.flatMap((e) => (e.sourceIp ? [e.sourceIp.replace(/\/(32|128)$/, '')] : []))),
    ],
    urls: [...new Set(events.flatMap((e) => (e.sourceUrl ? [e.sourceUrl] : [])))],
  };
}

function span(events: readonly StoredCaseEvent[]): { first: Date; last: Date } {
  const times = events.map((e) => e.eventTime.getTime());
  return { first: new Date(Math.min(...times)), last: new Date(Math.max(...times)) };
}

export async function splitCase(
  deps: CaseCommandDeps,
  input: SplitCaseInput,
): Promise<{ original: CaseRecord; created: CaseRecord }> {
  const i = parseInput(splitCaseSchema, input, 'split-case');
  const now = deps.clock.now();
  const actor = actorOf(i.analyst);
  return deps.db.transaction().execute(async (trx) => {
    // The audit head before the row lock (the lock order of case-transition.ts); a refused split rolls back.
    const peek = await requireOpenCase(trx, i.caseRef);
    await appendAudit(trx, {
      at: now,
      actor,
      kind: 'case.split',
      subject: caseSubject(peek.id),
      payload: { from: peek.ref, events: i.eventIds, note: i.note ?? null },
    });
    const original = await lockOpenCase(trx, i.caseRef);
    const all = await listCaseEvents(trx, { caseId: original.id });
    const chosen = new Set(i.eventIds);
    const moving = all.filter((e) => chosen.has(e.id));
    const staying = all.filter((e) => !chosen.has(e.id));
    const foreign = i.eventIds.filter((id) => !all.some((e) => e.id === id));
    if (foreign.length > 0) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `events ${foreign.join(', ')} are not events of case ${original.ref}`,
      );
    }
    if (staying.length === 0)
      throw new AupError('AUP_ERR_INPUT_INVALID', 'a split must leave at least one event on the case');

    const windowMs = original.windowEndsAt.getTime() - original.lastEventAt.getTime();
    const moved = span(moving);
    const repeat = (await previousCases(trx, original.customerId, original.clauseId)).length;
    const created = await createCase(trx, {
      providerId: original.providerId,
      policyVersion: original.policyVersion,
      customerId: original.customerId,
      customerRef: original.customerRef,
      serviceId: original.serviceId,
      serviceRef: original.serviceRef,
      clauseId: original.clauseId,
      severity: original.severity,
      openedAt: now,
      firstEventAt: moved.first,
      windowEndsAt: new Date(moved.last.getTime() + windowMs),
      repeatCount: repeat,
      state: (caseNumber) =>
        openCaseState({
          caseId: caseNumber,
          customerId: original.customerRef,
          serviceId: original.serviceRef,
          openedAt: now,
          clauses: original.state.clauses,
          endangering: original.state.flags.endangering,
          harming: original.state.flags.harming,
          ...subjectsOf(moving),
          repeat,
        }),
    });
    await moveCaseEvents(trx, original.id, created.id, i.eventIds);

    const kept = span(staying);
    const s = copyCaseState(original.state);
    s.subjects = subjectsOf(staying);
    const { record: savedOriginal } = await applyCaseTransition(trx, deps, original, s, now, {
      actor,
      cause: 'analyst:split',
      update: {
        firstEventAt: kept.first,
        lastEventAt: kept.last,
        windowEndsAt: new Date(kept.last.getTime() + windowMs),
      },
    });
    const { record: savedCreated } = await applyCaseTransition(trx, deps, created, created.state, now, {
      actor,
      cause: 'analyst:split',
      update: { lastEventAt: moved.last },
    });
    await appendAudit(trx, {
      at: now,
      actor,
      kind: 'case.split',
      subject: caseSubject(created.id),
      payload: { from: original.ref, to: created.ref, events: i.eventIds, note: i.note ?? null },
    });
    return { original: savedOriginal, created: savedCreated };
  });
}
