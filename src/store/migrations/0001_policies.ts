import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

export async function up(db: Kysely<unknown>): Promise<void> {
  // btree_gist lets later exclusion constraints mix scalar equality with range overlap. It goes in public,
  // never in the desk's own schema: an extension is one per database, and dropping a schema that held it
  // would drop every other schema's exclusion constraints with it (see 0028).
  await sql`create extension if not exists btree_gist with schema public`.execute(db);

  await db.schema
    .createTable('providers')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ '^[a-z0-9][a-z0-9-]*$'`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('policy_versions')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('provider_id', 'text', (c) => c.notNull().references('providers.id').onDelete('restrict'))
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('published_at', 'timestamptz', (c) => c.notNull())
    .addColumn('effective_at', 'timestamptz', (c) => c.notNull())
    .addColumn('document', 'jsonb', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_sha256', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('policy_versions_provider_version_key', ['provider_id', 'version'])
    .addCheckConstraint('policy_versions_effective_after_published', sql`effective_at >= published_at`)
    .execute();

  await db.schema
    .createIndex('policy_versions_provider_effective_idx')
    .on('policy_versions')
    .columns(['provider_id', 'effective_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('policy_versions').execute();
  await db.schema.dropTable('providers').execute();
}
