import path from 'node:path';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { AUDIT_ANCHOR_MAIL_KIND } from '../actions/audit-anchor-mail-adapter.js';
import { type AuditAnchor, anchorAudit } from '../audit/audit-anchor.js';
import { enqueueAction } from '../enforcement/outbox/outbox-repository.js';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';

/**
 * Anchoring the audit head, as `aupdesk audit anchor` and the scheduled task of `serve` do it: append the
 * head to the anchor file, and when an address is configured queue a mail of it in the outbox (delivered by
 * whichever process runs the worker).
 *
 * Configuration (environment):
 * - `AUPDESK_AUDIT_ANCHOR_FILE`: the anchor file; must not be inside the data directory (the point is a
 *   copy the database's writer does not hold). Unset: no scheduled anchoring.
 * - `AUPDESK_AUDIT_ANCHOR_INTERVAL`: seconds between scheduled anchors in `serve` (default 3600, min 10).
 * - `AUPDESK_AUDIT_ANCHOR_MAILTO`: an address to mail each anchor to (optional).
 */

export interface AuditAnchorSettings {
  readonly file: string | undefined;
  readonly intervalMs: number;
  readonly mailTo: string | undefined;
}

export const DEFAULT_AUDIT_ANCHOR_INTERVAL_MS = 3_600_000;

const envSchema = z.object({
  AUPDESK_AUDIT_ANCHOR_FILE: z.string().min(1).optional(),
  AUPDESK_AUDIT_ANCHOR_INTERVAL: z.coerce.number().int().min(10).max(604_800).optional(),
  AUPDESK_AUDIT_ANCHOR_MAILTO: z.email().optional(),
});

export function auditAnchorSettingsFromEnv(env: NodeJS.ProcessEnv, dataDir: string): AuditAnchorSettings {
  const parsed = envSchema.safeParse({
    AUPDESK_AUDIT_ANCHOR_FILE: env.AUPDESK_AUDIT_ANCHOR_FILE || undefined,
    AUPDESK_AUDIT_ANCHOR_INTERVAL: env.AUPDESK_AUDIT_ANCHOR_INTERVAL || undefined,
    AUPDESK_AUDIT_ANCHOR_MAILTO: env.AUPDESK_AUDIT_ANCHOR_MAILTO || undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `${String(issue?.path[0] ?? 'audit anchor')}: ${issue?.message}`,
    );
  }
  const file = parsed.data.AUPDESK_AUDIT_ANCHOR_FILE;
  return {
    file: file === undefined ? undefined : checkedAnchorFile(file, dataDir),
    intervalMs: (parsed.data.AUPDESK_AUDIT_ANCHOR_INTERVAL ?? DEFAULT_AUDIT_ANCHOR_INTERVAL_MS / 1000) * 1000,
    mailTo: parsed.data.AUPDESK_AUDIT_ANCHOR_MAILTO,
  };
}

/** The anchor file, resolved; refused inside the data directory, where it would share the store's fate. */
export function checkedAnchorFile(file: string, dataDir: string): string {
  const resolved = path.resolve(file);
  const relative = path.relative(path.resolve(dataDir), resolved);
  if (relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))) {
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `the audit anchor file ${resolved} is inside the data directory; put it on another path (another disk or host)`,
    );
  }
  return resolved;
}

/** Appends the head to `file`; queues a mail of it to `mailTo` when given. */
export async function anchorAndNotify(
  db: Kysely<Database>,
  input: { readonly file: string; readonly mailTo: string | undefined; readonly now: Date },
): Promise<{ anchor: AuditAnchor; mailQueued: boolean }> {
  const anchor = await anchorAudit(db, input.file, input.now);
  const mailTo = input.mailTo;
  if (mailTo === undefined) return { anchor, mailQueued: false };
  await db.transaction().execute((trx) =>
    enqueueAction(trx, {
      at: input.now,
      kind: AUDIT_ANCHOR_MAIL_KIND,
      idempotencyKey: `audit-anchor/${anchor.seq}/${anchor.anchoredAt}`,
      payload: { to: mailTo, anchor },
      actor: 'system:audit-anchor',
    }),
  );
  return { anchor, mailQueued: true };
}
