import { z } from 'zod';
import type { RegistryStatus, ServiceKind } from '../store/tables/registry.table.js';
import { REGISTRY_STATUSES, SERVICE_KINDS } from './registry-repository.js';
import { parseResource, type RegistryResource } from './registry-resource.js';

/**
 * One registry import row (CSV line or JSON entry): a resource held by a service of a customer over a
 * period, plus optional customer and service attributes. Columns, in CSV header order:
 *
 *   customer, email, service, kind, resource, valid_from, valid_to            (required header)
 *   customer_name, country, customer_status, service_status, provisioning_ref,
 *   policy_provider, policy_version, policy_accepted_at                       (optional)
 *
 * Empty optional cells leave stored values alone; `valid_to` empty means open-ended; `kind` empty means
 * the service must already exist; `email` holds one or more addresses separated by `;`, `,` or spaces.
 */

export const REQUIRED_COLUMNS = [
  'customer',
  'email',
  'service',
  'kind',
  'resource',
  'valid_from',
  'valid_to',
] as const;
export const OPTIONAL_COLUMNS = [
  'customer_name',
  'country',
  'customer_status',
  'service_status',
  'provisioning_ref',
  'policy_provider',
  'policy_version',
  'policy_accepted_at',
] as const;
export const ALL_COLUMNS: readonly string[] = [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS];

/** A row as read from the file, before validation, with where it came from (`line 12`, `[3]`). */
export interface RawRegistryRow {
  readonly location: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface RegistryRow {
  readonly location: string;
  readonly customer: string;
  readonly emails: readonly string[];
  readonly service: string;
  readonly kind: ServiceKind | null;
  readonly resource: RegistryResource;
  readonly validFrom: Date;
  readonly validTo: Date | null;
  readonly customerName: string | null;
  readonly country: string | null;
  readonly customerStatus: RegistryStatus | null;
  readonly serviceStatus: RegistryStatus | null;
  readonly provisioningRef: string | null;
  readonly policy: { readonly provider: string; readonly version: string; readonly at: Date | null } | null;
}

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * ISO 8601 date or date-time; a date alone is midnight UTC, a date-time without offset is UTC.
 * Calendar-checked: `2024-02-30` is refused rather than rolled over into March.
 */
export function parseRegistryTime(text: string): Date | null {
  const m = ISO_TIME.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return null;
  if (h > 23 || mi > 59 || s > 59) return null;
  let t = Date.UTC(y, mo - 1, d, h, mi, s, m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0);
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
    if (minutes > 18 * 60) return null;
    t -= sign * minutes * 60_000;
  }
  return new Date(t);
}

const optionalText = z
  .union([z.string(), z.null(), z.undefined()])
  .transform((v) => (v == null || v.trim() === '' ? null : v.trim()));

const time = (required: boolean) =>
  z.union([z.string(), z.null(), z.undefined()]).transform((v, ctx) => {
    if (v == null || v.trim() === '') {
      if (required) ctx.addIssue({ code: 'custom', message: 'is required' });
      return null;
    }
    const date = parseRegistryTime(v);
    if (!date) ctx.addIssue({ code: 'custom', message: `"${v}" is not an ISO 8601 date or date-time` });
    return date;
  });

const emailSchema = z.email();
const emailList = z.union([z.string(), z.array(z.string()), z.null(), z.undefined()]).transform((v, ctx) => {
  const list = (v == null ? [] : Array.isArray(v) ? v : v.split(/[;,\s]+/))
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  for (const e of list) {
    if (!emailSchema.safeParse(e).success)
      ctx.addIssue({ code: 'custom', message: `"${e}" is not an email address` });
  }
  return list;
});

const rowSchema = z.object({
  customer: z.string().trim().min(1, 'is required').max(200),
  email: emailList,
  service: z.string().trim().min(1, 'is required').max(200),
  kind: optionalText.pipe(
    z.enum(SERVICE_KINDS, { error: `must be one of ${SERVICE_KINDS.join(', ')}` }).nullable(),
  ),
  resource: z.string().min(1, 'is required'),
  valid_from: time(true),
  valid_to: time(false),
  customer_name: optionalText,
  country: optionalText.pipe(
    z
      .string()
      .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 code')
      .transform((c) => c.toUpperCase())
      .nullable(),
  ),
  customer_status: optionalText.pipe(z.enum(REGISTRY_STATUSES).nullable()),
  service_status: optionalText.pipe(z.enum(REGISTRY_STATUSES).nullable()),
  provisioning_ref: optionalText,
  policy_provider: optionalText,
  policy_version: optionalText,
  policy_accepted_at: time(false),
});

/** Validates one row; the error message names the column and the reason. */
export function parseRegistryRow(raw: RawRegistryRow): { row: RegistryRow } | { error: string } {
  if (raw.fields.__invalid !== undefined) {
    const what = raw.fields.__invalid;
    return { error: typeof what === 'string' ? what : 'not an object' };
  }
  if (raw.fields.__extra !== undefined) return { error: 'more cells than the header has columns' };
  // Every column present (missing optional ones as null) so the schema sees one shape for CSV and JSON.
  const fields: Record<string, unknown> = Object.fromEntries(ALL_COLUMNS.map((c) => [c, null]));
  for (const [key, value] of Object.entries(raw.fields)) {
    if (!ALL_COLUMNS.includes(key)) return { error: `unknown field "${key}"` };
    fields[key] = typeof value === 'number' ? String(value) : value;
  }
  const parsed = rowSchema.safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `${issue?.path.join('.') || 'row'}: ${issue?.message ?? 'invalid'}` };
  }
  const r = parsed.data;
  let resource: RegistryResource;
  try {
    resource = parseResource(r.resource);
  } catch (error) {
    return { error: `resource: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (r.valid_to && r.valid_to <= r.valid_from!) {
    return { error: 'valid_to: must be after valid_from' };
  }
  if ((r.policy_provider === null) !== (r.policy_version === null)) {
    return { error: 'policy_provider and policy_version go together' };
  }
  return {
    row: {
      location: raw.location,
      customer: r.customer,
      emails: r.email,
      service: r.service,
      kind: r.kind,
      resource,
      validFrom: r.valid_from!,
      validTo: r.valid_to,
      customerName: r.customer_name,
      country: r.country,
      customerStatus: r.customer_status,
      serviceStatus: r.service_status,
      provisioningRef: r.provisioning_ref,
      policy:
        r.policy_provider && r.policy_version
          ? { provider: r.policy_provider, version: r.policy_version, at: r.policy_accepted_at }
          : null,
    },
  };
}
