import {
  type AnalystIntervention,
  activeStatuses,
  type CaseState,
  type CaseStatus,
  copyCaseState,
  type Fee,
} from '../cases/case-state.js';
import {
  durationMs,
  type LadderStep,
  obligationOfClause,
  type PolicyDocument,
} from '../policy/policy-schema.js';
import type { PlannedAction } from './planned-action.js';
import {
  clearLadder,
  interruptions,
  isEndangering,
  noticeRequired,
  planStep,
  type Run,
  restore,
  takeNotice,
} from './step-planner.js';

/**
 * The ladder engine: `(case state, policy version, now) → next state + actions`. Pure: no clock, no I/O,
 * no randomness; the same inputs give the same output, keys included, which is what lets the outbox dedupe
 * and a simulation replay a policy over past events.
 *
 * One call does, in order:
 *   1. apply the analyst interventions whose time has come, in the order they were given;
 *   2. put a new customer reply up for review (the ladder waits for an analyst);
 *   3. take the immediate suspension of an endangering case, where the policy promises one;
 *   4. take every ladder step that is due, one after another, until one has a wait, needs an analyst's
 *      approval, or the ladder ends.
 *
 * The guarantees (tested as properties in ladder-engine.test.ts): only remedies the policy reserves are
 * taken; an interruption (suspend, deny, block, terminate) is never the first thing a customer hears when
 * the policy requires notice first (the ladder even holds the interruption back for the cure period), except
 * when the case endangers the infrastructure and the policy allows acting at once; a held or dismissed case
 * does nothing on its own; `approval: analyst` steps are proposed, never taken, until approved.
 */

export interface EngineResult {
  readonly state: CaseState;
  /** What to do now, in order (a notice the policy requires comes before the interruption it precedes). */
  readonly actions: PlannedAction[];
  /** Actions of a step waiting for an analyst's approval: shown in the console, not performed. */
  readonly proposed: PlannedAction[];
  /** When to call the engine again; absent: only an analyst, a customer reply or a new event moves it. */
  readonly due?: Date;
  /** What happened and why, for the audit entry and the simulation timeline. */
  readonly reason: string;
}

const finalStatuses: ReadonlySet<CaseStatus> = new Set(['dismissed', 'terminated']);

export function nextStep(caseState: CaseState, policy: PolicyDocument, now: Date): EngineResult {
  const run: Run = {
    s: copyCaseState(caseState),
    policy,
    terms: termsForCase(policy, caseState),
    now,
    actions: [],
    proposed: [],
    reasons: [],
  };
  const { s } = run;

  while (s.interventionsApplied < s.interventions.length) {
    const intervention = s.interventions[s.interventionsApplied]!;
    if (Date.parse(intervention.at) > now.getTime()) break;
    applyIntervention(run, intervention, s.interventionsApplied + 1);
    s.interventionsApplied += 1;
  }

  if (
    s.customerRespondedAt !== undefined &&
    (s.responseSeenAt === undefined || Date.parse(s.customerRespondedAt) > Date.parse(s.responseSeenAt)) &&
    Date.parse(s.customerRespondedAt) <= now.getTime() &&
    activeStatuses.has(s.status)
  ) {
    s.reviewResumeStatus = s.status;
    s.status = 'customer-responded';
    s.responseSeenAt = s.customerRespondedAt;
    run.reasons.push('the customer replied: the ladder waits for an analyst to review (release, mark-cured)');
  }

  advance(run);

  const due = dueOf(run);
  return {
    state: s,
    actions: run.actions,
    proposed: run.proposed,
    ...(due === undefined ? {} : { due }),
    reason: run.reasons.length > 0 ? run.reasons.join('; ') : idleReason(run, due),
  };
}

function idleReason(run: Run, due: Date | undefined): string {
  const { s } = run;
  if (s.status === 'on-hold') return 'on hold: nothing happens until an analyst releases the case';
  if (s.status === 'dismissed') return 'dismissed: the case takes no further action';
  if (s.ladder.awaitingApproval)
    return `waiting for an analyst to approve step "${s.ladder.awaitingApproval.stepId}"`;
  if (due) return `next step due at ${due.toISOString()}`;
  return `nothing due (${s.status})`;
}

function dueOf(run: Run): Date | undefined {
  const { s, terms } = run;
  if (!activeStatuses.has(s.status) || s.ladder.awaitingApproval) return undefined;
  if (immediateSuspensionApplies(run)) return run.now;
  if (s.ladder.position + 1 >= terms.ladder.length) return undefined;
  return s.ladder.nextDueAt === undefined ? run.now : new Date(s.ladder.nextDueAt);
}

function immediateSuspensionApplies(run: Run): boolean {
  const { s, terms } = run;
  return (
    terms.immediate_suspension_when_endangering &&
    terms.remedies.includes('suspend') &&
    !s.ladder.immediateConsidered &&
    !s.suspended &&
    activeStatuses.has(s.status) &&
    isEndangering(run)
  );
}

function advance(run: Run): void {
  const { s, terms } = run;
  // Each pass takes a step or stops; the bound only guards against a bug turning into a hang.
  for (let pass = 0; pass < terms.ladder.length * 2 + 4; pass += 1) {
    if (!activeStatuses.has(s.status) || s.ladder.awaitingApproval) return;
    if (immediateSuspensionApplies(run)) {
      takeImmediateSuspension(run);
      continue;
    }
    if (s.ladder.nextDueAt !== undefined && Date.parse(s.ladder.nextDueAt) > run.now.getTime()) return;
    const index = s.ladder.position + 1;
    if (index >= terms.ladder.length) {
      if (s.ladder.nextDueAt !== undefined) s.ladder.nextDueAt = undefined;
      return;
    }
    takeLadderStep(run, index);
  }
}

const immediateStep: LadderStep = {
  id: 'immediate-suspension',
  action: 'suspend',
  approval: 'automatic',
  notify_customer: true,
};

function takeImmediateSuspension(run: Run): void {
  const { s, terms } = run;
  const index = terms.ladder.findIndex((step) => step.action === 'suspend');
  // A ladder without a suspension rung: a synthetic one. When the ladder's notice is due at once, that notice
  // tells of the suspension (with the cure deadline), so the customer gets one email, not two.
  const pending = terms.ladder[s.ladder.position + 1];
  const noticeFollows =
    pending !== undefined &&
    (pending.action === 'warn' || pending.action === 'notify') &&
    pending.notify_customer &&
    pending.approval === 'automatic' &&
    (s.ladder.nextDueAt === undefined || Date.parse(s.ladder.nextDueAt) <= run.now.getTime());
  // Its own step id whether or not the ladder has a suspension rung: the record shows the term acted.
  const rung = index >= 0 ? terms.ladder[index] : undefined;
  const step: LadderStep = rung
    ? { ...rung, id: immediateStep.id, approval: 'automatic' }
    : { ...immediateStep, notify_customer: !noticeFollows };
  s.ladder.immediateConsidered = true;
  // The immediate-suspension term is itself the provider's decision to act at once: a suspension rung's
  // `approval: analyst` ("we may suspend") governs the ordinary ladder, not this.
  const approved = consumeApproval(run, rung?.id ?? step.id);
  if (noticeRequired(run) && s.noticeGivenAt === undefined) {
    // The policy promises both notice and immediate suspension: the notice goes first, in the same batch.
    takeNotice(run, `notice-before-${step.id}`, 'violation-notice', null, undefined, step.action);
  }
  run.actions.push(...planStep(run, step, { dryRun: false, fee: approved?.fee }));
  if (index >= 0) {
    s.ladder.position = Math.max(s.ladder.position, index);
    setDue(run, step, index);
  }
  s.ladder.stepTakenAt = run.now.toISOString();
  s.status = 'suspended';
  run.reasons.push(`the case endangers the infrastructure: suspended at once ("${step.id}")`);
}

function takeLadderStep(run: Run, index: number): void {
  const { s, terms } = run;
  const step = terms.ladder[index]!;

  if ((step.action === 'suspend' && s.suspended) || (step.action === 'block-traffic' && s.blocked)) {
    s.ladder.position = index;
    setDue(run, step, index);
    run.reasons.push(`step "${step.id}" (${step.action}) already in effect: passed over`);
    return;
  }

  const approved = consumeApproval(run, step.id);
  if (step.approval === 'analyst' && !approved) {
    s.ladder.awaitingApproval = { stepId: step.id, index, immediate: false };
    run.proposed.push(...planStep(run, step, { dryRun: true }));
    run.reasons.push(`step "${step.id}" (${step.action}) proposed: the policy leaves it to an analyst`);
    return;
  }

  if (interruptions.has(step.action) && noticeRequired(run) && s.noticeGivenAt === undefined) {
    if (terms.notice_channel === 'none') {
      s.ladder.awaitingApproval = { stepId: step.id, index, immediate: false };
      run.proposed.push(...planStep(run, step, { dryRun: true }));
      run.reasons.push(
        `step "${step.id}" needs a prior notice the policy has no channel for: proposed for an analyst`,
      );
      return;
    }
    // Keep the approval: the step is taken, approved, when the cure period ends.
    if (approved) s.ladder.approved = approved;
    const deadline = new Date(run.now.getTime() + durationMs(terms.cure_period));
    takeNotice(run, `notice-before-${step.id}`, 'violation-notice', null, deadline, step.action);
    s.ladder.nextDueAt = deadline.toISOString();
    s.status = 'awaiting-cure';
    run.reasons.push(
      `step "${step.id}" (${step.action}) requires prior notice: notice sent, the step waits until ${deadline.toISOString()}`,
    );
    return;
  }

  run.actions.push(...planStep(run, step, { dryRun: false, fee: approved?.fee }));
  s.ladder.position = index;
  s.ladder.stepTakenAt = run.now.toISOString();
  setDue(run, step, index);
  s.status = statusAfter(run, step);
  run.reasons.push(`step "${step.id}" (${step.action}) taken`);
}

/** Returns the approval for this step (and clears it), if an analyst gave one. */
function consumeApproval(run: Run, stepId: string): { stepId: string; fee?: Fee } | undefined {
  const approved = run.s.ladder.approved;
  if (approved?.stepId !== stepId) return undefined;
  run.s.ladder.approved = undefined;
  return approved;
}

function setDue(run: Run, step: LadderStep, index: number): void {
  const { s, terms } = run;
  if (step.wait !== undefined) {
    const ms = durationMs(step.wait === 'cure_period' ? terms.cure_period : step.wait);
    s.ladder.nextDueAt = new Date(run.now.getTime() + ms).toISOString();
  } else {
    s.ladder.nextDueAt = index + 1 < terms.ladder.length ? run.now.toISOString() : undefined;
  }
}

function statusAfter(run: Run, step: LadderStep): CaseStatus {
  const { s } = run;
  switch (step.action) {
    case 'warn':
    case 'notify':
      if (s.suspended) return 'suspended';
      return step.wait !== undefined ? 'awaiting-cure' : 'notified';
    case 'suspend':
      return 'suspended';
    case 'deny-service':
    case 'terminate':
      return 'terminated';
    default:
      return s.suspended ? 'suspended' : 'escalated';
  }
}

function applyIntervention(run: Run, intervention: AnalystIntervention, seq: number): void {
  const { s, terms } = run;
  const command = intervention.command;
  const who = intervention.analyst;
  const ignore = (why: string): void => {
    run.reasons.push(`${command.kind} by ${who} ignored: ${why}`);
  };
  if (finalStatuses.has(s.status)) {
    ignore(`the case is ${s.status}`);
    return;
  }
  const stepId = `analyst-${seq}`;

  switch (command.kind) {
    case 'hold':
      if (s.status === 'on-hold') {
        ignore('already on hold');
        return;
      }
      s.holdResumeStatus = s.status;
      s.status = 'on-hold';
      run.reasons.push(`held by ${who}`);
      return;

    case 'release':
      if (s.status === 'on-hold') {
        s.status = s.holdResumeStatus ?? 'open';
        s.holdResumeStatus = undefined;
        run.reasons.push(`released by ${who}`);
      } else if (s.status === 'customer-responded') {
        s.status = s.reviewResumeStatus ?? 'open';
        s.reviewResumeStatus = undefined;
        run.reasons.push(`customer reply reviewed by ${who}: the ladder resumes`);
      } else {
        ignore('the case is neither held nor waiting for review');
        return;
      }
      return;

    case 'skip-step': {
      const awaiting = s.ladder.awaitingApproval;
      if (awaiting) {
        s.ladder.awaitingApproval = undefined;
        if (!awaiting.immediate) s.ladder.position = awaiting.index;
        run.reasons.push(`proposed step "${awaiting.stepId}" skipped by ${who}`);
        return;
      }
      const index = s.ladder.position + 1;
      const step = terms.ladder[index];
      if (!step) {
        ignore('no further ladder step');
        return;
      }
      s.ladder.position = index;
      if (s.ladder.approved?.stepId === step.id) s.ladder.approved = undefined;
      run.reasons.push(`step "${step.id}" skipped by ${who}`);
      return;
    }

    case 'dismiss':
      clearLadder(run);
      restore(run, stepId, `AUP case ${s.caseId} dismissed: ${command.reason}`);
      if (s.noticeKeys.length > 0)
        takeNotice(run, stepId, 'dismissal-notice', null, undefined, undefined, { reason: command.reason });
      s.status = 'dismissed';
      s.dismissal = { reason: command.reason, at: intervention.at, analyst: who };
      run.reasons.push(`dismissed by ${who}: ${command.reason}`);
      return;

    case 'mark-cured': {
      if (s.status === 'cured' || s.status === 'reinstated') {
        ignore(`the case is already ${s.status}`);
        return;
      }
      clearLadder(run);
      const interrupted = s.suspended || s.blocked;
      if (interrupted && !terms.reinstatement.requires_analyst) {
        restore(run, stepId, `AUP case ${s.caseId} cured`);
        takeNotice(run, stepId, 'reinstatement-notice', null, undefined, undefined);
        s.status = 'reinstated';
        run.reasons.push(`marked cured by ${who}: the policy restores service without review`);
      } else {
        if (s.noticeKeys.length > 0) takeNotice(run, stepId, 'cured-notice', null, undefined, undefined);
        s.status = 'cured';
        run.reasons.push(
          interrupted
            ? `marked cured by ${who}: service stays suspended until an analyst reinstates it`
            : `marked cured by ${who}`,
        );
      }
      return;
    }

    case 'reinstate':
      if (!s.suspended && !s.blocked) {
        ignore('nothing of this case to lift');
        return;
      }
      clearLadder(run);
      restore(run, stepId, `AUP case ${s.caseId} reinstated by ${who}`);
      takeNotice(run, stepId, 'reinstatement-notice', null, undefined, undefined);
      s.status = 'reinstated';
      run.reasons.push(`reinstated by ${who}`);
      return;

    case 'approve-step': {
      const awaiting = s.ladder.awaitingApproval;
      if (!awaiting) {
        ignore('no step is waiting for approval');
        return;
      }
      if (command.stepId !== undefined && command.stepId !== awaiting.stepId) {
        ignore(`step "${command.stepId}" is not the one proposed ("${awaiting.stepId}")`);
        return;
      }
      s.ladder.awaitingApproval = undefined;
      s.ladder.approved = { stepId: awaiting.stepId, ...(command.fee ? { fee: command.fee } : {}) };
      // Re-open the immediate suspension so the next pass takes it, now approved.
      if (awaiting.immediate) s.ladder.immediateConsidered = false;
      else s.ladder.nextDueAt = undefined;
      run.reasons.push(`step "${awaiting.stepId}" approved by ${who}`);
      return;
    }

    case 'apply-remedy': {
      if (s.status === 'on-hold') {
        ignore('the case is on hold (release it first)');
        return;
      }
      if (!activeStatuses.has(s.status) && s.status !== 'customer-responded') {
        // A cured or reinstated case is closed; a new violation opens a new case (repeat offences show there).
        ignore(`the case is ${s.status}`);
        return;
      }
      if (!terms.remedies.includes(command.remedy)) {
        ignore(`the policy does not reserve "${command.remedy}" (remedies: ${terms.remedies.join(', ')})`);
        return;
      }
      const step: LadderStep = {
        id: stepId,
        action: command.remedy,
        approval: 'automatic',
        notify_customer: true,
        ...(command.fee ? { fee: command.fee } : {}),
      };
      if (interruptions.has(step.action) && noticeRequired(run) && s.noticeGivenAt === undefined) {
        takeNotice(run, `notice-before-${stepId}`, 'violation-notice', null, undefined, step.action);
      }
      run.actions.push(...planStep(run, step, { dryRun: false, fee: command.fee }));
      s.reviewResumeStatus = undefined;
      if (command.remedy === 'suspend') s.status = 'suspended';
      else if (command.remedy === 'terminate' || command.remedy === 'deny-service') {
        clearLadder(run);
        s.status = 'terminated';
      } else if (s.status === 'open')
        s.status = command.remedy === 'warn' || command.remedy === 'notify' ? 'notified' : 'escalated';
      run.reasons.push(`remedy "${command.remedy}" applied by ${who}`);
      return;
    }
  }
}

/**
 * The enforcement terms a case runs under: the policy's, except that a case under a clause the policy links
 * to a customer obligation with its own deadline (Secure Packet §4.3: consent evidence within 72 hours) runs
 * on that deadline instead of the generic cure period, so the notice names it and the ladder moves on when
 * it passes.
 */
function termsForCase(policy: PolicyDocument, caseState: CaseState): PolicyDocument['terms']['enforcement'] {
  const primary = caseState.clauses[0]?.id;
  const obligation = primary === undefined ? undefined : obligationOfClause(policy, primary);
  return obligation
    ? { ...policy.terms.enforcement, cure_period: obligation.deadline }
    : policy.terms.enforcement;
}
