import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Customers, their services and the prefixes/domains those services held over time.
 *
 * The database itself refuses conflicting tenancies (exclusion constraints over gist, same on PGlite and
 * PostgreSQL). Two CIDR blocks either nest or are disjoint, so the rules are:
 *  - the very same prefix held by two assignments at overlapping times is refused;
 *  - nested prefixes held by services of *different* customers at overlapping times are refused;
 *    services of the *same* customer may nest (a colocation /24 with one of its VPS /32s carved out),
 *    and attribution picks the most specific prefix;
 *  - the same domain held by two assignments at overlapping times is refused.
 * Validity is half-open [valid_from, valid_to); valid_to null is open-ended.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('customers')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('ref', 'text', (c) => c.notNull().unique().check(sql`length(ref) between 1 and 200`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('emails', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('country', 'text', (c) => c.check(sql`country ~ '^[A-Z]{2}$'`))
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('active').check(sql`status in ('active', 'suspended', 'terminated')`),
    )
    .addColumn('accepted_policy_provider', 'text')
    .addColumn('accepted_policy_version', 'text')
    .addColumn('accepted_policy_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint(
      'customers_policy_complete',
      sql`(accepted_policy_provider is null) = (accepted_policy_version is null)`,
    )
    .execute();

  await db.schema
    .createTable('services')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('ref', 'text', (c) => c.notNull().unique().check(sql`length(ref) between 1 and 200`))
    .addColumn('customer_id', 'integer', (c) => c.notNull().references('customers.id').onDelete('restrict'))
    .addColumn('kind', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`kind in ('shared-hosting', 'vps', 'dedicated', 'colocation', 'streaming', 'mail', 'other')`,
        ),
    )
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('active').check(sql`status in ('active', 'suspended', 'terminated')`),
    )
    .addColumn('provisioning_ref', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Target of the assignments' composite key, so an assignment's customer_id is always its service's.
    .addUniqueConstraint('services_id_customer_key', ['id', 'customer_id'])
    .execute();
  await db.schema.createIndex('services_customer_idx').on('services').column('customer_id').execute();

  await db.schema
    .createTable('assignments')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('service_id', 'integer', (c) => c.notNull())
    // Denormalised from the service so the exclusion constraint can compare customers.
    .addColumn('customer_id', 'integer', (c) => c.notNull())
    .addColumn('prefix', sql`cidr`)
    .addColumn('domain', 'text', (c) =>
      c.check(sql`domain = lower(domain) and domain ~ '^[a-z0-9_]([a-z0-9_.-]*[a-z0-9])?$'`),
    )
    .addColumn('valid_from', 'timestamptz', (c) => c.notNull())
    .addColumn('valid_to', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addForeignKeyConstraint(
      'assignments_service_fk',
      ['service_id', 'customer_id'],
      'services',
      ['id', 'customer_id'],
      (c) => c.onDelete('restrict').onUpdate('cascade'),
    )
    .addCheckConstraint('assignments_one_resource', sql`(prefix is null) <> (domain is null)`)
    .addCheckConstraint('assignments_valid_order', sql`valid_to is null or valid_to > valid_from`)
    .execute();

  await sql`alter table assignments add constraint assignments_prefix_same_excl
    exclude using gist (prefix inet_ops with =, tstzrange(valid_from, valid_to, '[)') with &&)
    where (prefix is not null)`.execute(db);
  await sql`alter table assignments add constraint assignments_prefix_nested_excl
    exclude using gist (prefix inet_ops with &&, tstzrange(valid_from, valid_to, '[)') with &&,
                        customer_id with <>)
    where (prefix is not null)`.execute(db);
  await sql`alter table assignments add constraint assignments_domain_excl
    exclude using gist (domain with =, tstzrange(valid_from, valid_to, '[)') with &&)
    where (domain is not null)`.execute(db);
  await db.schema.createIndex('assignments_service_idx').on('assignments').column('service_id').execute();

  // One counter every process can poll cheaply to learn that its attribution snapshot is stale,
  // bumped by a statement trigger so writes from any path (import, API, psql) count.
  await db.schema
    .createTable('registry_revision')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('revision', 'bigint', (c) => c.notNull())
    .addColumn('changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`insert into registry_revision (id, revision) values (1, 0)`.execute(db);
  await sql`create function registry_bump_revision() returns trigger language plpgsql as $$
    begin
      update registry_revision set revision = revision + 1, changed_at = now() where id = 1;
      return null;
    end $$`.execute(db);
  for (const table of ['customers', 'services', 'assignments']) {
    await sql`create trigger ${sql.raw(`${table}_bump_revision`)}
      after insert or update or delete or truncate on ${sql.table(table)}
      for each statement execute function registry_bump_revision()`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('assignments').execute();
  await db.schema.dropTable('services').execute();
  await db.schema.dropTable('customers').execute();
  await db.schema.dropTable('registry_revision').execute();
  await sql`drop function if exists registry_bump_revision()`.execute(db);
}
