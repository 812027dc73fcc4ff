import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import { checkCustomerBinding } from './api-key-repository.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './password-hasher.js';
import type { Principal, Role } from './principal.js';

/**
 * People: an e-mail (stored lower-cased, unique), a role, an optional customer binding and a scrypt
 * password hash. A user without a password exists (for audit attribution) but cannot log in.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface UserRecord {
  readonly id: number;
  readonly email: string;
  readonly role: Role;
  readonly customerId: number | null;
  readonly hasPassword: boolean;
  readonly createdAt: Date;
  readonly lastLoginAt: Date | null;
  readonly disabledAt: Date | null;
}

const emailSchema = z.email().max(320);

export function normaliseEmail(email: string): string {
  const parsed = emailSchema.safeParse(email.trim().toLowerCase());
  if (!parsed.success) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `not an e-mail address: ${JSON.stringify(email.slice(0, 80))}`,
      {
        details: { field: 'email' },
      },
    );
  }
  return parsed.data;
}

export async function createUser(
  db: Db,
  input: { email: string; role: Role; customerId?: number | null; password?: string; now: Date },
): Promise<UserRecord> {
  const email = normaliseEmail(input.email);
  checkCustomerBinding(input.role, input.customerId ?? null);
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  const row = await db
    .insertInto('users')
    .values({
      email,
      role: input.role,
      customer_id: input.customerId ?? null,
      password_hash: passwordHash,
      created_at: input.now,
    })
    .onConflict((oc) => oc.column('email').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    throw new AupError('AUP_ERR_STORE_CONFLICT', `a user ${email} already exists`, { details: { email } });
  }
  return toRecord(row);
}

export async function setUserPassword(db: Db, email: string, password: string): Promise<void> {
  const hash = await hashPassword(password);
  const rows = await db
    .updateTable('users')
    .set({ password_hash: hash })
    .where('email', '=', normaliseEmail(email))
    .returning('id')
    .execute();
  if (rows.length === 0) throw new AupError('AUP_ERR_NOT_FOUND', `no user ${email}`, { details: { email } });
}

export async function findUserById(db: Db, id: number): Promise<UserRecord | undefined> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

export async function listUsers(db: Db): Promise<UserRecord[]> {
  return (await db.selectFrom('users').selectAll().orderBy('id').execute()).map(toRecord);
}

/**
 * The user whose e-mail and password match, or undefined. Unknown e-mails, disabled users and users
 * without a password cost one scrypt verification too, so timing does not reveal which accounts exist.
 */
export async function authenticateUser(
  db: Db,
  email: string,
  password: string,
  now: Date,
): Promise<UserRecord | undefined> {
  const normalised = email.trim().toLowerCase();
  const row = await db.selectFrom('users').selectAll().where('email', '=', normalised).executeTakeFirst();
  const stored = row?.password_hash ?? (await dummyPasswordHash());
  const ok = await verifyPassword(password, stored);
  if (!row || !ok || row.password_hash === null || row.disabled_at !== null) return undefined;
  await db.updateTable('users').set({ last_login_at: now }).where('id', '=', row.id).execute();
  return toRecord(row);
}

export function principalOfUser(user: UserRecord): Principal {
  return {
    kind: 'user',
    id: user.id,
    name: user.email,
    role: user.role,
    customerId: user.customerId,
    via: 'session',
  };
}

function toRecord(row: {
  id: number;
  email: string;
  role: Role;
  customer_id: number | null;
  password_hash: string | null;
  created_at: Date;
  last_login_at: Date | null;
  disabled_at: Date | null;
}): UserRecord {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    customerId: row.customer_id,
    hasPassword: row.password_hash !== null,
    createdAt: row.created_at,
    lastLoginAt: row.last_login_at,
    disabledAt: row.disabled_at,
  };
}
