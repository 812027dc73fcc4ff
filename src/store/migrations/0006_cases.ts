import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Reports, their events, cases and what hangs off a case (messages, notes), plus the rows two action
 * adapters keep (fees, block list entries).
 *
 * - `reports`: one received item as parsed; the raw bytes are in the evidence store under `evidence_sha256`.
 * - `case_events`: one parsed event with its attribution and judgement. `fingerprint` (sha256 of the evidence
 *   hash and the canonical event) is unique: the same event of the same evidence is stored once.
 * - `cases`: `state` is the ladder engine's JSON state (validated by the application on every read and
 *   write); `status` mirrors `state.status` for queries. `ref` (`AUP-000123`) is what mail subjects carry.
 * - Registry ids (customer, service, assignment) carry no foreign key: the registry migrates on its own and
 *   a case must outlive a deleted customer (the record stands up later).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('reports')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('evidence_sha256', 'text', (c) => c.notNull().check(sql`evidence_sha256 ~ '^[0-9a-f]{64}$'`))
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('reporter', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('parsed', 'partial', 'unparsed')`))
    .addColumn('errors', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('subject', 'text')
    .addColumn('message_id', 'text')
    .addColumn('in_reply_to', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    /** `events` (judged event by event), `customer-reply` (threaded to a case), `unparsed`. */
    .addColumn('disposition', 'text', (c) =>
      c
        .notNull()
        .check(sql`disposition in ('events', 'customer-reply', 'reporter-reply', 'auto-reply', 'unparsed')`),
    )
    .addColumn('case_id', 'integer')
    .addColumn('ack_outcome', 'text')
    /** Why no acknowledgement went out (automated sender, no address, duplicate report), or null. */
    .addColumn('ack_suppressed', 'text')
    .addColumn('processed_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('reports_evidence_idx').on('reports').column('evidence_sha256').execute();
  await db.schema.createIndex('reports_received_idx').on('reports').column('received_at').execute();

  await db.schema
    .createTable('cases')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('ref', 'text', (c) => c.unique().check(sql`ref ~ '^AUP-[0-9]{6,}$'`))
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('policy_version', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'integer', (c) => c.notNull())
    .addColumn('customer_ref', 'text', (c) => c.notNull())
    .addColumn('service_id', 'integer', (c) => c.notNull())
    .addColumn('service_ref', 'text', (c) => c.notNull())
    .addColumn('clause_id', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) =>
      c.notNull().check(sql`severity in ('low', 'medium', 'high', 'critical')`),
    )
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    /** How many earlier cases of the customer under the same clause there were when this one opened. */
    .addColumn('repeat_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('opened_at', 'timestamptz', (c) => c.notNull())
    .addColumn('first_event_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_event_at', 'timestamptz', (c) => c.notNull())
    .addColumn('window_ends_at', 'timestamptz', (c) => c.notNull())
    .addColumn('due_at', 'timestamptz')
    .addColumn('assigned_to', 'text')
    .addColumn('merged_into', 'integer', (c) => c.references('cases.id'))
    /** Bumped on every state write: optimistic checks and unique keys of scheduled steps. */
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  // Correlation's lookup: the open cases of one service under one clause.
  await db.schema
    .createIndex('cases_correlation_idx')
    .on('cases')
    .columns(['service_id', 'clause_id', 'last_event_at'])
    .where(sql<boolean>`merged_into is null`)
    .execute();
  await db.schema
    .createIndex('cases_customer_idx')
    .on('cases')
    .columns(['customer_id', 'clause_id'])
    .execute();
  await db.schema.createIndex('cases_status_idx').on('cases').columns(['status', 'id']).execute();

  await db.schema
    .createTable('case_events')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('report_id', 'integer', (c) => c.notNull().references('reports.id'))
    .addColumn('case_id', 'integer', (c) => c.references('cases.id'))
    .addColumn('fingerprint', 'text', (c) => c.notNull().unique().check(sql`fingerprint ~ '^[0-9a-f]{64}$'`))
    .addColumn('event', 'jsonb', (c) => c.notNull())
    .addColumn('event_time', 'timestamptz', (c) => c.notNull())
    .addColumn('classification', 'text', (c) => c.notNull())
    .addColumn('identifier', 'text')
    .addColumn('source_ip', sql`inet`)
    .addColumn('source_fqdn', 'text')
    .addColumn('source_url', 'text')
    .addColumn('customer_id', 'integer')
    .addColumn('service_id', 'integer')
    .addColumn('assignment_id', 'integer')
    .addColumn('policy_version', 'text')
    .addColumn('verdict', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`verdict in ('violation', 'no-clause', 'rejected-anonymous', 'too-old', 'not-ours', 'no-policy')`,
        ),
    )
    .addColumn('clause_id', 'text')
    .addColumn('reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('case_events_case_idx')
    .on('case_events')
    .columns(['case_id', 'event_time'])
    .execute();
  await db.schema.createIndex('case_events_report_idx').on('case_events').column('report_id').execute();
  await db.schema.createIndex('case_events_source_ip_idx').on('case_events').column('source_ip').execute();

  await db.schema
    .createTable('case_messages')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('case_id', 'integer', (c) => c.notNull().references('cases.id'))
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction in ('in', 'out')`))
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('notice', 'ack', 'reply', 'reporter-reply', 'auto-reply')`),
    )
    .addColumn('message_id', 'text')
    .addColumn('in_reply_to', 'text')
    .addColumn('subject', 'text')
    .addColumn('body', 'text')
    .addColumn('sender', 'text')
    .addColumn('recipient', 'text')
    .addColumn('report_id', 'integer', (c) => c.references('reports.id'))
    /** The outbox key of an outgoing message (its Message-ID is derived from it). */
    .addColumn('outbox_key', 'text')
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('case_messages_case_idx')
    .on('case_messages')
    .columns(['case_id', 'at'])
    .execute();
  await db.schema
    .createIndex('case_messages_message_id_idx')
    .on('case_messages')
    .column('message_id')
    .execute();

  await db.schema
    .createTable('case_notes')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('case_id', 'integer', (c) => c.notNull().references('cases.id'))
    .addColumn('author', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull().check(sql`length(text) between 1 and 20000`))
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('case_notes_case_idx').on('case_notes').columns(['case_id', 'at']).execute();

  await db.schema
    .createTable('fees')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('customer_ref', 'text', (c) => c.notNull())
    .addColumn('service_ref', 'text', (c) => c.notNull())
    .addColumn('amount', 'numeric(14, 2)', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('currency', 'text', (c) => c.notNull().check(sql`currency ~ '^[A-Z]{3}$'`))
    .addColumn('basis', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('fees_customer_idx').on('fees').column('customer_ref').execute();

  await db.schema
    .createTable('blocklist_entries')
    .addColumn('cidr', sql`cidr`, (c) => c.notNull())
    .addColumn('case_ref', 'text', (c) => c.notNull())
    .addColumn('customer_ref', 'text', (c) => c.notNull())
    .addColumn('service_ref', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('added_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('blocklist_entries_pk', ['cidr', 'case_ref'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'blocklist_entries',
    'fees',
    'case_notes',
    'case_messages',
    'case_events',
    'cases',
    'reports',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
