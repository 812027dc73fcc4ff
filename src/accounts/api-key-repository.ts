import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { Principal, Role } from './principal.js';

/**
 * Machine credentials. A key is `aupk_` followed by 32 random bytes in base64url; the database keeps only
 * its sha256 and the visible prefix (`aupk_` + 8 characters) for lists and audit entries. The full key is
 * returned once, by `createApiKey`, and cannot be recovered afterwards: a lost key is revoked and replaced.
 *
 * Lookup hashes the presented key and finds the row by its unique hash; a high-entropy key needs no slow
 * hash and no constant-time compare (an attacker cannot learn anything from an index lookup on sha256).
 */

type Db = Kysely<Database> | Transaction<Database>;

export const API_KEY_PREFIX = 'aupk_';
const KEY_SHAPE = /^aupk_[A-Za-z0-9_-]{43}$/;

export interface ApiKeyRecord {
  readonly id: number;
  readonly name: string;
  readonly prefix: string;
  readonly role: Role;
  readonly customerId: number | null;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
}

export interface NewApiKey {
  readonly name: string;
  readonly role: Role;
  /** Required for `customer`, refused for every other role. */
  readonly customerId?: number | null;
  readonly now: Date;
}

export async function createApiKey(db: Db, input: NewApiKey): Promise<{ key: string; record: ApiKeyRecord }> {
  checkCustomerBinding(input.role, input.customerId ?? null);
  const name = input.name.trim();
  if (name.length === 0 || name.length > 200) {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'an API key name must be 1 to 200 characters', {
      details: { field: 'name' },
    });
  }
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  const row = await db
    .insertInto('api_keys')
    .values({
      name,
      prefix: key.slice(0, API_KEY_PREFIX.length + 8),
      key_sha256: sha256(key),
      role: input.role,
      customer_id: input.customerId ?? null,
      created_at: input.now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key, record: toRecord(row) };
}

/** The principal a presented key stands for, or undefined (unknown, malformed or revoked key). */
export async function principalForApiKey(
  db: Db,
  presented: string,
  now: Date,
): Promise<Principal | undefined> {
  if (!KEY_SHAPE.test(presented)) return undefined;
  const row = await db
    .selectFrom('api_keys')
    .selectAll()
    .where('key_sha256', '=', sha256(presented))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  // Last use at minute resolution: one write per key per minute, not one per request.
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > 60_000) {
    await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', row.id).execute();
  }
  return {
    kind: 'apikey',
    id: row.id,
    name: row.prefix,
    role: row.role,
    customerId: row.customer_id,
    via: 'apikey',
  };
}

export async function listApiKeys(db: Db): Promise<ApiKeyRecord[]> {
  return (await db.selectFrom('api_keys').selectAll().orderBy('id').execute()).map(toRecord);
}

/** Revokes a key by id or visible prefix; AUP_ERR_NOT_FOUND when there is no such live key. */
export async function revokeApiKey(db: Db, idOrPrefix: number | string, now: Date): Promise<ApiKeyRecord> {
  let q = db.updateTable('api_keys').set({ revoked_at: now }).where('revoked_at', 'is', null);
  q = typeof idOrPrefix === 'number' ? q.where('id', '=', idOrPrefix) : q.where('prefix', '=', idOrPrefix);
  const rows = await q.returningAll().execute();
  if (rows.length === 0) {
    throw new AupError('AUP_ERR_NOT_FOUND', `no live API key ${String(idOrPrefix)}`, {
      details: { key: String(idOrPrefix) },
    });
  }
  return toRecord(rows[0]!);
}

export function checkCustomerBinding(role: Role, customerId: number | null): void {
  if (role === 'customer' && customerId === null) {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'the customer role needs a customer (--customer)', {
      details: { field: 'customer' },
    });
  }
  if (role !== 'customer' && customerId !== null) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `only the customer role is bound to a customer, not ${role}`,
      {
        details: { field: 'customer' },
      },
    );
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function toRecord(row: {
  id: number;
  name: string;
  prefix: string;
  role: Role;
  customer_id: number | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    role: row.role,
    customerId: row.customer_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
