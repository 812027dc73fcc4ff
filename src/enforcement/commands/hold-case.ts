import { z } from 'zod';
import {
  analystSchema,
  type CaseCommandDeps,
  type CommandResult,
  caseRefSchema,
  intervene,
  parseInput,
} from './case-command.js';

/** Hold: the case is frozen; no step is taken until an analyst releases it (due steps are cancelled). */
export const holdCaseSchema = z
  .object({ caseRef: caseRefSchema, analyst: analystSchema, note: z.string().max(20_000).optional() })
  .strict();
export type HoldCaseInput = z.input<typeof holdCaseSchema>;

export async function holdCase(deps: CaseCommandDeps, input: HoldCaseInput): Promise<CommandResult> {
  const i = parseInput(holdCaseSchema, input, 'hold');
  return intervene(deps, { caseRef: i.caseRef, analyst: i.analyst, note: i.note, command: { kind: 'hold' } });
}
