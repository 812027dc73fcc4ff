import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Principal } from './principal.js';

/**
 * Login sessions in the database (so any API process of a scaled-out deployment accepts them, and logout
 * takes effect everywhere at once). The cookie carries a random 32-byte token; the table keeps its sha256,
 * so a read of the table does not yield usable sessions. Each session has its own CSRF token
 * (synchroniser token pattern): state-changing requests authenticated by the cookie must echo it in the
 * `x-csrf-token` header.
 *
 * Sessions expire after `SESSION_IDLE_MS` without use and at most `SESSION_MAX_MS` after login.
 */

type Db = Kysely<Database> | Transaction<Database>;

export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
export const SESSION_MAX_MS = 7 * 24 * 60 * 60 * 1000;

export interface SessionInfo {
  readonly principal: Principal;
  readonly csrfToken: string;
  readonly expiresAt: Date;
}

export async function createSession(
  db: Db,
  input: { userId: number; now: Date; ip?: string | null; userAgent?: string | null },
): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const expiresAt = new Date(input.now.getTime() + SESSION_IDLE_MS);
  await db
    .insertInto('sessions')
    .values({
      token_sha256: sha256(token),
      user_id: input.userId,
      csrf_token: csrfToken,
      created_at: input.now,
      expires_at: expiresAt,
      last_seen_at: input.now,
      ip: input.ip?.slice(0, 100) ?? null,
      user_agent: input.userAgent?.slice(0, 500) ?? null,
    })
    .execute();
  return { token, csrfToken, expiresAt };
}

/** The live session for a cookie token, sliding its idle expiry; undefined when unknown or expired. */
export async function findSession(db: Db, token: string, now: Date): Promise<SessionInfo | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.token_sha256',
      'sessions.csrf_token',
      'sessions.created_at',
      'sessions.expires_at',
      'sessions.last_seen_at',
      'users.id as user_id',
      'users.email',
      'users.role',
      'users.customer_id',
      'users.disabled_at',
    ])
    .where('sessions.token_sha256', '=', sha256(token))
    .executeTakeFirst();
  if (!row || row.expires_at <= now || row.disabled_at !== null) return undefined;
  const hardEnd = row.created_at.getTime() + SESSION_MAX_MS;
  if (now.getTime() >= hardEnd) return undefined;
  let expiresAt = row.expires_at;
  // Slide the idle expiry at most once a minute: one write per active user per minute.
  if (now.getTime() - row.last_seen_at.getTime() > 60_000) {
    expiresAt = new Date(Math.min(now.getTime() + SESSION_IDLE_MS, hardEnd));
    await db
      .updateTable('sessions')
      .set({ last_seen_at: now, expires_at: expiresAt })
      .where('token_sha256', '=', row.token_sha256)
      .execute();
  }
  return {
    principal: {
      kind: 'user',
      id: row.user_id,
      name: row.email,
      role: row.role,
      customerId: row.customer_id,
      via: 'session',
    },
    csrfToken: row.csrf_token,
    expiresAt,
  };
}

export async function deleteSession(db: Db, token: string): Promise<boolean> {
  const rows = await db
    .deleteFrom('sessions')
    .where('token_sha256', '=', sha256(token))
    .returning('user_id')
    .execute();
  return rows.length > 0;
}

/** Removes expired sessions; returns how many. Run now and then (the serve command's housekeeping). */
export async function purgeExpiredSessions(db: Db, now: Date): Promise<number> {
  const rows = await db.deleteFrom('sessions').where('expires_at', '<=', now).returning('user_id').execute();
  return rows.length;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
