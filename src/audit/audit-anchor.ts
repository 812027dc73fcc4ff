import { open, readFile } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import { auditHead } from './audit-log.js';

/**
 * The audit head anchored outside the database. The hash chain shows an edited or removed entry, but not
 * someone with write access who deletes the newest entries and rewinds `audit_head` to match: what is left
 * is a valid, shorter chain. An anchor is a copy of the head (sequence, hash, the time of that entry, when
 * it was anchored) written somewhere the database's writer cannot rewrite: a JSON line appended to an
 * anchor file on another path (another disk, an append-only file, a log shipper), and optionally mailed.
 * `verifyAgainstAnchors` then fails when the chain is shorter than any anchor, or its entry at an anchor's
 * sequence has another hash.
 *
 * The file is opened in append mode and fsynced per line; lines are never rewritten. Make it append-only
 * at the OS level too (`chattr +a`) and keep it off the database's disk (docs/operations.md).
 */

export const auditAnchorSchema = z
  .object({
    seq: z.number().int().min(0),
    hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'),
    /** Time of the entry at `seq` (null for an empty log). */
    at: z.iso.datetime().nullable(),
    anchoredAt: z.iso.datetime(),
  })
  .strict();
export type AuditAnchor = z.infer<typeof auditAnchorSchema>;

/** Reads the head and its entry's time, as an anchor taken `now`. */
export async function currentAnchor(db: Kysely<Database>, now: Date): Promise<AuditAnchor> {
  const head = await auditHead(db);
  const entry =
    head.seq === 0
      ? undefined
      : await db.selectFrom('audit_log').select('at').where('seq', '=', head.seq).executeTakeFirst();
  return {
    seq: head.seq,
    hash: head.hash,
    at: entry ? new Date(entry.at).toISOString() : null,
    anchoredAt: now.toISOString(),
  };
}

/** Appends one anchor line to `file` (created if missing) and fsyncs it. */
export async function appendAnchor(file: string, anchor: AuditAnchor): Promise<void> {
  const handle = await open(file, 'a', 0o640);
  try {
    await handle.appendFile(`${JSON.stringify(auditAnchorSchema.parse(anchor))}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Takes the current head and appends it to `file`; returns the anchor written. */
export async function anchorAudit(db: Kysely<Database>, file: string, now: Date): Promise<AuditAnchor> {
  const anchor = await currentAnchor(db, now);
  await appendAnchor(file, anchor);
  return anchor;
}

export interface NumberedAnchor {
  readonly line: number;
  readonly anchor: AuditAnchor;
}

/** Reads every anchor of `file`; a line that is not an anchor is an error naming the line. */
export async function readAnchors(file: string): Promise<NumberedAnchor[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `cannot read the anchor file ${file}: ${(error as Error).message}`,
    );
  }
  const out: NumberedAnchor[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new AupError('AUP_ERR_INPUT_INVALID', `${file} line ${i + 1}: not JSON`);
    }
    const parsed = auditAnchorSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `${file} line ${i + 1}: ${issue?.path.join('.') || 'anchor'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    out.push({ line: i + 1, anchor: parsed.data });
  }
  return out;
}

export type AnchorCheck =
  | { readonly ok: true; readonly anchors: number }
  | { readonly ok: false; readonly line: number; readonly seq: number; readonly reason: string };

/**
 * Compares the log with each anchor: the head must be at or past the anchor's sequence, and the entry at
 * that sequence must carry the anchor's hash. Run after `verifyAudit` (which checks the chain itself).
 */
export async function checkAnchors(
  db: Kysely<Database>,
  anchors: readonly NumberedAnchor[],
): Promise<AnchorCheck> {
  const head = await auditHead(db);
  for (const { line, anchor } of anchors) {
    if (anchor.seq > head.seq) {
      return {
        ok: false,
        line,
        seq: anchor.seq,
        reason: `the log ends at entry ${head.seq} but was anchored at entry ${anchor.seq} on ${anchor.anchoredAt}: entries were removed and the head rewound`,
      };
    }
    if (anchor.seq === 0) continue;
    const row = await db
      .selectFrom('audit_log')
      .select('hash')
      .where('seq', '=', anchor.seq)
      .executeTakeFirst();
    if (!row) {
      return { ok: false, line, seq: anchor.seq, reason: `entry ${anchor.seq} is missing` };
    }
    if (row.hash !== anchor.hash) {
      return {
        ok: false,
        line,
        seq: anchor.seq,
        reason: `entry ${anchor.seq} has hash ${row.hash.slice(0, 16)}… but was anchored as ${anchor.hash.slice(0, 16)}… on ${anchor.anchoredAt}: the log was rewritten`,
      };
    }
  }
  return { ok: true, anchors: anchors.length };
}
