import { open } from 'node:fs/promises';
import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import { AupError } from '../../errors.js';
import type { Database } from '../../store/schema.js';
import type { InboxKind } from '../../store/tables/intake.table.js';
import type { EvidenceStore } from '../evidence-store.js';
import { type Channel, channels } from '../report.js';

/**
 * The durable intake inbox: the one door every channel (SMTP, IMAP, HTTP API and form, files, drop
 * directory, feed pulls) goes through.
 *
 * `acceptReport` writes the raw bytes to the evidence store (fsynced) and inserts an inbox row in a committed
 * transaction before it returns; only then may the channel acknowledge (SMTP `250`, HTTP `202`). Identical
 * bytes on the same channel are one item: the caller learns `duplicate: true` and no second row exists.
 *
 * What comes in is worked off by inbox-worker.ts (`processInbox`, `InboxWorker`).
 *
 * Group commit: concurrent `acceptReport` calls share one database transaction (`InboxCommitter`): while a
 * commit is in flight, new rows queue and go together in the next, so load raises the batch size instead
 * of the latency. The evidence files are fsynced each on their own, concurrently (libuv's thread pool).
 */

/** The SMTP transaction as the server saw it (null sender is `''`). */
export interface SmtpEnvelope {
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  readonly remoteAddress: string;
}

const envelopeSchema = z.object({
  mailFrom: z.string().max(1024),
  rcptTo: z.array(z.string().max(1024)).max(1000),
  remoteAddress: z.string().max(100),
});

/** A channel's route (the desk address or API endpoint it came in by): `abuse`, `dmca`, `security`, … */
export type InboxRoute = string;
const ROUTE = /^[a-z][a-z0-9-]{0,39}$/;

export interface AcceptReportInput {
  /** The item's bytes, or — for a big file (`aupdesk ingest`) — the file they are streamed from. */
  readonly bytes: Uint8Array | { readonly file: string };
  readonly channel: Channel;
  readonly receivedAt: Date;
  readonly fileName?: string | undefined;
  readonly contentType?: string | undefined;
  readonly envelope?: SmtpEnvelope | undefined;
  readonly route?: InboxRoute | undefined;
  /** `bounce` and `loop` items are recorded, never processed as complaints (default `complaint`). */
  readonly kind?: InboxKind | undefined;
}

export interface AcceptedReport {
  readonly inboxId: string;
  readonly evidenceSha256: string;
  readonly size: number;
  /** True when the same bytes already came in on the same channel: nothing new was recorded. */
  readonly duplicate: boolean;
}

export interface IntakeInboxDeps {
  readonly db: Kysely<Database>;
  readonly evidence: EvidenceStore;
  /** Batches concurrent inserts into one transaction; without it each accept commits on its own. */
  readonly committer?: InboxCommitter | undefined;
}

export interface InboxRowInput {
  readonly evidenceSha256: string;
  readonly size: number;
  readonly channel: Channel;
  readonly route: string | null;
  readonly kind: InboxKind;
  readonly fileName: string | null;
  readonly contentType: string | null;
  readonly envelope: SmtpEnvelope | null;
  readonly messageId: string | null;
  readonly receivedAt: Date;
}

interface InsertOutcome {
  readonly id: string;
  readonly duplicate: boolean;
}

/** Store the evidence durably and record the inbox row; resolves only once both are committed. */
export async function acceptReport(deps: IntakeInboxDeps, input: AcceptReportInput): Promise<AcceptedReport> {
  // A mail's Message-ID is in its header block: the first 64 KiB of a file stand for the whole of it.
  const head = input.bytes instanceof Uint8Array ? input.bytes : await headOf(input.bytes.file, 64 * 1024);
  const row = validate(input, head);
  const stored =
    input.bytes instanceof Uint8Array
      ? await deps.evidence.put(input.bytes)
      : await deps.evidence.putFile(input.bytes.file);
  const full: InboxRowInput = { ...row, evidenceSha256: stored.sha256, size: stored.size };
  const outcome = deps.committer
    ? await deps.committer.insert(full)
    : (await insertInboxRows(deps.db, [full]))[0]!;
  return {
    inboxId: outcome.id,
    evidenceSha256: stored.sha256,
    size: stored.size,
    duplicate: outcome.duplicate,
  };
}

async function headOf(file: string, bytes: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const buffer = new Uint8Array(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function validate(
  input: AcceptReportInput,
  head: Uint8Array,
): Omit<InboxRowInput, 'evidenceSha256' | 'size'> {
  if (!(channels as readonly string[]).includes(input.channel)) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `unknown intake channel "${String(input.channel)}"`);
  }
  if (!(input.receivedAt instanceof Date) || Number.isNaN(input.receivedAt.getTime())) {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'receivedAt must be a valid time');
  }
  if (input.route !== undefined && !ROUTE.test(input.route)) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `route "${input.route.slice(0, 60)}" must match ${ROUTE.source}`,
    );
  }
  let envelope: SmtpEnvelope | null = null;
  if (input.envelope !== undefined) {
    const parsed = envelopeSchema.safeParse(input.envelope);
    if (!parsed.success) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `envelope: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      );
    }
    envelope = parsed.data;
  }
  return {
    channel: input.channel,
    route: input.route ?? null,
    kind: input.kind ?? 'complaint',
    fileName: input.fileName?.slice(0, 500) ?? null,
    contentType: input.contentType?.slice(0, 200) ?? null,
    envelope,
    messageId: messageIdOf(head),
    receivedAt: input.receivedAt,
  };
}

/**
 * One transaction for a batch of rows. Rows that repeat an existing (channel, sha256), or an earlier row of
 * the same batch, are duplicates and answer with the existing id.
 */
export async function insertInboxRows(
  db: Kysely<Database>,
  rows: readonly InboxRowInput[],
): Promise<InsertOutcome[]> {
  const keyOf = (r: { channel: string; evidenceSha256: string }): string =>
    `${r.channel}\0${r.evidenceSha256}`;
  const firstIndex = new Map<string, number>();
  const unique: InboxRowInput[] = [];
  for (const row of rows) {
    if (firstIndex.has(keyOf(row))) continue;
    firstIndex.set(keyOf(row), unique.length);
    unique.push(row);
  }
  const ids = await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('intake_inbox')
      .values(
        unique.map((r) => ({
          evidence_sha256: r.evidenceSha256,
          size: r.size,
          channel: r.channel,
          route: r.route,
          kind: r.kind,
          file_name: r.fileName,
          content_type: r.contentType,
          envelope: r.envelope === null ? null : JSON.stringify(r.envelope),
          message_id: r.messageId,
          received_at: r.receivedAt,
        })),
      )
      .onConflict((oc) => oc.columns(['channel', 'evidence_sha256']).doNothing())
      .returning(['id', 'channel', 'evidence_sha256'])
      .execute();
    const result = new Map<string, { id: string; fresh: boolean }>();
    for (const r of inserted) {
      result.set(keyOf({ channel: r.channel, evidenceSha256: r.evidence_sha256 }), {
        id: String(r.id),
        fresh: true,
      });
    }
    const missing = unique.filter((r) => !result.has(keyOf(r)));
    if (missing.length > 0) {
      const existing = await trx
        .selectFrom('intake_inbox')
        .select(['id', 'channel', 'evidence_sha256'])
        .where((eb) =>
          eb.or(
            missing.map((r) =>
              eb.and([eb('channel', '=', r.channel), eb('evidence_sha256', '=', r.evidenceSha256)]),
            ),
          ),
        )
        .execute();
      for (const r of existing) {
        result.set(keyOf({ channel: r.channel, evidenceSha256: r.evidence_sha256 }), {
          id: String(r.id),
          fresh: false,
        });
      }
    }
    return result;
  });
  const seen = new Set<string>();
  return rows.map((row) => {
    const key = keyOf(row);
    const found = ids.get(key);
    if (!found) {
      throw new AupError(
        'AUP_ERR_STORE_CONFLICT',
        `inbox row for ${row.evidenceSha256} vanished during insert`,
      );
    }
    const duplicate = !found.fresh || seen.has(key);
    seen.add(key);
    return { id: found.id, duplicate };
  });
}

/**
 * Group commit of inbox rows: the first caller commits at once; callers arriving while that commit runs
 * wait and go together in the next transaction (up to `maxBatch`). Latency at low load is one commit; at
 * high load the number of commits per second stays bounded by the store, not by the number of clients.
 */
export class InboxCommitter {
  private queue: { row: InboxRowInput; resolve: (o: InsertOutcome) => void; reject: (e: unknown) => void }[] =
    [];
  private flushing = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly maxBatch = 500,
  ) {}

  insert(row: InboxRowInput): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const outcomes = await insertInboxRows(
            this.db,
            batch.map((b) => b.row),
          );
          for (const [i, b] of batch.entries()) b.resolve(outcomes[i]!);
        } catch (error) {
          for (const b of batch) b.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

/** The small logger shape the worker needs (pino satisfies it). */
export interface InboxLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface InboxCounts {
  readonly pending: number;
  readonly done: number;
  readonly failed: number;
}

export async function inboxCounts(db: Kysely<Database>): Promise<InboxCounts> {
  return countByStatus(db, false);
}

/** Items not done: pending and failed (a scrape's figure: done rows, the ever-growing part, are not counted). */
export async function inboxBacklog(db: Kysely<Database>): Promise<Omit<InboxCounts, 'done'>> {
  const { done: _done, ...backlog } = await countByStatus(db, true);
  return backlog;
}

async function countByStatus(db: Kysely<Database>, notDone: boolean): Promise<InboxCounts> {
  const rows = await db
    .selectFrom('intake_inbox')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .$if(notDone, (q) => q.where('status', '<>', 'done'))
    .groupBy('status')
    .execute();
  const count = (s: string): number => Number(rows.find((r) => r.status === s)?.n ?? 0);
  return { pending: count('pending'), done: count('done'), failed: count('failed') };
}

/**
 * An analyst's retry of a failed item (from the triage queue): back to pending with its attempts reset, so
 * the next round of any worker takes it again. False when the item is not failed (already retried, say).
 */
export async function retryFailedInboxItem(
  db: Kysely<Database> | Transaction<Database>,
  id: string,
): Promise<boolean> {
  if (!/^[0-9]{1,18}$/.test(id)) return false;
  const result = await db
    .updateTable('intake_inbox')
    .set({
      status: 'pending',
      attempts: 0,
      last_error: null,
      claimed_by: null,
      claimed_until: null,
      processed_at: null,
    })
    .where('id', '=', id)
    .where('status', '=', 'failed')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * The Message-ID of a mail, read from its header block without parsing the whole message (for the row:
 * threading, the crash test's accounting). Null when the bytes are not a mail or carry none.
 */
export function messageIdOf(bytes: Uint8Array): string | null {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 65_536)).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const block = end === -1 ? head : head.slice(0, end);
  const match = /(?:^|\n)message-id:[ \t]*((?:[^\r\n]|\r?\n[ \t])*)/i.exec(block);
  if (!match) return null;
  const value = match[1]!.replace(/\r?\n[ \t]+/g, ' ').trim();
  const angle = /<([^<>\s]{1,900})>/.exec(value);
  return angle ? angle[1]! : value.slice(0, 900) || null;
}

/**
 * The Message-ID of the message a bounce (DSN) reports on: the first Message-ID header line after the
 * bounce's own header block (in its `message/rfc822` or `text/rfc822-headers` part). Null when absent.
 */
export function originalMessageIdOf(bytes: Uint8Array): string | null {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 1_048_576)).toString(
    'latin1',
  );
  const end = text.search(/\r?\n\r?\n/);
  if (end === -1) return null;
  const match = /(?:^|\n)message-id:[ \t]*(?:\r?\n[ \t]+)?<([^<>\s]{1,900})>/i.exec(text.slice(end));
  return match ? match[1]! : null;
}
