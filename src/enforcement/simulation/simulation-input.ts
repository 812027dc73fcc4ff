import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AupError } from '../../errors.js';
import type { IntakeEvent } from '../../intake/event.js';
import { normaliseIntelmqEvent } from '../../intake/parsers/intelmq-parser.js';
import { parsedReportSchema, type Reporter } from '../../intake/report.js';
import { parseRegistryFile } from '../../registry/registry-file-parser.js';
import { parseRegistryRow, type RegistryRow } from '../../registry/registry-row.js';
import {
  RegistrySnapshot,
  type SnapshotAssignmentRow,
  type SnapshotCustomer,
  type SnapshotService,
} from '../../registry/registry-snapshot.js';

/**
 * The inputs of `aupdesk simulate`, read from text: the reports (the JSON lines `aupdesk parse --json`
 * prints, or bare IntelMQ event lines) and the registry file (CSV or JSON, the `aupdesk registry import`
 * formats) turned into an in-memory snapshot without a database. Every problem names its line or row.
 */

/** One report as the simulation needs it; `evidenceSha256` is the line's own hash when parse gave none. */
export interface SimulationReport {
  readonly line: number;
  readonly receivedAt: Date;
  readonly channel: z.infer<typeof parsedReportSchema>['channel'];
  readonly reporter: Reporter;
  readonly evidenceSha256: string;
  readonly status: 'parsed' | 'partial' | 'unparsed';
  readonly events: readonly IntakeEvent[];
}

// `aupdesk parse --json` prints a report without an evidence hash when the file could not be read.
const reportLineSchema = parsedReportSchema.extend({
  evidenceSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

/**
 * JSON lines → reports. A line with `events` is a report; a line with a classification (flat
 * `classification.type` or IntelMQ's nested form) is one IntelMQ event, taken as a feed report received at
 * its observation time (else its source time). Blank lines are skipped; anything else is an input error.
 */
export function readSimulationReports(text: string): SimulationReport[] {
  const reports: SimulationReport[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw inputError(line, `not JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw inputError(line, 'expected a JSON object (a report, or an IntelMQ event)');
    }
    const record = value as Record<string, unknown>;
    if ('events' in record) {
      const parsed = reportLineSchema.safeParse(record);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw inputError(line, `not a report: ${issue?.path.join('.') || 'report'}: ${issue?.message}`);
      }
      const r = parsed.data;
      reports.push({
        line,
        receivedAt: new Date(r.receivedAt),
        channel: r.channel,
        reporter: r.reporter,
        evidenceSha256: r.evidenceSha256 ?? sha256(raw),
        status: r.status,
        events: r.events,
      });
      return;
    }
    const event = normaliseIntelmqEvent(record);
    if (typeof event === 'string') throw inputError(line, `not an IntelMQ event: ${event}`);
    const at = event['time.observation'] ?? event['time.source'];
    if (!at) throw inputError(line, 'an IntelMQ event line needs time.observation or time.source');
    const provider = event['feed.provider'] ?? event['feed.name'];
    reports.push({
      line,
      receivedAt: new Date(at),
      channel: 'feed',
      reporter: { organisation: provider, anonymous: false, automated: true },
      evidenceSha256: sha256(raw),
      status: 'parsed',
      events: [event],
    });
  });
  return reports;
}

/** What the registry file says a customer accepted of one provider's AUP. */
export interface RegistryAcceptance {
  readonly provider: string;
  readonly version: string;
  readonly acceptedAt: string | undefined;
}

export interface SimulationRegistry {
  readonly snapshot: RegistrySnapshot;
  /** By customer ref. */
  readonly acceptance: ReadonlyMap<string, RegistryAcceptance>;
}

/** A registry file (CSV or JSON) → a snapshot. Unlike an import, one bad row fails the whole file. */
export function readSimulationRegistry(text: string, format: 'csv' | 'json'): SimulationRegistry {
  const rows: RegistryRow[] = [];
  const problems: string[] = [];
  for (const raw of parseRegistryFile(text, format)) {
    const result = parseRegistryRow(raw);
    if ('error' in result) problems.push(`${raw.location}: ${result.error}`);
    else rows.push(result.row);
  }
  const customers = new Map<string, SnapshotCustomer>();
  const services = new Map<string, SnapshotService & { customerRef: string }>();
  const assignments: SnapshotAssignmentRow[] = [];
  const acceptance = new Map<string, RegistryAcceptance>();
  for (const row of rows) {
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
    if (row.policy) {
      acceptance.set(row.customer, {
        provider: row.policy.provider,
        version: row.policy.version,
        acceptedAt: row.policy.at?.toISOString(),
      });
    }
    let service = services.get(row.service);
    if (service && service.customerRef !== row.customer) {
      problems.push(
        `${row.location}: service ${row.service} already belongs to customer ${service.customerRef}`,
      );
      continue;
    }
    if (!service) {
      if (!row.kind) {
        problems.push(`${row.location}: kind: needed for the first row of service ${row.service}`);
        continue;
      }
      service = {
        id: services.size + 1,
        ref: row.service,
        customerId: customer.id,
        customerRef: row.customer,
        kind: row.kind,
        status: row.serviceStatus ?? 'active',
        provisioningRef: row.provisioningRef,
      };
      services.set(row.service, service);
    }
    assignments.push({
      id: assignments.length + 1,
      serviceId: service.id,
      resource: row.resource.text,
      validFrom: row.validFrom,
      validTo: row.validTo,
    });
  }
  if (problems.length > 0) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `registry: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`,
    );
  }
  const snapshot = RegistrySnapshot.build({
    customers: [...customers.values()],
    services: [...services.values()].map(({ customerRef: _, ...s }) => s),
    assignments,
  });
  return { snapshot, acceptance };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function inputError(line: number, message: string): AupError {
  return new AupError('AUP_ERR_INPUT_INVALID', `events line ${line}: ${message}`);
}
