import type { Transaction } from 'kysely';
import { attribute } from '../attribution/attribute.js';
import { type AuditActor, appendAudit } from '../audit/audit-log.js';
import { caseIdFromRef } from '../cases/case-ref.js';
import { getCase } from '../cases/case-repository.js';
import { interveneIn, lockOpenCase } from '../enforcement/commands/case-command.js';
import type { JsonValue } from '../enforcement/outbox/action-handler.js';
import { enqueueAction } from '../enforcement/outbox/outbox-repository.js';
import { historyOf, type InTransactionDeps } from '../enforcement/pipeline/case-transition.js';
import { processReportIn, type ReportDeps } from '../enforcement/pipeline/process-report.js';
import type { CorrespondencePayload, ProvisionPayload } from '../enforcement/planned-action.js';
import { cancelSteps, type StepHandler, scheduleStep } from '../enforcement/scheduler/step-scheduler.js';
import { AupError } from '../errors.js';
import { dmcaParser } from '../intake/parsers/dmca-parser.js';
import type { Channel, ParsedReport } from '../intake/report.js';
import { bindingVersion } from '../policy/policy-binding.js';
import { durationMs, type PolicyDocument } from '../policy/policy-schema.js';
import { customerContact } from '../registry/customer-lookup.js';
import type { RegistrySnapshot } from '../registry/registry-snapshot.js';
import type { Database } from '../store/schema.js';
import { dateInZone, restoreWindow } from './business-days.js';
import {
  counterAckLetter,
  counterForwardLetter,
  counterIncompleteLetter,
  type Letter,
  missingElementsLetter,
  notOursLetter,
  rejectionLetter,
  removedClaimantLetter,
  restoredLetter,
  suitFiledLetter,
  takedownClaimantLetter,
  takedownCustomerLetter,
} from './dmca-letters.js';
import {
  type DmcaKind,
  type DmcaRecord,
  findCounteredNotice,
  getDmcaRecord,
  insertDmcaRecord,
  insertStrike,
  requireDmcaRecord,
  strikesOf,
  updateDmcaRecord,
  withdrawStrikes,
} from './dmca-repository.js';
import { checkCounterNotice, checkNotice, looksLikeCounterNotice } from './notice-check.js';
import { repeatInfringerStatus } from './repeat-infringer.js';

/**
 * The DMCA procedure of 17 U.S.C. 512, run inside the caller's transaction (the intake inbox's for mail and
 * forms, the API's for an analyst's step): every decision writes its record, its audit entry, its letters
 * (outbox `mail.correspondence`) and its next due step (scheduler) together, or none of them.
 *
 * - A notice is checked against 512(c)(3)(A)(i)–(vi). Complete: the material's hosts are attributed, the
 *   desk pipeline opens (or joins) the case against each customer holding one, the customer receives the
 *   notice under the policy's confidentiality term with the takedown deadline (`takedown_window`), the
 *   claimant is told, a strike is recorded, and a repeat infringer (512(i)) is terminated through the
 *   ladder. When the deadline passes with the material still up, the provisioning hook disables it.
 * - Incomplete but substantially complying with (ii)–(iv): the sender is asked for the missing elements
 *   (512(c)(3)(B)(ii)) with a deadline; otherwise rejected with the reason. Neither touches the customer.
 * - A counter-notice is checked against 512(g)(3)(A)–(D). Valid: forwarded to the claimant promptly with
 *   the restore window (business days 10–14 after receipt), and the restore is scheduled for day 10 unless
 *   the claimant reports a filed action first.
 */

export type DmcaDeps = InTransactionDeps & {
  /** The registry snapshot (attribution of the infringing URLs' hosts). */
  readonly snapshot?: () => RegistrySnapshot;
  readonly evidence?: ReportDeps['evidence'];
  /** The DMCA agent's time zone: the receipt date of a counter-notice (default America/New_York). */
  readonly timeZone?: string;
};

export interface DmcaReceipt {
  readonly text: string;
  readonly channel: Channel;
  readonly receivedAt: Date;
  readonly evidenceSha256: string;
  readonly inboxId?: string | undefined;
  /** The form and the API say which it is; mail is read (a counter-notice calls itself one). */
  readonly kind?: DmcaKind | undefined;
  /** Where to answer when the text gives no address (the mail's From:). */
  readonly replyAddress?: string | undefined;
  readonly replyName?: string | undefined;
}

export interface DmcaOutcome {
  readonly ref: string;
  readonly kind: DmcaKind;
  readonly status: string;
  readonly complete: boolean;
  readonly missing: readonly string[];
  readonly cases: readonly string[];
  readonly customers: readonly string[];
  readonly notice?: string | undefined;
  /** The desk's report row of a complete notice's takedown (its events and cases), for the report status. */
  readonly reportId?: number | undefined;
}

export const DMCA_STEP_KINDS = ['dmca.takedown-due', 'dmca.completion-due', 'dmca.restore'] as const;
const ACTOR: AuditActor = 'system:dmca';

export function dmcaSubject(id: number): string {
  return `dmca:${id}`;
}

/** The desk's policy version in force at `at` (the provider's DMCA and confidentiality terms). */
export function deskPolicy(
  deps: Pick<InTransactionDeps, 'policies'>,
  at: Date,
  providerId?: string,
): PolicyDocument {
  return bindingVersion(historyOf(deps, providerId ?? undefined), { at: at.toISOString() }).document;
}

function dmcaTerms(doc: PolicyDocument) {
  // A provider whose AUP names no agent still receives notices at its DMCA route: the statute's defaults.
  return (
    doc.terms.dmca ?? {
      require_complete_notice: true,
      takedown_window: 'P1D',
      completion_request_window: 'P14D',
      counter_notice_restore_business_days: { min: 10, max: 14 },
      repeat_infringer: { strikes: 3, window: 'P365D', remedy: 'terminate' as const },
    }
  );
}

async function sendLetter(
  trx: Transaction<Database>,
  at: Date,
  record: DmcaRecord,
  to: { email?: string | undefined; name?: string | undefined },
  letter: Letter,
  suffix = '',
): Promise<string | null> {
  if (!to.email) return null;
  const payload: CorrespondencePayload = {
    about: `dmca:${record.ref}`,
    letter: letter.letter,
    to: to.email,
    ...(to.name ? { toName: to.name } : {}),
    subject: letter.subject,
    text: letter.text,
  };
  const key = `dmca:${record.id}:${letter.letter}${suffix ? `:${suffix}` : ''}`;
  await enqueueAction(trx, { at, kind: 'mail.correspondence', idempotencyKey: key, payload, actor: ACTOR });
  return key;
}

/** A notice or counter-notice received by any channel. */
export async function receiveDmca(
  trx: Transaction<Database>,
  deps: DmcaDeps,
  input: DmcaReceipt,
): Promise<DmcaOutcome> {
  const kind = input.kind ?? (looksLikeCounterNotice(input.text) ? 'counter-notice' : 'notice');
  return kind === 'notice' ? receiveNotice(trx, deps, input) : receiveCounterNotice(trx, deps, input);
}

async function receiveNotice(
  trx: Transaction<Database>,
  deps: DmcaDeps,
  input: DmcaReceipt,
): Promise<DmcaOutcome> {
  const now = deps.clock.now();
  const doc = deskPolicy(deps, input.receivedAt);
  const terms = dmcaTerms(doc);
  const check = checkNotice(input.text);
  const sender = {
    ...check.claimant,
    ...(!check.claimant.email && input.replyAddress ? { email: input.replyAddress } : {}),
    ...(!check.claimant.name && input.replyName ? { name: input.replyName } : {}),
  };
  const copyrightedUrls = findCopyrightedUrls(input.text, check.urls);
  let record = await insertDmcaRecord(trx, {
    kind: 'notice',
    providerId: doc.provider.id,
    status: 'received',
    channel: input.channel,
    evidenceSha256: input.evidenceSha256,
    inboxId: input.inboxId ?? null,
    receivedAt: input.receivedAt,
    sender,
    principal: check.rightsHolder,
    elements: check.elements,
    missing: check.missing,
    works: check.works,
    urls: check.urls,
    copyrightedUrls,
    body: input.text,
  });
  await appendAudit(trx, {
    at: now,
    actor: ACTOR,
    kind: 'dmca.notice.received',
    subject: dmcaSubject(record.id),
    payload: {
      notice: record.ref,
      channel: input.channel,
      evidence: input.evidenceSha256,
      complete: check.complete,
      missing: check.missing,
      urls: check.urls.length,
      policy: `${doc.provider.id} ${doc.version}`,
    },
  });
  const base = { ref: record.ref, kind: 'notice' as const, complete: check.complete, missing: check.missing };

  if (!check.complete && terms.require_complete_notice) {
    if (check.substantiallyComplies) {
      const deadline = new Date(now.getTime() + durationMs(terms.completion_request_window));
      record = await updateDmcaRecord(
        trx,
        record.id,
        { status: 'awaiting-completion', deadlineAt: deadline, actionTaken: 'no' },
        now,
      );
      const sent = await sendLetter(trx, now, record, sender, missingElementsLetter(doc, record, deadline));
      await scheduleStep(trx, {
        at: now,
        subject: dmcaSubject(record.id),
        kind: 'dmca.completion-due',
        dueAt: deadline,
        idempotencyKey: `dmca:${record.id}:completion-due`,
        actor: ACTOR,
      });
      await appendAudit(trx, {
        at: now,
        actor: ACTOR,
        kind: 'dmca.notice.incomplete',
        subject: dmcaSubject(record.id),
        payload: {
          notice: record.ref,
          missing: check.missing,
          requested: sent !== null,
          deadline: deadline.toISOString(),
        },
      });
    } else {
      const lacking = (['work', 'material', 'contact'] as const).filter((id) => !check.elements[id].found);
      const reason = `it does not substantially comply with 17 U.S.C. 512(c)(3)(A)(ii)-(iv): it lacks ${lacking.join(', ')}`;
      record = await updateDmcaRecord(trx, record.id, { status: 'rejected', reason, actionTaken: 'no' }, now);
      const sent = await sendLetter(trx, now, record, sender, rejectionLetter(doc, record));
      await appendAudit(trx, {
        at: now,
        actor: ACTOR,
        kind: 'dmca.notice.rejected',
        subject: dmcaSubject(record.id),
        payload: { notice: record.ref, missing: check.missing, reason, answered: sent !== null },
      });
    }
    return { ...base, status: record.status, cases: [], customers: [] };
  }
  return takedown(trx, deps, doc, record, input, base);
}

interface Holder {
  readonly customerRef: string;
  readonly serviceRef: string;
  readonly urls: string[];
}

async function takedown(
  trx: Transaction<Database>,
  deps: DmcaDeps,
  doc: PolicyDocument,
  notice: DmcaRecord,
  input: DmcaReceipt,
  base: { ref: string; kind: 'notice'; complete: boolean; missing: readonly string[] },
): Promise<DmcaOutcome> {
  const now = deps.clock.now();
  const terms = dmcaTerms(doc);
  if (!deps.snapshot) {
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      'the DMCA workflow needs the registry snapshot to attribute a notice',
    );
  }
  const snapshot = deps.snapshot();
  const holders = new Map<string, Holder>();
  for (const url of notice.urls) {
    let found: ReturnType<typeof attribute>;
    try {
      found = attribute(snapshot, { url, at: input.receivedAt });
    } catch {
      continue;
    }
    if (!found.ours) continue;
    const key = `${found.customer.ref}\u0000${found.service.ref}`;
    const holder = holders.get(key) ?? {
      customerRef: found.customer.ref,
      serviceRef: found.service.ref,
      urls: [],
    };
    holder.urls.push(url);
    holders.set(key, holder);
  }
  if (holders.size === 0) {
    const record = await updateDmcaRecord(
      trx,
      notice.id,
      { status: 'not-ours', actionTaken: 'no', reason: 'no infringing URL is hosted on our network' },
      now,
    );
    await sendLetter(trx, now, record, record.sender, notOursLetter(doc, record));
    await appendAudit(trx, {
      at: now,
      actor: ACTOR,
      kind: 'dmca.notice.not-ours',
      subject: dmcaSubject(record.id),
      payload: { notice: record.ref, urls: record.urls },
    });
    return { ...base, status: record.status, cases: [], customers: [] };
  }

  // The desk pipeline opens (or joins) the case against each holder, under the policy's copyright clause.
  const parsed = await dmcaParser.parse({
    bytes: new TextEncoder().encode(input.text),
    receivedAt: input.receivedAt,
  });
  const report: ParsedReport = {
    format: 'dmca',
    channel: input.channel,
    receivedAt: input.receivedAt.toISOString(),
    evidenceSha256: input.evidenceSha256,
    reporter: {
      anonymous: false,
      automated: false,
      ...parsed.reporter,
      ...(notice.sender.email ? { email: notice.sender.email } : {}),
    },
    status: parsed.events.length > 0 ? 'parsed' : 'unparsed',
    events: [...parsed.events],
    errors: [],
    ...(parsed.dmca ? { dmca: parsed.dmca } : {}),
  };
  const caseRefs: string[] = [];
  const caseByCustomer = new Map<string, string>();
  let reportId: number | undefined;
  if (deps.snapshot) {
    const result = await processReportIn(trx, { ...deps, snapshot: deps.snapshot }, report);
    reportId = result.reportId;
    for (const c of result.cases) caseRefs.push(c.ref);
    for (const e of result.events) if (e.verdict === 'violation') caseByCustomer.set(e.customer, e.caseRef);
  }
  const deadline = new Date(now.getTime() + durationMs(terms.takedown_window));
  const first = [...holders.values()][0]!;
  let record = await updateDmcaRecord(
    trx,
    notice.id,
    {
      status: 'takedown',
      customerRef: first.customerRef,
      serviceRef: first.serviceRef,
      caseRefs,
      deadlineAt: deadline,
    },
    now,
  );
  await appendAudit(trx, {
    at: now,
    actor: ACTOR,
    kind: 'dmca.takedown.opened',
    subject: dmcaSubject(record.id),
    payload: {
      notice: record.ref,
      holders: [...holders.values()].map((h) => ({
        customer: h.customerRef,
        service: h.serviceRef,
        urls: h.urls,
      })),
      cases: caseRefs,
      deadline: deadline.toISOString(),
    },
  });
  for (const holder of holders.values()) {
    const contact = await customerContact(trx, holder.customerRef, holder.serviceRef);
    await sendLetter(
      trx,
      now,
      record,
      { email: contact?.emails[0], name: contact?.name },
      takedownCustomerLetter(doc, record, holder.urls, deadline),
      holder.customerRef,
    );
    await insertStrike(trx, holder.customerRef, record.id, input.receivedAt);
    await repeatInfringerCheck(
      trx,
      deps,
      doc,
      record,
      holder.customerRef,
      caseByCustomer.get(holder.customerRef),
      now,
    );
  }
  await sendLetter(trx, now, record, record.sender, takedownClaimantLetter(doc, record, deadline));
  await scheduleStep(trx, {
    at: now,
    subject: dmcaSubject(record.id),
    kind: 'dmca.takedown-due',
    dueAt: deadline,
    idempotencyKey: `dmca:${record.id}:takedown-due`,
    payload: { holders: [...holders.values()], cases: Object.fromEntries(caseByCustomer) },
    actor: ACTOR,
  });
  record = (await getDmcaRecord(trx, record.id))!;
  return {
    ...base,
    status: record.status,
    cases: caseRefs,
    customers: [...new Set([...holders.values()].map((h) => h.customerRef))],
    reportId,
  };
}

/** 512(i): count the customer's strikes under the policy's rule; a repeat infringer is terminated through the ladder. */
async function repeatInfringerCheck(
  trx: Transaction<Database>,
  deps: DmcaDeps,
  doc: PolicyDocument,
  notice: DmcaRecord,
  customerRef: string,
  caseRef: string | undefined,
  now: Date,
): Promise<void> {
  const rule = dmcaTerms(doc).repeat_infringer;
  const strikes = await strikesOf(trx, customerRef);
  const status = repeatInfringerStatus(strikes, rule, now);
  await appendAudit(trx, {
    at: now,
    actor: ACTOR,
    kind: 'dmca.strike',
    subject: dmcaSubject(notice.id),
    payload: {
      notice: notice.ref,
      customer: customerRef,
      strikes: status.count,
      threshold: status.threshold,
      window: rule.window,
    },
  });
  if (!status.repeatInfringer) return;
  let outcome: string;
  if (caseRef) {
    const record = await lockOpenCase(trx, caseRef);
    const result = await interveneIn(
      trx,
      deps,
      record,
      {
        analyst: 'dmca-repeat-infringer-policy',
        command: { kind: 'apply-remedy', remedy: rule.remedy },
        note: `Repeat infringer under 17 U.S.C. 512(i): ${status.count} DMCA strikes within ${rule.window} (policy: ${rule.strikes}); notice ${notice.ref}.`,
      },
      now,
    );
    outcome = `${rule.remedy} applied to case ${caseRef}: ${result.result.reason}`;
  } else {
    outcome = `no case of ${customerRef} to apply ${rule.remedy} through: an analyst must act`;
  }
  await appendAudit(trx, {
    at: now,
    actor: ACTOR,
    kind: 'dmca.repeat-infringer',
    subject: dmcaSubject(notice.id),
    payload: {
      notice: notice.ref,
      customer: customerRef,
      strikes: status.count,
      remedy: rule.remedy,
      case: caseRef ?? null,
      outcome,
    },
  });
}

async function receiveCounterNotice(
  trx: Transaction<Database>,
  deps: DmcaDeps,
  input: DmcaReceipt,
): Promise<DmcaOutcome> {
  const now = deps.clock.now();
  const check = checkCounterNotice(input.text);
  const sender = {
    ...check.subscriber,
    ...(!check.subscriber.email && input.replyAddress ? { email: input.replyAddress } : {}),
  };
  const notice = await findCounteredNotice(trx, { ref: check.noticeRef, urls: check.urls });
  const doc = deskPolicy(deps, input.receivedAt, notice?.providerId ?? undefined);
  const terms = dmcaTerms(doc);
  let counter = await insertDmcaRecord(trx, {
    kind: 'counter-notice',
    providerId: doc.provider.id,
    status: 'received',
    channel: input.channel,
    evidenceSha256: input.evidenceSha256,
    inboxId: input.inboxId ?? null,
    receivedAt: input.receivedAt,
    sender,
    elements: check.elements,
    missing: check.missing,
    works: notice?.works ?? [],
    urls: check.urls,
    body: input.text,
    noticeId: notice?.id ?? null,
  });
  await appendAudit(trx, {
    at: now,
    actor: ACTOR,
    kind: 'dmca.counter.received',
    subject: dmcaSubject(counter.id),
    payload: {
      counter: counter.ref,
      notice: notice?.ref ?? null,
      channel: input.channel,
      evidence: input.evidenceSha256,
      complete: check.complete,
      missing: check.missing,
    },
  });
  const base = {
    ref: counter.ref,
    kind: 'counter-notice' as const,
    complete: check.complete,
    missing: check.missing,
  };
  if (!check.complete) {
    counter = await updateDmcaRecord(
      trx,
      counter.id,
      { status: 'incomplete', reason: `lacks ${check.missing.join(', ')}` },
      now,
    );
    await sendLetter(trx, now, counter, sender, counterIncompleteLetter(doc, counter));
    return { ...base, status: counter.status, cases: [], customers: [], notice: notice?.ref };
  }
  if (!notice || !['takedown', 'removed'].includes(notice.status)) {
    const reason = notice
      ? `notice ${notice.ref} is ${notice.status}: there is no removed material to restore`
      : 'it names no notice of ours (quote the DMCA-… reference) and no URL we took down';
    counter = await updateDmcaRecord(trx, counter.id, { status: 'unmatched', reason }, now);
    await appendAudit(trx, {
      at: now,
      actor: ACTOR,
      kind: 'dmca.counter.unmatched',
      subject: dmcaSubject(counter.id),
      payload: { counter: counter.ref, reason },
    });
    return { ...base, status: counter.status, cases: [], customers: [], notice: notice?.ref };
  }
  const received = dateInZone(input.receivedAt, deps.timeZone);
  const window = restoreWindow(received, terms.counter_notice_restore_business_days);
  counter = await updateDmcaRecord(
    trx,
    counter.id,
    {
      status: 'forwarded',
      customerRef: notice.customerRef,
      serviceRef: notice.serviceRef,
      caseRefs: notice.caseRefs,
      restoreEarliest: window.earliest,
      restoreLatest: window.latest,
    },
    now,
  );
  await updateDmcaRecord(trx, notice.id, { status: 'countered' }, now);
  await sendLetter(trx, now, counter, notice.sender, counterForwardLetter(doc, notice, counter, window));
  await sendLetter(trx, now, counter, sender, counterAckLetter(doc, counter, window));
  // Restore on the first permitted day, during US business hours (15:00 UTC is 10:00 in New York).
  const dueAt = new Date(`${window.earliest}T15:00:00Z`);
  await scheduleStep(trx, {
    at: now,
    subject: dmcaSubject(counter.id),
    kind: 'dmca.restore',
    dueAt,
    idempotencyKey: `dmca:${counter.id}:restore`,
    actor: ACTOR,
  });
  await appendAudit(trx, {
    at: now,
    actor: ACTOR,
    kind: 'dmca.counter.forwarded',
    subject: dmcaSubject(counter.id),
    payload: {
      counter: counter.ref,
      notice: notice.ref,
      received,
      earliest: window.earliest,
      latest: window.latest,
      restoreAt: dueAt.toISOString(),
    },
  });
  return {
    ...base,
    status: counter.status,
    cases: notice.caseRefs,
    customers: notice.customerRef ? [notice.customerRef] : [],
    notice: notice.ref,
  };
}

function provisionPayload(
  record: DmcaRecord,
  caseRef: string | undefined,
  holder: Holder,
  operation: 'remove-content' | 'restore-content',
  reason: string,
): ProvisionPayload {
  return {
    caseId: caseRef ?? record.ref,
    customerId: holder.customerRef,
    serviceId: holder.serviceRef,
    operation,
    reason,
    slaCreditEligible: false,
    urls: holder.urls,
  };
}

/** The scheduler's handler for the DMCA step kinds. */
export function dmcaStepHandler(deps: DmcaDeps): StepHandler {
  return async (trx, step, ctx): Promise<JsonValue> => {
    const id = Number(/^dmca:(\d+)$/.exec(step.subject)?.[1]);
    const record = Number.isSafeInteger(id) ? await getDmcaRecord(trx, id, { forUpdate: true }) : undefined;
    if (!record) return { skipped: 'no such DMCA record' };
    const now = ctx.now;
    const doc = deskPolicy(deps, record.receivedAt, record.providerId ?? undefined);
    if (step.kind === 'dmca.completion-due') {
      if (record.status !== 'awaiting-completion') return { skipped: `notice is ${record.status}` };
      await appendAudit(trx, {
        at: now,
        actor: 'system:scheduler',
        kind: 'dmca.notice.lapsed',
        subject: step.subject,
        payload: { notice: record.ref },
      });
      await updateDmcaRecord(
        trx,
        record.id,
        { status: 'lapsed', reason: 'the missing elements were not supplied in time' },
        now,
      );
      return { notice: record.ref, status: 'lapsed' };
    }
    if (step.kind === 'dmca.takedown-due') {
      if (record.status !== 'takedown') return { skipped: `notice is ${record.status}` };
      const payload = step.payload as { holders?: Holder[]; cases?: Record<string, string> } | null;
      await appendAudit(trx, {
        at: now,
        actor: 'system:scheduler',
        kind: 'dmca.takedown.disabled',
        subject: step.subject,
        payload: { notice: record.ref, holders: payload?.holders ?? [] },
      });
      for (const holder of payload?.holders ?? []) {
        const caseRef = payload?.cases?.[holder.customerRef];
        const caseRow = caseRef ? await getCase(trx, caseIdFromRef(caseRef)) : undefined;
        await enqueueAction(trx, {
          at: now,
          kind: 'provision.remove-content',
          idempotencyKey: `dmca:${record.id}:remove:${holder.customerRef}:${holder.serviceRef}`,
          caseId: caseRow?.id ?? null,
          payload: provisionPayload(
            record,
            caseRef,
            holder,
            'remove-content',
            `DMCA notice ${record.ref}: not removed within the takedown window`,
          ),
          actor: 'system:scheduler',
        });
      }
      const saved = await updateDmcaRecord(
        trx,
        record.id,
        { status: 'removed', removedAt: now, actionTaken: 'yes' },
        now,
      );
      await sendLetter(trx, now, saved, saved.sender, removedClaimantLetter(doc, saved, 'provider'));
      return { notice: record.ref, status: 'removed', by: 'provider' };
    }
    if (step.kind === 'dmca.restore') {
      if (record.status !== 'forwarded') return { skipped: `counter-notice is ${record.status}` };
      const notice = record.noticeId
        ? await getDmcaRecord(trx, record.noticeId, { forUpdate: true })
        : undefined;
      if (!notice) return { skipped: 'the counter-notice has no notice' };
      await appendAudit(trx, {
        at: now,
        actor: 'system:scheduler',
        kind: 'dmca.restored',
        subject: step.subject,
        payload: {
          counter: record.ref,
          notice: notice.ref,
          earliest: record.restoreEarliest,
          latest: record.restoreLatest,
        },
      });
      if (notice.customerRef && notice.serviceRef) {
        await enqueueAction(trx, {
          at: now,
          kind: 'provision.restore-content',
          idempotencyKey: `dmca:${record.id}:restore-content`,
          payload: provisionPayload(
            record,
            notice.caseRefs[0],
            {
              customerRef: notice.customerRef,
              serviceRef: notice.serviceRef,
              urls: record.urls.length > 0 ? record.urls : notice.urls,
            },
            'restore-content',
            `DMCA counter-notice ${record.ref}: no action reported; restored under 17 U.S.C. 512(g)(2)(C)`,
          ),
          actor: 'system:scheduler',
        });
      }
      const saved = await updateDmcaRecord(trx, record.id, { status: 'restored', restoredAt: now }, now);
      const savedNotice = await updateDmcaRecord(
        trx,
        notice.id,
        { status: 'restored', restoredAt: now, actionTaken: 'partial' },
        now,
      );
      await withdrawStrikes(trx, notice.id, now, `countered by ${record.ref} and restored`);
      await sendLetter(
        trx,
        now,
        saved,
        savedNotice.sender,
        restoredLetter(doc, savedNotice, saved),
        'claimant',
      );
      await sendLetter(trx, now, saved, saved.sender, restoredLetter(doc, savedNotice, saved), 'subscriber');
      return { counter: record.ref, notice: notice.ref, status: 'restored' };
    }
    return { skipped: `unknown step kind ${step.kind}` };
  };
}

/** The customer (or an analyst for it) confirms the material is down: the claimant is told. */
export async function confirmRemoval(
  trx: Transaction<Database>,
  deps: DmcaDeps,
  ref: string,
  actor: AuditActor,
): Promise<DmcaRecord> {
  const now = deps.clock.now();
  const peek = await requireDmcaRecord(trx, ref, 'notice');
  await appendAudit(trx, {
    at: now,
    actor,
    kind: 'dmca.takedown.removed',
    subject: dmcaSubject(peek.id),
    payload: { notice: peek.ref },
  });
  const notice = await requireDmcaRecord(trx, ref, 'notice', { forUpdate: true });
  if (notice.status !== 'takedown') {
    throw new AupError(
      'AUP_ERR_DMCA_STATE',
      `notice ${notice.ref} is ${notice.status}: only a notice under takedown can be marked removed`,
    );
  }
  await cancelSteps(trx, dmcaSubject(notice.id), {
    at: now,
    reason: 'material removed by the customer',
    kinds: ['dmca.takedown-due'],
    actor,
  });
  const saved = await updateDmcaRecord(
    trx,
    notice.id,
    { status: 'removed', removedAt: now, actionTaken: 'yes' },
    now,
  );
  const doc = deskPolicy(deps, notice.receivedAt, notice.providerId ?? undefined);
  await sendLetter(trx, now, saved, saved.sender, removedClaimantLetter(doc, saved, 'customer'));
  return saved;
}

/** 512(g)(2)(C): the claimant reports that it filed an action; the material stays down. */
export async function reportSuit(
  trx: Transaction<Database>,
  deps: DmcaDeps,
  counterRef: string,
  details: string,
  actor: AuditActor,
): Promise<DmcaRecord> {
  const now = deps.clock.now();
  const peek = await requireDmcaRecord(trx, counterRef, 'counter-notice');
  await appendAudit(trx, {
    at: now,
    actor,
    kind: 'dmca.counter.suit-reported',
    subject: dmcaSubject(peek.id),
    payload: { counter: peek.ref, details },
  });
  const counter = await requireDmcaRecord(trx, counterRef, 'counter-notice', { forUpdate: true });
  if (counter.status !== 'forwarded') {
    throw new AupError(
      'AUP_ERR_DMCA_STATE',
      `counter-notice ${counter.ref} is ${counter.status}: a filed action stops a restore only while one is pending`,
    );
  }
  await cancelSteps(trx, dmcaSubject(counter.id), {
    at: now,
    reason: 'the claimant reported a filed action',
    kinds: ['dmca.restore'],
    actor,
  });
  const saved = await updateDmcaRecord(
    trx,
    counter.id,
    { status: 'suit-filed', suitReportedAt: now, suitDetails: details },
    now,
  );
  if (counter.noticeId)
    await updateDmcaRecord(
      trx,
      counter.noticeId,
      { status: 'removed', suitReportedAt: now, suitDetails: details },
      now,
    );
  const doc = deskPolicy(deps, counter.receivedAt, counter.providerId ?? undefined);
  await sendLetter(trx, now, saved, saved.sender, suitFiledLetter(doc, saved));
  return saved;
}

/** URLs the notice gives for the original work (not among the infringing ones): Lumen's copyrighted_urls. */
function findCopyrightedUrls(text: string, infringing: readonly string[]): string[] {
  const set = new Set(infringing);
  const all = [...text.matchAll(/https?:\/\/[^\s<>"')\]]+/g)].map((m) => m[0].replace(/[.,;]+$/, ''));
  return [...new Set(all.filter((u) => !set.has(u)))];
}
