import { Command, CommanderError } from 'commander';
import { isAupError } from '../errors.js';
import type { Store } from '../store/database.js';
import { registerCommands } from './commands/index.js';
import { type CliContext, createCliContext } from './context.js';
import { CliExit, EXIT_FINDING, EXIT_OK, EXIT_USAGE } from './exit.js';

export interface MainOptions {
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
  /** Standard input (`--password-stdin`); defaults to process.stdin. */
  in?: NodeJS.ReadableStream;
  /**
   * The store the commands use instead of opening the one the configuration names: for a process that
   * embeds the CLI and already holds that store (the embedded store admits one process at a time). A command
   * closes the store it is handed as it closes one it opened, so pass one whose close() keeps it open.
   */
  store?: () => Promise<Store>;
}

export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const program = new Command('aupdesk')
    .description('aupdesk: acceptable-use-policy enforcement and abuse desk')
    .option('--data <dir>', 'data directory (default $AUPDESK_DATA or ./data)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });

  let ctx: CliContext | undefined;
  const context = (): CliContext => {
    ctx ??= createCliContext({
      dataDir: program.opts<{ data?: string }>().data,
      out,
      err,
      in: options.in,
      store: options.store,
    });
    return ctx;
  };
  registerCommands(program, context);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CliExit) return error.exitCode;
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (isAupError(error)) {
      err.write(`aupdesk: ${error.message} [${error.code}]\n`);
      return EXIT_USAGE;
    }
    err.write(
      `aupdesk: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT_FINDING;
  }
}
