import { z } from 'zod';
import {
  analystSchema,
  type CaseCommandDeps,
  type CommandResult,
  caseRefSchema,
  intervene,
  parseInput,
} from './case-command.js';

/** Mark cured: the customer fixed it; the ladder stops (reinstatement per the policy's terms). */
export const markCuredSchema = z
  .object({ caseRef: caseRefSchema, analyst: analystSchema, note: z.string().max(20_000).optional() })
  .strict();
export type MarkCuredInput = z.input<typeof markCuredSchema>;

export async function markCured(deps: CaseCommandDeps, input: MarkCuredInput): Promise<CommandResult> {
  const i = parseInput(markCuredSchema, input, 'mark-cured');
  return intervene(deps, {
    caseRef: i.caseRef,
    analyst: i.analyst,
    note: i.note,
    command: { kind: 'mark-cured' },
  });
}
