import type { GeneratedCustomer } from './registry-generator.js';
import { ALL_COLUMNS } from './registry-row.js';

/**
 * Writes customers (as the generator makes them) in the import CSV format, one row per assignment,
 * all columns, so `registry generate | registry import` round-trips.
 */
export function toRegistryCsv(customers: readonly GeneratedCustomer[]): string {
  const lines = [ALL_COLUMNS.join(',')];
  for (const c of customers) {
    let first = true;
    for (const s of c.services) {
      for (const a of s.assignments) {
        // Customer attributes on the customer's first row only: later rows inherit them on import.
        lines.push(
          [
            c.ref,
            c.emails.join(';'),
            s.ref,
            s.kind,
            a.resource,
            a.validFrom.toISOString(),
            a.validTo ? a.validTo.toISOString() : '',
            first ? c.name : '',
            first ? c.country : '',
            first ? c.status : '',
            s.status,
            s.provisioningRef,
            first ? (c.policyProvider ?? '') : '',
            first ? (c.policyVersion ?? '') : '',
            first && c.policyAcceptedAt ? c.policyAcceptedAt.toISOString() : '',
          ]
            .map(csvCell)
            .join(','),
        );
        first = false;
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
