import { type Kysely, sql } from 'kysely';

/**
 * Indexes over the rows not yet done, for the backlog `/metrics` reads at every scrape
 * (`aupdesk_inbox_items`, `aupdesk_outbox_actions`): the count then touches the backlog only, not the
 * ever-growing done rows. Their predicate is the one the queries use (`status <> 'done'`).
 */

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('intake_inbox_backlog_idx')
    .on('intake_inbox')
    .column('status')
    .where(sql<boolean>`status <> 'done'`)
    .execute();
  await db.schema
    .createIndex('outbox_actions_backlog_idx')
    .on('outbox_actions')
    .column('status')
    .where(sql<boolean>`status <> 'done'`)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('outbox_actions_backlog_idx').ifExists().execute();
  await db.schema.dropIndex('intake_inbox_backlog_idx').ifExists().execute();
}
