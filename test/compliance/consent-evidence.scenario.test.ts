import { expect, it } from 'vitest';
import { listAudit } from '../../src/audit/audit-log.js';
import { getCase } from '../../src/cases/case-repository.js';
import {
  decideConsentEvidence,
  listConsentEvidence,
  submitConsentEvidence,
} from '../../src/compliance/consent-evidence.js';
import { recordCustomerResponse } from '../../src/enforcement/commands/customer-response-portal.js';
import { isAupError } from '../../src/errors.js';
import { describeScenarios, noticeFacts, spamFrom } from '../scenarios/scenario-harness.js';

/**
 * Secure Packet §4.3: the customer must "evidence consent within 72 hours of recipient or Secure Packet
 * request". A bulk-mail complaint under that clause asks for the evidence with the policy's own 72-hour
 * deadline (not the generic 7-day cure); evidence sent in time holds the ladder for the analyst's review,
 * a missed deadline moves the case along the ladder.
 */
describeScenarios('consent evidence within 72 hours (Secure Packet §4.3)', 'securepacket', (ctx) => {
  it('asks for consent evidence due 72 hours after the notice; missed, the case escalates', async () => {
    const desk = await ctx.open('2026-12-01T09:00:00.000Z');
    const result = await desk.submit(spamFrom('198.51.100.10', '2026-12-01T09:00:00.000Z'));
    const ref = result.cases[0]!.ref;
    expect((await getCase(ctx.store.db, ref))?.clauseId).toBe('mail.consent');
    const notice = noticeFacts(desk.mailTo('noc@acme-mail.example')[0]!);
    expect(notice.text).toContain('Evidence of recipient consent within 72 hours');
    expect(notice.text).toContain('Send us that evidence by 2026-12-04 09:00 UTC');
    expect(notice.text).not.toContain('2026-12-08');

    await desk.advanceTo('2026-12-04T08:59:00.000Z');
    expect((await getCase(ctx.store.db, ref))?.status).toBe('awaiting-cure');
    await desk.advanceTo('2026-12-04T09:00:01.000Z');
    const escalated = await getCase(ctx.store.db, ref);
    expect(escalated?.state.ladder.awaitingApproval?.stepId).toBe('block');
  });

  it('evidence sent in the portal before the deadline holds the ladder for review', async () => {
    const desk = await ctx.open('2026-12-01T09:00:00.000Z');
    const result = await desk.submit(spamFrom('198.51.100.11', '2026-12-01T09:00:00.000Z'));
    const ref = result.cases[0]!.ref;
    const record = await getCase(ctx.store.db, ref);
    await desk.advanceTo('2026-12-03T15:00:00.000Z');
    await recordCustomerResponse(desk.deps, {
      caseRef: ref,
      customerId: record!.customerId,
      author: 'noc@acme-mail.example',
      text: [
        'Consent evidence for alice@recipient.example:',
        'address alice@recipient.example; 2026-10-02T10:14:00Z; source: newsletter form at shop.acme.example;',
        'method: double opt-in; confirmation: link clicked 2026-10-02T10:20:11Z from 192.0.2.44.',
      ].join('\n'),
      cureClaimed: true,
    });
    await desk.advanceTo('2026-12-05T09:00:00.000Z');
    const held = await getCase(ctx.store.db, ref);
    expect(held?.status).toBe('customer-responded');
    expect(held?.state.ladder.awaitingApproval).toBeUndefined();
  });

  const alice = {
    address: 'alice@recipient.example',
    time: '2026-10-02T10:14:00Z',
    source: 'newsletter form at shop.acme.example',
    method: 'double opt-in',
    confirmation: 'link clicked 2026-10-02T10:20:11Z from 192.0.2.44',
  };

  it('per-recipient evidence, accepted by the analyst: the case is cured, audited', async () => {
    const desk = await ctx.open('2026-12-01T09:00:00.000Z');
    const ref = (await desk.submit(spamFrom('198.51.100.12', '2026-12-01T09:00:00.000Z'))).cases[0]!.ref;
    const record = (await getCase(ctx.store.db, ref))!;
    await desk.advanceTo('2026-12-02T09:00:00.000Z');
    // Ragged input is refused with the recipient and field named; another customer's case is not found.
    await expect(
      submitConsentEvidence(desk.deps, {
        caseRef: ref,
        customerId: record.customerId,
        author: 'noc@acme-mail.example',
        recipients: [alice, { ...alice, address: 'not an address' }],
      }),
    ).rejects.toThrow(/recipient 2 address/);
    const other = await submitConsentEvidence(desk.deps, {
      caseRef: ref,
      customerId: record.customerId + 999,
      author: 'x@evil.example',
      recipients: [alice],
    }).catch((e: unknown) => e);
    expect(isAupError(other) && other.code).toBe('AUP_ERR_NOT_FOUND');

    const evidence = await submitConsentEvidence(desk.deps, {
      caseRef: ref,
      customerId: record.customerId,
      author: 'noc@acme-mail.example',
      recipients: [alice],
    });
    expect(evidence).toMatchObject({ status: 'pending', recipients: [alice] });
    // On the thread it reads as what it is, with the recipients' evidence as its text; a refused submission
    // left no message behind.
    const thread = await ctx.store.db
      .selectFrom('case_messages')
      .select(['subject', 'body'])
      .where('case_id', '=', record.id)
      .where('direction', '=', 'in')
      .execute();
    expect(thread.map((m) => m.subject)).toEqual([
      `[${ref}] Consent evidence for 1 recipient: please review`,
    ]);
    expect(thread[0]!.body).toContain(alice.address);
    await desk.advanceTo('2026-12-05T09:00:00.000Z');
    expect((await getCase(ctx.store.db, ref))?.status).toBe('customer-responded');

    const decided = await decideConsentEvidence(desk.deps, {
      caseRef: ref,
      id: evidence.id,
      decision: 'accept',
      analyst: 'analyst',
      note: 'double opt-in with a confirmation record',
    });
    expect(decided.evidence.status).toBe('accepted');
    expect((await getCase(ctx.store.db, ref))?.status).toBe('cured');
    // The case is closed now: more evidence is refused, saying why.
    await expect(
      submitConsentEvidence(desk.deps, {
        caseRef: ref,
        customerId: record.customerId,
        author: 'noc@acme-mail.example',
        recipients: [alice],
      }),
    ).rejects.toThrow(/is cured: no evidence is needed/);
    const again = await decideConsentEvidence(desk.deps, {
      caseRef: ref,
      id: evidence.id,
      decision: 'reject',
      analyst: 'analyst',
    }).catch((e: unknown) => e);
    expect(isAupError(again) && again.code).toBe('AUP_ERR_STORE_CONFLICT');
    const kinds = (await listAudit(ctx.store.db, { subject: `case:${record.id}`, limit: 1000 })).map(
      (e) => e.kind,
    );
    expect(kinds).toContain('case.consent-evidence');
    expect(kinds).toContain('case.consent-evidence-accepted');
    expect((await listConsentEvidence(ctx.store.db, record.id))[0]).toMatchObject({
      status: 'accepted',
      decidedBy: 'user:analyst',
    });
  });

  it('evidence rejected after the deadline: the ladder goes on at once (the block step is proposed)', async () => {
    const desk = await ctx.open('2026-12-01T09:00:00.000Z');
    const ref = (await desk.submit(spamFrom('198.51.100.13', '2026-12-01T09:00:00.000Z'))).cases[0]!.ref;
    const record = (await getCase(ctx.store.db, ref))!;
    await desk.advanceTo('2026-12-03T09:00:00.000Z');
    const evidence = await submitConsentEvidence(desk.deps, {
      caseRef: ref,
      customerId: record.customerId,
      author: 'noc@acme-mail.example',
      recipients: [{ ...alice, method: 'bought list', confirmation: 'none' }],
    });
    await desk.advanceTo('2026-12-05T09:00:00.000Z');
    expect((await getCase(ctx.store.db, ref))?.state.ladder.awaitingApproval).toBeUndefined();
    const decided = await decideConsentEvidence(desk.deps, {
      caseRef: ref,
      id: evidence.id,
      decision: 'reject',
      analyst: 'analyst',
      note: 'a bought list is not consent',
    });
    expect(decided.evidence.status).toBe('rejected');
    await desk.advanceTo('2026-12-05T09:01:00.000Z');
    const after = await getCase(ctx.store.db, ref);
    expect(after?.status).not.toBe('customer-responded');
    expect(after?.state.ladder.awaitingApproval?.stepId).toBe('block');
  });
});
