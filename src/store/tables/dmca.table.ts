import type { ColumnType, Generated } from 'kysely';

type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;
type NullableText = ColumnType<string | null, string | null | undefined, string | null>;
type NullableInt = ColumnType<number | null, number | null | undefined, number | null>;
/** jsonb: read as parsed JSON, written as a JSON string. */
type Json = ColumnType<unknown, string, string>;

/** A DMCA notice or counter-notice as received and worked (src/dmca/dmca-repository.ts). */
export interface DmcaNoticeTable {
  id: Generated<number>;
  kind: ColumnType<'notice' | 'counter-notice', 'notice' | 'counter-notice', never>;
  provider_id: NullableText;
  status: ColumnType<string, string, string>;
  channel: ColumnType<string, string, never>;
  evidence_sha256: ColumnType<string | null, string | null | undefined, never>;
  inbox_id: ColumnType<string | null, string | null | undefined, never>;
  received_at: ColumnType<Date, Date, never>;
  sent_at: ColumnType<Date | null, Date | null | undefined, never>;
  sender: Json;
  principal: ColumnType<string | null, string | null | undefined, never>;
  elements: Json;
  missing: Json;
  works: Json;
  urls: Json;
  copyrighted_urls: Json;
  body: ColumnType<string, string, never>;
  customer_ref: NullableText;
  service_ref: NullableText;
  case_refs: Json;
  notice_id: NullableInt;
  deadline_at: NullableTimestamp;
  restore_earliest: NullableText;
  restore_latest: NullableText;
  suit_reported_at: NullableTimestamp;
  suit_details: NullableText;
  removed_at: NullableTimestamp;
  restored_at: NullableTimestamp;
  action_taken: NullableText;
  reason: NullableText;
  updated_at: ColumnType<Date, Date, Date>;
}

/** A repeat-infringer strike: a complete notice that took a customer's material down (512(i)). */
export interface DmcaStrikeTable {
  id: Generated<number>;
  customer_ref: ColumnType<string, string, never>;
  notice_id: ColumnType<number, number, never>;
  at: ColumnType<Date, Date, never>;
  withdrawn_at: NullableTimestamp;
  withdrawn_reason: NullableText;
}
