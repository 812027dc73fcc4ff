import { z } from 'zod';
import {
  analystSchema,
  type CaseCommandDeps,
  type CommandResult,
  caseRefSchema,
  intervene,
  parseInput,
} from './case-command.js';

/** Skip the next pending ladder step (or the step proposed for approval). */
export const skipStepSchema = z
  .object({ caseRef: caseRefSchema, analyst: analystSchema, note: z.string().max(20_000).optional() })
  .strict();
export type SkipStepInput = z.input<typeof skipStepSchema>;

export async function skipStep(deps: CaseCommandDeps, input: SkipStepInput): Promise<CommandResult> {
  const i = parseInput(skipStepSchema, input, 'skip-step');
  return intervene(deps, {
    caseRef: i.caseRef,
    analyst: i.analyst,
    note: i.note,
    command: { kind: 'skip-step' },
  });
}
