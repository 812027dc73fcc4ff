import { readFile } from 'node:fs/promises';
import { AupError } from '../errors.js';
import { detectRegistryFormat, parseRegistryFile } from './registry-file-parser.js';
import { parseRegistryRow } from './registry-row.js';
import {
  RegistrySnapshot,
  type SnapshotAssignmentRow,
  type SnapshotCustomer,
  type SnapshotService,
} from './registry-snapshot.js';

/**
 * A registry file (the CSV or JSON `aupdesk registry import` reads) straight into an in-memory snapshot,
 * without a store: for `aupdesk flows listen --registry <file>`, trials and tests. Rows are validated as
 * import validates them; a bad row is an error naming its line (a detector must not run on a registry it
 * half understood). A row without `kind` takes `other`.
 */
export async function snapshotFromRegistryFile(file: string): Promise<RegistrySnapshot> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return snapshotFromRegistryText(text, detectRegistryFormat(file, text), file);
}

export function snapshotFromRegistryText(
  text: string,
  format: 'csv' | 'json',
  name = 'registry',
): RegistrySnapshot {
  const customers = new Map<string, SnapshotCustomer>();
  const services = new Map<string, SnapshotService>();
  const assignments: SnapshotAssignmentRow[] = [];
  for (const raw of parseRegistryFile(text, format)) {
    const parsed = parseRegistryRow(raw);
    if ('error' in parsed)
      throw new AupError('AUP_ERR_INPUT_INVALID', `${name} ${raw.location}: ${parsed.error}`);
    const row = parsed.row;
    let customer = customers.get(row.customer);
    if (!customer) {
      customer = {
        id: customers.size + 1,
        ref: row.customer,
        name: row.customerName ?? row.customer,
        emails: row.emails,
        country: row.country,
        status: row.customerStatus ?? 'active',
      };
      customers.set(row.customer, customer);
    }
    let service = services.get(row.service);
    if (!service) {
      service = {
        id: services.size + 1,
        ref: row.service,
        customerId: customer.id,
        kind: row.kind ?? 'other',
        status: row.serviceStatus ?? 'active',
        provisioningRef: row.provisioningRef,
      };
      services.set(row.service, service);
    } else if (service.customerId !== customer.id) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `${name} ${raw.location}: service ${row.service} belongs to another customer`,
      );
    }
    assignments.push({
      id: assignments.length + 1,
      serviceId: service.id,
      resource: row.resource.text,
      validFrom: row.validFrom,
      validTo: row.validTo,
    });
  }
  return RegistrySnapshot.build({
    customers: [...customers.values()],
    services: [...services.values()],
    assignments,
  });
}
