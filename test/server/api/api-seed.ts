import path from 'node:path';
import { createCase } from '../../../src/cases/case-repository.js';
import { openCaseState } from '../../../src/cases/case-state.js';
import { loadPolicyFile } from '../../../src/policy/policy-loader.js';
import { publishPolicyVersion } from '../../../src/policy/policy-repository.js';
import { assignResource, createCustomer, createService } from '../../../src/registry/registry-repository.js';
import type { Store } from '../../../src/store/database.js';

/**
 * Two customers with a service each and a few open cases, under the iITGEN seed policy (published to the
 * store, so the analyst commands can load it).
 */
export interface ApiSeed {
  readonly customers: { a: { id: number; ref: string }; b: { id: number; ref: string } };
  readonly casesA: string[];
  readonly casesB: string[];
}

export async function seedPolicy(
  store: Store,
): Promise<{ provider: string; version: string; clause: string }> {
  const policy = await loadPolicyFile(path.resolve('policies/iitgen/2018-02-24.yaml'));
  await publishPolicyVersion(store.db, policy);
  const clause = policy.document.clauses.find((c) => c.covers.includes('abusive-content/spam'))!;
  return { provider: policy.document.provider.id, version: policy.document.version, clause: clause.id };
}

export async function seedCases(store: Store, tag: string, perCustomer = 3): Promise<ApiSeed> {
  const { provider, version, clause } = await seedPolicy(store);
  const a = await createCustomer(store.db, {
    ref: `A-${tag}`,
    name: 'Customer A',
    emails: ['a@example.net'],
  });
  const b = await createCustomer(store.db, {
    ref: `B-${tag}`,
    name: 'Customer B',
    emails: ['b@example.net'],
  });
  const sa = await createService(store.db, { ref: `SA-${tag}`, customerRef: a.ref, kind: 'vps' });
  const sb = await createService(store.db, { ref: `SB-${tag}`, customerRef: b.ref, kind: 'shared-hosting' });
  const octet = Math.floor(Math.random() * 200) + 1;
  await assignResource(store.db, {
    serviceRef: sa.ref,
    resource: `198.51.${octet}.0/24`,
    validFrom: new Date('2020-01-01T00:00:00Z'),
  });
  const open = async (customer: typeof a, service: typeof sa, i: number): Promise<string> =>
    store.db.transaction().execute(async (trx) => {
      const at = new Date(Date.UTC(2026, 4, 1 + i));
      const record = await createCase(trx, {
        providerId: provider,
        policyVersion: version,
        customerId: customer.id,
        customerRef: customer.ref,
        serviceId: service.id,
        serviceRef: service.ref,
        clauseId: clause,
        severity: 'medium',
        openedAt: at,
        firstEventAt: at,
        windowEndsAt: new Date(at.getTime() + 86_400_000),
        repeatCount: 0,
        state: (caseId) =>
          openCaseState({
            caseId,
            customerId: customer.ref,
            serviceId: service.ref,
            openedAt: at,
            clauses: [{ id: clause, severity: 'medium', endangersInfrastructure: false }],
          }),
      });
      return record.ref;
    });
  const casesA: string[] = [];
  const casesB: string[] = [];
  for (let i = 0; i < perCustomer; i += 1) {
    casesA.push(await open(a, sa, i));
    casesB.push(await open(b, sb, i));
  }
  return { customers: { a: { id: a.id, ref: a.ref }, b: { id: b.id, ref: b.ref } }, casesA, casesB };
}
