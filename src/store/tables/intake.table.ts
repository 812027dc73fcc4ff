import type { ColumnType, Generated } from 'kysely';

type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;
type NullableText = ColumnType<string | null, string | null | undefined, string | null>;
type NullableInt = ColumnType<number | null, number | null | undefined, number | null>;
/** jsonb: read as parsed JSON, written as a JSON string. */
type NullableJson = ColumnType<unknown, string | null | undefined, string | null>;

export type InboxStatus = 'pending' | 'done' | 'failed';
/** `authorised`: a flow detection inside a recorded pen-test authorisation (kept, never a case). */
export type InboxKind = 'complaint' | 'bounce' | 'loop' | 'authorised';

/** One received item waiting for (or done with) processing (src/intake/inbox/inbox-accept.ts). */
export interface IntakeInboxTable {
  /** bigint: returned as a string by both drivers. */
  id: Generated<string>;
  evidence_sha256: ColumnType<string, string, never>;
  size: ColumnType<string | number, number, never>;
  channel: ColumnType<string, string, never>;
  route: ColumnType<string | null, string | null | undefined, never>;
  kind: ColumnType<InboxKind, InboxKind | undefined, never>;
  file_name: ColumnType<string | null, string | null | undefined, never>;
  content_type: ColumnType<string | null, string | null | undefined, never>;
  envelope: ColumnType<unknown, string | null | undefined, never>;
  message_id: ColumnType<string | null, string | null | undefined, never>;
  received_at: ColumnType<Date, Date, never>;
  status: ColumnType<InboxStatus, InboxStatus | undefined, InboxStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  claimed_by: NullableText;
  claimed_until: NullableTimestamp;
  last_error: NullableText;
  report_status: NullableText;
  report_format: NullableText;
  event_count: NullableInt;
  parse_errors: NullableJson;
  report_id: NullableInt;
  outcome: NullableJson;
  /** A report processed in segments: the cursor and running state committed with each segment. */
  progress: NullableJson;
  processed_at: NullableTimestamp;
}
