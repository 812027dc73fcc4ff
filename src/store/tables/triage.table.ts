import type { ColumnType, Generated } from 'kysely';

type NullableText = ColumnType<string | null, string | null | undefined, string | null>;
type NullableInt = ColumnType<number | null, number | null | undefined, number | null>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;

export const triageReasons = [
  'unparsed',
  'failed',
  'no-clause',
  'no-policy',
  'low-confidence',
  'role-unknown',
  'not-ours',
  'victim-notice',
  'legal-request',
] as const;
export type TriageReason = (typeof triageReasons)[number];

export const triageResolutions = [
  'classified',
  'attached',
  'case-opened',
  'not-actionable',
  'retried',
] as const;
export type TriageResolution = (typeof triageResolutions)[number];

/** One item of the triage queue (src/cases/triage-repository.ts). */
export interface TriageItemTable {
  id: Generated<number>;
  report_id: ColumnType<number | null, number | null | undefined, never>;
  /** bigint: returned as a string by both drivers. */
  inbox_id: ColumnType<string | null, string | null | undefined, never>;
  inbox_failed_at: ColumnType<Date | null, Date | null | undefined, never>;
  reason: ColumnType<TriageReason, TriageReason, never>;
  /** Updated only while a report processed in segments adds events to its item (the detail counts them). */
  detail: ColumnType<string, string, string>;
  /** jsonb array of case_events ids. */
  event_ids: ColumnType<unknown, string | undefined, string>;
  best_guess: NullableText;
  customer_id: NullableInt;
  service_id: NullableInt;
  channel: ColumnType<string, string, never>;
  received_at: ColumnType<Date, Date, never>;
  status: ColumnType<'open' | 'resolved', 'open' | 'resolved' | undefined, 'open' | 'resolved'>;
  resolution: ColumnType<
    TriageResolution | null,
    TriageResolution | null | undefined,
    TriageResolution | null
  >;
  resolved_by: NullableText;
  resolved_at: NullableTimestamp;
  case_id: NullableInt;
  note: NullableText;
  created_at: ColumnType<Date, Date, never>;
}
