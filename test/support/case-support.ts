import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { ManualClock } from '../../src/enforcement/outbox/clock.js';
import type { PipelineDeps } from '../../src/enforcement/pipeline/process-report.js';
import type { IntakeEvent } from '../../src/intake/event.js';
import type { ParsedReport, Reporter } from '../../src/intake/report.js';
import { createPolicyHistory, type PolicyHistory } from '../../src/policy/policy-loader.js';
import type { PolicyDocument } from '../../src/policy/policy-schema.js';
import { loadRegistrySnapshot, type RegistrySnapshot } from '../../src/registry/registry-snapshot.js';
import type { Store } from '../../src/store/database.js';
import { makeEvent, makeReporter } from '../factories.js';

/**
 * Builders for the case and pipeline tests: a registry written straight into its tables (the registry's own
 * repository is not what these tests are about), a policy history from documents, a parsed report in one line.
 */

export interface RegistrySpec {
  readonly customers: ReadonlyArray<{
    ref: string;
    name?: string;
    emails?: string[];
    accepted?: { provider: string; version: string; at: string };
  }>;
  readonly services: ReadonlyArray<{ ref: string; customer: string; kind?: string }>;
  readonly assignments: ReadonlyArray<{ service: string; resource: string; from: string; to?: string }>;
}

export async function seedRegistry(store: Store, spec: RegistrySpec): Promise<RegistrySnapshot> {
  const db = store.db;
  for (const c of spec.customers) {
    await db
      .insertInto('customers')
      .values({
        ref: c.ref,
        name: c.name ?? `Customer ${c.ref}`,
        emails: c.emails ?? [`ops@${c.ref}.example`],
        country: null,
        accepted_policy_provider: c.accepted?.provider ?? null,
        accepted_policy_version: c.accepted?.version ?? null,
        accepted_policy_at: c.accepted?.at ?? null,
      })
      .execute();
  }
  for (const s of spec.services) {
    const customer = await db
      .selectFrom('customers')
      .select('id')
      .where('ref', '=', s.customer)
      .executeTakeFirstOrThrow();
    await db
      .insertInto('services')
      .values({
        ref: s.ref,
        customer_id: customer.id,
        kind: (s.kind ?? 'vps') as 'vps',
        provisioning_ref: `prov-${s.ref}`,
      })
      .execute();
  }
  for (const a of spec.assignments) {
    const service = await db
      .selectFrom('services')
      .select(['id', 'customer_id'])
      .where('ref', '=', a.service)
      .executeTakeFirstOrThrow();
    const isPrefix = /^[0-9a-f:.]+(\/\d+)?$/i.test(a.resource);
    await db
      .insertInto('assignments')
      .values({
        service_id: service.id,
        customer_id: service.customer_id,
        prefix: isPrefix ? a.resource : null,
        domain: isPrefix ? null : a.resource,
        valid_from: a.from,
        valid_to: a.to ?? null,
      })
      .execute();
  }
  return loadRegistrySnapshot(db);
}

/** Empties what the case tests write, so each test starts from a blank desk on the shared store. */
export async function resetDesk(store: Store): Promise<void> {
  await sql`truncate table case_notes, case_messages, case_events, cases, reports, fees, blocklist_entries, reporter_ack_sends, outbox_actions, scheduled_steps, test_consents, privacy_requests, assignments, services, customers restart identity cascade`.execute(
    store.db,
  );
}

export function historyOf(...documents: PolicyDocument[]): PolicyHistory {
  return createPolicyHistory(
    documents[0]!.provider.id,
    documents.map((document) => ({
      file: `policies/${document.provider.id}/${document.version}.yaml`,
      document,
      source: '',
      sha256: createHash('sha256').update(document.version).digest('hex'),
    })),
  );
}

/** The desk secret of the test desks (reply tokens derive from it). */
export const TEST_REPLY_SECRET = Buffer.from('test desk secret, at least thirty-two characters long');

export function pipelineDeps(
  store: Store,
  snapshot: RegistrySnapshot,
  policies: PolicyHistory,
  clock: ManualClock,
): PipelineDeps {
  return {
    db: store.db,
    policies,
    clock,
    messageIdDomain: 'desk.example.net',
    replyTo: 'abuse@desk.example.net',
    snapshot: () => snapshot,
    ackPolicy: { ownAddresses: ['abuse@desk.example.net'], ownDomains: ['desk.example.net'] },
    replySecret: TEST_REPLY_SECRET,
  };
}

let counter = 0;

/** A parsed report; the evidence hash is derived from `evidence` (default: unique per call). */
export function reportOf(options: {
  events?: Array<Partial<IntakeEvent>>;
  reporter?: Partial<Reporter>;
  evidence?: string;
  receivedAt?: string;
  channel?: ParsedReport['channel'];
  format?: ParsedReport['format'];
  subject?: string;
  messageId?: string;
  inReplyTo?: string[];
  status?: ParsedReport['status'];
}): ParsedReport {
  counter += 1;
  const evidence = options.evidence ?? `report-${counter}-${Math.random()}`;
  return {
    format: options.format ?? 'email',
    channel: options.channel ?? 'smtp',
    receivedAt: options.receivedAt ?? '2026-03-01T12:00:00.000Z',
    evidenceSha256: createHash('sha256').update(evidence).digest('hex'),
    reporter: makeReporter(options.reporter ?? {}),
    status: options.status ?? 'parsed',
    ...(options.subject === undefined ? {} : { subject: options.subject }),
    ...(options.messageId === undefined ? {} : { messageId: options.messageId }),
    ...(options.inReplyTo === undefined ? {} : { inReplyTo: options.inReplyTo }),
    events: (options.events ?? [{}]).map((e) => makeEvent(e)),
    errors: [],
  };
}

export function clockAt(iso: string): ManualClock {
  return new ManualClock(iso);
}
