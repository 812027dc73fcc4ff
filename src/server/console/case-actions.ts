import {
  type CaseCommandResult,
  caseCommandInput,
  caseCommandNamed,
} from '../../enforcement/commands/case-commands.js';
import type { EnforcementDeps } from '../../enforcement/pipeline/case-transition.js';
import { AupError } from '../../errors.js';
import { type FormBody, field } from '../views/page-support.js';

/**
 * The console's case actions: the form field `action` names a command of the case-command table
 * (src/enforcement/commands/case-commands.ts), the other fields are its input. Commands that interrupt a
 * customer's service (suspend, deny service, terminate, or approving a step that does) need the form's
 * confirmation box ticked: the script's dialog is a courtesy, this check is the rule.
 */

/** The commands the queue offers for several cases at once (none of them interrupts a service). */
export const BULK_ACTIONS: ReadonlySet<string> = new Set(['assign', 'hold', 'send-notice', 'dismiss']);

export interface ActionOutcome {
  readonly message: string;
}

/** The command's input from the form's text fields (an HTML form sends strings; empty means not given). */
export function inputOfForm(body: FormBody): Record<string, unknown> {
  const optional = (name: string) => {
    const text = field(body, name);
    return text === '' ? undefined : text;
  };
  const amount = Number(field(body, 'feeAmount'));
  const fee =
    field(body, 'remedy') === 'fee' && Number.isFinite(amount) && amount > 0
      ? {
          amount,
          currency: (field(body, 'feeCurrency') || 'USD').toUpperCase(),
          basis: field(body, 'feeBasis') || 'policy fee',
        }
      : undefined;
  const assignee = field(body, 'assignee');
  return {
    note: optional('note'),
    text: field(body, 'text'),
    reason: field(body, 'reason'),
    stepId: optional('stepId'),
    remedy: optional('remedy'),
    assignee: assignee === '' ? null : assignee,
    into: optional('into'),
    ...(fee ? { fee } : {}),
  };
}

export async function runCaseAction(
  enforcement: EnforcementDeps,
  caseRef: string,
  analyst: string,
  body: FormBody,
): Promise<ActionOutcome> {
  const name = field(body, 'action');
  const entry = (() => {
    try {
      return caseCommandNamed(name);
    } catch {
      throw new AupError('AUP_ERR_INPUT_INVALID', 'unknown case action');
    }
  })();
  const input = caseCommandInput(entry, inputOfForm(body));
  const question = await entry.confirmation?.(enforcement, caseRef, input);
  if (question !== undefined && field(body, 'confirm') !== 'yes') {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `${question} interrupts the customer's service: tick the confirmation box`,
    );
  }
  const result = await entry.run(enforcement, { ...input, caseRef, analyst });
  const done = typeof entry.done === 'function' ? entry.done(input) : entry.done;
  return { message: messageOf(result, done) };
}

/** `AUP-000001: held (now on hold; held by alice)`; a note says it was added; others say what they did. */
function messageOf(result: CaseCommandResult, done: string): string {
  if (result.noteId !== undefined) return `${result.caseRef}: ${done}`;
  if (!result.byEngine || !result.case) return `${result.caseRef}: ${result.detail}`;
  return `${result.caseRef}: ${done} (now ${result.case.status.replace(/-/g, ' ')}; ${result.detail})`;
}
