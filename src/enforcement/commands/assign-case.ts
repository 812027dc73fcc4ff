import { z } from 'zod';
import { appendAudit } from '../../audit/audit-log.js';
import { caseSubject } from '../../cases/case-ref.js';
import { type CaseRecord, saveCase } from '../../cases/case-repository.js';
import {
  actorOf,
  analystSchema,
  type CaseCommandDeps,
  caseRefSchema,
  lockOpenCase,
  parseInput,
  requireOpenCase,
} from './case-command.js';

/** Assign a case to an analyst (or unassign it with `assignee: null`). */
export const assignCaseSchema = z
  .object({ caseRef: caseRefSchema, analyst: analystSchema, assignee: analystSchema.nullable() })
  .strict();
export type AssignCaseInput = z.input<typeof assignCaseSchema>;

export async function assignCase(deps: CaseCommandDeps, input: AssignCaseInput): Promise<CaseRecord> {
  const i = parseInput(assignCaseSchema, input, 'assign');
  const now = deps.clock.now();
  return deps.db.transaction().execute(async (trx) => {
    const peek = await requireOpenCase(trx, i.caseRef);
    // Audit first, then the row lock (the lock order of case-transition.ts).
    await appendAudit(trx, {
      at: now,
      actor: actorOf(i.analyst),
      kind: 'case.assigned',
      subject: caseSubject(peek.id),
      payload: { case: peek.ref, from: peek.assignedTo, to: i.assignee },
    });
    const record = await lockOpenCase(trx, i.caseRef);
    const saved = await saveCase(trx, record.id, { state: record.state, at: now, assignedTo: i.assignee });
    return saved;
  });
}
