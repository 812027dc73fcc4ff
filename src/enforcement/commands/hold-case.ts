import { type NoteOnlyCommandInput, noteOnlyCommand, noteOnlyCommandSchema } from './case-command.js';

/** Hold: the case is frozen; no step is taken until an analyst releases it (due steps are cancelled). */
export const holdCaseSchema = noteOnlyCommandSchema;
export type HoldCaseInput = NoteOnlyCommandInput;
export const holdCase = noteOnlyCommand('hold');
