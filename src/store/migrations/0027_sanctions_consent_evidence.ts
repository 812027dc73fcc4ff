import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Compliance records (compliance/):
 * - `sanctions_lists`: each imported OFAC SDN list (parsed entries kept, so a new customer can be screened
 *   against the list in force without the files);
 * - `sanctions_matches`: the review queue of possible matches. One row per customer and SDN entry: a match
 *   once decided stays decided when the same entry matches again on a later import.
 * - `consent_evidence`: a customer's per-recipient consent evidence on a case (Secure Packet §4.3), with
 *   the analyst's accept/reject.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sanctions_lists')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('entries', 'jsonb', (c) => c.notNull())
    .addColumn('entry_count', 'integer', (c) => c.notNull())
    .addColumn('imported_at', 'timestamptz', (c) => c.notNull())
    .addColumn('imported_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('sanctions_matches')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('list_id', 'integer', (c) => c.notNull().references('sanctions_lists.id'))
    .addColumn('customer_ref', 'text', (c) => c.notNull())
    .addColumn('entry', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('sdn_name', 'text', (c) => c.notNull())
    .addColumn('via', 'text', (c) => c.notNull())
    .addColumn('score', 'double precision', (c) => c.notNull())
    .addColumn('program', 'text', (c) => c.notNull())
    .addColumn('country_match', 'boolean', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decided_by', 'text')
    .addColumn('note', 'text')
    .addCheckConstraint('sanctions_matches_status_check', sql`status in ('open', 'cleared', 'confirmed')`)
    .execute();
  await db.schema
    .createIndex('sanctions_matches_identity_idx')
    .on('sanctions_matches')
    .columns(['customer_ref', 'entry'])
    .unique()
    .execute();
  await db.schema
    .createTable('consent_evidence')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('case_id', 'integer', (c) => c.notNull().references('cases.id'))
    .addColumn('recipients', 'jsonb', (c) => c.notNull())
    .addColumn('submitted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('submitted_by', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('decided_at', 'timestamptz')
    .addColumn('decided_by', 'text')
    .addColumn('note', 'text')
    .addCheckConstraint('consent_evidence_status_check', sql`status in ('pending', 'accepted', 'rejected')`)
    .execute();
  await db.schema.createIndex('consent_evidence_case_idx').on('consent_evidence').column('case_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('consent_evidence').ifExists().execute();
  await db.schema.dropTable('sanctions_matches').ifExists().execute();
  await db.schema.dropTable('sanctions_lists').ifExists().execute();
}
