import type { ColumnType, Generated } from 'kysely';

type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;
type NullableText = ColumnType<string | null, string | null | undefined, string | null>;
/** jsonb: read as parsed JSON, written as a JSON string. */
type Json = ColumnType<unknown, string, string>;

/** A vulnerability-test authorisation (src/compliance/test-consent-repository.ts). */
export interface TestConsentTable {
  id: Generated<number>;
  service_ref: ColumnType<string, string, never>;
  /** Canonical prefixes, a JSON array of strings. */
  targets: Json;
  valid_from: ColumnType<Date, Date, never>;
  valid_to: ColumnType<Date, Date, never>;
  reference: ColumnType<string, string, never>;
  created_at: ColumnType<Date, Date, never>;
  created_by: ColumnType<string, string, never>;
  revoked_at: NullableTimestamp;
  revoked_by: NullableText;
}
