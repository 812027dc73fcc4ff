import { type NoteOnlyCommandInput, noteOnlyCommand, noteOnlyCommandSchema } from './case-command.js';

/** Reinstate: lift this case's suspension and blocks. */
export const reinstateCaseSchema = noteOnlyCommandSchema;
export type ReinstateCaseInput = NoteOnlyCommandInput;
export const reinstateCase = noteOnlyCommand('reinstate');
