import { createHash } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { type AuditActor, appendAudit } from '../../audit/audit-log.js';
import { AupError } from '../../errors.js';
import type { Database } from '../../store/schema.js';
import type { SanctionsMatchTable } from '../../store/tables/compliance.table.js';
import {
  DEFAULT_SANCTIONS_THRESHOLD,
  type SanctionsMatch,
  type ScreenedCustomer,
  screenCustomers,
} from './screen-customers.js';
import { screenRegistry } from './screen-registry.js';
import { parseSdnFiles, type SdnEntry } from './sdn-csv.js';

/**
 * The sanctions review queue (tables `sanctions_lists` and `sanctions_matches`, owned here). Importing a
 * list stores it and screens every customer against it; screening again after customers are added (the
 * registry import) uses the stored list. A possible match goes into the queue once per customer and SDN
 * entry, for an analyst to clear or confirm: never an action by itself (Secure Packet §7). A decided match
 * stays decided when a later list matches the same entry again. Every import, queued match and decision
 * is audited.
 */

type Db = Kysely<Database> | Transaction<Database>;

export type SanctionsDecision = 'cleared' | 'confirmed';

export interface StoredSanctionsMatch extends SanctionsMatch {
  readonly id: number;
  readonly listId: number;
  readonly status: 'open' | SanctionsDecision;
  readonly createdAt: Date;
  readonly decidedAt: Date | null;
  readonly decidedBy: string | null;
  readonly note: string | null;
}

export interface ScreeningResult {
  readonly listId: number;
  readonly entries: number;
  readonly customers: number;
  /** Every match at or above the threshold this run found. */
  readonly matches: readonly SanctionsMatch[];
  /** The matches new to the queue (not already queued or decided). */
  readonly queued: readonly StoredSanctionsMatch[];
}

interface Meta {
  readonly at: Date;
  readonly actor: AuditActor;
  readonly threshold?: number;
}

/** Stores an SDN list (sdn.csv and optional alt.csv/add.csv texts) and screens every customer against it. */
export async function importSanctionsList(
  db: Kysely<Database>,
  files: { readonly sdn: string; readonly alt?: string; readonly add?: string },
  meta: Meta,
): Promise<ScreeningResult> {
  const entries = parseSdnFiles(files);
  const sha256 = createHash('sha256').update(files.sdn).digest('hex');
  const list = await db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('sanctions_lists')
      .values({
        sha256,
        entries: JSON.stringify(entries),
        entry_count: entries.length,
        imported_at: meta.at,
        imported_by: meta.actor,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      at: meta.at,
      actor: meta.actor,
      kind: 'sanctions.list-imported',
      subject: `sanctions-list:${row.id}`,
      payload: {
        sha256,
        entries: entries.length,
        aliases: files.alt !== undefined,
        addresses: files.add !== undefined,
      },
    });
    return row;
  });
  return screenAndQueue(db, list.id, entries, sha256, meta);
}

/**
 * Screens every customer against the list in force (the last imported), queueing new matches: called after
 * customers are added. Null when no list was ever imported (nothing to screen against).
 */
export async function rescreenCustomers(db: Kysely<Database>, meta: Meta): Promise<ScreeningResult | null> {
  const list = await latestList(db);
  if (!list) return null;
  return screenAndQueue(db, list.id, list.entries as SdnEntry[], list.sha256, meta);
}

/**
 * Screens the named customers only (one created through the API) against the list in force, queueing new
 * matches: a single new customer need not cost a screening of the whole registry. Null without a list.
 */
export async function screenNewCustomers(
  db: Kysely<Database>,
  customers: readonly ScreenedCustomer[],
  meta: Meta,
): Promise<ScreeningResult | null> {
  const list = await latestList(db);
  if (!list) return null;
  const entries = list.entries as SdnEntry[];
  const threshold = meta.threshold ?? DEFAULT_SANCTIONS_THRESHOLD;
  const matches = screenCustomers(customers, entries, threshold);
  await db.transaction().execute((trx) =>
    appendAudit(trx, {
      at: meta.at,
      actor: meta.actor,
      kind: 'sanctions.screened',
      subject: 'sanctions:sdn',
      payload: {
        list: `sdn.csv sha256:${list.sha256}`,
        entries: entries.length,
        customers: customers.length,
        refs: customers.map((c) => c.ref),
        threshold,
        matches: matches.map((m) => ({ customer: m.customer, entry: m.entry, name: m.name, score: m.score })),
      },
    }),
  );
  return queue(db, list.id, entries.length, { customers: customers.length, matches }, meta);
}

function latestList(db: Db) {
  return db
    .selectFrom('sanctions_lists')
    .select(['id', 'sha256', 'entries'])
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

async function screenAndQueue(
  db: Kysely<Database>,
  listId: number,
  entries: readonly SdnEntry[],
  sha256: string,
  meta: Meta,
): Promise<ScreeningResult> {
  const result = await screenRegistry(db, entries, {
    threshold: meta.threshold ?? DEFAULT_SANCTIONS_THRESHOLD,
    at: meta.at,
    actor: meta.actor,
    list: `sdn.csv sha256:${sha256}`,
  });
  return queue(db, listId, entries.length, result, meta);
}

async function queue(
  db: Kysely<Database>,
  listId: number,
  entries: number,
  result: { readonly customers: number; readonly matches: readonly SanctionsMatch[] },
  meta: Meta,
): Promise<ScreeningResult> {
  const queued = await db.transaction().execute(async (trx) => {
    const out: StoredSanctionsMatch[] = [];
    for (const m of result.matches) {
      const row = await trx
        .insertInto('sanctions_matches')
        .values({
          list_id: listId,
          customer_ref: m.customer,
          entry: m.entry,
          name: m.name,
          sdn_name: m.sdnName,
          via: m.via,
          score: m.score,
          program: m.program,
          country_match: m.countryMatch,
          created_at: meta.at,
        })
        .onConflict((oc) => oc.columns(['customer_ref', 'entry']).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) continue;
      const stored = matchOf(row);
      out.push(stored);
      await appendAudit(trx, {
        at: meta.at,
        actor: meta.actor,
        kind: 'sanctions.match-queued',
        subject: `sanctions-match:${stored.id}`,
        payload: { customer: m.customer, entry: m.entry, name: m.name, score: m.score, program: m.program },
      });
    }
    return out;
  });
  return { listId, entries, customers: result.customers, matches: result.matches, queued };
}

export async function listSanctionsMatches(
  db: Db,
  filter: { readonly status?: 'open' | SanctionsDecision } = {},
): Promise<StoredSanctionsMatch[]> {
  let query = db.selectFrom('sanctions_matches').selectAll().orderBy('score', 'desc').orderBy('id', 'asc');
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  return (await query.execute()).map(matchOf);
}

/** An analyst's decision on an open match: `cleared` (not the listed party) or `confirmed`. */
export async function decideSanctionsMatch(
  db: Kysely<Database>,
  id: number,
  decision: {
    readonly decision: SanctionsDecision;
    readonly note: string;
    readonly at: Date;
    readonly actor: AuditActor;
  },
): Promise<StoredSanctionsMatch> {
  if (decision.note.trim() === '') {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'a sanctions decision needs a note saying why');
  }
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('sanctions_matches')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw new AupError('AUP_ERR_NOT_FOUND', `no sanctions match ${id}`);
    if (row.status !== 'open') {
      throw new AupError(
        'AUP_ERR_STORE_CONFLICT',
        `sanctions match ${id} was already ${row.status} by ${row.decided_by}`,
      );
    }
    const updated = await trx
      .updateTable('sanctions_matches')
      .set({
        status: decision.decision,
        decided_at: decision.at,
        decided_by: decision.actor,
        note: decision.note.trim(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(trx, {
      at: decision.at,
      actor: decision.actor,
      kind: `sanctions.match-${decision.decision}`,
      subject: `sanctions-match:${id}`,
      payload: {
        customer: row.customer_ref,
        entry: row.entry,
        name: row.name,
        score: row.score,
        note: decision.note.trim(),
      },
    });
    return matchOf(updated);
  });
}

function matchOf(row: Selectable<SanctionsMatchTable>): StoredSanctionsMatch {
  return {
    id: row.id,
    listId: row.list_id,
    customer: row.customer_ref,
    entry: row.entry,
    name: row.name,
    sdnName: row.sdn_name,
    via: row.via === 'alias' ? 'alias' : 'name',
    score: row.score,
    program: row.program,
    countryMatch: row.country_match,
    status: row.status === 'cleared' || row.status === 'confirmed' ? row.status : 'open',
    createdAt: row.created_at,
    decidedAt: row.decided_at,
    decidedBy: row.decided_by,
    note: row.note,
  };
}
