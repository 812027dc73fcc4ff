import { expect, it } from 'vitest';
import {
  chargeUncertified,
  listCertifications,
  recordCertification,
  requestCertification,
} from '../../src/compliance/licence-certification.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { isAupError } from '../../src/errors.js';
import { describeScenarios } from '../scenarios/scenario-harness.js';

/**
 * Secure Packet §6: a certification is requested with a deadline; answered in time, no fee; unanswered,
 * the standard fee is recorded through the outbox at the deadline and once more each period until the
 * customer certifies, and never twice for one period however often the sweep runs.
 */

describeScenarios('Licence certification (Secure Packet §6)', 'securepacket', (ctx) => {
  const fee = { amount: 250, currency: 'usd', everyDays: 30 };

  it('an unanswered request is charged each period until certified, a certified one never', async () => {
    const desk = await ctx.open('2026-12-01T09:00:00.000Z');
    const [late, prompt] = await ctx.store.db.transaction().execute(async (trx) => [
      await requestCertification(trx, {
        customerRef: 'gamehost',
        dueAt: new Date('2026-12-15T00:00:00Z'),
        fee,
        at: desk.clock.now(),
        actor: 'user:admin@desk.example',
      }),
      await requestCertification(trx, {
        customerRef: 'labco',
        dueAt: new Date('2026-12-15T00:00:00Z'),
        fee,
        at: desk.clock.now(),
        actor: 'user:admin@desk.example',
      }),
    ]);
    await desk.runEnforcement();
    const asked = desk.mailTo('ops@gamehost.example');
    expect(asked).toHaveLength(1);
    expect(asked[0]!.parsed.subject).toContain(late.ref);
    expect(asked[0]!.parsed.text).toContain('USD 250.00 for every 30 days');
    expect(await chargeUncertified(ctx.store.db, new Date('2026-12-14T23:59:00Z'))).toEqual([]);
    await ctx.store.db.transaction().execute((trx) =>
      recordCertification(trx, {
        ref: prompt.ref,
        statement: 'Signed certificate: all Windows Server licences via SPLA, support contract 77-1',
        at: new Date('2026-12-10T00:00:00Z'),
        actor: 'user:analyst@desk.example',
      }),
    );

    desk.clock.set('2026-12-15T00:00:01Z');
    expect(await chargeUncertified(ctx.store.db, desk.clock.now())).toEqual([
      { ref: late.ref, customer: 'gamehost', period: 1 },
    ]);
    // The sweep again, same period: nothing new.
    expect(await chargeUncertified(ctx.store.db, desk.clock.now())).toEqual([]);
    await desk.runEnforcement();
    // Two periods later (30 days each) two more fees; then the customer certifies and the charging stops.
    expect(
      (await chargeUncertified(ctx.store.db, new Date('2027-02-14T00:00:01Z'))).map((q) => q.period),
    ).toEqual([2, 3]);
    await ctx.store.db.transaction().execute((trx) =>
      recordCertification(trx, {
        ref: late.ref,
        statement: 'Late certificate received',
        at: new Date('2027-02-20T00:00:00Z'),
        actor: 'user:analyst@desk.example',
      }),
    );
    expect(await chargeUncertified(ctx.store.db, new Date('2027-06-01T00:00:00Z'))).toEqual([]);
    desk.clock.set('2027-02-20T00:00:00Z');
    await desk.runEnforcement();

    const fees = await listActions(ctx.store.db, { kind: 'fee.record' });
    expect(
      fees.map((a) => [
        a.status,
        (a.payload as { customerId: string; amount: number; currency: string }).customerId,
      ]),
    ).toEqual([
      ['done', 'gamehost'],
      ['done', 'gamehost'],
      ['done', 'gamehost'],
    ]);
    expect(fees[0]!.payload).toMatchObject({ amount: 250, currency: 'USD', caseId: late.ref });
    const listed = await listCertifications(ctx.store.db);
    expect(listed.map((c) => [c.ref, c.certifiedAt !== null, c.feesQueued])).toEqual([
      [prompt.ref, true, 0],
      [late.ref, true, 3],
    ]);
  });

  it('refuses an unknown customer and a deadline already past', async () => {
    const desk = await ctx.open('2026-12-01T09:00:00.000Z');
    const attempt = (customerRef: string, dueAt: string) =>
      ctx.store.db
        .transaction()
        .execute((trx) =>
          requestCertification(trx, {
            customerRef,
            dueAt: new Date(dueAt),
            fee,
            at: desk.clock.now(),
            actor: 'user:a@x.example',
          }),
        )
        .catch((e: unknown) => e);
    const unknown = await attempt('nobody', '2027-01-01T00:00:00Z');
    expect(isAupError(unknown) && unknown.code).toBe('AUP_ERR_NOT_FOUND');
    const past = await attempt('gamehost', '2026-11-01T00:00:00Z');
    expect(isAupError(past) && past.code).toBe('AUP_ERR_INPUT_INVALID');
  });
});
