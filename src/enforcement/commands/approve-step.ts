import { z } from 'zod';
import { feeSchema } from '../../cases/case-state.js';
import {
  analystSchema,
  type CaseCommandDeps,
  type CommandResult,
  caseRefSchema,
  intervene,
  parseInput,
} from './case-command.js';

/**
 * Approve the step the policy leaves to the provider's discretion (`approval: analyst`). `stepId`, when given,
 * must name the proposed step (a stale click cannot approve a different one); `fee` supplies the amount of a
 * fee step the policy names none for.
 */
export const approveStepSchema = z
  .object({
    caseRef: caseRefSchema,
    analyst: analystSchema,
    note: z.string().max(20_000).optional(),
    stepId: z.string().trim().min(1).optional(),
    fee: feeSchema.optional(),
  })
  .strict();
export type ApproveStepInput = z.input<typeof approveStepSchema>;

export async function approveStep(deps: CaseCommandDeps, input: ApproveStepInput): Promise<CommandResult> {
  const i = parseInput(approveStepSchema, input, 'approve-step');
  return intervene(deps, {
    caseRef: i.caseRef,
    analyst: i.analyst,
    note: i.note,
    command: {
      kind: 'approve-step',
      ...(i.stepId === undefined ? {} : { stepId: i.stepId }),
      ...(i.fee === undefined ? {} : { fee: i.fee }),
    },
  });
}
