import { type Kysely, sql, type Transaction } from 'kysely';
import { AupError, type ErrorCode, isAupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { RegistryStatus, ServiceKind } from '../store/tables/registry.table.js';
import { insertAssignment, isExclusionViolation, overlapError } from './registry-repository.js';
import { parseRegistryRow, type RawRegistryRow, type RegistryRow } from './registry-row.js';

/**
 * Imports registry rows idempotently, in one transaction. Customers and services are keyed by their
 * external reference, assignments by (service, resource, valid_from): re-importing the same file finds
 * everything unchanged and writes nothing. A changed `valid_to` (a tenancy that has since ended) updates
 * the assignment; changed customer or service attributes update those.
 *
 * Bad rows never stop good ones: each row is validated on its own, assignments go in by chunks under a
 * savepoint, and a chunk the database refuses (an overlap) is retried row by row so only the offending
 * rows fail, each with its location and the assignment it collided with.
 */

export interface ImportRowError {
  readonly location: string;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export interface ImportSummary {
  readonly rows: number;
  /** Rows whose assignment is now in the registry (created, updated or already there). */
  readonly imported: number;
  readonly failed: number;
  readonly customers: ImportCounts;
  readonly services: ImportCounts;
  readonly assignments: ImportCounts;
  readonly errors: ImportRowError[];
  /** False when the import wrote nothing (a re-import of the same file). */
  readonly changed: boolean;
}

export interface ImportProgress {
  readonly done: number;
  readonly total: number;
}

export interface ImportOptions {
  /** Called as rows are processed (for a progress bar). */
  readonly onProgress?: (progress: ImportProgress) => void;
}

const CHUNK = 500;

export async function importRegistry(
  db: Kysely<Database>,
  rawRows: readonly RawRegistryRow[],
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const errors: ImportRowError[] = [];
  const fail = (row: { location: string }, code: ErrorCode, message: string) =>
    errors.push({ location: row.location, code, message });
  const rows: RegistryRow[] = [];
  for (const raw of rawRows) {
    const parsed = parseRegistryRow(raw);
    if ('error' in parsed) fail(raw, 'AUP_ERR_REGISTRY_ROW_INVALID', parsed.error);
    else rows.push(parsed.row);
  }
  const counts = {
    customers: { created: 0, updated: 0, unchanged: 0 },
    services: { created: 0, updated: 0, unchanged: 0 },
    assignments: { created: 0, updated: 0, unchanged: 0 },
  };
  const total = rawRows.length;
  let done = total - rows.length;
  options.onProgress?.({ done, total });

  await db.transaction().execute(async (trx) => {
    const customerIds = await upsertCustomers(trx, rows, counts.customers);
    const serviceOf = await upsertServices(trx, rows, customerIds, counts.services, fail);
    const pending: { row: RegistryRow; serviceId: number; customerId: number }[] = [];
    for (const row of rows) {
      const service = serviceOf.get(row);
      if (service) pending.push({ row, ...service });
      else done++;
    }
    options.onProgress?.({ done, total });
    await upsertAssignments(trx, pending, counts.assignments, fail, (n) => {
      done += n;
      options.onProgress?.({ done, total });
    });
  });

  const failed = new Set(errors.map((e) => e.location)).size;
  const changed =
    counts.customers.created +
      counts.customers.updated +
      counts.services.created +
      counts.services.updated +
      counts.assignments.created +
      counts.assignments.updated >
    0;
  return {
    rows: total,
    imported: total - failed,
    failed,
    ...counts,
    errors: errors.sort((a, b) => locationOrder(a.location) - locationOrder(b.location)),
    changed,
  };
}

function locationOrder(location: string): number {
  const m = /(\d+)/.exec(location);
  return m ? Number(m[1]) : 0;
}

// ---- customers -------------------------------------------------------------------------------

interface DesiredCustomer {
  ref: string;
  name: string | null;
  emails: string[];
  country: string | null;
  status: RegistryStatus | null;
  policy: RegistryRow['policy'];
}

async function upsertCustomers(
  trx: Transaction<Database>,
  rows: readonly RegistryRow[],
  counts: ImportCounts,
): Promise<Map<string, number>> {
  // Fields from the first row that gives them; emails are the union over the customer's rows.
  const desired = new Map<string, DesiredCustomer>();
  for (const row of rows) {
    let d = desired.get(row.customer);
    if (!d) {
      d = { ref: row.customer, name: null, emails: [], country: null, status: null, policy: null };
      desired.set(row.customer, d);
    }
    d.name ??= row.customerName;
    d.country ??= row.country;
    d.status ??= row.customerStatus;
    d.policy ??= row.policy;
    for (const e of row.emails) if (!d.emails.includes(e)) d.emails.push(e);
  }
  const ids = new Map<string, number>();
  const refs = [...desired.keys()];
  const toInsert: DesiredCustomer[] = [];
  for (let i = 0; i < refs.length; i += CHUNK) {
    const existing = await trx
      .selectFrom('customers')
      .selectAll()
      .where('ref', 'in', refs.slice(i, i + CHUNK))
      .execute();
    const byRef = new Map(existing.map((c) => [c.ref, c]));
    for (const ref of refs.slice(i, i + CHUNK)) {
      const d = desired.get(ref)!;
      const c = byRef.get(ref);
      if (!c) {
        toInsert.push(d);
        continue;
      }
      ids.set(ref, c.id);
      const next = {
        name: d.name ?? c.name,
        emails: d.emails.length > 0 ? d.emails : c.emails,
        country: d.country ?? c.country,
        status: d.status ?? c.status,
        accepted_policy_provider: d.policy?.provider ?? c.accepted_policy_provider,
        accepted_policy_version: d.policy?.version ?? c.accepted_policy_version,
        accepted_policy_at: d.policy ? d.policy.at : c.accepted_policy_at,
      };
      const same =
        next.name === c.name &&
        next.emails.join('\n') === c.emails.join('\n') &&
        next.country === c.country &&
        next.status === c.status &&
        next.accepted_policy_provider === c.accepted_policy_provider &&
        next.accepted_policy_version === c.accepted_policy_version &&
        (next.accepted_policy_at?.getTime() ?? null) === (c.accepted_policy_at?.getTime() ?? null);
      if (same) {
        counts.unchanged++;
      } else {
        await trx
          .updateTable('customers')
          .set({ ...next, updated_at: sql`now()` })
          .where('id', '=', c.id)
          .execute();
        counts.updated++;
      }
    }
  }
  for (let i = 0; i < toInsert.length; i += CHUNK) {
    const inserted = await trx
      .insertInto('customers')
      .values(
        toInsert.slice(i, i + CHUNK).map((d) => ({
          ref: d.ref,
          name: d.name ?? d.ref,
          emails: d.emails,
          country: d.country,
          status: d.status ?? 'active',
          accepted_policy_provider: d.policy?.provider ?? null,
          accepted_policy_version: d.policy?.version ?? null,
          accepted_policy_at: d.policy?.at ?? null,
        })),
      )
      .returning(['id', 'ref'])
      .execute();
    for (const c of inserted) ids.set(c.ref, c.id);
    counts.created += inserted.length;
  }
  return ids;
}

// ---- services --------------------------------------------------------------------------------

interface DesiredService {
  ref: string;
  customerRef: string;
  kind: ServiceKind | null;
  status: RegistryStatus | null;
  provisioningRef: string | null;
  rows: RegistryRow[];
}

async function upsertServices(
  trx: Transaction<Database>,
  rows: readonly RegistryRow[],
  customerIds: Map<string, number>,
  counts: ImportCounts,
  fail: (row: RegistryRow, code: ErrorCode, message: string) => void,
): Promise<Map<RegistryRow, { serviceId: number; customerId: number }>> {
  const desired = new Map<string, DesiredService>();
  for (const row of rows) {
    let d = desired.get(row.service);
    if (!d) {
      d = {
        ref: row.service,
        customerRef: row.customer,
        kind: null,
        status: null,
        provisioningRef: null,
        rows: [],
      };
      desired.set(row.service, d);
    }
    if (d.customerRef !== row.customer) {
      fail(
        row,
        'AUP_ERR_REGISTRY_ROW_INVALID',
        `service ${row.service} is given for customer ${d.customerRef} earlier in the file, here for ${row.customer}`,
      );
      continue;
    }
    d.kind ??= row.kind;
    d.status ??= row.serviceStatus;
    d.provisioningRef ??= row.provisioningRef;
    d.rows.push(row);
  }
  const result = new Map<RegistryRow, { serviceId: number; customerId: number }>();
  const refs = [...desired.keys()];
  const toInsert: DesiredService[] = [];
  for (let i = 0; i < refs.length; i += CHUNK) {
    const existing = await trx
      .selectFrom('services as s')
      .innerJoin('customers as c', 'c.id', 's.customer_id')
      .select([
        's.id',
        's.ref',
        's.customer_id',
        'c.ref as customer_ref',
        's.kind',
        's.status',
        's.provisioning_ref',
      ])
      .where('s.ref', 'in', refs.slice(i, i + CHUNK))
      .execute();
    const byRef = new Map(existing.map((s) => [s.ref, s]));
    for (const ref of refs.slice(i, i + CHUNK)) {
      const d = desired.get(ref)!;
      const s = byRef.get(ref);
      const customerId = customerIds.get(d.customerRef)!;
      if (!s) {
        if (d.kind === null) {
          for (const row of d.rows) {
            fail(
              row,
              'AUP_ERR_REGISTRY_UNKNOWN_SERVICE',
              `service ${ref} does not exist and the row gives no kind to create it`,
            );
          }
        } else {
          toInsert.push(d);
        }
        continue;
      }
      if (s.customer_ref !== d.customerRef) {
        for (const row of d.rows) {
          fail(
            row,
            'AUP_ERR_REGISTRY_ROW_INVALID',
            `service ${ref} belongs to customer ${s.customer_ref}, not ${d.customerRef}`,
          );
        }
        continue;
      }
      for (const row of d.rows) result.set(row, { serviceId: s.id, customerId });
      const next = {
        kind: d.kind ?? s.kind,
        status: d.status ?? s.status,
        provisioning_ref: d.provisioningRef ?? s.provisioning_ref,
      };
      if (next.kind === s.kind && next.status === s.status && next.provisioning_ref === s.provisioning_ref) {
        counts.unchanged++;
      } else {
        await trx
          .updateTable('services')
          .set({ ...next, updated_at: sql`now()` })
          .where('id', '=', s.id)
          .execute();
        counts.updated++;
      }
    }
  }
  for (let i = 0; i < toInsert.length; i += CHUNK) {
    const chunk = toInsert.slice(i, i + CHUNK);
    const inserted = await trx
      .insertInto('services')
      .values(
        chunk.map((d) => ({
          ref: d.ref,
          customer_id: customerIds.get(d.customerRef)!,
          kind: d.kind!,
          status: d.status ?? 'active',
          provisioning_ref: d.provisioningRef,
        })),
      )
      .returning(['id', 'ref', 'customer_id'])
      .execute();
    const byRef = new Map(inserted.map((s) => [s.ref, s]));
    for (const d of chunk) {
      const s = byRef.get(d.ref)!;
      for (const row of d.rows) result.set(row, { serviceId: s.id, customerId: s.customer_id });
    }
    counts.created += inserted.length;
  }
  return result;
}

// ---- assignments -----------------------------------------------------------------------------

interface PendingAssignment {
  row: RegistryRow;
  serviceId: number;
  customerId: number;
}

async function upsertAssignments(
  trx: Transaction<Database>,
  pending: readonly PendingAssignment[],
  counts: ImportCounts,
  fail: (row: RegistryRow, code: ErrorCode, message: string) => void,
  progress: (rows: number) => void,
): Promise<void> {
  const key = (serviceId: number, resource: string, fromMs: number) => `${serviceId}|${resource}|${fromMs}`;
  const existing = new Map<string, { id: number; toMs: number | null }>();
  const serviceIds = [...new Set(pending.map((p) => p.serviceId))];
  for (let i = 0; i < serviceIds.length; i += CHUNK) {
    const rows = await trx
      .selectFrom('assignments')
      .select([
        'id',
        'service_id',
        sql<string>`coalesce(prefix::text, domain)`.as('resource'),
        sql<number>`(extract(epoch from valid_from) * 1000)::float8`.as('from_ms'),
        sql<number | null>`(extract(epoch from valid_to) * 1000)::float8`.as('to_ms'),
      ])
      .where('service_id', 'in', serviceIds.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) {
      existing.set(key(r.service_id, r.resource, Number(r.from_ms)), {
        id: r.id,
        toMs: r.to_ms === null ? null : Number(r.to_ms),
      });
    }
  }

  const inserts: PendingAssignment[] = [];
  const updates: (PendingAssignment & { id: number })[] = [];
  const seen = new Map<string, RegistryRow>();
  let settled = 0;
  for (const p of pending) {
    const k = key(p.serviceId, p.row.resource.text, p.row.validFrom.getTime());
    const toMs = p.row.validTo?.getTime() ?? null;
    const earlier = seen.get(k);
    if (earlier) {
      if ((earlier.validTo?.getTime() ?? null) !== toMs) {
        fail(p.row, 'AUP_ERR_REGISTRY_ROW_INVALID', `repeats ${earlier.location} with a different valid_to`);
      } else {
        counts.unchanged++;
      }
      settled++;
      continue;
    }
    seen.set(k, p.row);
    const found = existing.get(k);
    if (!found) inserts.push(p);
    else if (found.toMs === toMs) {
      counts.unchanged++;
      settled++;
    } else updates.push({ ...p, id: found.id });
  }
  progress(settled);

  for (let i = 0; i < inserts.length; i += CHUNK) {
    const chunk = inserts.slice(i, i + CHUNK);
    await sql`savepoint import_chunk`.execute(trx);
    try {
      await trx
        .insertInto('assignments')
        .values(
          chunk.map((p) => ({
            service_id: p.serviceId,
            customer_id: p.customerId,
            prefix: p.row.resource.kind === 'prefix' ? p.row.resource.text : null,
            domain: p.row.resource.kind === 'domain' ? p.row.resource.text : null,
            valid_from: p.row.validFrom,
            valid_to: p.row.validTo,
          })),
        )
        .execute();
      await sql`release savepoint import_chunk`.execute(trx);
      counts.created += chunk.length;
    } catch (error) {
      await sql`rollback to savepoint import_chunk`.execute(trx);
      await sql`release savepoint import_chunk`.execute(trx);
      if (!isDatabaseError(error)) throw error;
      // Row by row: the good ones go in, each offending row names what it collided with.
      for (const p of chunk) {
        try {
          await insertAssignment(trx, {
            serviceId: p.serviceId,
            customerId: p.customerId,
            resource: p.row.resource,
            validFrom: p.row.validFrom,
            validTo: p.row.validTo,
          });
          counts.created++;
        } catch (rowError) {
          if (!isAupError(rowError) && !isDatabaseError(rowError)) throw rowError;
          fail(
            p.row,
            isAupError(rowError) ? rowError.code : 'AUP_ERR_REGISTRY_ROW_INVALID',
            messageOf(rowError),
          );
        }
      }
    }
    progress(chunk.length);
  }

  for (const u of updates) {
    await sql`savepoint import_update`.execute(trx);
    try {
      await trx
        .updateTable('assignments')
        .set({ valid_to: u.row.validTo, updated_at: sql`now()` })
        .where('id', '=', u.id)
        .execute();
      await sql`release savepoint import_update`.execute(trx);
      counts.updated++;
    } catch (error) {
      await sql`rollback to savepoint import_update`.execute(trx);
      await sql`release savepoint import_update`.execute(trx);
      if (!isExclusionViolation(error)) throw error;
      const overlap = await overlapError(
        trx,
        {
          customerId: u.customerId,
          resource: u.row.resource,
          validFrom: u.row.validFrom,
          validTo: u.row.validTo,
          excludeId: u.id,
        },
        error,
      );
      fail(u.row, overlap.code, `extending assignment ${u.id}: ${overlap.message}`);
    }
    progress(1);
  }
}

/** A PostgreSQL error (it carries a SQLSTATE): a row the database refused, not a crash. */
function isDatabaseError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    /^[0-9A-Z]{5}$/.test((error as { code: string }).code)
  );
}

function messageOf(error: unknown): string {
  return error instanceof AupError || error instanceof Error ? error.message : String(error);
}
