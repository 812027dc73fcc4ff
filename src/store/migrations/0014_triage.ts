import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * The triage queue: every report and event that opened no case and that a person must decide about
 * (unparsed, failed five times, no clause, low confidence, the role of the address unknown, not ours, our
 * customer named only as the victim, a legal request), with the reason and what an analyst then did.
 *
 * - One row per report and reason (`report_id`, `reason` unique): a log file of 2,000 lines about addresses
 *   not ours is one item naming its events (`event_ids`), not 2,000.
 * - A failed intake item has no report row: it is keyed by its inbox id and when it failed.
 * - `case_events.verdict` gains the verdicts that send an event to triage instead of judging it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('triage_items')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('report_id', 'integer', (c) => c.references('reports.id'))
    .addColumn('inbox_id', 'bigint')
    /** When the inbox gave the item up: an item retried and failed again is a new triage item. */
    .addColumn('inbox_failed_at', 'timestamptz')
    .addColumn('reason', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`reason in ('unparsed', 'failed', 'no-clause', 'no-policy', 'low-confidence', 'role-unknown', 'not-ours', 'victim-notice', 'legal-request')`,
        ),
    )
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('event_ids', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    /** The parser's or the judgement's best guess of the class (`taxonomy/type`), shown to the analyst. */
    .addColumn('best_guess', 'text')
    /** Registry ids of the service the item concerns, when attribution found one (the victim's, say). */
    .addColumn('customer_id', 'integer')
    .addColumn('service_id', 'integer')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('open').check(sql`status in ('open', 'resolved')`),
    )
    .addColumn('resolution', 'text', (c) =>
      c.check(
        sql`resolution is null or resolution in ('classified', 'attached', 'case-opened', 'not-actionable', 'retried')`,
      ),
    )
    .addColumn('resolved_by', 'text')
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('case_id', 'integer', (c) => c.references('cases.id'))
    .addColumn('note', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint('triage_items_subject', sql`report_id is not null or inbox_id is not null`)
    .execute();
  await db.schema
    .createIndex('triage_items_report_reason_idx')
    .on('triage_items')
    .columns(['report_id', 'reason'])
    .unique()
    .execute();
  await db.schema
    .createIndex('triage_items_inbox_idx')
    .on('triage_items')
    .columns(['inbox_id', 'inbox_failed_at'])
    .unique()
    .execute();
  // The queue: open items, oldest first.
  await db.schema
    .createIndex('triage_items_open_idx')
    .on('triage_items')
    .columns(['received_at', 'id'])
    .where(sql.ref('status'), '=', 'open')
    .execute();

  await sql`alter table case_events drop constraint if exists case_events_verdict_check`.execute(db);
  await sql`alter table case_events add constraint case_events_verdict_check check (verdict in ('violation', 'no-clause', 'rejected-anonymous', 'too-old', 'not-ours', 'no-policy', 'low-confidence', 'role-unknown', 'victim-notice', 'legal-request'))`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('triage_items').ifExists().execute();
}
