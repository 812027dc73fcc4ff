import type { ColumnType, Generated } from 'kysely';

type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;
type NullableText = ColumnType<string | null, string | null | undefined, string | null>;
type NullableNumber = ColumnType<number | null, number | null | undefined, number | null>;
type Json = ColumnType<unknown, string, string>;
type NullableJson = ColumnType<unknown, string | null | undefined, string | null>;

/** A legal information request (src/legal/legal-repository.ts). */
export interface LegalRequestTable {
  id: Generated<number>;
  provider_id: NullableText;
  policy_version: NullableText;
  kind: ColumnType<string, string, string>;
  status: ColumnType<string, string, string>;
  channel: ColumnType<string, string, never>;
  evidence_sha256: ColumnType<string | null, string | null | undefined, never>;
  received_at: ColumnType<Date, Date, never>;
  requester: Json;
  authority: NullableText;
  matter: NullableJson;
  asks: Json;
  deadline_at: NullableTimestamp;
  customer_ref: NullableText;
  nondisclosure_order: NullableText;
  estimated_hours: ColumnType<number, number, number>;
  assessment: NullableJson;
  billed_hours: NullableNumber;
  billed_amount: NullableNumber;
  billed_at: NullableTimestamp;
  customer_notified_at: NullableTimestamp;
  body: NullableText;
  updated_at: ColumnType<Date, Date, Date>;
}

/** One disclosure made under a request: what, to whom, when, and whether the customer was told. */
export interface LegalDisclosureTable {
  id: Generated<number>;
  request_id: ColumnType<number, number, never>;
  what: ColumnType<string, string, never>;
  recipient: ColumnType<string, string, never>;
  disclosed_at: ColumnType<Date, Date, never>;
  customer_told: ColumnType<boolean, boolean, never>;
  customer_told_at: ColumnType<Date | null, Date | null | undefined, never>;
  forbidding_order: ColumnType<string | null, string | null | undefined, never>;
  recorded_by: ColumnType<string, string, never>;
}
