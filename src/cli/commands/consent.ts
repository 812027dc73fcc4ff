import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { importTestConsents } from '../../compliance/import-test-consents.js';
import { listTestConsents, revokeTestConsent } from '../../compliance/test-consent-repository.js';
import { AupError } from '../../errors.js';
import type { CliContext } from '../context.js';

/**
 * `aupdesk consent import <file>` records vulnerability-test consents (Secure Packet §5) from CSV
 * (`service,targets,valid_from,valid_to,reference`, targets separated by `;`); `consent list` and
 * `consent revoke <id>` show and withdraw them. docs/compliance.md describes the workflow.
 */
export function registerConsentCommands(program: Command, context: () => CliContext): void {
  const consent = program
    .command('consent')
    .description('vulnerability-test authorisations: prior written consent to scan given targets');

  consent
    .command('import <file>')
    .description('record consents from CSV: service,targets,valid_from,valid_to,reference')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const ctx = context();
      const csv = await readText(file);
      const store = await ctx.openStore();
      try {
        const result = await importTestConsents(
          store.db,
          { csv },
          { at: new Date(), actor: 'system:cli', source: `consent import ${file}` },
        );
        if (opts.json) {
          ctx.out.write(
            `${JSON.stringify({ created: result.created.map(view), existing: result.existing.map(view) })}\n`,
          );
        } else {
          ctx.out.write(
            `recorded ${result.created.length} consent(s) from ${file}; ${result.existing.length} already recorded\n`,
          );
        }
      } finally {
        await store.close();
      }
    });

  consent
    .command('list')
    .description('list recorded consents (JSON lines)')
    .option('--service <ref>', 'only this service')
    .action(async (opts: { service?: string }) => {
      const ctx = context();
      const store = await ctx.openStore();
      try {
        const rows = await listTestConsents(
          store.db,
          opts.service === undefined ? {} : { service: opts.service },
        );
        for (const row of rows) ctx.out.write(`${JSON.stringify(view(row))}\n`);
      } finally {
        await store.close();
      }
    });

  consent
    .command('revoke <id>')
    .description('withdraw a consent (kept on record; tests after now are judged as usual)')
    .requiredOption('--reason <text>', 'why the consent is withdrawn')
    .action(async (id: string, opts: { reason: string }) => {
      const ctx = context();
      if (!/^[1-9][0-9]{0,9}$/.test(id)) {
        throw new AupError('AUP_ERR_INPUT_INVALID', `consent id must be a positive number, not "${id}"`);
      }
      const store = await ctx.openStore();
      try {
        const revoked = await store.db
          .transaction()
          .execute((trx) =>
            revokeTestConsent(trx, Number(id), { at: new Date(), actor: 'system:cli', reason: opts.reason }),
          );
        ctx.out.write(`${JSON.stringify(view(revoked))}\n`);
      } finally {
        await store.close();
      }
    });
}

function view(c: {
  id: number;
  service: string;
  targets: readonly string[];
  validFrom: Date;
  validTo: Date;
  reference: string;
  revokedAt: Date | null;
}) {
  return {
    id: c.id,
    service: c.service,
    targets: c.targets,
    valid_from: c.validFrom.toISOString(),
    valid_to: c.validTo.toISOString(),
    reference: c.reference,
    revoked_at: c.revokedAt?.toISOString() ?? null,
  };
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
