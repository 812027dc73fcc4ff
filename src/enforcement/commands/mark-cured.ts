import { type NoteOnlyCommandInput, noteOnlyCommand, noteOnlyCommandSchema } from './case-command.js';

/** Mark cured: the customer fixed it; the ladder stops (reinstatement per the policy's terms). */
export const markCuredSchema = noteOnlyCommandSchema;
export type MarkCuredInput = NoteOnlyCommandInput;
export const markCured = noteOnlyCommand('mark-cured');
