import type { Kysely } from 'kysely';
import { type AuditActor, appendAudit } from '../audit/audit-log.js';
import { enqueueAction } from '../enforcement/outbox/outbox-repository.js';
import { diffPolicies } from '../policy/policy-diff.js';
import type { LoadedPolicy } from '../policy/policy-loader.js';
import {
  getPolicyVersion,
  listPolicyVersions,
  type PublishResult,
  publishPolicyVersion,
} from '../policy/policy-repository.js';
import { customersOfProvider } from '../registry/customer-lookup.js';
import type { Database } from '../store/schema.js';
import { changeAnnouncement, POLICY_CHANGE_KIND, policyChangePayload } from './aup-change-notice.js';

/**
 * Publishing a policy version, with the change announcement its predecessor's terms promise: the diff and
 * its materiality (policy/policy-diff.ts), then one `mail.policy-change` per affected customer through the
 * outbox, keyed `policy-change:<provider>:<version>:<customer>`, so each customer is told once per version
 * however often the version is published (the CLI, the console and the API all publish through here).
 * Publishing an already-published version again queues what is missing (a customer added since, or a crash
 * between the two transactions) and nothing twice.
 */

export interface ChangeNotices {
  /** Whether the terms promise a mail for this change, and why not when they do not. */
  readonly announced: boolean;
  readonly reason: string;
  readonly material: boolean | null;
  readonly from: string | null;
  /** Customers told now, and those told before (an earlier publish). */
  readonly queued: readonly string[];
  readonly alreadyQueued: readonly string[];
  /** Customers with no address to mail: listed for the analyst, not queued to fail. */
  readonly unreachable: readonly string[];
}

export interface PublishWithNoticesResult extends PublishResult {
  readonly notices: ChangeNotices;
}

export async function publishPolicyWithNotices(
  db: Kysely<Database>,
  loaded: LoadedPolicy,
  meta: { readonly at: Date; readonly actor: AuditActor; readonly publicUrl?: string | undefined },
): Promise<PublishWithNoticesResult> {
  const result = await publishPolicyVersion(db, loaded);
  const next = loaded.document;
  const versions = await listPolicyVersions(db, next.provider.id);
  const index = versions.findIndex((v) => v.version === next.version);
  const before = index > 0 ? versions[index - 1] : undefined;
  const none = (reason: string, material: boolean | null = null): PublishWithNoticesResult => ({
    ...result,
    notices: {
      announced: false,
      reason,
      material,
      from: before?.version ?? null,
      queued: [],
      alreadyQueued: [],
      unreachable: [],
    },
  });
  if (!before) return none(`${next.version} is the first ${next.provider.id} version: nothing changed`);
  const previous = await getPolicyVersion(db, next.provider.id, before.version);
  if (!previous) return none(`the previous version ${before.version} could not be read`);
  const diff = diffPolicies(previous.document, next);
  const announcement = changeAnnouncement(previous.document, diff);
  if (!announcement.notify) return none(announcement.why, diff.verdict.material);

  return db.transaction().execute(async (trx) => {
    const customers = await customersOfProvider(trx, next.provider.id);
    const queued: string[] = [];
    const alreadyQueued: string[] = [];
    const unreachable: string[] = [];
    for (const customer of customers) {
      if (customer.emails.length === 0) {
        unreachable.push(customer.ref);
        continue;
      }
      const row = await enqueueAction(trx, {
        at: meta.at,
        kind: POLICY_CHANGE_KIND,
        idempotencyKey: `policy-change:${next.provider.id}:${next.version}:${customer.ref}`,
        payload: policyChangePayload({
          next,
          previous: previous.document,
          diff,
          changes: announcement.changes,
          customer: customer.ref,
          publicUrl: meta.publicUrl,
        }),
        actor: meta.actor,
      });
      (row.created ? queued : alreadyQueued).push(customer.ref);
    }
    const reason = `${diff.verdict.material ? 'material' : 'editorial'} change from ${previous.document.version}; the ${previous.document.version} terms promise notice by e-mail (${previous.document.terms.changes.notify_customers})`;
    if (queued.length > 0 || unreachable.length > 0) {
      await appendAudit(trx, {
        at: meta.at,
        actor: meta.actor,
        kind: 'policy.change-notices',
        subject: `policy:${next.provider.id}/${next.version}`,
        payload: {
          from: previous.document.version,
          material: diff.verdict.material,
          changes: announcement.changes,
          queued,
          alreadyQueued: alreadyQueued.length,
          unreachable,
        },
      });
    }
    return {
      ...result,
      notices: {
        announced: true,
        reason,
        material: diff.verdict.material,
        from: previous.document.version,
        queued,
        alreadyQueued,
        unreachable,
      },
    };
  });
}
