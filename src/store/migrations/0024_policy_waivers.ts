import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Per-customer waivers of a policy version (registry/policy-waiver-repository.ts): the provider waived the
 * change for this customer, who stays on the version before it (policy/policy-binding.ts, rule 2). A waiver
 * is withdrawn, never deleted; one row per customer, provider and version.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('policy_waivers')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('customer_id', 'integer', (c) => c.notNull().references('customers.id').onDelete('cascade'))
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('granted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('granted_by', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('revoked_by', 'text')
    .addUniqueConstraint('policy_waivers_customer_version_key', ['customer_id', 'provider_id', 'version'])
    .execute();
  await sql`create index policy_waivers_customer_idx on policy_waivers (customer_id) where revoked_at is null`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('policy_waivers').ifExists().execute();
}
