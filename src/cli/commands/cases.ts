import type { Command } from 'commander';
import { z } from 'zod';
import { caseRefOf } from '../../cases/case-ref.js';
import { type CaseSummary, listCases, previousCases, requireCase } from '../../cases/case-repository.js';
import { caseStatuses } from '../../cases/case-state.js';
import { listCaseMessages, listCaseNotes } from '../../cases/message-repository.js';
import { listCaseEvents } from '../../cases/report-repository.js';
import { caseCommandNames, runCaseCommand } from '../../enforcement/commands/case-commands.js';
import { systemClock } from '../../enforcement/outbox/clock.js';
import { listActions } from '../../enforcement/outbox/outbox-repository.js';
import { deskDeps } from '../../enforcement/pipeline/desk-deps.js';
import { AupError } from '../../errors.js';
import type { CliContext } from '../context.js';

/**
 * `aupdesk cases list [--state s] [--json]`: one line per case (JSON lines with --json).
 * `aupdesk cases show <ref> [--json]`: the case with its events, thread, notes, actions and the customer's
 * earlier cases under the same clause.
 * `aupdesk cases act <ref> <command> [--reason ...]`: an analyst command (hold, release, skip-step, dismiss,
 * mark-cured, reinstate, approve-step, apply-remedy, assign, merge, split, add-note).
 */
export function registerCasesCommands(program: Command, context: () => CliContext): void {
  const cases = program.command('cases').description('abuse cases: list, show, act');

  cases
    .command('list')
    .description('list cases, oldest first')
    .option('--state <state>', `only cases in this state (${caseStatuses.join(', ')})`)
    .option('--customer <ref>', "only this customer's cases")
    .option('--limit <n>', 'at most this many cases (default 1000)')
    .option('--json', 'print JSON lines')
    .action(async (options: { state?: string; customer?: string; limit?: string; json?: boolean }) => {
      const ctx = context();
      const state = options.state === undefined ? undefined : z.enum(caseStatuses).safeParse(options.state);
      if (state && !state.success) {
        throw new AupError('AUP_ERR_INPUT_INVALID', `--state must be one of ${caseStatuses.join(', ')}`);
      }
      const limit = options.limit === undefined ? undefined : Number(options.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
        throw new AupError('AUP_ERR_INPUT_INVALID', '--limit must be a whole number of at least 1');
      }
      const store = await ctx.openStore();
      try {
        const rows = await listCases(store.db, {
          ...(state?.success ? { status: state.data } : {}),
          ...(options.customer ? { customerRef: options.customer } : {}),
          ...(limit ? { limit } : {}),
        });
        if (options.json) {
          for (const c of rows) ctx.out.write(`${JSON.stringify(summaryJson(c))}\n`);
          return;
        }
        if (rows.length === 0) {
          ctx.out.write('no cases\n');
          return;
        }
        for (const c of rows) {
          ctx.out.write(
            `${[
              c.ref,
              c.status.padEnd(18),
              c.clauseId,
              `${c.customerRef}/${c.serviceRef}`,
              `opened ${c.openedAt.toISOString()}`,
              c.dueAt ? `due ${c.dueAt.toISOString()}` : 'nothing due',
              c.repeatCount > 0 ? `repeat ${c.repeatCount}` : '',
              c.assignedTo ? `@${c.assignedTo}` : '',
            ]
              .filter((p) => p !== '')
              .join('  ')}\n`,
          );
        }
      } finally {
        await store.close();
      }
    });

  cases
    .command('show <ref>')
    .description('one case: state, events, messages, notes, actions, earlier cases')
    .option('--json', 'print one JSON object')
    .action(async (ref: string, options: { json?: boolean }) => {
      const ctx = context();
      const store = await ctx.openStore();
      try {
        const record = await requireCase(store.db, ref);
        const [events, messages, notes, actions, earlier] = await Promise.all([
          listCaseEvents(store.db, { caseId: record.id }),
          listCaseMessages(store.db, record.id),
          listCaseNotes(store.db, record.id),
          listActions(store.db, { caseId: record.id, limit: 1000 }),
          previousCases(store.db, record.customerId, record.clauseId, { beforeCaseId: record.id }),
        ]);
        const view = {
          ...summaryJson(record),
          provider: record.providerId,
          policyVersion: record.policyVersion,
          mergedInto: record.mergedInto === null ? null : caseRefOf(record.mergedInto),
          state: record.state,
          events: events.map((e) => ({
            id: e.id,
            time: e.eventTime.toISOString(),
            class: e.classification,
            source: e.sourceIp ?? e.sourceFqdn ?? e.sourceUrl,
            report: e.reportId,
            reason: e.reason,
          })),
          messages: messages.map((m) => ({
            at: m.at.toISOString(),
            direction: m.direction,
            kind: m.kind,
            messageId: m.messageId,
            subject: m.subject,
            sender: m.sender,
            recipient: m.recipient,
            ...(m.body ? { body: m.body } : {}),
          })),
          notes: notes.map((n) => ({ at: n.at.toISOString(), author: n.author, text: n.text })),
          actions: actions.map((a) => ({
            kind: a.kind,
            key: a.idempotencyKey,
            status: a.status,
            attempts: a.attempts,
          })),
          earlierCases: earlier.map((c) => ({
            ref: c.ref,
            status: c.status,
            opened: c.openedAt.toISOString(),
          })),
        };
        if (options.json) {
          ctx.out.write(`${JSON.stringify(view)}\n`);
          return;
        }
        const lines = [
          `${record.ref}  ${record.status}${record.mergedInto === null ? '' : ` (merged into ${caseRefOf(record.mergedInto)})`}`,
          `customer ${record.customerRef}, service ${record.serviceRef}; clause ${record.clauseId} (${record.severity}); policy ${record.providerId} ${record.policyVersion}`,
          `opened ${record.openedAt.toISOString()}; events ${record.firstEventAt.toISOString()} .. ${record.lastEventAt.toISOString()}; ${record.dueAt ? `next step due ${record.dueAt.toISOString()}` : 'nothing due'}`,
          `addresses: ${record.state.subjects.addresses.join(', ') || '-'}; urls: ${record.state.subjects.urls.join(', ') || '-'}`,
          `suspended: ${record.state.suspended ? 'yes' : 'no'}; blocked: ${record.state.blocked ? 'yes' : 'no'}; assigned: ${record.assignedTo ?? '-'}`,
          ...(record.state.ladder.awaitingApproval
            ? [`awaiting approval: step ${record.state.ladder.awaitingApproval.stepId}`]
            : []),
          `earlier cases of this customer under ${record.clauseId}: ${earlier.map((c) => `${c.ref} (${c.status})`).join(', ') || 'none'}`,
          '',
          `events (${events.length}):`,
          ...view.events.map((e) => `  #${e.id} ${e.time} ${e.class} ${e.source ?? '?'}`),
          `messages (${messages.length}):`,
          ...view.messages.map(
            (m) =>
              `  ${m.at} ${m.direction === 'in' ? '<-' : '->'} ${m.kind} ${m.subject ?? ''}${m.sender ? ` from ${m.sender}` : ''}`,
          ),
          `notes (${notes.length}):`,
          ...view.notes.map((n) => `  ${n.at} ${n.author}: ${n.text}`),
          `actions (${actions.length}):`,
          ...view.actions.map((a) => `  ${a.kind} ${a.status} ${a.key}`),
        ];
        ctx.out.write(`${lines.join('\n')}\n`);
      } finally {
        await store.close();
      }
    });

  cases
    .command('act <ref> <command>')
    .description(`take an analyst command on a case (${caseCommandNames.join(', ')})`)
    .option('--reason <text>', 'why (required for dismiss)')
    .option('--note <text>', 'a note kept with the command')
    .option('--text <text>', 'the note (add-note)')
    .option('--analyst <name>', 'who acts (default $AUPDESK_ANALYST or $USER)')
    .option('--step <id>', 'the proposed step being approved (approve-step)')
    .option('--remedy <remedy>', 'the remedy to apply (apply-remedy)')
    .option(
      '--fee <amount:currency:basis>',
      'a fee, e.g. 150:AED:"service contract 4.2" (approve-step, apply-remedy)',
    )
    .option('--assignee <name>', 'who takes the case; "none" unassigns (assign)')
    .option('--into <ref>', 'the case to merge into (merge)')
    .option('--events <ids>', 'comma-separated event ids to split off (split)')
    .action(
      async (
        ref: string,
        command: string,
        options: {
          reason?: string;
          note?: string;
          text?: string;
          analyst?: string;
          step?: string;
          remedy?: string;
          fee?: string;
          assignee?: string;
          into?: string;
          events?: string;
        },
      ) => {
        const ctx = context();
        const analyst = options.analyst ?? process.env.AUPDESK_ANALYST ?? process.env.USER ?? 'cli';
        const store = await ctx.openStore();
        try {
          const deps = await deskDeps(store.db, systemClock);
          // One options bag for every command: each takes the keys of its input (case-commands.ts).
          const result = await runCaseCommand(deps, ref, analyst, command, {
            reason: options.reason,
            note: options.note,
            text: options.text ?? options.reason ?? options.note ?? '',
            stepId: options.step,
            remedy: options.remedy,
            fee: options.fee === undefined ? undefined : parseFee(options.fee),
            assignee: options.assignee === undefined || options.assignee === 'none' ? null : options.assignee,
            into: options.into,
            events: options.events === undefined ? undefined : parseIds(options.events),
          });
          const status = result.case ? ` ${result.case.status}` : '';
          ctx.out.write(
            `${result.caseRef}${status}: ${result.detail}${result.actions.length > 0 ? `\n  queued: ${result.actions.join(', ')}` : ''}\n`,
          );
        } finally {
          await store.close();
        }
      },
    );
}

function summaryJson(c: CaseSummary) {
  return {
    ref: c.ref,
    state: c.status,
    clause: c.clauseId,
    severity: c.severity,
    customer: c.customerRef,
    service: c.serviceRef,
    openedAt: c.openedAt.toISOString(),
    lastEventAt: c.lastEventAt.toISOString(),
    dueAt: c.dueAt?.toISOString() ?? null,
    assignedTo: c.assignedTo,
    repeat: c.repeatCount,
  };
}

function parseFee(text: string): { amount: number; currency: string; basis: string } {
  const [amount, currency, ...basis] = text.split(':');
  const parsed = z
    .object({
      amount: z.coerce.number().positive(),
      currency: z.string().regex(/^[A-Za-z]{3}$/),
      basis: z.string().min(1),
    })
    .safeParse({ amount, currency, basis: basis.join(':') });
  if (!parsed.success)
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      '--fee must be <amount>:<currency>:<basis>, e.g. 150:AED:contract 4.2',
    );
  return { ...parsed.data, currency: parsed.data.currency.toUpperCase() };
}

function parseIds(text: string): number[] {
  const ids = text.split(',').map((s) => s.trim());
  if (ids.some((id) => !/^[1-9][0-9]*$/.test(id))) {
    throw new AupError('AUP_ERR_INPUT_INVALID', '--events must be comma-separated event ids, e.g. 12,13');
  }
  return ids.map(Number);
}
