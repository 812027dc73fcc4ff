import type { Kysely } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * The reporter acknowledgements' rate limit, shared by every worker process and kept across restarts: one
 * row per acknowledgement the limit let through, keyed by its outbox action so a retried send counts once.
 * Rows older than the window are pruned as the limit is checked.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('reporter_ack_sends')
    .addColumn('action_key', 'text', (c) => c.primaryKey())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('reporter_ack_sends_address_idx')
    .on('reporter_ack_sends')
    .columns(['address', 'sent_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('reporter_ack_sends').ifExists().execute();
}
