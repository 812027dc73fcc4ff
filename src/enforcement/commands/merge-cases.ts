import { z } from 'zod';
import { appendAudit } from '../../audit/audit-log.js';
import { caseIdFromRef, caseSubject } from '../../cases/case-ref.js';
import { type CaseRecord, getCase, saveCase } from '../../cases/case-repository.js';
import { copyCaseState } from '../../cases/case-state.js';
import { moveCaseMessages, moveCaseNotes } from '../../cases/message-repository.js';
import { moveCaseEvents } from '../../cases/report-repository.js';
import { AupError } from '../../errors.js';
import { applyCaseTransition } from '../pipeline/case-transition.js';
import {
  actorOf,
  analystSchema,
  type CaseCommandDeps,
  caseRefSchema,
  interveneIn,
  parseInput,
} from './case-command.js';

/**
 * Merge case `source` into case `target` (same customer): the source's events, messages and notes move to the
 * target; what the source already did to the world travels with them (its notices stay in the target's
 * thread, a suspension or block it holds becomes the target's to lift), so nothing is done twice and nothing
 * is left behind. The source is put on hold (its due steps cancelled) and marked `merged_into` the target.
 */
export const mergeCasesSchema = z
  .object({
    target: caseRefSchema,
    source: caseRefSchema,
    analyst: analystSchema,
    reason: z.string().trim().max(2_000).optional(),
  })
  .strict();
export type MergeCasesInput = z.input<typeof mergeCasesSchema>;

export async function mergeCases(
  deps: CaseCommandDeps,
  input: MergeCasesInput,
): Promise<{
  target: CaseRecord;
  source: CaseRecord;
  moved: { events: number; messages: number; notes: number };
}> {
  const i = parseInput(mergeCasesSchema, input, 'merge-cases');
  const targetId = caseIdFromRef(i.target);
  const sourceId = caseIdFromRef(i.source);
  if (targetId === sourceId)
    throw new AupError('AUP_ERR_INPUT_INVALID', 'a case cannot be merged into itself');
  const now = deps.clock.now();
  const actor = actorOf(i.analyst);
  return deps.db.transaction().execute(async (trx) => {
    const check = (target: CaseRecord | undefined, source: CaseRecord | undefined) => {
      if (!target || !source) {
        throw new AupError('AUP_ERR_NOT_FOUND', `case ${!target ? i.target : i.source} does not exist`);
      }
      for (const c of [target, source]) {
        if (c.mergedInto !== null) {
          throw new AupError(
            'AUP_ERR_INPUT_INVALID',
            `case ${c.ref} was already merged into case ${c.mergedInto}`,
          );
        }
      }
      if (target.customerId !== source.customerId || target.providerId !== source.providerId) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          `cases ${target.ref} and ${source.ref} belong to different customers: they cannot be merged`,
        );
      }
      return { target, source };
    };
    // Read and check without locks, record the decision (the audit head first: the lock order of
    // case-transition.ts), then lock both rows in id order and check again.
    const seen = check(await getCase(trx, targetId), await getCase(trx, sourceId));
    const reason = i.reason ?? `merged into ${seen.target.ref}`;
    for (const [subject, role] of [
      [seen.target.id, 'target'],
      [seen.source.id, 'source'],
    ] as const) {
      await appendAudit(trx, {
        at: now,
        actor,
        kind: 'case.merged',
        subject: caseSubject(subject),
        payload: { role, target: seen.target.ref, source: seen.source.ref, reason },
      });
    }
    const locked = new Map<number, CaseRecord | undefined>();
    for (const id of [targetId, sourceId].sort((a, b) => a - b)) {
      locked.set(id, await getCase(trx, id, { forUpdate: true }));
    }
    const { target, source } = check(locked.get(targetId), locked.get(sourceId));

    const moved = {
      events: await moveCaseEvents(trx, source.id, target.id),
      messages: await moveCaseMessages(trx, source.id, target.id),
      notes: await moveCaseNotes(trx, source.id, target.id),
    };
    const held = await interveneIn(
      trx,
      deps,
      source,
      { analyst: i.analyst, command: { kind: 'hold' }, note: reason },
      now,
    );
    const savedSource = await saveCase(trx, source.id, {
      state: held.record.state,
      at: now,
      mergedInto: target.id,
    });

    const s = copyCaseState(target.state);
    const from = source.state;
    s.subjects.addresses = [...new Set([...s.subjects.addresses, ...from.subjects.addresses])];
    s.subjects.urls = [...new Set([...s.subjects.urls, ...from.subjects.urls])];
    s.flags.endangering ||= from.flags.endangering;
    s.flags.harming ||= from.flags.harming;
    s.suspended ||= from.suspended;
    s.blocked ||= from.blocked;
    s.noticeKeys = [...s.noticeKeys, ...from.noticeKeys.filter((k) => !s.noticeKeys.includes(k))];
    if (
      from.noticeGivenAt !== undefined &&
      (s.noticeGivenAt === undefined || from.noticeGivenAt < s.noticeGivenAt)
    ) {
      s.noticeGivenAt = from.noticeGivenAt;
    }
    if (
      from.customerRespondedAt !== undefined &&
      (s.customerRespondedAt === undefined || from.customerRespondedAt > s.customerRespondedAt)
    ) {
      s.customerRespondedAt = from.customerRespondedAt;
    }
    const last = new Date(Math.max(target.lastEventAt.getTime(), source.lastEventAt.getTime()));
    const { record: savedTarget } = await applyCaseTransition(trx, deps, target, s, now, {
      actor,
      cause: 'analyst:merge',
      audit: { merged: source.ref, moved },
      update: {
        firstEventAt: new Date(Math.min(target.firstEventAt.getTime(), source.firstEventAt.getTime())),
        lastEventAt: last,
        windowEndsAt: new Date(Math.max(target.windowEndsAt.getTime(), source.windowEndsAt.getTime())),
      },
    });
    return { target: savedTarget, source: savedSource, moved };
  });
}
