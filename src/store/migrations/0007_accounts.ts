import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * Accounts: people (users with a scrypt password hash), their sessions, machine API keys, and which
 * principal submitted which evidence through the API (so a reporter sees its own reports).
 *
 * - Secrets are never stored: an API key and a session token are kept as their sha256; the password as an
 *   scrypt hash with its own salt and parameters (`scrypt$N$r$p$salt$hash`, base64url).
 * - `customer_id` binds a `customer` principal to one registry customer (no foreign key: the registry
 *   migrates on its own; the application checks the customer exists when the account is made).
 * - A session carries its CSRF token (synchroniser token, sent back in `x-csrf-token`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const roleCheck = (column: string) =>
    sql`${sql.ref(column)} in ('admin', 'analyst', 'customer', 'reporter')`;

  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('email', 'text', (c) =>
      c.notNull().unique().check(sql`email = lower(email) and email like '%@%'`),
    )
    .addColumn('password_hash', 'text')
    .addColumn('role', 'text', (c) => c.notNull().check(roleCheck('role')))
    .addColumn('customer_id', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_login_at', 'timestamptz')
    .addColumn('disabled_at', 'timestamptz')
    .addCheckConstraint('users_customer_binding', sql`(role = 'customer') = (customer_id is not null)`)
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('token_sha256', 'text', (c) => c.primaryKey().check(sql`token_sha256 ~ '^[0-9a-f]{64}$'`))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .execute();
  await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();
  await db.schema.createIndex('sessions_expiry_idx').on('sessions').column('expires_at').execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('name', 'text', (c) => c.notNull())
    /** The visible start of the key (`aupk_` and 8 characters): shown in lists and audit entries. */
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('key_sha256', 'text', (c) => c.notNull().unique().check(sql`key_sha256 ~ '^[0-9a-f]{64}$'`))
    .addColumn('role', 'text', (c) => c.notNull().check(roleCheck('role')))
    .addColumn('customer_id', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addCheckConstraint('api_keys_customer_binding', sql`(role = 'customer') = (customer_id is not null)`)
    .execute();

  await db.schema
    .createTable('report_submissions')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('evidence_sha256', 'text', (c) => c.notNull().check(sql`evidence_sha256 ~ '^[0-9a-f]{64}$'`))
    /** `user:<id>` or `apikey:<id>`. */
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    /** The intake inbox's id for the item (what processing reports back under). */
    .addColumn('inbox_ref', 'text')
    .addColumn('submitted_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('report_submissions_principal_idx')
    .on('report_submissions')
    .columns(['principal', 'id'])
    .execute();
  await db.schema
    .createIndex('report_submissions_evidence_idx')
    .on('report_submissions')
    .column('evidence_sha256')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['report_submissions', 'api_keys', 'sessions', 'users']) {
    await db.schema.dropTable(table).execute();
  }
}
