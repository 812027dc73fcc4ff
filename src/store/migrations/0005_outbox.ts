import { type Kysely, sql } from 'kysely';

// Frozen in time: migrations never import application types.

/**
 * The transactional outbox (actions to perform on the world) and the durable scheduler (steps due at a
 * time). Both are written inside the transaction of the state change that causes them and claimed by
 * workers with `FOR UPDATE SKIP LOCKED`.
 *
 * `case_id` / `subject` deliberately carry no foreign key: enforcement infrastructure is independent of
 * the case tables (which migrate separately) and an action outlives nothing it refers to.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('outbox_actions')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind ~ '^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$'`))
    .addColumn('idempotency_key', 'text', (c) =>
      c.notNull().unique().check(sql`length(idempotency_key) between 1 and 200`),
    )
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'running', 'done', 'failed', 'dead')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0).check(sql`attempts >= 0`))
    .addColumn('max_attempts', 'integer', (c) => c.notNull().check(sql`max_attempts between 1 and 100`))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('result', 'jsonb')
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('case_id', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('done_at', 'timestamptz')
    .addCheckConstraint(
      'outbox_actions_claim_complete',
      sql`(status = 'running') = (claimed_by is not null and claimed_until is not null)`,
    )
    .addCheckConstraint('outbox_actions_done_at', sql`(status = 'done') = (done_at is not null)`)
    .execute();
  // The claim query's index: only rows that can still be claimed are in it.
  await db.schema
    .createIndex('outbox_actions_due_idx')
    .on('outbox_actions')
    .columns(['next_attempt_at', 'id'])
    .where(sql<boolean>`status in ('pending', 'failed')`)
    .execute();
  await db.schema
    .createIndex('outbox_actions_lease_idx')
    .on('outbox_actions')
    .columns(['claimed_until'])
    .where(sql<boolean>`status = 'running'`)
    .execute();
  await db.schema.createIndex('outbox_actions_case_idx').on('outbox_actions').column('case_id').execute();

  await db.schema
    .createTable('scheduled_steps')
    .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('subject', 'text', (c) => c.notNull().check(sql`subject ~ '^[a-z][a-z0-9_-]*:.+$'`))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind ~ '^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)*$'`))
    .addColumn('due_at', 'timestamptz', (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending', 'done', 'cancelled', 'failed')`),
    )
    .addColumn('idempotency_key', 'text', (c) =>
      c.notNull().unique().check(sql`length(idempotency_key) between 1 and 200`),
    )
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull().check(sql`max_attempts between 1 and 100`))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('result', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('fired_at', 'timestamptz')
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('cancel_reason', 'text')
    .execute();
  await db.schema
    .createIndex('scheduled_steps_due_idx')
    .on('scheduled_steps')
    .columns(['next_attempt_at', 'id'])
    .where(sql<boolean>`status = 'pending'`)
    .execute();
  await db.schema
    .createIndex('scheduled_steps_subject_idx')
    .on('scheduled_steps')
    .columns(['subject', 'status'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('scheduled_steps').execute();
  await db.schema.dropTable('outbox_actions').execute();
}
