import { z } from 'zod';
import { getCase } from '../../cases/case-repository.js';
import { addNote } from '../../enforcement/commands/add-note.js';
import { applyRemedy } from '../../enforcement/commands/apply-remedy.js';
import { approveStep } from '../../enforcement/commands/approve-step.js';
import { assignCase } from '../../enforcement/commands/assign-case.js';
import type { CommandResult } from '../../enforcement/commands/case-command.js';
import { dismissCase } from '../../enforcement/commands/dismiss-case.js';
import { holdCase } from '../../enforcement/commands/hold-case.js';
import { markCured } from '../../enforcement/commands/mark-cured.js';
import { reinstateCase } from '../../enforcement/commands/reinstate-case.js';
import { releaseCase } from '../../enforcement/commands/release-case.js';
import { skipStep } from '../../enforcement/commands/skip-step.js';
import { type EnforcementDeps, policyOfCase } from '../../enforcement/pipeline/case-transition.js';
import { AupError } from '../../errors.js';
import { type Remedy, remedies } from '../../policy/policy-schema.js';
import { type FormBody, field } from '../views/page-support.js';

/**
 * The console's case actions: one form field `action` names the analyst command (src/enforcement/commands), the
 * rest are its inputs. Actions that interrupt a customer's service (suspend, deny service, terminate, or
 * approving a step that does) need the form's confirmation box ticked: the script's dialog is a courtesy,
 * this check is the rule.
 */

export const caseActions = [
  'note',
  'assign',
  'notify',
  'hold',
  'release',
  'skip',
  'approve',
  'mark-cured',
  'dismiss',
  'suspend',
  'terminate',
  'remedy',
  'reinstate',
] as const;
export type CaseAction = (typeof caseActions)[number];

export const INTERRUPTING: ReadonlySet<Remedy> = new Set(['suspend', 'deny-service', 'terminate']);

const actionSchema = z.enum(caseActions);

export interface ActionOutcome {
  readonly message: string;
}

export async function runCaseAction(
  enforcement: EnforcementDeps,
  caseRef: string,
  analyst: string,
  body: FormBody,
): Promise<ActionOutcome> {
  const parsed = actionSchema.safeParse(field(body, 'action'));
  if (!parsed.success) throw new AupError('AUP_ERR_INPUT_INVALID', 'unknown case action');
  const action = parsed.data;
  const note = optional(field(body, 'note'));
  const base = { caseRef, analyst, ...(note === undefined ? {} : { note }) };
  const confirmed = field(body, 'confirm') === 'yes';
  const requireConfirmation = (what: string) => {
    if (!confirmed) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `${what} interrupts the customer's service: tick the confirmation box`,
      );
    }
  };
  const report = (result: CommandResult, done: string) => ({
    message: `${result.case.ref}: ${done} (now ${result.case.status.replace(/-/g, ' ')}; ${result.reason})`,
  });

  switch (action) {
    case 'note': {
      const text = field(body, 'text');
      const r = await addNote(enforcement, { caseRef, analyst, text });
      return { message: `${r.caseRef}: note added` };
    }
    case 'assign': {
      const assignee = field(body, 'assignee');
      const saved = await assignCase(enforcement, {
        caseRef,
        analyst,
        assignee: assignee === '' ? null : assignee,
      });
      return {
        message: `${saved.ref}: ${saved.assignedTo ? `assigned to ${saved.assignedTo}` : 'unassigned'}`,
      };
    }
    case 'notify':
      return report(await sendNotice(enforcement, caseRef, analyst, note), 'notice requested');
    case 'hold':
      return report(await holdCase(enforcement, base), 'held');
    case 'release':
      return report(await releaseCase(enforcement, base), 'released');
    case 'skip':
      return report(await skipStep(enforcement, base), 'step skipped');
    case 'approve': {
      const stepId = optional(field(body, 'stepId'));
      const record = await getCase(enforcement.db, caseRef);
      if (record && stepId) {
        const step = policyOfCase(enforcement, record).terms.enforcement.ladder.find((s) => s.id === stepId);
        if (step && INTERRUPTING.has(step.action)) requireConfirmation(`Step "${stepId}"`);
      }
      return report(
        await approveStep(enforcement, { ...base, ...(stepId ? { stepId } : {}) }),
        'step approved',
      );
    }
    case 'mark-cured':
      return report(await markCured(enforcement, base), 'marked cured');
    case 'dismiss':
      return report(await dismissCase(enforcement, { ...base, reason: field(body, 'reason') }), 'dismissed');
    case 'suspend':
      requireConfirmation('Suspension');
      return report(await applyRemedy(enforcement, { ...base, remedy: 'suspend' }), 'suspension requested');
    case 'terminate':
      requireConfirmation('Termination');
      return report(
        await applyRemedy(enforcement, { ...base, remedy: 'terminate' }),
        'termination requested',
      );
    case 'remedy': {
      const remedy = z.enum(remedies).safeParse(field(body, 'remedy'));
      if (!remedy.success) throw new AupError('AUP_ERR_INPUT_INVALID', 'choose a remedy');
      if (INTERRUPTING.has(remedy.data)) requireConfirmation(`"${remedy.data}"`);
      const amount = Number(field(body, 'feeAmount'));
      const fee =
        remedy.data === 'fee' && Number.isFinite(amount) && amount > 0
          ? {
              amount,
              currency: (field(body, 'feeCurrency') || 'USD').toUpperCase(),
              basis: field(body, 'feeBasis') || 'policy fee',
            }
          : undefined;
      return report(
        await applyRemedy(enforcement, { ...base, remedy: remedy.data, ...(fee ? { fee } : {}) }),
        `${remedy.data} requested`,
      );
    }
    case 'reinstate':
      return report(await reinstateCase(enforcement, base), 'reinstatement requested');
  }
}

/**
 * "Send the notice": approve the proposed notice step when the ladder waits for one, else take the policy's
 * notice remedy (`notify`, or `warn` where that is what the policy reserves) now.
 */
export async function sendNotice(
  enforcement: EnforcementDeps,
  caseRef: string,
  analyst: string,
  note?: string,
): Promise<CommandResult> {
  const record = await getCase(enforcement.db, caseRef);
  if (!record) throw new AupError('AUP_ERR_NOT_FOUND', `case ${caseRef} does not exist`);
  const terms = policyOfCase(enforcement, record).terms.enforcement;
  const waiting = record.state.ladder.awaitingApproval;
  const base = { caseRef, analyst, ...(note === undefined ? {} : { note }) };
  if (waiting) {
    const step = terms.ladder.find((s) => s.id === waiting.stepId);
    if (step && (step.action === 'notify' || step.action === 'warn')) {
      return approveStep(enforcement, { ...base, stepId: waiting.stepId });
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
  return applyRemedy(enforcement, { ...base, remedy });
}

function optional(text: string): string | undefined {
  return text === '' ? undefined : text;
}
