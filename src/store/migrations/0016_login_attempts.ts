import type { Kysely } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Password-login attempts, counted in the store so that every process serving logins (API, console, portal,
 * any number of them) shares one limit per account and one per client address. One row per key
 * (`account:<e-mail>`, `client:<address>`): the attempts counted in the current fixed window.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('login_attempts')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('login_attempts_window_idx')
    .on('login_attempts')
    .column('window_start')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('login_attempts').ifExists().execute();
}
