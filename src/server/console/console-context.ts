import type { FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import type { Principal, Role } from '../../accounts/principal.js';
import { caseIdFromRef } from '../../cases/case-ref.js';
import { type CaseRecord, getCase } from '../../cases/case-repository.js';
import { AupError, isAupError } from '../../errors.js';
import type { Database } from '../../store/schema.js';
import type { ResolvedAppDeps } from '../app-deps.js';
import { type AreaSpec, redirectWith } from '../views/page-support.js';
import type { EnforcementSource } from './enforcement-source.js';

/**
 * What every route file of the console shares: the app's dependencies, the policies in force, the area's
 * navigation, and the few lookups and guards each page needs.
 */

const STAFF: readonly Role[] = ['admin', 'analyst'];

export const consoleSpec: AreaSpec = {
  area: 'console',
  base: '/console',
  roles: STAFF,
  nav: (p: Principal | null) => [
    { href: '/console', label: 'Queue', key: 'queue' },
    { href: '/console/dashboard', label: 'Dashboard', key: 'dashboard' },
    { href: '/console/reporters', label: 'Reporters', key: 'reporters' },
    ...(p?.role === 'admin' ? [{ href: '/console/admin/users', label: 'Admin', key: 'admin' }] : []),
  ],
};

export interface ConsoleContext {
  readonly deps: ResolvedAppDeps;
  readonly db: Kysely<Database>;
  /** Session cookies are Secure. */
  readonly secure: boolean;
  readonly enforcement: EnforcementSource;
}

export function requireAdmin(p: Principal): void {
  if (p.role !== 'admin') throw new AupError('AUP_ERR_AUTH_FORBIDDEN', 'admin pages are for admins');
}

/** A case by its reference, or the console's 404. */
export async function caseByRef(ctx: ConsoleContext, ref: string): Promise<CaseRecord> {
  let id: number;
  try {
    id = caseIdFromRef(ref);
  } catch {
    throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such case');
  }
  const record = await getCase(ctx.db, id);
  if (!record) throw new AupError('AUP_ERR_NOT_FOUND', 'there is no such case');
  return record;
}

/**
 * Runs a form's action and redirects back: a refused input (a domain error below 500) becomes the flash
 * message on the page it came from; anything else is the server's error page.
 */
export async function orBackWithError<T>(
  ctx: ConsoleContext,
  reply: FastifyReply,
  back: string,
  run: () => Promise<T>,
): Promise<T | FastifyReply> {
  try {
    return await run();
  } catch (error) {
    if (isAupError(error) && error.status < 500)
      return redirectWith(reply, back, { kind: 'error', text: error.message }, ctx.secure);
    throw error;
  }
}
