import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { importSanctionsList } from '../../compliance/sanctions/sanctions-repository.js';
import { DEFAULT_SANCTIONS_THRESHOLD } from '../../compliance/sanctions/screen-customers.js';
import { screenRegistry } from '../../compliance/sanctions/screen-registry.js';
import { parseSdnFiles } from '../../compliance/sanctions/sdn-csv.js';
import { AupError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { CliExit, EXIT_FINDING } from '../exit.js';

/**
 * `aupdesk sanctions screen --sdn <sdn.csv> [--alt <alt.csv>] [--add <add.csv>] [--threshold <0..1>]
 * [--json]`: screens the registry's customers against OFAC's SDN list in its published CSV form and prints
 * the possible matches (JSON: one line each, `{ "customer", "name", "entry", "score", "program" }`). A match
 * is for an analyst to review, never an action by itself; the run is audited (`sanctions.screened`). Exit
 * status 1 when there is a match to review.
 */
export function registerSanctionsCommands(program: Command, context: () => CliContext): void {
  const sanctions = program.command('sanctions').description('sanctions screening (OFAC SDN list)');
  registerImport(sanctions, context);
  sanctions
    .command('screen')
    .description('screen the customers against the SDN list (sdn.csv, alt.csv, add.csv as published)')
    .requiredOption('--sdn <file>', 'sdn.csv')
    .option('--alt <file>', 'alt.csv (aliases)')
    .option('--add <file>', 'add.csv (addresses: countries)')
    .option(
      '--threshold <score>',
      `report matches scoring at least this (default ${DEFAULT_SANCTIONS_THRESHOLD})`,
    )
    .option('--json', 'one JSON line per match')
    .action(async (opts: { sdn: string; alt?: string; add?: string; threshold?: string; json?: boolean }) => {
      const ctx = context();
      const threshold = opts.threshold === undefined ? DEFAULT_SANCTIONS_THRESHOLD : Number(opts.threshold);
      if (!Number.isFinite(threshold) || threshold <= 0 || threshold > 1) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          `--threshold must be a number above 0 and at most 1, not "${opts.threshold}"`,
        );
      }
      const sdn = await readText(opts.sdn, '--sdn');
      const alt = opts.alt === undefined ? undefined : await readText(opts.alt, '--alt');
      const add = opts.add === undefined ? undefined : await readText(opts.add, '--add');
      const entries = parseSdnFiles({
        sdn,
        ...(alt === undefined ? {} : { alt }),
        ...(add === undefined ? {} : { add }),
      });
      const list = `sdn.csv sha256:${createHash('sha256').update(sdn).digest('hex')}`;
      const store = await ctx.openStore();
      let result: Awaited<ReturnType<typeof screenRegistry>>;
      try {
        result = await screenRegistry(store.db, entries, {
          threshold,
          at: new Date(),
          actor: 'system:cli',
          list,
        });
      } finally {
        await store.close();
      }
      for (const m of result.matches) {
        if (opts.json) {
          ctx.out.write(
            `${JSON.stringify({ customer: m.customer, name: m.name, entry: m.entry, score: m.score, program: m.program })}\n`,
          );
        } else {
          ctx.out.write(
            `${m.customer}\t${m.score.toFixed(3)}\t${m.name}${m.via === 'alias' ? ` (alias of ${m.sdnName})` : ''}\tent_num ${m.entry}\t${m.program}${m.countryMatch ? '\tcountry matches' : ''}\n`,
          );
        }
      }
      ctx.err.write(
        `screened ${result.customers} customer(s) against ${entries.length} SDN entries: ${result.matches.length} possible match(es) to review\n`,
      );
      if (result.matches.length > 0) throw new CliExit(EXIT_FINDING);
    });
}

/**
 * `aupdesk sanctions import --sdn <sdn.csv> [--alt <alt.csv>] [--add <add.csv>] [--threshold] [--json]`:
 * stores the list (new customers are screened against it on every registry import) and screens every
 * customer, queueing new possible matches for review (`GET /api/v1/sanctions/matches`, the console's
 * Compliance → Sanctions page). Prints the queued matches; exit status 1 when any was queued.
 */
function registerImport(sanctions: Command, context: () => CliContext): void {
  sanctions
    .command('import')
    .description('store an SDN list and screen every customer, queueing possible matches for review')
    .requiredOption('--sdn <file>', 'sdn.csv')
    .option('--alt <file>', 'alt.csv (aliases)')
    .option('--add <file>', 'add.csv (addresses: countries)')
    .option(
      '--threshold <score>',
      `queue matches scoring at least this (default ${DEFAULT_SANCTIONS_THRESHOLD})`,
    )
    .option('--json', 'one JSON line per queued match')
    .action(async (opts: { sdn: string; alt?: string; add?: string; threshold?: string; json?: boolean }) => {
      const ctx = context();
      const threshold = thresholdOf(opts.threshold);
      const sdn = await readText(opts.sdn, '--sdn');
      const alt = opts.alt === undefined ? undefined : await readText(opts.alt, '--alt');
      const add = opts.add === undefined ? undefined : await readText(opts.add, '--add');
      const store = await ctx.openStore();
      let result: Awaited<ReturnType<typeof importSanctionsList>>;
      try {
        result = await importSanctionsList(
          store.db,
          { sdn, ...(alt === undefined ? {} : { alt }), ...(add === undefined ? {} : { add }) },
          { at: new Date(), actor: 'system:cli', threshold },
        );
      } finally {
        await store.close();
      }
      for (const m of result.queued) {
        ctx.out.write(
          opts.json
            ? `${JSON.stringify({ id: m.id, customer: m.customer, name: m.name, entry: m.entry, score: m.score, program: m.program })}\n`
            : `${m.id}\t${m.customer}\t${m.score.toFixed(3)}\t${m.name}\tent_num ${m.entry}\t${m.program}\n`,
        );
      }
      ctx.err.write(
        `stored list ${result.listId} (${result.entries} entries); screened ${result.customers} customer(s): ${result.matches.length} possible match(es), ${result.queued.length} new to the review queue\n`,
      );
      if (result.queued.length > 0) throw new CliExit(EXIT_FINDING);
    });
}

function thresholdOf(text: string | undefined): number {
  const threshold = text === undefined ? DEFAULT_SANCTIONS_THRESHOLD : Number(text);
  if (!Number.isFinite(threshold) || threshold <= 0 || threshold > 1) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `--threshold must be a number above 0 and at most 1, not "${text}"`,
    );
  }
  return threshold;
}

async function readText(file: string, option: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `${option} ${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
}
