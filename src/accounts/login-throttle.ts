import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../store/schema.js';

/**
 * The password-guessing limit, shared by every login route (API, console, portal) and every process: each
 * attempt is counted against the account it names and against the client address it comes from, in the
 * store, before the password is checked. Counting happens in one statement per key (insert or bump), so two
 * processes cannot both let the eleventh attempt through.
 *
 * Attempts are counted whether the account exists or not (the answer must not tell which accounts exist),
 * and before the password is known to be right: an attacker who hammers an account does lock its owner out
 * for the rest of the window; that is the price of a per-account limit, and the window is short. A login
 * that succeeds clears its account's count (`forgetAccountAttempts`), so a person or script logging in
 * often is never locked out by its own successes; the client address's count stays, or one valid account
 * would let a client reset its count between guesses at others.
 */

export interface LoginLimit {
  /** Attempts allowed per key and window. */
  readonly max: number;
  readonly windowMs: number;
}

/** docs/api.md: 10 attempts per account, and per client address, per 5 minutes. */
export const defaultLoginLimit: LoginLimit = { max: 10, windowMs: 5 * 60_000 };

export type LoginAttemptVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly limitedBy: 'account' | 'client'; readonly retryAfterSeconds: number };

type Db = Kysely<Database>;

/** Counts one attempt against `account:<email>` and `client:<address>`; refuses it when either is over. */
export async function claimLoginAttempt(
  db: Db,
  attempt: { readonly email: string; readonly client: string; readonly now: Date },
  limit: LoginLimit = defaultLoginLimit,
): Promise<LoginAttemptVerdict> {
  const keys = [
    ['account', accountKey(attempt.email)],
    ['client', `client:${attempt.client}`],
  ] as const;
  let refused: LoginAttemptVerdict | undefined;
  for (const [limitedBy, key] of keys) {
    const row = await bump(db, key, attempt.now, limit.windowMs);
    if (row.attempts > limit.max && refused === undefined) {
      const endsAt = row.windowStart.getTime() + limit.windowMs;
      refused = {
        allowed: false,
        limitedBy,
        retryAfterSeconds: Math.max(1, Math.ceil((endsAt - attempt.now.getTime()) / 1000)),
      };
    }
  }
  return refused ?? { allowed: true };
}

const accountKey = (email: string): string => `account:${email.trim().toLowerCase().slice(0, 320)}`;

/** After a successful login: the account's guesses so far no longer count against it. */
export async function forgetAccountAttempts(db: Db, email: string): Promise<void> {
  await db.deleteFrom('login_attempts').where('key', '=', accountKey(email)).execute();
}

async function bump(
  db: Db,
  key: string,
  now: Date,
  windowMs: number,
): Promise<{ attempts: number; windowStart: Date }> {
  const expired = new Date(now.getTime() - windowMs);
  const row = await db
    .insertInto('login_attempts')
    .values({ key, window_start: now, attempts: 1 })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        attempts: sql<number>`case when login_attempts.window_start <= ${expired} then 1 else login_attempts.attempts + 1 end`,
        window_start: sql<Date>`case when login_attempts.window_start <= ${expired} then ${now} else login_attempts.window_start end`,
      }),
    )
    .returning(['attempts', 'window_start'])
    .executeTakeFirstOrThrow();
  return { attempts: row.attempts, windowStart: new Date(row.window_start) };
}

/** Drops rows whose window ended (housekeeping); returns how many. */
export async function pruneLoginAttempts(
  db: Db,
  now: Date,
  limit: LoginLimit = defaultLoginLimit,
): Promise<number> {
  const result = await db
    .deleteFrom('login_attempts')
    .where('window_start', '<=', new Date(now.getTime() - limit.windowMs))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
