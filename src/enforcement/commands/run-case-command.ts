import type { CaseRecord } from '../../cases/case-repository.js';
import { AupError } from '../../errors.js';
import { addNote } from './add-note.js';
import { applyRemedy } from './apply-remedy.js';
import { approveStep } from './approve-step.js';
import { assignCase } from './assign-case.js';
import type { CaseCommandDeps } from './case-command.js';
import { dismissCase } from './dismiss-case.js';
import { holdCase } from './hold-case.js';
import { markCured } from './mark-cured.js';
import { mergeCases } from './merge-cases.js';
import { reinstateCase } from './reinstate-case.js';
import { releaseCase } from './release-case.js';
import { skipStep } from './skip-step.js';
import { splitCase } from './split-case.js';

/**
 * The analyst commands by name, for the CLI (`aupdesk cases act <ref> <command>`) and the console: one
 * flat options bag in, one uniform outcome out. Each command still validates its own input.
 */

export const caseCommandNames = [
  'add-note',
  'hold',
  'release',
  'skip-step',
  'dismiss',
  'mark-cured',
  'reinstate',
  'approve-step',
  'apply-remedy',
  'assign',
  'merge',
  'split',
] as const;
export type CaseCommandName = (typeof caseCommandNames)[number];

export interface CaseCommandOptions {
  readonly analyst: string;
  readonly reason?: string | undefined;
  readonly note?: string | undefined;
  /** add-note's text (falls back to `reason`). */
  readonly text?: string | undefined;
  readonly step?: string | undefined;
  readonly remedy?: string | undefined;
  readonly fee?: { amount: number; currency: string; basis: string } | undefined;
  readonly assignee?: string | null | undefined;
  /** merge: the case this one is merged into. */
  readonly into?: string | undefined;
  /** split: the event ids to move to a new case. */
  readonly events?: readonly number[] | undefined;
}

export interface CaseCommandOutcome {
  readonly command: CaseCommandName;
  readonly case: string;
  readonly status: string;
  readonly detail: string;
  readonly actions: readonly string[];
  /** merge: the surviving case; split: the new case. */
  readonly related?: string;
}

function outcome(
  command: CaseCommandName,
  record: CaseRecord,
  detail: string,
  actions: readonly string[] = [],
  related?: string,
): CaseCommandOutcome {
  return {
    command,
    case: record.ref,
    status: record.status,
    detail,
    actions,
    ...(related ? { related } : {}),
  };
}

export async function runCaseCommand(
  deps: CaseCommandDeps,
  caseRef: string,
  name: string,
  o: CaseCommandOptions,
): Promise<CaseCommandOutcome> {
  if (!(caseCommandNames as readonly string[]).includes(name)) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `unknown case command "${name}" (commands: ${caseCommandNames.join(', ')})`,
    );
  }
  const command = name as CaseCommandName;
  const base = { caseRef, analyst: o.analyst, ...(o.note === undefined ? {} : { note: o.note }) };
  const viaEngine = async (
    run: Promise<{ case: CaseRecord; reason: string; actions: readonly string[] }>,
  ) => {
    const r = await run;
    return outcome(command, r.case, r.reason, r.actions);
  };
  switch (command) {
    case 'add-note': {
      const { noteId, caseRef: ref } = await addNote(deps, {
        caseRef,
        analyst: o.analyst,
        text: o.text ?? o.reason ?? o.note ?? '',
      });
      return { command, case: ref, status: '', detail: `note ${noteId} added`, actions: [] };
    }
    case 'hold':
      return viaEngine(holdCase(deps, base));
    case 'release':
      return viaEngine(releaseCase(deps, base));
    case 'skip-step':
      return viaEngine(skipStep(deps, base));
    case 'dismiss':
      return viaEngine(dismissCase(deps, { ...base, reason: o.reason ?? '' }));
    case 'mark-cured':
      return viaEngine(markCured(deps, base));
    case 'reinstate':
      return viaEngine(reinstateCase(deps, base));
    case 'approve-step':
      return viaEngine(
        approveStep(deps, {
          ...base,
          ...(o.step ? { stepId: o.step } : {}),
          ...(o.fee ? { fee: o.fee } : {}),
        }),
      );
    case 'apply-remedy':
      return viaEngine(
        applyRemedy(deps, { ...base, remedy: (o.remedy ?? '') as 'warn', ...(o.fee ? { fee: o.fee } : {}) }),
      );
    case 'assign': {
      const record = await assignCase(deps, { caseRef, analyst: o.analyst, assignee: o.assignee ?? null });
      return outcome(command, record, record.assignedTo ? `assigned to ${record.assignedTo}` : 'unassigned');
    }
    case 'merge': {
      if (!o.into)
        throw new AupError('AUP_ERR_INPUT_INVALID', 'merge: name the case to merge into (--into <ref>)');
      const r = await mergeCases(deps, {
        target: o.into,
        source: caseRef,
        analyst: o.analyst,
        ...(o.reason ? { reason: o.reason } : {}),
      });
      return outcome(
        command,
        r.source,
        `merged into ${r.target.ref} (${r.moved.events} events, ${r.moved.messages} messages, ${r.moved.notes} notes moved)`,
        [],
        r.target.ref,
      );
    }
    case 'split': {
      const r = await splitCase(deps, {
        caseRef,
        analyst: o.analyst,
        eventIds: [...(o.events ?? [])],
        ...(o.note ? { note: o.note } : {}),
      });
      return outcome(command, r.original, `events moved to new case ${r.created.ref}`, [], r.created.ref);
    }
  }
}
