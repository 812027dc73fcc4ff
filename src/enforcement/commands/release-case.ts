import { type NoteOnlyCommandInput, noteOnlyCommand, noteOnlyCommandSchema } from './case-command.js';

/** Release: undo a hold, or resume the ladder after reviewing a customer's reply. */
export const releaseCaseSchema = noteOnlyCommandSchema;
export type ReleaseCaseInput = NoteOnlyCommandInput;
export const releaseCase = noteOnlyCommand('release');
