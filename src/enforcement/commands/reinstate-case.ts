import { z } from 'zod';
import {
  analystSchema,
  type CaseCommandDeps,
  type CommandResult,
  caseRefSchema,
  intervene,
  parseInput,
} from './case-command.js';

/** Reinstate: lift this case's suspension and blocks. */
export const reinstateCaseSchema = z
  .object({ caseRef: caseRefSchema, analyst: analystSchema, note: z.string().max(20_000).optional() })
  .strict();
export type ReinstateCaseInput = z.input<typeof reinstateCaseSchema>;

export async function reinstateCase(
  deps: CaseCommandDeps,
  input: ReinstateCaseInput,
): Promise<CommandResult> {
  const i = parseInput(reinstateCaseSchema, input, 'reinstate');
  return intervene(deps, {
    caseRef: i.caseRef,
    analyst: i.analyst,
    note: i.note,
    command: { kind: 'reinstate' },
  });
}
