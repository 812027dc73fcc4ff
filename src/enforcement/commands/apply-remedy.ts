import { z } from 'zod';
import { feeSchema } from '../../cases/case-state.js';
import { remedies } from '../../policy/policy-schema.js';
import {
  analystSchema,
  type CaseCommandDeps,
  type CommandResult,
  caseRefSchema,
  intervene,
  parseInput,
} from './case-command.js';

/**
 * Take one remedy the policy reserves, now, outside the ladder (Injazat: "as the provider chooses"). The
 * engine refuses a remedy the policy does not reserve, and still sends a required notice first.
 */
export const applyRemedySchema = z
  .object({
    caseRef: caseRefSchema,
    analyst: analystSchema,
    note: z.string().max(20_000).optional(),
    remedy: z.enum(remedies),
    fee: feeSchema.optional(),
  })
  .strict();
export type ApplyRemedyInput = z.input<typeof applyRemedySchema>;

export async function applyRemedy(deps: CaseCommandDeps, input: ApplyRemedyInput): Promise<CommandResult> {
  const i = parseInput(applyRemedySchema, input, 'apply-remedy');
  return intervene(deps, {
    caseRef: i.caseRef,
    analyst: i.analyst,
    note: i.note,
    command: { kind: 'apply-remedy', remedy: i.remedy, ...(i.fee === undefined ? {} : { fee: i.fee }) },
  });
}
