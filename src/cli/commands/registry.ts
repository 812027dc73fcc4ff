import { readFile, writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { rescreenCustomers } from '../../compliance/sanctions/sanctions-repository.js';
import { AupError } from '../../errors.js';
import { toRegistryCsv } from '../../registry/registry-csv-writer.js';
import { detectRegistryFormat, parseRegistryFile } from '../../registry/registry-file-parser.js';
import { generateRegistry } from '../../registry/registry-generator.js';
import { type ImportSummary, importRegistry } from '../../registry/registry-import.js';
import type { CliContext } from '../context.js';
import { CliExit, EXIT_FINDING } from '../exit.js';

/** Files with more rows than this get a progress bar even when stderr is not a terminal. */
const LARGE_FILE_ROWS = 5000;

export function registerRegistryCommands(program: Command, context: () => CliContext): void {
  const registry = program.command('registry').description('customers, services and the addresses they hold');

  registry
    .command('import <file>')
    .description(
      'import a registry CSV (header customer,email,service,kind,resource,valid_from,valid_to[,…]) or JSON; ' +
        'idempotent; bad rows are reported by line and the good ones go in (exit 1 if any row failed)',
    )
    .option('--format <format>', 'csv or json (default: by extension, else by content)')
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, opts: { format?: string; json?: boolean }) => {
      const ctx = context();
      if (opts.format !== undefined && opts.format !== 'csv' && opts.format !== 'json') {
        throw new AupError('AUP_ERR_INPUT_INVALID', `--format must be csv or json, not "${opts.format}"`);
      }
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new AupError('AUP_ERR_INPUT_INVALID', `cannot read ${file}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const rows = parseRegistryFile(
        text,
        (opts.format as 'csv' | 'json' | undefined) ?? detectRegistryFormat(file, text),
      );
      const isTty = (ctx.err as NodeJS.WriteStream).isTTY === true;
      const bar =
        isTty || rows.length > LARGE_FILE_ROWS
          ? new cliProgress.SingleBar(
              {
                stream: ctx.err as NodeJS.WriteStream,
                noTTYOutput: !isTty,
                notTTYSchedule: 2000,
                format: 'importing [{bar}] {percentage}% | {value}/{total} rows | {eta}s left',
                hideCursor: isTty,
              },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      const store = await ctx.openStore();
      let summary: ImportSummary;
      try {
        bar?.start(rows.length, 0);
        summary = await importRegistry(store.db, rows, { onProgress: (p) => bar?.update(p.done) });
        bar?.stop();
        // New customers are screened against the SDN list in force (Secure Packet §7): matches are queued.
        const screened = await rescreenCustomers(store.db, { at: new Date(), actor: 'system:cli' });
        if (screened && screened.queued.length > 0) {
          ctx.err.write(`sanctions: ${screened.queued.length} new possible match(es) queued for review\n`);
        }
      } finally {
        bar?.stop();
        await store.close();
      }
      for (const e of summary.errors) ctx.err.write(`${file}: ${e.location}: ${e.message} [${e.code}]\n`);
      if (opts.json) {
        ctx.out.write(`${JSON.stringify(summary)}\n`);
      } else {
        const line = (what: string, c: ImportSummary['customers']) =>
          `${what}: ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged\n`;
        ctx.out.write(
          `imported ${summary.imported} of ${summary.rows} rows from ${file} (${summary.failed} failed)\n` +
            line('customers', summary.customers) +
            line('services', summary.services) +
            line('assignments', summary.assignments) +
            (summary.changed ? '' : 'nothing changed: the registry already matched the file\n'),
        );
      }
      if (summary.failed > 0) throw new CliExit(EXIT_FINDING);
    });

  registry
    .command('generate')
    .description('write a realistic demo registry as import CSV (deterministic for a seed)')
    .requiredOption('--customers <n>', 'number of customers', positiveInteger('--customers'))
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--seed <s>', 'random seed', positiveInteger('--seed'), 1)
    .option(
      '--policy <provider@version>',
      'the AUP every generated customer accepted, e.g. infince@2019-08-01',
    )
    .action(async (opts: { customers: number; out?: string; seed: number; policy?: string }) => {
      const ctx = context();
      let policy: { provider: string; version: string } | undefined;
      if (opts.policy !== undefined) {
        const m = /^([a-z0-9][a-z0-9-]*)@(.+)$/.exec(opts.policy);
        if (!m) throw new AupError('AUP_ERR_INPUT_INVALID', '--policy must look like provider@version');
        policy = { provider: m[1]!, version: m[2]! };
      }
      const customers = generateRegistry({
        customers: opts.customers,
        seed: opts.seed,
        ...(policy ? { policy } : {}),
      });
      const csv = toRegistryCsv(customers);
      if (opts.out) {
        await writeFile(opts.out, csv);
        const rows = csv.split('\n').length - 2;
        ctx.err.write(`wrote ${customers.length} customers, ${rows} rows to ${opts.out}\n`);
      } else {
        ctx.out.write(csv);
      }
    });
}

function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    if (!/^[1-9][0-9]{0,8}$/.test(value)) {
      throw new AupError('AUP_ERR_INPUT_INVALID', `${flag} must be a positive whole number, not "${value}"`);
    }
    return Number(value);
  };
}
