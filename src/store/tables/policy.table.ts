import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** A provider whose AUP the desk enforces (one row per `policies/<provider>/`). */
export interface ProviderTable {
  id: string;
  name: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

/**
 * One published version of a provider's AUP. `document` is the validated policy document (JSON of the
 * YAML), `source` the YAML exactly as published so the public page and the audit trail show what was
 * posted, byte for byte; `source_sha256` identifies it.
 */
export interface PolicyVersionTable {
  id: Generated<number>;
  provider_id: string;
  version: string;
  published_at: ColumnType<Date, Date | string, Date | string>;
  effective_at: ColumnType<Date, Date | string, Date | string>;
  document: JSONColumnType<Record<string, unknown>>;
  source: string;
  source_sha256: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}
