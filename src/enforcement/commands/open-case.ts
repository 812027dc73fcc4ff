import type { Transaction } from 'kysely';
import { z } from 'zod';
import { appendAudit } from '../../audit/audit-log.js';
import { caseSubject } from '../../cases/case-ref.js';
import { type CaseRecord, createCase, previousCases } from '../../cases/case-repository.js';
import { openCaseState } from '../../cases/case-state.js';
import { windowEndsAt } from '../../cases/correlate-event.js';
import { addCaseNote } from '../../cases/message-repository.js';
import { attachToCase, existingReportIds } from '../../cases/report-repository.js';
import { AupError } from '../../errors.js';
import { bindingVersion } from '../../policy/policy-binding.js';
import { durationMs } from '../../policy/policy-schema.js';
import { serviceByRef } from '../../registry/customer-lookup.js';
import type { Database } from '../../store/schema.js';
import { applyCaseTransition } from '../pipeline/case-transition.js';
import { customerBindingInput } from '../pipeline/customer-binding.js';
import { reviewOf } from '../pipeline/process-report.js';
import { actorOf, analystSchema, type CaseCommandDeps, parseInput } from './case-command.js';

/**
 * A case opened by hand: an analyst names a service, a clause and why. The clause is any clause of the
 * version that binds the service's customer *now* (its provider's, policy-binding.ts), including clauses no
 * event class reaches (Injazat's "increase in outgoing email", iITGEN's "IP addresses not assigned to
 * you"). Reports named are attached (their events that opened no case join it). A clause the policy marks
 * `subject_to_review` opens a review case: on hold, no notice, until an analyst releases it. Otherwise the
 * ladder starts as for any case (its first rung, usually the notice, goes through the outbox).
 */

export const openCaseSchema = z
  .object({
    service: z.string().trim().min(1, 'the service reference is required').max(200),
    clause: z.string().trim().min(1, 'the clause id is required').max(200),
    reason: z.string().trim().min(1, 'say why the case is opened').max(20_000),
    reports: z
      .array(
        z
          .number()
          .int()
          .positive()
          .max(2 ** 31 - 1),
      )
      .max(1000)
      .default([]),
    analyst: analystSchema,
  })
  .strict();
export type OpenCaseInput = z.input<typeof openCaseSchema>;

export interface OpenCaseResult {
  readonly case: CaseRecord;
  /** The case opened on hold because its clause is subject to review. */
  readonly review: boolean;
  readonly policy: string;
  readonly attachedEvents: readonly number[];
  readonly actions: readonly string[];
}

export async function openCase(deps: CaseCommandDeps, input: OpenCaseInput): Promise<OpenCaseResult> {
  const i = parseInput(openCaseSchema, input, 'open-case');
  return deps.db.transaction().execute((trx) => openCaseIn(trx, deps, i, { eventIds: undefined }));
}

/**
 * The same inside a caller's transaction (the triage queue's "open a case from it"); `eventIds` limits
 * what is attached to those events of the reports.
 */
export async function openCaseIn(
  trx: Transaction<Database>,
  deps: CaseCommandDeps,
  i: z.output<typeof openCaseSchema>,
  options: { eventIds: readonly number[] | undefined; triageItem?: number },
): Promise<OpenCaseResult> {
  const now = deps.clock.now();
  const service = await serviceByRef(trx, i.service);
  if (!service) throw new AupError('AUP_ERR_NOT_FOUND', `service ${i.service} does not exist`);
  const found = await existingReportIds(trx, i.reports);
  const missing = i.reports.filter((id) => !found.has(id));
  if (missing.length > 0)
    throw new AupError('AUP_ERR_NOT_FOUND', `report ${missing.join(', ')} does not exist`);

  const { history, acceptance } = await customerBindingInput(trx, deps, service.customerId);
  const bound = bindingVersion(history, { ...acceptance, at: now.toISOString() });
  const policy = bound.document;
  const clause = policy.clauses.find((c) => c.id === i.clause);
  if (!clause) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `clause ${i.clause} is not in ${policy.provider.id} ${policy.version} (the version binding ${service.customerRef} now); its clauses: ${policy.clauses.map((c) => c.id).join(', ')}`,
      { details: { field: 'clause' } },
    );
  }
  if (clause.service_kinds && !clause.service_kinds.includes(service.serviceKind as never)) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `clause ${clause.id} binds only ${clause.service_kinds.join(', ')} services; ${service.serviceRef} is ${service.serviceKind}`,
      { details: { field: 'clause' } },
    );
  }
  const review = reviewOf(clause);
  const actor = actorOf(i.analyst);
  const repeat = (await previousCases(trx, service.customerId, clause.id)).length;
  const record = await createCase(trx, {
    providerId: policy.provider.id,
    policyVersion: policy.version,
    customerId: service.customerId,
    customerRef: service.customerRef,
    serviceId: service.serviceId,
    serviceRef: service.serviceRef,
    clauseId: clause.id,
    severity: clause.severity,
    openedAt: now,
    firstEventAt: now,
    windowEndsAt: windowEndsAt(now, durationMs(policy.terms.enforcement.case_window)),
    repeatCount: repeat,
    state: (caseNumber) =>
      openCaseState({
        caseId: caseNumber,
        customerId: service.customerRef,
        serviceId: service.serviceRef,
        openedAt: now,
        clauses: [
          {
            id: clause.id,
            severity: clause.severity,
            endangersInfrastructure: clause.endangers_infrastructure,
          },
        ],
        endangering: false,
        repeat,
        review,
      }),
  });
  await appendAudit(trx, {
    at: now,
    actor,
    kind: 'case.opened',
    subject: caseSubject(record.id),
    payload: {
      case: record.ref,
      by: 'analyst',
      policy: `${policy.provider.id} ${policy.version}`,
      binding: bound.reason,
      customer: service.customerRef,
      service: service.serviceRef,
      clause: clause.id,
      severity: clause.severity,
      reason: i.reason,
      reports: i.reports,
      review: review !== undefined,
      repeat,
      ...(options.triageItem === undefined ? {} : { triageItem: options.triageItem }),
    },
  });
  const attachedEvents = await attachToCase(trx, record.id, {
    reportIds: i.reports,
    ...(options.eventIds ? { eventIds: options.eventIds } : {}),
  });
  await addCaseNote(trx, { caseId: record.id, author: i.analyst, text: i.reason, at: now });
  const { record: saved, enqueued } = await applyCaseTransition(trx, deps, record, record.state, now, {
    actor,
    cause: 'analyst:open',
    audit: { reports: i.reports, events: attachedEvents },
  });
  return {
    case: saved,
    review: review !== undefined,
    policy: `${policy.provider.id} ${policy.version}`,
    attachedEvents,
    actions: enqueued,
  };
}
