import { type NoteOnlyCommandInput, noteOnlyCommand, noteOnlyCommandSchema } from './case-command.js';

/** Skip the next pending ladder step (or the step proposed for approval). */
export const skipStepSchema = noteOnlyCommandSchema;
export type SkipStepInput = NoteOnlyCommandInput;
export const skipStep = noteOnlyCommand('skip-step');
