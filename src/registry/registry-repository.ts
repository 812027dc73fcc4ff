import { type Kysely, sql, type Transaction } from 'kysely';
import { z } from 'zod';
import { AupError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { RegistryStatus, ServiceKind } from '../store/tables/registry.table.js';
import { parseResource, type RegistryResource } from './registry-resource.js';

/**
 * Registry write commands: plain functions taking `db` first, each in one transaction. Overlaps are
 * refused by the database's exclusion constraints; the violation is turned into
 * `AUP_ERR_REGISTRY_OVERLAP` naming the assignment it collided with.
 */

export const SERVICE_KINDS = [
  'shared-hosting',
  'vps',
  'dedicated',
  'colocation',
  'streaming',
  'mail',
  'other',
] as const satisfies readonly ServiceKind[];
export const REGISTRY_STATUSES = [
  'active',
  'suspended',
  'terminated',
] as const satisfies readonly RegistryStatus[];

type Db = Kysely<Database> | Transaction<Database>;

const refSchema = z.string().trim().min(1).max(200);
export const customerInputSchema = z.object({
  ref: refSchema,
  name: z.string().trim().min(1).max(300),
  emails: z.array(z.email()).default([]),
  country: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code')
    .nullable()
    .default(null),
  status: z.enum(REGISTRY_STATUSES).default('active'),
  acceptedPolicy: z
    .object({ provider: z.string().trim().min(1), version: z.string().trim().min(1), at: z.date() })
    .nullable()
    .default(null),
});
export type CustomerInput = z.input<typeof customerInputSchema>;

export const serviceInputSchema = z.object({
  ref: refSchema,
  customerRef: refSchema,
  kind: z.enum(SERVICE_KINDS),
  status: z.enum(REGISTRY_STATUSES).default('active'),
  provisioningRef: z.string().trim().min(1).nullable().default(null),
});
export type ServiceInput = z.input<typeof serviceInputSchema>;

export interface CustomerRecord {
  readonly id: number;
  readonly ref: string;
  readonly name: string;
  readonly emails: string[];
  readonly country: string | null;
  readonly status: RegistryStatus;
  readonly acceptedPolicy: { provider: string; version: string; at: Date | null } | null;
}

export interface ServiceRecord {
  readonly id: number;
  readonly ref: string;
  readonly customerId: number;
  readonly kind: ServiceKind;
  readonly status: RegistryStatus;
  readonly provisioningRef: string | null;
}

export interface AssignmentRecord {
  readonly id: number;
  readonly serviceId: number;
  readonly customerId: number;
  readonly resource: string;
  readonly validFrom: Date;
  readonly validTo: Date | null;
}

export async function createCustomer(db: Kysely<Database>, input: CustomerInput): Promise<CustomerRecord> {
  const c = parseInput(customerInputSchema, input, 'customer');
  return db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('customers')
      .select('id')
      .where('ref', '=', c.ref)
      .executeTakeFirst();
    if (existing) throw new AupError('AUP_ERR_STORE_CONFLICT', `customer ${c.ref} already exists`);
    const row = await trx
      .insertInto('customers')
      .values({
        ref: c.ref,
        name: c.name,
        emails: c.emails,
        country: c.country,
        status: c.status,
        accepted_policy_provider: c.acceptedPolicy?.provider ?? null,
        accepted_policy_version: c.acceptedPolicy?.version ?? null,
        accepted_policy_at: c.acceptedPolicy?.at ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toCustomer(row);
  });
}

export async function createService(db: Kysely<Database>, input: ServiceInput): Promise<ServiceRecord> {
  const s = parseInput(serviceInputSchema, input, 'service');
  return db.transaction().execute(async (trx) => {
    const customer = await trx
      .selectFrom('customers')
      .select('id')
      .where('ref', '=', s.customerRef)
      .executeTakeFirst();
    if (!customer) throw new AupError('AUP_ERR_NOT_FOUND', `customer ${s.customerRef} does not exist`);
    const existing = await trx
      .selectFrom('services')
      .select('id')
      .where('ref', '=', s.ref)
      .executeTakeFirst();
    if (existing) throw new AupError('AUP_ERR_STORE_CONFLICT', `service ${s.ref} already exists`);
    const row = await trx
      .insertInto('services')
      .values({
        ref: s.ref,
        customer_id: customer.id,
        kind: s.kind,
        status: s.status,
        provisioning_ref: s.provisioningRef,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toService(row);
  });
}

export interface AssignInput {
  /** The service's external reference. */
  readonly serviceRef: string;
  /** A prefix (`198.51.100.0/24`, a bare address is a /32 or /128) or a domain. */
  readonly resource: string;
  readonly validFrom: Date;
  readonly validTo?: Date | null;
}

/** Assigns a prefix or domain to a service over [validFrom, validTo). */
export async function assignResource(db: Kysely<Database>, input: AssignInput): Promise<AssignmentRecord> {
  const resource = parseResource(input.resource);
  const validFrom = checkDate(input.validFrom, 'valid_from');
  const validTo = input.validTo == null ? null : checkDate(input.validTo, 'valid_to');
  if (validTo && validTo <= validFrom) {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'valid_to must be after valid_from');
  }
  return db.transaction().execute(async (trx) => {
    const service = await trx
      .selectFrom('services')
      .select(['id', 'customer_id'])
      .where('ref', '=', input.serviceRef)
      .executeTakeFirst();
    if (!service) {
      throw new AupError('AUP_ERR_REGISTRY_UNKNOWN_SERVICE', `service ${input.serviceRef} does not exist`);
    }
    return insertAssignment(trx, {
      serviceId: service.id,
      customerId: service.customer_id,
      resource,
      validFrom,
      validTo,
    });
  });
}

/**
 * Inserts one assignment inside the caller's transaction, under a savepoint so an overlap leaves the
 * transaction usable; the overlap becomes `AUP_ERR_REGISTRY_OVERLAP` naming the conflicting assignment.
 */
export async function insertAssignment(
  trx: Transaction<Database>,
  a: {
    serviceId: number;
    customerId: number;
    resource: RegistryResource;
    validFrom: Date;
    validTo: Date | null;
  },
): Promise<AssignmentRecord> {
  await sql`savepoint assign_one`.execute(trx);
  try {
    const row = await trx
      .insertInto('assignments')
      .values({
        service_id: a.serviceId,
        customer_id: a.customerId,
        prefix: a.resource.kind === 'prefix' ? a.resource.text : null,
        domain: a.resource.kind === 'domain' ? a.resource.text : null,
        valid_from: a.validFrom,
        valid_to: a.validTo,
      })
      .returning(['id', 'service_id', 'customer_id', 'prefix', 'domain', 'valid_from', 'valid_to'])
      .executeTakeFirstOrThrow();
    await sql`release savepoint assign_one`.execute(trx);
    return toAssignment(row);
  } catch (error) {
    await sql`rollback to savepoint assign_one`.execute(trx);
    if (isExclusionViolation(error)) throw await overlapError(trx, a, error);
    throw error;
  }
}

/** Ends an assignment at `at` (the address is free from that instant). */
export async function endAssignment(
  db: Kysely<Database>,
  input: { assignmentId: number; at: Date },
): Promise<AssignmentRecord> {
  const at = checkDate(input.at, 'at');
  return db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('assignments')
      .select(['id', 'valid_from', 'valid_to'])
      .where('id', '=', input.assignmentId)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw new AupError('AUP_ERR_NOT_FOUND', `assignment ${input.assignmentId} does not exist`);
    if (at <= current.valid_from) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `assignment ${input.assignmentId} starts ${current.valid_from.toISOString()}; it cannot end at or before that`,
      );
    }
    if (current.valid_to && current.valid_to <= at) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `assignment ${input.assignmentId} already ended ${current.valid_to.toISOString()}`,
      );
    }
    const row = await trx
      .updateTable('assignments')
      .set({ valid_to: at, updated_at: sql`now()` })
      .where('id', '=', input.assignmentId)
      .returning(['id', 'service_id', 'customer_id', 'prefix', 'domain', 'valid_from', 'valid_to'])
      .executeTakeFirstOrThrow();
    return toAssignment(row);
  });
}

/** Sets a service's status (suspend, restore, terminate); the service's assignments are untouched. */
export async function setServiceStatus(
  db: Kysely<Database>,
  input: { serviceRef: string; status: RegistryStatus },
): Promise<ServiceRecord> {
  const status = z.enum(REGISTRY_STATUSES).parse(input.status);
  const row = await db
    .updateTable('services')
    .set({ status, updated_at: sql`now()` })
    .where('ref', '=', input.serviceRef)
    .returningAll()
    .executeTakeFirst();
  if (!row)
    throw new AupError('AUP_ERR_REGISTRY_UNKNOWN_SERVICE', `service ${input.serviceRef} does not exist`);
  return toService(row);
}

export async function setCustomerStatus(
  db: Kysely<Database>,
  input: { customerRef: string; status: RegistryStatus },
): Promise<CustomerRecord> {
  const status = z.enum(REGISTRY_STATUSES).parse(input.status);
  const row = await db
    .updateTable('customers')
    .set({ status, updated_at: sql`now()` })
    .where('ref', '=', input.customerRef)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new AupError('AUP_ERR_NOT_FOUND', `customer ${input.customerRef} does not exist`);
  return toCustomer(row);
}

export async function findCustomerByRef(db: Db, ref: string): Promise<CustomerRecord | undefined> {
  const row = await db.selectFrom('customers').selectAll().where('ref', '=', ref).executeTakeFirst();
  return row ? toCustomer(row) : undefined;
}

export async function findServiceByRef(db: Db, ref: string): Promise<ServiceRecord | undefined> {
  const row = await db.selectFrom('services').selectAll().where('ref', '=', ref).executeTakeFirst();
  return row ? toService(row) : undefined;
}

export async function listAssignments(
  db: Db,
  filter: { serviceId?: number } = {},
): Promise<AssignmentRecord[]> {
  let q = db
    .selectFrom('assignments')
    .select(['id', 'service_id', 'customer_id', 'prefix', 'domain', 'valid_from', 'valid_to'])
    .orderBy('id');
  if (filter.serviceId !== undefined) q = q.where('service_id', '=', filter.serviceId);
  return (await q.execute()).map(toAssignment);
}

export interface ConflictingAssignment {
  readonly id: number;
  readonly resource: string;
  readonly validFrom: Date;
  readonly validTo: Date | null;
  readonly serviceRef: string;
  readonly customerRef: string;
}

/**
 * The assignment a new one would collide with under the same rules as the exclusion constraints: the
 * same prefix or domain at an overlapping time, or a nested prefix of another customer.
 */
export async function findConflict(
  db: Db,
  a: {
    customerId: number;
    resource: RegistryResource;
    validFrom: Date;
    validTo: Date | null;
    excludeId?: number;
  },
): Promise<ConflictingAssignment | undefined> {
  const period = sql`tstzrange(${a.validFrom}::timestamptz, ${a.validTo}::timestamptz, '[)')`;
  const row = await db
    .selectFrom('assignments as a')
    .innerJoin('services as s', 's.id', 'a.service_id')
    .innerJoin('customers as c', 'c.id', 'a.customer_id')
    .select([
      'a.id',
      sql<string>`coalesce(a.prefix::text, a.domain)`.as('resource'),
      'a.valid_from',
      'a.valid_to',
      's.ref as service_ref',
      'c.ref as customer_ref',
    ])
    .where(sql<boolean>`tstzrange(a.valid_from, a.valid_to, '[)') && ${period}`)
    .where((eb) =>
      a.resource.kind === 'domain'
        ? eb('a.domain', '=', a.resource.text)
        : eb.or([
            sql<boolean>`a.prefix = ${a.resource.text}::cidr`,
            sql<boolean>`a.prefix && ${a.resource.text}::cidr and a.customer_id <> ${a.customerId}`,
          ]),
    )
    .$if(a.excludeId !== undefined, (q) => q.where('a.id', '<>', a.excludeId!))
    .orderBy('a.id')
    .limit(1)
    .executeTakeFirst();
  return row
    ? {
        id: row.id,
        resource: row.resource,
        validFrom: row.valid_from,
        validTo: row.valid_to,
        serviceRef: row.service_ref,
        customerRef: row.customer_ref,
      }
    : undefined;
}

export async function overlapError(
  db: Db,
  a: {
    customerId: number;
    resource: RegistryResource;
    validFrom: Date;
    validTo: Date | null;
    excludeId?: number;
  },
  cause: unknown,
): Promise<AupError> {
  const conflict = await findConflict(db, a);
  const period = `[${a.validFrom.toISOString()}, ${a.validTo ? a.validTo.toISOString() : '∞'})`;
  if (!conflict) {
    return new AupError(
      'AUP_ERR_REGISTRY_OVERLAP',
      `${a.resource.text} ${period} overlaps another assignment`,
      {
        cause,
      },
    );
  }
  return new AupError(
    'AUP_ERR_REGISTRY_OVERLAP',
    `${a.resource.text} ${period} overlaps assignment ${conflict.id} (${conflict.resource} held by ` +
      `${conflict.customerRef}/${conflict.serviceRef} from ${conflict.validFrom.toISOString()}` +
      `${conflict.validTo ? ` to ${conflict.validTo.toISOString()}` : ', open-ended'})`,
    { cause, details: { conflictingAssignment: conflict.id } },
  );
}

/** SQLSTATE 23P01, the same on PostgreSQL and PGlite. */
export function isExclusionViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23P01';
}

function checkDate(value: Date, name: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `${name} is not a valid date`);
  }
  return value;
}

function parseInput<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `${what}: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/** Row mappers from the registry tables to the records callers see; registry-query.ts pages with them too. */
export function toCustomer(row: {
  id: number;
  ref: string;
  name: string;
  emails: string[];
  country: string | null;
  status: RegistryStatus;
  accepted_policy_provider: string | null;
  accepted_policy_version: string | null;
  accepted_policy_at: Date | null;
}): CustomerRecord {
  return {
    id: row.id,
    ref: row.ref,
    name: row.name,
    emails: row.emails,
    country: row.country,
    status: row.status,
    acceptedPolicy:
      row.accepted_policy_provider && row.accepted_policy_version
        ? {
            provider: row.accepted_policy_provider,
            version: row.accepted_policy_version,
            at: row.accepted_policy_at,
          }
        : null,
  };
}

export function toService(row: {
  id: number;
  ref: string;
  customer_id: number;
  kind: ServiceKind;
  status: RegistryStatus;
  provisioning_ref: string | null;
}): ServiceRecord {
  return {
    id: row.id,
    ref: row.ref,
    customerId: row.customer_id,
    kind: row.kind,
    status: row.status,
    provisioningRef: row.provisioning_ref,
  };
}

export function toAssignment(row: {
  id: number;
  service_id: number;
  customer_id: number;
  prefix: string | null;
  domain: string | null;
  valid_from: Date;
  valid_to: Date | null;
}): AssignmentRecord {
  return {
    id: row.id,
    serviceId: row.service_id,
    customerId: row.customer_id,
    resource: (row.prefix ?? row.domain)!,
    validFrom: row.valid_from,
    validTo: row.valid_to,
  };
}
