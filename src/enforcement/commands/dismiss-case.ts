import { z } from 'zod';
import {
  analystSchema,
  type CaseCommandDeps,
  type CommandResult,
  caseRefSchema,
  intervene,
  parseInput,
} from './case-command.js';

/** Dismiss with a reason: the case closes without (further) action; a suspension it caused is lifted. */
export const dismissCaseSchema = z
  .object({
    caseRef: caseRefSchema,
    analyst: analystSchema,
    note: z.string().max(20_000).optional(),
    reason: z.string().trim().min(1, 'a dismissal needs a reason').max(2_000),
  })
  .strict();
export type DismissCaseInput = z.input<typeof dismissCaseSchema>;

export async function dismissCase(deps: CaseCommandDeps, input: DismissCaseInput): Promise<CommandResult> {
  const i = parseInput(dismissCaseSchema, input, 'dismiss');
  return intervene(deps, {
    caseRef: i.caseRef,
    analyst: i.analyst,
    note: i.note,
    command: { kind: 'dismiss', reason: i.reason },
  });
}
