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

/** A minor's-data deletion request or a breach notification (src/compliance/privacy-request-repository.ts). */
export interface PrivacyRequestTable {
  id: Generated<number>;
  kind: ColumnType<'child-data-deletion' | 'breach', 'child-data-deletion' | 'breach', never>;
  status: ColumnType<'open' | 'completed', 'open' | 'completed', 'open' | 'completed'>;
  channel: ColumnType<string, string, never>;
  received_at: ColumnType<Date, Date, never>;
  due_at: ColumnType<Date | null, Date | null | undefined, never>;
  requester_name: ColumnType<string | null, string | null | undefined, never>;
  requester_email: ColumnType<string | null, string | null | undefined, never>;
  summary: ColumnType<string, string, never>;
  body: ColumnType<string, string, never>;
  evidence_sha256: ColumnType<string | null, string | null | undefined, never>;
  affected_notified_at: NullableTimestamp;
  regulator_notified_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  completed_by: NullableText;
  completion_note: NullableText;
}

/** A licence-certification request to a customer (src/compliance/licence-certification-repository.ts). */
export interface LicenceCertificationTable {
  id: Generated<number>;
  customer_id: ColumnType<number, number, never>;
  requested_at: ColumnType<Date, Date, never>;
  requested_by: ColumnType<string, string, never>;
  due_at: ColumnType<Date, Date, never>;
  certified_at: NullableTimestamp;
  certified_by: NullableText;
  statement: NullableText;
  /** numeric: read back as a string by both drivers. */
  fee_amount: ColumnType<string, number, never>;
  fee_currency: ColumnType<string, string, never>;
  fee_every_days: ColumnType<number, number, never>;
  fees_queued: ColumnType<number, number | undefined, number>;
}
