import { z } from 'zod';
import { getCase } from '../../cases/case-repository.js';
import { feeSchema } from '../../cases/case-state.js';
import { AupError } from '../../errors.js';
import { type Remedy, remedies } from '../../policy/policy-schema.js';
import { policyOfCase } from '../pipeline/case-transition.js';
import { addNote } from './add-note.js';
import { applyRemedy } from './apply-remedy.js';
import { approveStep } from './approve-step.js';
import { assignCase } from './assign-case.js';
import type { CaseCommandDeps, CommandResult } from './case-command.js';
import { dismissCase } from './dismiss-case.js';
import { holdCase } from './hold-case.js';
import { markCured } from './mark-cured.js';
import { mergeCases } from './merge-cases.js';
import { reinstateCase } from './reinstate-case.js';
import { releaseCase } from './release-case.js';
import { sendNotice } from './send-notice.js';
import { skipStep } from './skip-step.js';
import { splitCase } from './split-case.js';

/**
 * The analyst's case commands, one table with one set of names. Every surface is derived from it:
 * the CLI (`aupdesk cases act <ref> <name>`), the console (a form whose `action` field is the name) and
 * the API (`POST /api/v1/cases/:ref/<name>`, the input as the JSON body). A new command is one entry here.
 *
 * `input` is what the command takes beyond the case and the analyst, as every surface hands it over; each
 * command function (one per file beside this one) still validates its own input, so the rules live there.
 */

/** Remedies that interrupt a customer's service: the console asks for a ticked confirmation first. */
export const INTERRUPTING: ReadonlySet<Remedy> = new Set(['suspend', 'deny-service', 'terminate']);

/** What a command came to, the same for every surface (each formats it its own way). */
export interface CaseCommandResult {
  readonly caseRef: string;
  /** The case after the command; absent when the command changes no case (a note). */
  readonly case?: CommandResult['case'];
  /** The engine's account of what happened, or the command's own (`assigned to bob`). */
  readonly detail: string;
  /** Outbox keys the command queued. */
  readonly actions: readonly string[];
  /** merge: the surviving case; split: the new case. */
  readonly related?: string;
  /** add-note: the note's id. */
  readonly noteId?: number;
  /** The ladder engine took the command: `detail` is its account, and the console says what was done. */
  readonly byEngine: boolean;
}

export interface CaseCommand<S extends z.ZodObject = z.ZodObject> {
  readonly name: string;
  /** One line: what the command does (CLI help, API summary). */
  readonly summary: string;
  readonly input: S;
  /** The console's flash words for a command the engine took ("held", "step approved"). */
  readonly done: string | ((input: z.output<S>) => string);
  /** Not routed by the API under its name (add-note is the resource route `POST /cases/:ref/notes`). */
  readonly apiRoute?: false;
  /**
   * What the console must have confirmed before it runs the command (a remedy that interrupts service):
   * the words of the question's subject, or undefined when nothing needs confirming.
   */
  confirmation?(deps: CaseCommandDeps, caseRef: string, input: z.output<S>): Promise<string | undefined>;
  run(
    deps: CaseCommandDeps,
    input: { caseRef: string; analyst: string } & z.output<S>,
  ): Promise<CaseCommandResult>;
}

/** Keeps each entry's input type attached to its `run` while the table holds them side by side. */
function command<S extends z.ZodObject>(entry: CaseCommand<S>): CaseCommand {
  return entry as unknown as CaseCommand;
}

const note = { note: z.string().max(20_000).optional().describe('why, for the record') };
const noteOnly = z.object(note);

function ofEngine(result: CommandResult): CaseCommandResult {
  return {
    caseRef: result.case.ref,
    case: result.case,
    detail: result.reason,
    actions: result.actions,
    byEngine: true,
  };
}

export const caseCommands: readonly CaseCommand[] = [
  command({
    name: 'add-note',
    summary: 'Add an analyst note',
    input: z.object({ text: z.string().max(20_000).describe('the note') }),
    done: 'note added',
    apiRoute: false,
    async run(deps, i) {
      const r = await addNote(deps, { caseRef: i.caseRef, analyst: i.analyst, text: i.text });
      return {
        caseRef: r.caseRef,
        detail: `note ${r.noteId} added`,
        actions: [],
        noteId: r.noteId,
        byEngine: false,
      };
    },
  }),
  command({
    name: 'assign',
    summary: 'Assign the case to an analyst (an empty assignee unassigns it)',
    input: z.object({
      assignee: z.string().max(100).nullable().describe('who takes the case; null unassigns'),
    }),
    done: 'assigned',
    async run(deps, i) {
      const record = await assignCase(deps, { caseRef: i.caseRef, analyst: i.analyst, assignee: i.assignee });
      const detail = record.assignedTo ? `assigned to ${record.assignedTo}` : 'unassigned';
      return { caseRef: record.ref, case: record, detail, actions: [], byEngine: false };
    },
  }),
  command({
    name: 'send-notice',
    summary: 'Tell the customer: approve the proposed notice step, else take the notice remedy now',
    input: noteOnly,
    done: 'notice requested',
    run: async (deps, i) => ofEngine(await sendNotice(deps, i)),
  }),
  command({
    name: 'notify',
    summary: 'Send the notice now (the notify remedy)',
    input: noteOnly,
    done: 'notice requested',
    run: async (deps, i) => ofEngine(await applyRemedy(deps, { ...i, remedy: 'notify' })),
  }),
  command({
    name: 'hold',
    summary: 'Freeze the case: no ladder step until released',
    input: noteOnly,
    done: 'held',
    run: async (deps, i) => ofEngine(await holdCase(deps, i)),
  }),
  command({
    name: 'release',
    summary: 'Release a hold, or resume after reviewing a customer reply',
    input: noteOnly,
    done: 'released',
    run: async (deps, i) => ofEngine(await releaseCase(deps, i)),
  }),
  command({
    name: 'skip-step',
    summary: 'Do not take the next pending ladder step',
    input: noteOnly,
    done: 'step skipped',
    run: async (deps, i) => ofEngine(await skipStep(deps, i)),
  }),
  command({
    name: 'approve-step',
    summary: 'Confirm a step the policy leaves to the analyst',
    input: z.object({ ...note, stepId: z.string().max(200).optional(), fee: feeSchema.optional() }),
    done: 'step approved',
    async confirmation(deps, caseRef, i) {
      const record = await getCase(deps.db, caseRef);
      if (!record || !i.stepId) return undefined;
      const step = policyOfCase(deps, record).terms.enforcement.ladder.find((s) => s.id === i.stepId);
      return step && INTERRUPTING.has(step.action) ? `Step "${i.stepId}"` : undefined;
    },
    run: async (deps, i) => ofEngine(await approveStep(deps, i)),
  }),
  command({
    name: 'mark-cured',
    summary: 'The customer fixed it: no further steps',
    input: noteOnly,
    done: 'marked cured',
    run: async (deps, i) => ofEngine(await markCured(deps, i)),
  }),
  command({
    name: 'dismiss',
    summary: 'Close without (further) action; a suspension it caused is lifted',
    input: z.object({
      ...note,
      reason: z
        .string({ error: 'a dismissal needs a reason' })
        .trim()
        .min(1, 'a dismissal needs a reason')
        .max(2_000),
    }),
    done: 'dismissed',
    run: async (deps, i) => ofEngine(await dismissCase(deps, i)),
  }),
  command({
    name: 'suspend',
    summary: 'Suspend the service now (the suspend remedy; a required notice goes first)',
    input: noteOnly,
    done: 'suspension requested',
    confirmation: async () => 'Suspension',
    run: async (deps, i) => ofEngine(await applyRemedy(deps, { ...i, remedy: 'suspend' })),
  }),
  command({
    name: 'terminate',
    summary: 'Terminate the service now (the terminate remedy)',
    input: noteOnly,
    done: 'termination requested',
    confirmation: async () => 'Termination',
    run: async (deps, i) => ofEngine(await applyRemedy(deps, { ...i, remedy: 'terminate' })),
  }),
  command({
    name: 'apply-remedy',
    summary: 'Take one remedy the policy reserves, now, outside the ladder',
    input: z.object({
      ...note,
      remedy: z.enum(remedies, { error: 'choose a remedy' }),
      fee: feeSchema.optional(),
    }),
    done: (i) => `${i.remedy} requested`,
    confirmation: async (_deps, _ref, i) => (INTERRUPTING.has(i.remedy) ? `"${i.remedy}"` : undefined),
    run: async (deps, i) => ofEngine(await applyRemedy(deps, i)),
  }),
  command({
    name: 'reinstate',
    summary: "Lift this case's suspension and blocks",
    input: noteOnly,
    done: 'reinstatement requested',
    run: async (deps, i) => ofEngine(await reinstateCase(deps, i)),
  }),
  command({
    name: 'merge',
    summary: 'Merge this case into another (its events, messages and notes move there)',
    input: z.object({
      into: z.string({ error: 'name the case to merge into (--into <ref>)' }).max(100),
      reason: z.string().max(2_000).optional(),
    }),
    done: 'merged',
    async run(deps, i) {
      const r = await mergeCases(deps, {
        target: i.into,
        source: i.caseRef,
        analyst: i.analyst,
        ...(i.reason ? { reason: i.reason } : {}),
      });
      return {
        caseRef: r.source.ref,
        case: r.source,
        detail: `merged into ${r.target.ref} (${r.moved.events} events, ${r.moved.messages} messages, ${r.moved.notes} notes moved)`,
        actions: [],
        related: r.target.ref,
        byEngine: false,
      };
    },
  }),
  command({
    name: 'split',
    summary: 'Move some of the case’s events to a new case',
    input: z.object({ ...note, events: z.array(z.number().int().positive()).describe('event ids to move') }),
    done: 'split',
    async run(deps, i) {
      const r = await splitCase(deps, {
        caseRef: i.caseRef,
        analyst: i.analyst,
        eventIds: [...i.events],
        ...(i.note ? { note: i.note } : {}),
      });
      return {
        caseRef: r.original.ref,
        case: r.original,
        detail: `events moved to new case ${r.created.ref}`,
        actions: [],
        related: r.created.ref,
        byEngine: false,
      };
    },
  }),
];

export const caseCommandNames: readonly string[] = caseCommands.map((c) => c.name);

/** The command of this name; `AUP_ERR_INPUT_INVALID` naming the commands there are when none is. */
export function caseCommandNamed(name: string): CaseCommand {
  const found = caseCommands.find((c) => c.name === name);
  if (!found) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `unknown case command "${name}" (commands: ${caseCommandNames.join(', ')})`,
    );
  }
  return found;
}

/** The command's input from what a surface collected (unknown keys are dropped), or a clear input error. */
export function caseCommandInput(entry: CaseCommand, raw: unknown): z.output<z.ZodObject> {
  const parsed = entry.input.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.');
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `${entry.name}: ${where ? `${where}: ` : ''}${issue?.message ?? 'invalid input'}`,
    );
  }
  return parsed.data;
}

/** Runs a command by name for a surface that collected its input loosely (the CLI, a console form). */
export async function runCaseCommand(
  deps: CaseCommandDeps,
  caseRef: string,
  analyst: string,
  name: string,
  raw: unknown,
): Promise<CaseCommandResult> {
  const entry = caseCommandNamed(name);
  return entry.run(deps, { ...caseCommandInput(entry, raw), caseRef, analyst });
}
