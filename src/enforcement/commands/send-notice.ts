import { getCase } from '../../cases/case-repository.js';
import { AupError } from '../../errors.js';
import type { Remedy } from '../../policy/policy-schema.js';
import { policyOfCase } from '../pipeline/case-transition.js';
import { applyRemedy } from './apply-remedy.js';
import { approveStep } from './approve-step.js';
import type { CaseCommandDeps, CommandResult } from './case-command.js';

/**
 * "Send the notice": approve the proposed notice step when the ladder waits for one, else take the policy's
 * notice remedy (`notify`, or `warn` where that is what the policy reserves) now. Unlike `notify`, which
 * takes the notify remedy whatever the ladder proposes, this is the analyst's "tell the customer" button.
 */
export async function sendNotice(
  deps: CaseCommandDeps,
  input: { caseRef: string; analyst: string; note?: string | undefined },
): Promise<CommandResult> {
  const { caseRef, analyst, note } = input;
  const record = await getCase(deps.db, caseRef);
  if (!record) throw new AupError('AUP_ERR_NOT_FOUND', `case ${caseRef} does not exist`);
  const terms = policyOfCase(deps, record).terms.enforcement;
  const waiting = record.state.ladder.awaitingApproval;
  const base = { caseRef, analyst, ...(note === undefined ? {} : { note }) };
  if (waiting) {
    const step = terms.ladder.find((s) => s.id === waiting.stepId);
    if (step && (step.action === 'notify' || step.action === 'warn')) {
      return approveStep(deps, { ...base, stepId: waiting.stepId });
    }
  }
  const remedy: Remedy | undefined = terms.remedies.includes('notify')
    ? 'notify'
    : terms.remedies.includes('warn')
      ? 'warn'
      : undefined;
  if (!remedy) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `the policy of case ${record.ref} reserves no notice remedy`);
  }
  return applyRemedy(deps, { ...base, remedy });
}
