import type { Command } from 'commander';
import { z } from 'zod';
import { checkAnchors, readAnchors } from '../../audit/audit-anchor.js';
import { listAudit, verifyAudit } from '../../audit/audit-log.js';
import { AupError } from '../../errors.js';
import { anchorAndNotify, auditAnchorSettingsFromEnv } from '../../server/audit-anchoring.js';
import type { CliContext } from '../context.js';
import { CliExit, EXIT_FINDING } from '../exit.js';

/**
 * `aupdesk audit verify`: recompute the hash chain; prints `audit ok: N entries, head <hash>` (exit 0) or
 * `audit FAILED at entry <seq>: <reason>` (exit 1); with `--anchors <file>` it also fails when the log is
 * shorter than, or disagrees with, any anchor in the file.
 * `aupdesk audit anchor [--file f] [--mail-to a]`: append the head to the anchor file (outside the data
 * directory) and queue a mail of it (src/audit/audit-anchor.ts, src/server/audit-anchoring.ts).
 * `aupdesk audit list [--subject case:123] [--kind k] [--after seq] [--limit n]`: entries as JSON lines.
 */
export function registerAuditCommands(program: Command, context: () => CliContext): void {
  const audit = program.command('audit').description('the hash-chained audit log');

  audit
    .command('verify')
    .description('recompute the hash chain and report the first entry that does not hold')
    .option(
      '--anchors <file>',
      'also fail when the log is shorter than, or disagrees with, any anchor in this file (audit anchor)',
    )
    .action(async (options: { anchors?: string }) => {
      const ctx = context();
      // Read the anchors first: a missing or malformed file is an error before the store is opened.
      const anchors = options.anchors === undefined ? undefined : await readAnchors(options.anchors);
      const store = await ctx.openStore();
      try {
        const result = await verifyAudit(store.db);
        if (!result.ok) {
          ctx.out.write(`audit FAILED at entry ${result.seq}: ${result.reason}\n`);
          throw new CliExit(EXIT_FINDING);
        }
        if (anchors !== undefined) {
          const checked = await checkAnchors(store.db, anchors);
          if (!checked.ok) {
            ctx.out.write(
              `audit FAILED against anchor ${options.anchors} line ${checked.line} (entry ${checked.seq}): ${checked.reason}\n`,
            );
            throw new CliExit(EXIT_FINDING);
          }
          ctx.out.write(
            `audit ok: ${result.entries} entries, head ${result.head}, ${checked.anchors} anchors hold\n`,
          );
          return;
        }
        ctx.out.write(`audit ok: ${result.entries} entries, head ${result.head}\n`);
      } finally {
        await store.close();
      }
    });

  audit
    .command('anchor')
    .description(
      'append the audit head (sequence, hash, time) to the anchor file outside the database, and queue a mail of it',
    )
    .option('--file <file>', 'the anchor file (default AUPDESK_AUDIT_ANCHOR_FILE)')
    .option(
      '--mail-to <address>',
      'also mail the anchor to this address (default AUPDESK_AUDIT_ANCHOR_MAILTO)',
    )
    .action(async (options: { file?: string; mailTo?: string }) => {
      const ctx = context();
      const settings = auditAnchorSettingsFromEnv(
        {
          ...process.env,
          ...(options.file === undefined ? {} : { AUPDESK_AUDIT_ANCHOR_FILE: options.file }),
          ...(options.mailTo === undefined ? {} : { AUPDESK_AUDIT_ANCHOR_MAILTO: options.mailTo }),
        },
        ctx.config.dataDir,
      );
      if (settings.file === undefined) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          'no anchor file: give --file or set AUPDESK_AUDIT_ANCHOR_FILE',
        );
      }
      const store = await ctx.openStore();
      try {
        const done = await anchorAndNotify(store.db, {
          file: settings.file,
          mailTo: settings.mailTo,
          now: new Date(),
        });
        ctx.out.write(
          `anchored entry ${done.anchor.seq} ${done.anchor.hash} in ${settings.file}${done.mailQueued ? `; mail to ${settings.mailTo} queued` : ''}\n`,
        );
      } finally {
        await store.close();
      }
    });

  audit
    .command('list')
    .description('print audit entries as JSON lines, oldest first')
    .option('--subject <subject>', 'only entries about this subject, e.g. case:123')
    .option('--kind <kind>', 'only entries of this kind, e.g. action.performed')
    .option('--after <seq>', 'only entries after this sequence number')
    .option('--limit <n>', 'at most this many entries (default 100, at most 10000)')
    .action(async (options: { subject?: string; kind?: string; after?: string; limit?: string }) => {
      const ctx = context();
      const after = parseCount('--after', options.after, 0);
      const limit = parseCount('--limit', options.limit, 1);
      const store = await ctx.openStore();
      try {
        const entries = await listAudit(store.db, {
          ...(options.subject !== undefined ? { subject: options.subject } : {}),
          ...(options.kind !== undefined ? { kind: options.kind } : {}),
          ...(after !== undefined ? { afterSeq: after } : {}),
          ...(limit !== undefined ? { limit } : {}),
        });
        for (const e of entries) {
          ctx.out.write(
            `${JSON.stringify({
              seq: e.seq,
              at: e.at.toISOString(),
              actor: e.actor,
              kind: e.kind,
              subject: e.subject,
              payload: e.payload,
              prev_hash: e.prevHash,
              hash: e.hash,
            })}\n`,
          );
        }
      } finally {
        await store.close();
      }
    });
}

function parseCount(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = z.coerce.number().int().min(min).max(Number.MAX_SAFE_INTEGER).safeParse(value);
  if (!/^\d+$/.test(value) || !parsed.success) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `${flag} must be a whole number of at least ${min}`);
  }
  return parsed.data;
}
