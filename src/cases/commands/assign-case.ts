import { z } from 'zod';
import { appendAudit } from '../../audit/audit-log.js';
import { caseSubject } from '../case-ref.js';
import { type CaseRecord, saveCase } from '../case-repository.js';
import {
  actorOf,
  analystSchema,
  type CaseCommandDeps,
  caseRefSchema,
  lockOpenCase,
  parseInput,
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
    const record = await lockOpenCase(trx, i.caseRef);
    const saved = await saveCase(trx, record.id, { state: record.state, at: now, assignedTo: i.assignee });
    await appendAudit(trx, {
      at: now,
      actor: actorOf(i.analyst),
      kind: 'case.assigned',
      subject: caseSubject(record.id),
      payload: { case: record.ref, from: record.assignedTo, to: i.assignee },
    });
    return saved;
  });
}
