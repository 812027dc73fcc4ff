import type { Transaction } from 'kysely';
import { z } from 'zod';
import { appendAudit } from '../../audit/audit-log.js';
import { requireCase } from '../../cases/case-repository.js';
import { addCaseNote } from '../../cases/message-repository.js';
import { attachToCase, getReport, listCaseEvents, reclassifyEvents } from '../../cases/report-repository.js';
import { getTriageItem, resolveTriageItem, type TriageItem } from '../../cases/triage-repository.js';
import { AupError } from '../../errors.js';
import { retryFailedInboxItem } from '../../intake/inbox/inbox-accept.js';
import type { Channel, Reporter } from '../../intake/report.js';
import { judgeEvent } from '../../judgement/judge-event.js';
import { bindingVersion } from '../../policy/policy-binding.js';
import { serviceById } from '../../registry/customer-lookup.js';
import type { Database } from '../../store/schema.js';
import { taxonomy } from '../../taxonomy/taxonomy.js';
import { ackPayloadSchema, isValidMailbox } from '../notices/ack-decision.js';
import { notActionableTemplates } from '../notices/ack-templates.js';
import { enqueueAction } from '../outbox/outbox-repository.js';
import { customerBindingInput } from '../pipeline/customer-binding.js';
import { actorOf, analystSchema, type CaseCommandDeps, caseRefSchema, parseInput } from './case-command.js';
import { type OpenCaseResult, openCaseIn } from './open-case.js';

/**
 * What an analyst decides about a triage item (the queue of reports and events that opened no case):
 * classify it (the class the parser could not be sure of; judged again under the binding version, a
 * violation opens a case), attach it to an existing case, open a case from it under a chosen clause, mark
 * it not actionable (the reporter gets the chosen reply through the outbox), or retry a failed intake
 * item. Each choice resolves the item and writes a `triage.<choice>` audit entry in the same transaction.
 */

const itemId = z
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1);
const base = { item: itemId, analyst: analystSchema, note: z.string().trim().max(20_000).optional() };

export const classifyTriageSchema = z
  .object({
    ...base,
    classification: z
      .string()
      .trim()
      .regex(/^[a-z-]+\/[a-z0-9-]+$/, 'a class is taxonomy/type, e.g. abusive-content/spam'),
  })
  .strict();
export const attachTriageSchema = z.object({ ...base, caseRef: caseRefSchema }).strict();
export const openCaseFromTriageSchema = z
  .object({
    ...base,
    /** The service; default the one the item names (the attributed service or the victim's). */
    service: z.string().trim().min(1).max(200).optional(),
    clause: z.string().trim().min(1).max(200),
    reason: z.string().trim().min(1, 'say why the case is opened').max(20_000),
  })
  .strict();
export const dismissTriageSchema = z
  .object({ ...base, template: z.enum(notActionableTemplates).default('not-abuse') })
  .strict();
export const retryTriageSchema = z.object(base).strict();

export interface TriageDecision {
  readonly item: TriageItem;
  readonly caseRef: string | null;
  readonly detail: string;
  readonly actions: readonly string[];
}

/** Classify: the events get the class; judged under the version binding their customer now. */
export async function classifyTriageItem(
  deps: CaseCommandDeps,
  input: z.input<typeof classifyTriageSchema>,
): Promise<TriageDecision> {
  const i = parseInput(classifyTriageSchema, input, 'triage classify');
  const [tax, type] = i.classification.split('/') as [string, string];
  const types = (taxonomy as Record<string, readonly string[]>)[tax];
  if (!types?.includes(type)) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `${i.classification} is not a class of the taxonomy`, {
      details: { field: 'classification' },
    });
  }
  return decide(deps, i.item, i.analyst, async (trx, item, now) => {
    if (item.eventIds.length === 0 || item.serviceId === null) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `triage item ${item.id} names no event of a service of ours (${item.reason}): open a case under a chosen service and clause, or mark it not actionable`,
      );
    }
    const service = await serviceById(trx, item.serviceId);
    if (!service) throw new AupError('AUP_ERR_NOT_FOUND', `service ${item.serviceId} no longer exists`);
    const [first] = await listCaseEvents(trx, { ids: item.eventIds.slice(0, 1) });
    if (!first)
      throw new AupError('AUP_ERR_NOT_FOUND', `the events of triage item ${item.id} no longer exist`);
    const event = {
      ...first.event,
      'classification.taxonomy': tax,
      'classification.type': type,
    } as typeof first.event;
    const report = item.reportId === null ? undefined : await getReport(trx, item.reportId);
    const { history, acceptance } = await customerBindingInput(trx, deps, service.customerId);
    const policy = bindingVersion(history, { ...acceptance, at: now.toISOString() }).document;
    const judgement = judgeEvent({
      policy,
      event,
      // The report's own reporter and receipt: the policy's anonymity and age terms still apply.
      reporter: (report?.reporter ?? { anonymous: false, automated: false }) as Reporter,
      channel: (report?.channel ?? 'api') as Channel,
      receivedAt: report?.receivedAt ?? now,
      serviceKind: service.serviceKind as never,
      now,
    });
    if (judgement.verdict !== 'violation') {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `${i.classification} is a ${judgement.verdict} under ${policy.provider.id} ${policy.version}: ${judgement.reason}; open a case under a chosen clause or mark the item not actionable`,
      );
    }
    await reclassifyEvents(trx, item.eventIds, { taxonomy: tax, type });
    const opened = await openFrom(trx, deps, item, {
      analyst: i.analyst,
      service: service.serviceRef,
      clause: judgement.primary.id,
      reason: i.note ?? `classified as ${i.classification} from the triage queue`,
    });
    return {
      resolution: 'classified',
      caseId: opened.case.id,
      caseRef: opened.case.ref,
      detail: `classified as ${i.classification}: case ${opened.case.ref} under ${judgement.primary.id} (${opened.policy})`,
      actions: opened.actions,
      audit: { classification: i.classification, clause: judgement.primary.id, case: opened.case.ref },
    };
  });
}

/** Attach: the item's events (or its report) join an existing case. */
export async function attachTriageItem(
  deps: CaseCommandDeps,
  input: z.input<typeof attachTriageSchema>,
): Promise<TriageDecision> {
  const i = parseInput(attachTriageSchema, input, 'triage attach');
  return decide(deps, i.item, i.analyst, async (trx, item, now) => {
    const record = await requireCase(trx, i.caseRef);
    if (record.mergedInto !== null) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `case ${record.ref} was merged: attach to the case it was merged into`,
      );
    }
    const attached = await attachToCase(trx, record.id, {
      ...(item.reportId === null ? {} : { reportIds: [item.reportId] }),
      ...(item.eventIds.length > 0 ? { eventIds: item.eventIds } : {}),
    });
    await addCaseNote(trx, {
      caseId: record.id,
      author: i.analyst,
      text: i.note ?? `attached from triage item ${item.id} (${item.reason}: ${item.detail})`,
      at: now,
    });
    return {
      resolution: 'attached',
      caseId: record.id,
      caseRef: record.ref,
      detail: `attached to case ${record.ref} (${attached.length} event${attached.length === 1 ? '' : 's'})`,
      actions: [],
      audit: { case: record.ref, events: attached },
    };
  });
}

/** Open a case from it, under a clause the analyst chooses (cases by hand, open-case.ts). */
export async function openCaseFromTriage(
  deps: CaseCommandDeps,
  input: z.input<typeof openCaseFromTriageSchema>,
): Promise<TriageDecision & { readonly review: boolean }> {
  const i = parseInput(openCaseFromTriageSchema, input, 'triage open-case');
  let review = false;
  const decision = await decide(deps, i.item, i.analyst, async (trx, item) => {
    let serviceRef = i.service;
    if (serviceRef === undefined) {
      const named = item.serviceId === null ? undefined : await serviceById(trx, item.serviceId);
      if (!named) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          `triage item ${item.id} names no service: give the service`,
          {
            details: { field: 'service' },
          },
        );
      }
      serviceRef = named.serviceRef;
    }
    const opened = await openFrom(trx, deps, item, {
      analyst: i.analyst,
      service: serviceRef,
      clause: i.clause,
      reason: i.reason,
    });
    review = opened.review;
    return {
      resolution: 'case-opened',
      caseId: opened.case.id,
      caseRef: opened.case.ref,
      detail: `case ${opened.case.ref} opened under ${i.clause} (${opened.policy})${opened.review ? ', on hold for review' : ''}`,
      actions: opened.actions,
      audit: { case: opened.case.ref, clause: i.clause, service: serviceRef, review: opened.review },
    };
  });
  return { ...decision, review };
}

/** Not actionable: closed, and the reporter (when there is one to answer) gets the chosen reply. */
export async function dismissTriageItem(
  deps: CaseCommandDeps,
  input: z.input<typeof dismissTriageSchema>,
): Promise<TriageDecision> {
  const i = parseInput(dismissTriageSchema, input, 'triage not-actionable');
  return decide(deps, i.item, i.analyst, async (trx, item, now) => {
    const actions: string[] = [];
    let replied = 'no reply: the item has no report';
    if (item.reportId !== null) {
      const report = await getReport(trx, item.reportId);
      const reporter = (report?.reporter ?? {}) as { email?: unknown; name?: unknown; automated?: unknown };
      const email = typeof reporter.email === 'string' ? reporter.email.trim() : '';
      if (!report) replied = 'no reply: the report is gone';
      else if (reporter.automated === true) replied = 'no reply: the reporter is an automated sender';
      else if (report.channel === 'feed' || report.channel === 'detection')
        replied = `no reply: ${report.channel} reports are never answered`;
      else if (!isValidMailbox(email)) replied = 'no reply: the reporter left no valid mail address';
      else {
        const key = `triage:${item.id}:not-actionable`;
        const payload = ackPayloadSchema.parse({
          outcome: 'not-actionable',
          template: i.template,
          reporter: { email, ...(typeof reporter.name === 'string' ? { name: reporter.name } : {}) },
          receivedAt: report.receivedAt.toISOString(),
          ...(i.note ? { detail: i.note } : {}),
          original: {
            ...(report.messageId ? { messageId: report.messageId } : {}),
            ...(report.subject ? { subject: report.subject } : {}),
            headers: {},
            feed: false,
          },
        });
        await enqueueAction(trx, {
          at: now,
          kind: 'mail.ack',
          idempotencyKey: key,
          payload,
          caseId: null,
          actor: actorOf(i.analyst),
        });
        actions.push(key);
        replied = `reply "${i.template}" queued to ${email}`;
      }
    }
    return {
      resolution: 'not-actionable',
      caseId: null,
      caseRef: null,
      detail: `not actionable; ${replied}`,
      actions,
      audit: { template: i.template, replied },
    };
  });
}

/** Retry a failed intake item: back to the inbox, processed again by the next round. */
export async function retryTriageItem(
  deps: CaseCommandDeps,
  input: z.input<typeof retryTriageSchema>,
): Promise<TriageDecision> {
  const i = parseInput(retryTriageSchema, input, 'triage retry');
  return decide(deps, i.item, i.analyst, async (trx, item) => {
    if (item.reason !== 'failed' || item.inboxId === null) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `triage item ${item.id} is ${item.reason}, not a failed intake item: only failed items can be retried`,
      );
    }
    if (!(await retryFailedInboxItem(trx, item.inboxId))) {
      throw new AupError('AUP_ERR_INPUT_INVALID', `intake item ${item.inboxId} is no longer failed`);
    }
    return {
      resolution: 'retried',
      caseId: null,
      caseRef: null,
      detail: `intake item ${item.inboxId} queued again`,
      actions: [],
      audit: { inbox: item.inboxId },
    };
  });
}

// ---------------------------------------------------------------------------------------------------------

interface Outcome {
  readonly resolution: 'classified' | 'attached' | 'case-opened' | 'not-actionable' | 'retried';
  readonly caseId: number | null;
  readonly caseRef: string | null;
  readonly detail: string;
  readonly actions: readonly string[];
  readonly audit: Record<string, unknown>;
}

/** One decision: the item locked and open, the choice made, the item resolved and audited, together. */
async function decide(
  deps: CaseCommandDeps,
  id: number,
  analyst: string,
  choose: (trx: Transaction<Database>, item: TriageItem, now: Date) => Promise<Outcome>,
): Promise<TriageDecision> {
  const now = deps.clock.now();
  return deps.db.transaction().execute(async (trx) => {
    const peek = await getTriageItem(trx, id);
    if (!peek) throw new AupError('AUP_ERR_NOT_FOUND', `triage item ${id} does not exist`);
    if (peek.status !== 'open') {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `triage item ${id} was already decided (${peek.resolution} by ${peek.resolvedBy})`,
      );
    }
    const outcome = await choose(trx, peek, now);
    await appendAudit(trx, {
      at: now,
      actor: actorOf(analyst),
      kind: `triage.${outcome.resolution}`,
      subject: `triage:${id}`,
      payload: {
        item: id,
        reason: peek.reason,
        report: peek.reportId,
        inbox: peek.inboxId,
        detail: outcome.detail,
        ...outcome.audit,
      },
    });
    // Resolved after the audit entry: the lock order of case-transition.ts (audit head, then rows).
    const locked = await getTriageItem(trx, id, { forUpdate: true });
    if (locked?.status !== 'open')
      throw new AupError('AUP_ERR_INPUT_INVALID', `triage item ${id} was decided meanwhile`);
    await resolveTriageItem(trx, id, {
      resolution: outcome.resolution,
      by: analyst,
      at: now,
      caseId: outcome.caseId,
      note: outcome.detail,
    });
    const item = (await getTriageItem(trx, id))!;
    return { item, caseRef: outcome.caseRef, detail: outcome.detail, actions: outcome.actions };
  });
}

function openFrom(
  trx: Transaction<Database>,
  deps: CaseCommandDeps,
  item: TriageItem,
  input: { analyst: string; service: string; clause: string; reason: string },
): Promise<OpenCaseResult> {
  return openCaseIn(
    trx,
    deps,
    { ...input, reports: item.reportId === null ? [] : [item.reportId] },
    { eventIds: item.eventIds.length > 0 ? item.eventIds : undefined, triageItem: item.id },
  );
}
