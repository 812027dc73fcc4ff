/**
 * How a command ends. Exit codes: 0 ok, 1 the command ran and found a problem (invalid policy, failed
 * verify), 2 usage/input error. In their own file because the commands and `main` (which registers the
 * commands and turns a `CliExit` into the process's code) both need them.
 */
export const EXIT_OK = 0;
export const EXIT_FINDING = 1;
export const EXIT_USAGE = 2;

/** Thrown by a command to exit with a code without printing a stack (its message is already printed). */
export class CliExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
