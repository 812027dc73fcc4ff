import { createHash } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import {
  DMCA_STEP_KINDS,
  type DmcaDeps,
  type DmcaReceipt,
  dmcaStepHandler,
  receiveDmca,
} from '../../src/dmca/dmca-workflow.js';
import type { ManualClock } from '../../src/enforcement/outbox/clock.js';
import { caseStepHandler } from '../../src/enforcement/pipeline/enforcement-worker.js';
import { runDueSteps } from '../../src/enforcement/scheduler/step-scheduler.js';
import { loadPolicyDirectory, type PolicyHistory } from '../../src/policy/policy-loader.js';
import type { Store } from '../../src/store/database.js';
import type { Database } from '../../src/store/schema.js';
import { clockAt, resetDesk, seedRegistry } from '../support/case-support.js';

/** The DMCA tests' desk: iITGEN's seed policy, customer C-100 holding shop-a.example, C-200 shop-b.example. */
export const dmcaRegistry = {
  customers: [
    { ref: 'C-100', name: 'Shop A Ltd', emails: ['owner@shop-a.example'] },
    { ref: 'C-200', name: 'Shop B Ltd', emails: ['owner@shop-b.example'] },
  ],
  services: [
    { ref: 'S-100', customer: 'C-100', kind: 'shared-hosting' },
    { ref: 'S-200', customer: 'C-200', kind: 'shared-hosting' },
  ],
  assignments: [
    { service: 'S-100', resource: 'shop-a.example', from: '2025-01-01T00:00:00Z' },
    { service: 'S-200', resource: 'shop-b.example', from: '2025-01-01T00:00:00Z' },
  ],
};

export const iitgenHistory: PolicyHistory = await loadPolicyDirectory('policies/iitgen');

export async function resetDmcaDesk(store: Store): Promise<void> {
  await resetDesk(store);
  await sql`truncate table dmca_strikes, dmca_notices, legal_disclosures, legal_requests restart identity cascade`.execute(
    store.db,
  );
}

export async function dmcaDesk(store: Store, now: string, policies: PolicyHistory = iitgenHistory) {
  const snapshot = await seedRegistry(store, dmcaRegistry);
  const clock: ManualClock = clockAt(now);
  const deps: DmcaDeps = {
    policies,
    clock,
    messageIdDomain: 'desk.example.net',
    replyTo: 'abuse@desk.example.net',
    snapshot: () => snapshot,
  };
  const receive = (text: string, extra: Partial<DmcaReceipt> = {}) =>
    store.db.transaction().execute((trx: Transaction<Database>) =>
      receiveDmca(trx, deps, {
        text,
        channel: 'smtp',
        receivedAt: clock.now(),
        evidenceSha256: createHash('sha256').update(text).update(String(Math.random())).digest('hex'),
        ...extra,
      }),
    );
  const dmcaSteps = dmcaStepHandler(deps);
  const caseSteps = caseStepHandler({ ...deps, db: store.db });
  const runSteps = () =>
    runDueSteps(store.db, clock, (trx, step, ctx) =>
      (DMCA_STEP_KINDS as readonly string[]).includes(step.kind)
        ? dmcaSteps(trx, step, ctx)
        : caseSteps(trx, step, ctx),
    );
  return { deps, clock, receive, runSteps, snapshot };
}
