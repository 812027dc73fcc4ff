import { z } from 'zod';
import {
  analystSchema,
  type CaseCommandDeps,
  type CommandResult,
  caseRefSchema,
  intervene,
  parseInput,
} from './case-command.js';

/** Release: undo a hold, or resume the ladder after reviewing a customer's reply. */
export const releaseCaseSchema = z
  .object({ caseRef: caseRefSchema, analyst: analystSchema, note: z.string().max(20_000).optional() })
  .strict();
export type ReleaseCaseInput = z.input<typeof releaseCaseSchema>;

export async function releaseCase(deps: CaseCommandDeps, input: ReleaseCaseInput): Promise<CommandResult> {
  const i = parseInput(releaseCaseSchema, input, 'release');
  return intervene(deps, {
    caseRef: i.caseRef,
    analyst: i.analyst,
    note: i.note,
    command: { kind: 'release' },
  });
}
