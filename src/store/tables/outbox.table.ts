import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;

export type OutboxStatus = 'pending' | 'running' | 'done' | 'failed' | 'dead';

/** An action to perform on the world (src/enforcement/outbox). Written in the state change's transaction. */
export interface OutboxActionTable {
  id: Generated<number>;
  kind: ColumnType<string, string, never>;
  idempotency_key: ColumnType<string, string, never>;
  payload: ColumnType<unknown, string, never>;
  status: ColumnType<OutboxStatus, OutboxStatus | undefined, OutboxStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  max_attempts: ColumnType<number, number, never>;
  next_attempt_at: Timestamp;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  result: ColumnType<unknown, string | null | undefined, string | null>;
  claimed_by: ColumnType<string | null, string | null | undefined, string | null>;
  claimed_until: NullableTimestamp;
  case_id: ColumnType<number | null, number | null | undefined, never>;
  created_at: ColumnType<Date, Date, never>;
  updated_at: Timestamp;
  done_at: NullableTimestamp;
}

export type ScheduledStepStatus = 'pending' | 'done' | 'cancelled' | 'failed';

/** A step due at a time (src/enforcement/scheduler): cure deadlines, escalations. */
export interface ScheduledStepTable {
  id: Generated<number>;
  subject: ColumnType<string, string, never>;
  kind: ColumnType<string, string, never>;
  due_at: ColumnType<Date, Date, never>;
  status: ColumnType<ScheduledStepStatus, ScheduledStepStatus | undefined, ScheduledStepStatus>;
  idempotency_key: ColumnType<string, string, never>;
  payload: ColumnType<unknown, string, never>;
  attempts: ColumnType<number, number | undefined, number>;
  max_attempts: ColumnType<number, number, never>;
  next_attempt_at: Timestamp;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  result: ColumnType<unknown, string | null | undefined, string | null>;
  created_at: ColumnType<Date, Date, never>;
  fired_at: NullableTimestamp;
  cancelled_at: NullableTimestamp;
  cancel_reason: ColumnType<string | null, string | null | undefined, string | null>;
}
