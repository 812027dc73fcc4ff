import type { ColumnType } from 'kysely';

/**
 * One audit entry. `seq` is bigint in the database: node-postgres returns it as a string, PGlite as a
 * number; src/audit normalises it, nothing else should read these columns directly.
 */
export interface AuditLogTable {
  seq: ColumnType<string | number, number, never>;
  at: ColumnType<Date, Date, never>;
  actor: ColumnType<string, string, never>;
  kind: ColumnType<string, string, never>;
  subject: ColumnType<string, string, never>;
  payload: ColumnType<unknown, string, never>;
  prev_hash: ColumnType<string, string, never>;
  hash: ColumnType<string, string, never>;
}

/** The one-row head of the chain (id = 1): the last seq and its hash; locked by every appender. */
export interface AuditHeadTable {
  id: ColumnType<number, never, never>;
  seq: ColumnType<string | number, never, number>;
  hash: ColumnType<string, never, string>;
}
