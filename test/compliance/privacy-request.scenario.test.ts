import { expect, it } from 'vitest';
import { listAudit } from '../../src/audit/audit-log.js';
import {
  completePrivacyRequest,
  isOverdue,
  listPrivacyRequests,
  receivePrivacyMail,
  recordBreach,
} from '../../src/compliance/privacy-request-repository.js';
import { isAupError } from '../../src/errors.js';
import { describeScenarios } from '../scenarios/scenario-harness.js';

/**
 * INFINCE, "Collection and Use of Children's Personal Information": a parent's mail to the privacy route
 * asking to delete a child's data is recorded with the policy's deadline ("immediately", encoded P1D),
 * completed, and the parent receives the confirmation through the outbox and the SMTP sink. The same
 * workflow records a breach notification with the dates the affected parties and the regulator were told.
 */

const PARENT_MAIL = [
  'Hello,',
  '',
  'My daughter is 14 years old and she signed up on your hosting control panel last week using',
  'her school e-mail address (mia.parker@school.example) and our home phone number.',
  'She is a minor. Please remove all of her personal details from your systems.',
  '',
  'Thank you,',
  'Dana Parker',
].join('\n');

describeScenarios("Children's personal data (INFINCE)", 'infince', (ctx) => {
  it("a minor's-data deletion by mail is recorded with the deadline, completed and confirmed", async () => {
    const desk = await ctx.open('2026-12-07T09:00:00.000Z');
    const received = await ctx.store.db.transaction().execute((trx) =>
      receivePrivacyMail(
        trx,
        { policies: [desk.policy] },
        {
          text: PARENT_MAIL,
          subject: "Delete my child's account",
          from: { name: 'Dana Parker', email: 'dana.parker@home.example' },
          channel: 'smtp',
          receivedAt: desk.clock.now(),
        },
      ),
    );
    expect(received.recognised).toBe(true);
    expect(received.record.ref).toMatch(/^PRIV-\d{6}$/);
    expect(received.record.status).toBe('open');
    expect(received.record.dueAt?.toISOString()).toBe('2026-12-08T09:00:00.000Z');
    expect(isOverdue(received.record, new Date('2026-12-08T10:00:00.000Z'))).toBe(true);

    await desk.advanceTo('2026-12-07T15:00:00.000Z');
    expect(desk.mailTo('dana.parker@home.example')).toHaveLength(0);
    const done = await ctx.store.db.transaction().execute((trx) =>
      completePrivacyRequest(trx, {
        ref: received.record.ref,
        at: desk.clock.now(),
        note: 'Account cp-4411 and its contact details deleted; backups expire in 30 days.',
        actor: 'user:analyst@desk.example',
      }),
    );
    expect(done.confirmationQueued).toBe(true);
    await desk.runEnforcement();
    const mails = desk.mailTo('dana.parker@home.example');
    expect(mails).toHaveLength(1);
    expect(mails[0]!.parsed.subject).toContain(received.record.ref);
    expect(mails[0]!.parsed.text).toContain('We have deleted it');
    expect(mails[0]!.parsed.text).toContain('Account cp-4411');

    // Completing again is refused and mails nobody twice.
    const again = await ctx.store.db
      .transaction()
      .execute((trx) =>
        completePrivacyRequest(trx, {
          ref: received.record.ref,
          at: desk.clock.now(),
          actor: 'user:a@x.example',
        }),
      )
      .catch((e: unknown) => e);
    expect(isAupError(again) && again.code).toBe('AUP_ERR_INPUT_INVALID');
    await desk.runEnforcement();
    expect(desk.mailTo('dana.parker@home.example')).toHaveLength(1);

    const audit = await listAudit(ctx.store.db, { subject: `privacy:${received.record.ref}` });
    expect(audit.map((e) => e.kind)).toEqual(['privacy.request.received', 'privacy.request.completed']);
    expect(audit[1]!.payload).toMatchObject({ onTime: true, confirmationQueued: true });
  });

  it('a privacy mail that does not speak of a child is recorded with what it lacks', async () => {
    const desk = await ctx.open('2026-12-07T09:00:00.000Z');
    const received = await ctx.store.db.transaction().execute((trx) =>
      receivePrivacyMail(
        trx,
        { policies: [desk.policy] },
        {
          text: 'hi, what is your cookie policy?',
          from: { email: 'someone@example.org' },
          channel: 'smtp',
          receivedAt: desk.clock.now(),
        },
      ),
    );
    expect(received.recognised).toBe(false);
    expect(received.missing).toEqual(expect.arrayContaining(['child', 'deletion']));
    expect(received.record.status).toBe('open');
  });

  it('a breach is recorded with the dates the affected parties and the regulator were told', async () => {
    const desk = await ctx.open('2026-12-07T09:00:00.000Z');
    const breach = await ctx.store.db.transaction().execute((trx) =>
      recordBreach(trx, {
        breach: { summary: 'Backup bucket exposed', discoveredAt: new Date('2026-12-05T08:00:00Z') },
        channel: 'api',
        actor: 'user:admin@desk.example',
      }),
    );
    expect(breach.kind).toBe('breach');
    expect(breach.status).toBe('open');
    const premature = await ctx.store.db
      .transaction()
      .execute((trx) =>
        completePrivacyRequest(trx, {
          ref: breach.ref,
          at: desk.clock.now(),
          affectedNotifiedAt: new Date('2026-12-06T10:00:00Z'),
          actor: 'user:admin@desk.example',
        }),
      )
      .catch((e: unknown) => e);
    expect(isAupError(premature) && premature.code).toBe('AUP_ERR_INPUT_INVALID');
    const done = await ctx.store.db.transaction().execute((trx) =>
      completePrivacyRequest(trx, {
        ref: breach.ref,
        at: desk.clock.now(),
        affectedNotifiedAt: new Date('2026-12-06T10:00:00Z'),
        regulatorNotifiedAt: new Date('2026-12-06T12:00:00Z'),
        actor: 'user:admin@desk.example',
      }),
    );
    expect(done.confirmationQueued).toBe(false);
    expect(done.record.regulatorNotifiedAt?.toISOString()).toBe('2026-12-06T12:00:00.000Z');
    const listed = await listPrivacyRequests(ctx.store.db, { kind: 'breach' });
    expect(listed.map((r) => [r.ref, r.status])).toEqual([[breach.ref, 'completed']]);
  });
});
