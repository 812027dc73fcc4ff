import type { AccountRole } from '../store/tables/accounts.table.js';

/**
 * Who is asking: a person logged in with a session, or a machine holding an API key. Every route decides
 * from this alone, never from how the request looked.
 */

export const roles = ['admin', 'analyst', 'customer', 'reporter'] as const satisfies readonly AccountRole[];
export type Role = (typeof roles)[number];

export interface Principal {
  readonly kind: 'user' | 'apikey';
  /** users.id or api_keys.id. */
  readonly id: number;
  /** The e-mail of a user, the name and visible prefix of a key: for logs and audit entries. */
  readonly name: string;
  readonly role: Role;
  /** Set exactly for the `customer` role: the registry customer the principal speaks for. */
  readonly customerId: number | null;
  /** How the request authenticated; only `session` requests need a CSRF token. */
  readonly via: 'session' | 'apikey';
}

/** `user:<id>` / `apikey:<id>`: the stable key under which a principal's submissions are recorded. */
export function principalKey(p: Pick<Principal, 'kind' | 'id'>): string {
  return `${p.kind}:${p.id}`;
}

/** The audit actor string (src/audit/audit-log.ts): `user:<email>` or `apikey:<prefix>`. */
export function auditActorOf(p: Principal): `user:${string}` | `apikey:${string}` {
  return p.kind === 'user' ? `user:${p.name}` : `apikey:${p.name}`;
}

/** Staff see everything; customers and reporters only what is theirs. */
export function isStaff(p: Principal): boolean {
  return p.role === 'admin' || p.role === 'analyst';
}
