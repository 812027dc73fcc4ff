import type { Command } from 'commander';
import {
  chargeUncertified,
  type LicenceCertification,
  listCertifications,
  recordCertification,
  requestCertification,
} from '../../compliance/licence-certification.js';
import { slaExclusions, slaExclusionsCsv, slaExclusionsJson } from '../../compliance/sla-exclusions.js';
import { AupError } from '../../errors.js';
import type { CliContext } from '../context.js';

/**
 * `aupdesk compliance …`: licence certification (Secure Packet §6): `certify-request` asks a customer to
 * certify by a deadline at the standard fee, `certify` records the answer, `certify-charge` queues the
 * fee for every request left unanswered past its deadline (the worker runs it too), `certify-list` shows
 * them. docs/compliance.md describes the workflow.
 */
export function registerComplianceCommands(program: Command, context: () => CliContext): void {
  const compliance = program
    .command('compliance')
    .description('compliance workflows: licence certification, SLA-credit exclusion report');

  compliance
    .command('certify-request')
    .description('ask a customer to certify its software licences by a deadline (Secure Packet §6)')
    .requiredOption('--customer <ref>', 'customer reference')
    .requiredOption('--due <date>', 'deadline (ISO 8601 date or date-time)')
    .requiredOption('--fee <amount>', 'the standard licence fee charged per period while uncertified')
    .option('--currency <code>', 'ISO 4217 currency', 'USD')
    .option('--every <days>', 'charge the fee again every this many days', '30')
    .action(async (opts: { customer: string; due: string; fee: string; currency: string; every: string }) => {
      const ctx = context();
      const dueAt = dateOf(opts.due, '--due');
      const amount = Number(opts.fee);
      const everyDays = Number(opts.every);
      if (!Number.isFinite(amount))
        throw new AupError('AUP_ERR_INPUT_INVALID', `--fee "${opts.fee}" is not a number`);
      const store = await ctx.openStore();
      try {
        const cert = await store.db.transaction().execute((trx) =>
          requestCertification(trx, {
            customerRef: opts.customer,
            dueAt,
            fee: { amount, currency: opts.currency, everyDays },
            at: new Date(),
            actor: 'system:cli',
          }),
        );
        ctx.out.write(`${JSON.stringify(certView(cert))}\n`);
      } finally {
        await store.close();
      }
    });

  compliance
    .command('certify <ref>')
    .description('record that the customer certified (stops the fee)')
    .requiredOption('--statement <text>', 'what the customer certified, and how (letter, signed form)')
    .action(async (ref: string, opts: { statement: string }) => {
      const ctx = context();
      const store = await ctx.openStore();
      try {
        const cert = await store.db
          .transaction()
          .execute((trx) =>
            recordCertification(trx, { ref, statement: opts.statement, at: new Date(), actor: 'system:cli' }),
          );
        ctx.out.write(`${JSON.stringify(certView(cert))}\n`);
      } finally {
        await store.close();
      }
    });

  compliance
    .command('certify-charge')
    .description('queue the standard fee for every certification unanswered past its deadline')
    .action(async () => {
      const ctx = context();
      const store = await ctx.openStore();
      try {
        for (const q of await chargeUncertified(store.db, new Date()))
          ctx.out.write(`${JSON.stringify(q)}\n`);
      } finally {
        await store.close();
      }
    });

  compliance
    .command('certify-list')
    .description('licence certification requests (JSON lines), newest first')
    .option('--customer <ref>', 'only this customer')
    .action(async (opts: { customer?: string }) => {
      const ctx = context();
      const store = await ctx.openStore();
      try {
        for (const c of await listCertifications(store.db, { customerRef: opts.customer })) {
          ctx.out.write(`${JSON.stringify(certView(c))}\n`);
        }
      } finally {
        await store.close();
      }
    });

  compliance
    .command('sla-report')
    .description(
      'interruptions caused by AUP enforcement per customer in a period: not eligible for SLA credit (Secure Packet §11)',
    )
    .requiredOption('--from <date>', 'period start (ISO 8601)')
    .requiredOption('--to <date>', 'period end, exclusive (ISO 8601)')
    .option('--csv', 'print the billing CSV (one row per interruption) instead of JSON')
    .action(async (opts: { from: string; to: string; csv?: boolean }) => {
      const ctx = context();
      const period = { from: dateOf(opts.from, '--from'), to: dateOf(opts.to, '--to') };
      const store = await ctx.openStore();
      try {
        const report = await slaExclusions(store.db, period);
        ctx.out.write(opts.csv ? slaExclusionsCsv(report) : `${JSON.stringify(slaExclusionsJson(report))}\n`);
      } finally {
        await store.close();
      }
    });
}

function dateOf(value: string, flag: string): Date {
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime())) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `${flag} "${value.slice(0, 40)}" is not an ISO 8601 date`);
  }
  return d;
}

export function certView(c: LicenceCertification) {
  return {
    ref: c.ref,
    customer: c.customerRef,
    requested_at: c.requestedAt.toISOString(),
    due_at: c.dueAt.toISOString(),
    certified_at: c.certifiedAt?.toISOString() ?? null,
    statement: c.statement,
    fee: c.fee,
    fees_queued: c.feesQueued,
  };
}
