import type { CaseState, Fee } from '../cases/case-state.js';
import {
  durationMs,
  type EnforcementTerms,
  type LadderStep,
  obligationOfClause,
  type PolicyDocument,
  type Remedy,
} from '../policy/policy-schema.js';
import {
  type ActionKind,
  idempotencyKeyOf,
  type NoticePayload,
  type NoticeTemplate,
  type PlannedAction,
} from './planned-action.js';

/**
 * The ladder engine's planning half: turning a step (a ladder rung, a synthetic notice, an analyst's remedy,
 * a restoration) into planned actions with their payloads and idempotency keys, and updating the case
 * fields that record them (notices sent, suspended, blocked). Split from ladder-engine.ts, which decides
 * *when* and *whether*; everything here is as pure as the engine itself.
 */

/** Remedies that interrupt the customer's service: a required notice must precede them. */
export const interruptions: ReadonlySet<Remedy> = new Set([
  'suspend',
  'deny-service',
  'terminate',
  'block-traffic',
]);

/** One engine call's working state: the case being advanced and what has been planned so far. */
export interface Run {
  readonly s: CaseState;
  readonly policy: PolicyDocument;
  readonly terms: EnforcementTerms;
  readonly now: Date;
  readonly actions: PlannedAction[];
  readonly proposed: PlannedAction[];
  readonly reasons: string[];
}

export function isEndangering(run: Run): boolean {
  const { s, policy } = run;
  if (s.flags.endangering) return true;
  return s.clauses.some(
    (c) =>
      c.endangersInfrastructure || policy.clauses.some((pc) => pc.id === c.id && pc.endangers_infrastructure),
  );
}

/** Must a notice precede an interruption of this case? */
export function noticeRequired(run: Run): boolean {
  switch (run.terms.notice_before_suspension) {
    case 'always':
      return true;
    case 'unless-harming':
      return !(run.s.flags.harming || isEndangering(run));
    case 'never-required':
      return false;
  }
}

export function nextRemedyAfter(run: Run, step: LadderStep): Remedy | undefined {
  const index = run.terms.ladder.findIndex((candidate) => candidate.id === step.id);
  return index >= 0 ? run.terms.ladder[index + 1]?.action : undefined;
}

export function attemptOf(run: Run, stepId: string, dryRun: boolean): number {
  const attempts = run.s.ladder.attempts;
  const next = (attempts[stepId] ?? 0) + 1;
  if (!dryRun) attempts[stepId] = next;
  return next;
}

export function reasonText(run: Run, step: LadderStep): string {
  const clauses = run.s.clauses.map((c) => c.id).join(', ');
  return `AUP case ${run.s.caseId}: ${clauses} (${run.policy.provider.id} ${run.policy.version}, step ${step.id})`;
}

export function planStep(
  run: Run,
  step: LadderStep,
  options: { dryRun: boolean; fee?: Fee | undefined },
): PlannedAction[] {
  const { s, terms } = run;
  const dryRun = options.dryRun;
  const attempt = attemptOf(run, step.id, dryRun);
  const sla = terms.sla_credit_for_aup_interruptions;
  const base = { caseId: s.caseId, customerId: s.customerId, serviceId: s.serviceId };
  const out: PlannedAction[] = [];
  const key = (kind: ActionKind) => idempotencyKeyOf(s.caseId, step.id, attempt, kind);
  const meta = { caseId: s.caseId, stepId: step.id, attempt, remedy: step.action };
  const notify = (template: NoticeTemplate, extra: Partial<NoticePayload> = {}) => {
    if (!step.notify_customer || terms.notice_channel === 'none') return;
    const deadline = step.wait !== undefined ? computeDeadline(run, step) : undefined;
    out.push(
      noticeAction(
        run,
        key('mail.notice'),
        meta,
        template,
        deadline,
        nextRemedyAfter(run, step),
        extra,
        dryRun,
      ),
    );
  };
  const reason = reasonText(run, step);

  switch (step.action) {
    case 'warn':
    case 'notify':
      // Once suspended (an immediate suspension came first), the ladder's notice is the suspension notice.
      notify(
        s.suspended ? 'suspension-notice' : s.noticeKeys.length === 0 ? 'violation-notice' : 'warning-notice',
        {
          stepText: step.text,
        },
      );
      break;
    case 'suspend':
      out.push({
        ...meta,
        kind: 'provision.suspend',
        idempotencyKey: key('provision.suspend'),
        payload: { ...base, operation: 'suspend', reason, slaCreditEligible: sla, urls: [] },
      });
      if (!dryRun) s.suspended = true;
      notify('suspension-notice');
      break;
    case 'deny-service':
    case 'terminate':
      out.push({
        ...meta,
        kind: 'provision.terminate',
        idempotencyKey: key('provision.terminate'),
        payload: { ...base, operation: 'terminate', reason, slaCreditEligible: sla, urls: [] },
      });
      notify('termination-notice');
      break;
    case 'block-traffic':
      if (s.subjects.addresses.length === 0) {
        if (!dryRun) run.reasons.push(`step "${step.id}": no addresses on the case to block`);
        break;
      }
      out.push({
        ...meta,
        kind: 'block.add',
        idempotencyKey: key('block.add'),
        payload: {
          ...base,
          operation: 'add',
          targets: [...s.subjects.addresses],
          reason,
          slaCreditEligible: sla,
        },
      });
      if (!dryRun) s.blocked = true;
      notify('block-notice');
      break;
    case 'remove-content':
      out.push({
        ...meta,
        kind: 'provision.remove-content',
        idempotencyKey: key('provision.remove-content'),
        payload: {
          ...base,
          operation: 'remove-content',
          reason,
          slaCreditEligible: sla,
          urls: [...s.subjects.urls],
        },
      });
      notify('content-removal-notice');
      break;
    case 'fee': {
      const fee = options.fee ?? step.fee ?? terms.ladder.find((candidate) => candidate.fee)?.fee;
      if (fee === undefined) {
        if (!dryRun) run.reasons.push(`step "${step.id}": the policy names no fee amount; nothing recorded`);
        break;
      }
      out.push({
        ...meta,
        kind: 'fee.record',
        idempotencyKey: key('fee.record'),
        payload: { ...base, amount: fee.amount, currency: fee.currency, basis: fee.basis },
      });
      notify('fee-notice', { fee: { amount: fee.amount, currency: fee.currency, basis: fee.basis } });
      break;
    }
    case 'report-to-authorities':
      // Never announced to the customer: the policy lets the provider report without notice, and telling the
      // subject of a report can defeat it.
      out.push({
        ...meta,
        kind: 'task.report-to-authorities',
        idempotencyKey: key('task.report-to-authorities'),
        payload: { ...base, task: 'report-to-authorities', reason },
      });
      break;
  }
  return out;
}

export function computeDeadline(run: Run, step: LadderStep): Date | undefined {
  if (step.wait === undefined) return undefined;
  const ms = durationMs(step.wait === 'cure_period' ? run.terms.cure_period : step.wait);
  return new Date(run.now.getTime() + ms);
}

export function noticeAction(
  run: Run,
  idempotencyKey: string,
  meta: { caseId: string; stepId: string; attempt: number; remedy: Remedy | null },
  template: NoticeTemplate,
  deadline: Date | undefined,
  nextRemedy: Remedy | undefined,
  extra: Partial<NoticePayload>,
  dryRun: boolean,
): PlannedAction {
  const { s, policy, terms } = run;
  const payload: NoticePayload = {
    caseId: s.caseId,
    customerId: s.customerId,
    serviceId: s.serviceId,
    template,
    stepId: meta.stepId,
    remedy: meta.remedy,
    policy: {
      providerId: policy.provider.id,
      providerName: policy.provider.name,
      version: policy.version,
      title: policy.title,
    },
    clauses: s.clauses.map((c) => {
      const clause = policy.clauses.find((pc) => pc.id === c.id);
      return {
        id: c.id,
        ...(clause?.number === undefined ? {} : { number: clause.number }),
        title: clause?.title ?? c.id,
        text: clause?.text ?? `(clause "${c.id}" is not in policy version ${policy.version})`,
        severity: c.severity,
      };
    }),
    ...(deadline === undefined ? {} : { deadline: deadline.toISOString() }),
    ...(nextRemedy === undefined || deadline === undefined ? {} : { nextRemedy }),
    curePeriod: terms.cure_period,
    shareWithCustomer: policy.terms.complaints.share_with_customer,
    channel: terms.notice_channel === 'email-and-portal' ? 'email-and-portal' : 'email',
    references: [...s.noticeKeys],
    slaCreditEligible: terms.sla_credit_for_aup_interruptions,
    ...obligationOf(policy, s.clauses[0]?.id),
    ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
  };
  if (!dryRun) {
    s.noticeKeys.push(idempotencyKey);
    s.noticeGivenAt ??= run.now.toISOString();
  }
  return { ...meta, kind: 'mail.notice', idempotencyKey, payload };
}

/** A notice outside a ladder step's own plan: the one the policy requires before an interruption, etc. */
export function takeNotice(
  run: Run,
  stepId: string,
  template: NoticeTemplate,
  remedy: Remedy | null,
  deadline: Date | undefined,
  nextRemedy: Remedy | undefined,
  extra: Partial<NoticePayload> = {},
): void {
  if (run.terms.notice_channel === 'none') return;
  const attempt = attemptOf(run, stepId, false);
  const key = idempotencyKeyOf(run.s.caseId, stepId, attempt, 'mail.notice');
  run.actions.push(
    noticeAction(
      run,
      key,
      { caseId: run.s.caseId, stepId, attempt, remedy },
      template,
      deadline,
      nextRemedy,
      extra,
      false,
    ),
  );
}

export function restore(run: Run, stepId: string, reason: string): void {
  const { s, terms } = run;
  const base = { caseId: s.caseId, customerId: s.customerId, serviceId: s.serviceId };
  const attempt = attemptOf(run, stepId, false);
  const meta = { caseId: s.caseId, stepId, attempt, remedy: null };
  const sla = terms.sla_credit_for_aup_interruptions;
  if (s.suspended) {
    run.actions.push({
      ...meta,
      kind: 'provision.unsuspend',
      idempotencyKey: idempotencyKeyOf(s.caseId, stepId, attempt, 'provision.unsuspend'),
      payload: { ...base, operation: 'unsuspend', reason, slaCreditEligible: sla, urls: [] },
    });
    s.suspended = false;
  }
  if (s.blocked && s.subjects.addresses.length > 0) {
    run.actions.push({
      ...meta,
      kind: 'block.remove',
      idempotencyKey: idempotencyKeyOf(s.caseId, stepId, attempt, 'block.remove'),
      payload: {
        ...base,
        operation: 'remove',
        targets: [...s.subjects.addresses],
        reason,
        slaCreditEligible: sla,
      },
    });
  }
  s.blocked = false;
}

export function clearLadder(run: Run): void {
  run.s.ladder.nextDueAt = undefined;
  run.s.ladder.awaitingApproval = undefined;
  run.s.ladder.approved = undefined;
}

function obligationOf(
  policy: Run['policy'],
  clauseId: string | undefined,
): Pick<NoticePayload, 'obligation'> {
  const o = clauseId === undefined ? undefined : obligationOfClause(policy, clauseId);
  return o ? { obligation: { id: o.id, title: o.title, text: o.text } } : {};
}
