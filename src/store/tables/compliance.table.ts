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

/** An imported OFAC SDN list (src/compliance/sanctions/sanctions-repository.ts). */
export interface SanctionsListTable {
  id: Generated<number>;
  sha256: ColumnType<string, string, never>;
  /** The parsed entries (SdnEntry[]), so new customers are screened against the list in force. */
  entries: Json;
  entry_count: ColumnType<number, number, never>;
  imported_at: ColumnType<Date, Date, never>;
  imported_by: ColumnType<string, string, never>;
}

/** A possible sanctions match for an analyst to review (src/compliance/sanctions/sanctions-repository.ts). */
export interface SanctionsMatchTable {
  id: Generated<number>;
  list_id: ColumnType<number, number, number>;
  customer_ref: ColumnType<string, string, never>;
  entry: ColumnType<number, number, never>;
  name: ColumnType<string, string, string>;
  sdn_name: ColumnType<string, string, string>;
  via: ColumnType<string, string, string>;
  score: ColumnType<number, number, number>;
  program: ColumnType<string, string, string>;
  country_match: ColumnType<boolean, boolean, boolean>;
  status: ColumnType<string, string | undefined, string>;
  created_at: ColumnType<Date, Date, never>;
  decided_at: NullableTimestamp;
  decided_by: NullableText;
  note: NullableText;
}

/** A customer's per-recipient consent evidence on a case (src/compliance/consent-evidence-repository.ts). */
export interface ConsentEvidenceTable {
  id: Generated<number>;
  case_id: ColumnType<number, number, never>;
  /** JSON array of { address, time, source, method, confirmation }. */
  recipients: Json;
  submitted_at: ColumnType<Date, Date, never>;
  submitted_by: ColumnType<string, string, never>;
  status: ColumnType<string, string | undefined, string>;
  decided_at: NullableTimestamp;
  decided_by: NullableText;
  note: NullableText;
}
