import { z } from 'zod';
import { appendAudit } from '../../audit/audit-log.js';
import { caseSubject } from '../../cases/case-ref.js';
import { requireCase } from '../../cases/case-repository.js';
import { addCaseNote } from '../../cases/message-repository.js';
import { actorOf, analystSchema, type CaseCommandDeps, caseRefSchema, parseInput } from './case-command.js';

/** An analyst's note on a case (merged cases take notes too: the note follows the case's history). */
export const addNoteSchema = z
  .object({
    caseRef: caseRefSchema,
    analyst: analystSchema,
    text: z.string().trim().min(1, 'the note is empty').max(20_000),
  })
  .strict();
export type AddNoteInput = z.input<typeof addNoteSchema>;

export async function addNote(
  deps: CaseCommandDeps,
  input: AddNoteInput,
): Promise<{ noteId: number; caseRef: string }> {
  const i = parseInput(addNoteSchema, input, 'add-note');
  const now = deps.clock.now();
  return deps.db.transaction().execute(async (trx) => {
    const record = await requireCase(trx, i.caseRef);
    // Audit first: the note's foreign key share-locks the case row (the lock order of case-transition.ts).
    await appendAudit(trx, {
      at: now,
      actor: actorOf(i.analyst),
      kind: 'case.note',
      subject: caseSubject(record.id),
      payload: { case: record.ref, author: i.analyst, text: i.text },
    });
    const noteId = await addCaseNote(trx, { caseId: record.id, author: i.analyst, text: i.text, at: now });
    return { noteId, caseRef: record.ref };
  });
}
