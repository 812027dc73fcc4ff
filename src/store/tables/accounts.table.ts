import type { ColumnType, Generated } from 'kysely';

type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;
type NullableText = ColumnType<string | null, string | null | undefined, string | null>;

export type AccountRole = 'admin' | 'analyst' | 'customer' | 'reporter';

/** A person who logs in (src/accounts/user-repository.ts). */
export interface UserTable {
  id: Generated<number>;
  email: ColumnType<string, string, never>;
  /** `scrypt$N$r$p$salt$hash` (base64url); null: the user cannot log in with a password. */
  password_hash: NullableText;
  role: ColumnType<AccountRole, AccountRole, AccountRole>;
  customer_id: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: ColumnType<Date, Date, never>;
  last_login_at: NullableTimestamp;
  disabled_at: NullableTimestamp;
}

/** A login session; the cookie holds the token, the table its sha256. */
export interface SessionTable {
  token_sha256: ColumnType<string, string, never>;
  user_id: ColumnType<number, number, never>;
  csrf_token: ColumnType<string, string, never>;
  created_at: ColumnType<Date, Date, never>;
  expires_at: ColumnType<Date, Date, Date>;
  last_seen_at: ColumnType<Date, Date, Date>;
  ip: NullableText;
  user_agent: NullableText;
}

/** A machine credential; the key itself is shown once and kept only as its sha256. */
export interface ApiKeyTable {
  id: Generated<number>;
  name: ColumnType<string, string, never>;
  prefix: ColumnType<string, string, never>;
  key_sha256: ColumnType<string, string, never>;
  role: ColumnType<AccountRole, AccountRole, never>;
  customer_id: ColumnType<number | null, number | null | undefined, never>;
  created_at: ColumnType<Date, Date, never>;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

/** Who submitted which evidence through the API. */
export interface ReportSubmissionTable {
  id: Generated<number>;
  evidence_sha256: ColumnType<string, string, never>;
  principal: ColumnType<string, string, never>;
  channel: ColumnType<string, string, never>;
  content_type: ColumnType<string, string, never>;
  size: ColumnType<number, number, never>;
  inbox_ref: NullableText;
  submitted_at: ColumnType<Date, Date, never>;
}

/** Password-login attempts in the current window, per `account:<e-mail>` or `client:<address>`. */
export interface LoginAttemptTable {
  key: string;
  window_start: Date;
  attempts: number;
}
