import { parse as parseCsv } from 'csv-parse/sync';
import { AupError } from '../errors.js';
import { ALL_COLUMNS, type RawRegistryRow, REQUIRED_COLUMNS } from './registry-row.js';

/**
 * Registry files → raw rows with their location, for `importRegistry`. File-level problems (no header,
 * unknown columns, not JSON) throw `AUP_ERR_REGISTRY_ROW_INVALID`; row-level ones are left to the import
 * so one bad row never stops the others.
 *
 * CSV: a header with at least customer,email,service,kind,resource,valid_from,valid_to (any order);
 * unknown columns are refused, since a misspelt optional column would otherwise be silently ignored.
 *
 * JSON: either an array of objects with the CSV's column names (`email` may be an array), or a nested
 * document `{ "customers": [{ "ref", "name", "emails", "country", "status", "policy": {provider,
 * version, accepted_at}, "services": [{ "ref", "kind", "status", "provisioning_ref",
 * "assignments": [{ "resource", "valid_from", "valid_to" }] }] }] }`.
 */
export function parseRegistryFile(text: string, format: 'csv' | 'json'): RawRegistryRow[] {
  return format === 'csv' ? parseRegistryCsv(text) : parseRegistryJson(text);
}

/** By extension, else by the first non-blank character. */
export function detectRegistryFormat(fileName: string, text: string): 'csv' | 'json' {
  if (/\.json$/i.test(fileName)) return 'json';
  if (/\.csv$/i.test(fileName)) return 'csv';
  const first = text.trimStart()[0];
  return first === '[' || first === '{' ? 'json' : 'csv';
}

export function parseRegistryCsv(text: string): RawRegistryRow[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text.replace(/^\uFEFF/, ''), {
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    throw new AupError('AUP_ERR_REGISTRY_ROW_INVALID', `CSV syntax: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const header = records[0]?.record.map((h) => h.toLowerCase());
  if (!header) throw new AupError('AUP_ERR_REGISTRY_ROW_INVALID', 'the CSV file is empty');
  const missing = REQUIRED_COLUMNS.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new AupError(
      'AUP_ERR_REGISTRY_ROW_INVALID',
      `line 1: the header lacks ${missing.join(', ')} (required: ${REQUIRED_COLUMNS.join(',')})`,
    );
  }
  const unknown = header.filter((c) => !ALL_COLUMNS.includes(c));
  if (unknown.length > 0) {
    throw new AupError(
      'AUP_ERR_REGISTRY_ROW_INVALID',
      `line 1: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${ALL_COLUMNS.join(', ')})`,
    );
  }
  return records.slice(1).map(({ record, info }) => {
    const fields: Record<string, unknown> = {};
    header.forEach((column, i) => {
      fields[column] = record[i] ?? '';
    });
    if (record.length > header.length) fields.__extra = record.slice(header.length).join(',');
    return { location: `line ${info.lines}`, fields };
  });
}

export function parseRegistryJson(text: string): RawRegistryRow[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new AupError('AUP_ERR_REGISTRY_ROW_INVALID', `JSON syntax: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (Array.isArray(doc)) {
    return doc.map((entry, i) => ({
      location: `[${i}]`,
      fields: isRecord(entry) ? entry : { __invalid: entry },
    }));
  }
  if (!isRecord(doc) || !Array.isArray(doc.customers)) {
    throw new AupError(
      'AUP_ERR_REGISTRY_ROW_INVALID',
      'JSON registry must be an array of rows or an object with a "customers" array',
    );
  }
  const rows: RawRegistryRow[] = [];
  doc.customers.forEach((customer: unknown, ci: number) => {
    const c = isRecord(customer) ? customer : {};
    const policy = isRecord(c.policy) ? c.policy : {};
    const services = Array.isArray(c.services) ? c.services : [];
    if (services.length === 0) {
      rows.push({
        location: `customers[${ci}]`,
        fields: { customer: c.ref, __invalid: 'a customer without services' },
      });
    }
    services.forEach((service: unknown, si: number) => {
      const s = isRecord(service) ? service : {};
      const assignments = Array.isArray(s.assignments) ? s.assignments : [];
      if (assignments.length === 0) {
        rows.push({
          location: `customers[${ci}].services[${si}]`,
          fields: { service: s.ref, __invalid: 'a service without assignments' },
        });
      }
      assignments.forEach((assignment: unknown, ai: number) => {
        const a = isRecord(assignment) ? assignment : {};
        rows.push({
          location: `customers[${ci}].services[${si}].assignments[${ai}]`,
          fields: {
            customer: c.ref,
            email: c.emails,
            customer_name: c.name,
            country: c.country,
            customer_status: c.status,
            policy_provider: policy.provider,
            policy_version: policy.version,
            policy_accepted_at: policy.accepted_at,
            service: s.ref,
            kind: s.kind,
            service_status: s.status,
            provisioning_ref: s.provisioning_ref,
            resource: a.resource,
            valid_from: a.valid_from,
            valid_to: a.valid_to,
          },
        });
      });
    });
  });
  return rows;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
