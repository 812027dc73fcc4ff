import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;
type NullableText = ColumnType<string | null, string | null | undefined, string | null>;
type NullableInt = ColumnType<number | null, number | null | undefined, number | null>;
/** jsonb: read as parsed JSON, written as a JSON string. */
type Json = ColumnType<unknown, string, string>;

export type ReportDisposition =
  | 'events'
  | 'customer-reply'
  | 'reporter-reply'
  | 'auto-reply'
  | 'third-party-reply'
  | 'unparsed';

/** One received item as parsed (src/cases/report-repository.ts). */
export interface ReportTable {
  id: Generated<number>;
  evidence_sha256: ColumnType<string, string, never>;
  format: ColumnType<string, string, never>;
  channel: ColumnType<string, string, never>;
  received_at: ColumnType<Date, Date, never>;
  reporter: Json;
  /** Set once; a report processed in segments sets it again at its end (its status known only then). */
  status: ColumnType<string, string, string>;
  errors: Json;
  subject: NullableText;
  message_id: NullableText;
  in_reply_to: Json;
  disposition: ColumnType<ReportDisposition, ReportDisposition, ReportDisposition>;
  case_id: NullableInt;
  ack_outcome: NullableText;
  ack_suppressed: NullableText;
  processed_at: Timestamp;
}

export type EventVerdict =
  | 'violation'
  | 'no-clause'
  | 'rejected-anonymous'
  | 'too-old'
  | 'not-ours'
  | 'no-policy'
  /** Sent to triage instead of judged (migration 0014): see enforcement/pipeline/triage-route.ts. */
  | 'low-confidence'
  | 'role-unknown'
  | 'victim-notice'
  | 'legal-request'
  /** A scan or attack inside a recorded vulnerability-test consent (compliance/test-consent.ts). */
  | 'authorised';

/** One event of a report, attributed and judged; `case_id` once it joined a case. */
export interface CaseEventTable {
  id: Generated<number>;
  report_id: ColumnType<number, number, never>;
  case_id: NullableInt;
  fingerprint: ColumnType<string, string, never>;
  event: ColumnType<unknown, string, never>;
  event_time: ColumnType<Date, Date, never>;
  classification: ColumnType<string, string, never>;
  identifier: NullableText;
  /** inet: returned as text. */
  source_ip: NullableText;
  source_fqdn: NullableText;
  source_url: NullableText;
  customer_id: NullableInt;
  service_id: NullableInt;
  assignment_id: NullableInt;
  policy_version: NullableText;
  verdict: ColumnType<EventVerdict, EventVerdict, never>;
  clause_id: NullableText;
  reason: NullableText;
  created_at: ColumnType<Date, Date, never>;
}

/** A case; `state` is the ladder engine's state (caseStateSchema), `status` mirrors it. */
export interface CaseTable {
  id: Generated<number>;
  ref: NullableText;
  provider_id: ColumnType<string, string, never>;
  policy_version: ColumnType<string, string, never>;
  customer_id: ColumnType<number, number, never>;
  customer_ref: ColumnType<string, string, never>;
  service_id: ColumnType<number, number, never>;
  service_ref: ColumnType<string, string, never>;
  clause_id: ColumnType<string, string, never>;
  severity: ColumnType<string, string, never>;
  state: Json;
  status: ColumnType<string, string, string>;
  repeat_count: ColumnType<number, number | undefined, number>;
  opened_at: ColumnType<Date, Date, never>;
  first_event_at: Timestamp;
  last_event_at: Timestamp;
  window_ends_at: Timestamp;
  due_at: NullableTimestamp;
  assigned_to: NullableText;
  merged_into: NullableInt;
  version: ColumnType<number, number | undefined, number>;
  updated_at: Timestamp;
}

export type CaseMessageKind = 'notice' | 'ack' | 'reply' | 'reporter-reply' | 'auto-reply' | 'third-party';

export interface CaseMessageTable {
  id: Generated<number>;
  case_id: ColumnType<number, number, number>;
  direction: ColumnType<'in' | 'out', 'in' | 'out', never>;
  kind: ColumnType<CaseMessageKind, CaseMessageKind, never>;
  message_id: NullableText;
  in_reply_to: NullableText;
  subject: NullableText;
  body: NullableText;
  sender: NullableText;
  recipient: NullableText;
  report_id: NullableInt;
  outbox_key: NullableText;
  at: ColumnType<Date, Date, never>;
}

export interface CaseNoteTable {
  id: Generated<number>;
  case_id: ColumnType<number, number, number>;
  author: ColumnType<string, string, never>;
  text: ColumnType<string, string, never>;
  at: ColumnType<Date, Date, never>;
}

/** A fee recorded against a customer (the `fee.record` adapter); `amount` is numeric, read as text. */
export interface FeeTable {
  id: Generated<number>;
  idempotency_key: ColumnType<string, string, never>;
  case_ref: ColumnType<string, string, never>;
  customer_ref: ColumnType<string, string, never>;
  service_ref: ColumnType<string, string, never>;
  amount: ColumnType<string | number, number, never>;
  currency: ColumnType<string, string, never>;
  basis: ColumnType<string, string, never>;
  recorded_at: ColumnType<Date, Date, never>;
}

/** One acknowledgement the per-reporter rate limit let through (the `mail.ack` adapter). */
export interface ReporterAckSendTable {
  /** The outbox action's idempotency key: a retried send is the same row. */
  action_key: ColumnType<string, string, never>;
  /** The reporter's address, lower-cased, without a display name. */
  address: ColumnType<string, string, never>;
  sent_at: ColumnType<Date, Date, never>;
}

/** One blocked prefix held by one case (the `block.*` adapter). */
export interface BlocklistEntryTable {
  cidr: ColumnType<string, string, never>;
  case_ref: ColumnType<string, string, never>;
  customer_ref: ColumnType<string, string, never>;
  service_ref: ColumnType<string, string, never>;
  reason: ColumnType<string, string, never>;
  idempotency_key: ColumnType<string, string, never>;
  added_at: ColumnType<Date, Date, never>;
}
