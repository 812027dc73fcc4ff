import type { Kysely } from 'kysely';
import { type AuditActor, appendAudit } from '../../audit/audit-log.js';
import { listCustomers } from '../../registry/registry-query.js';
import type { Database } from '../../store/schema.js';
import { type SanctionsMatch, screenCustomers } from './screen-customers.js';
import type { SdnEntry } from './sdn-csv.js';

/**
 * Screens every customer in the registry (terminated ones too: a former customer may still owe or be
 * owed) against a parsed SDN list, and records the run and its possible matches in the audit log: what
 * was screened, against which list, and what an analyst must review.
 */
export async function screenRegistry(
  db: Kysely<Database>,
  entries: readonly SdnEntry[],
  options: {
    readonly threshold: number;
    readonly at: Date;
    readonly actor: AuditActor;
    readonly list: string;
  },
): Promise<{ customers: number; matches: SanctionsMatch[] }> {
  const customers: Array<{ ref: string; name: string; country: string | null }> = [];
  let afterId: number | undefined;
  for (;;) {
    const page = await listCustomers(db, { limit: 1000, ...(afterId === undefined ? {} : { afterId }) });
    customers.push(...page.items.map((c) => ({ ref: c.ref, name: c.name, country: c.country })));
    if (page.nextAfterId === null) break;
    afterId = page.nextAfterId;
  }
  const matches = screenCustomers(customers, entries, options.threshold);
  await db.transaction().execute((trx) =>
    appendAudit(trx, {
      at: options.at,
      actor: options.actor,
      kind: 'sanctions.screened',
      subject: 'sanctions:sdn',
      payload: {
        list: options.list,
        entries: entries.length,
        customers: customers.length,
        threshold: options.threshold,
        matches: matches.map((m) => ({ customer: m.customer, entry: m.entry, name: m.name, score: m.score })),
      },
    }),
  );
  return { customers: customers.length, matches };
}
