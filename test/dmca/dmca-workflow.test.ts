import { beforeEach, expect, it } from 'vitest';
import { listAudit, verifyAudit } from '../../src/audit/audit-log.js';
import { getCase, listCases } from '../../src/cases/case-repository.js';
import {
  getDmcaRecord,
  listDmcaRecords,
  requireDmcaRecord,
  strikesOf,
} from '../../src/dmca/dmca-repository.js';
import { confirmRemoval, reportSuit } from '../../src/dmca/dmca-workflow.js';
import { toLumen } from '../../src/dmca/lumen-export.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { listSteps } from '../../src/enforcement/scheduler/step-scheduler.js';
import { describeEachBackend } from '../support/store-backends.js';
import { dmcaDesk, resetDmcaDesk } from './dmca-support.js';
import { counterText, noticeText } from './statute-texts.js';

function letters(actions: Awaited<ReturnType<typeof listActions>>) {
  return actions
    .filter((a) => a.kind === 'mail.correspondence')
    .map((a) => {
      const p = a.payload as { letter: string; to: string };
      return [p.letter, p.to];
    });
}

describeEachBackend('the DMCA procedure', (ctx) => {
  beforeEach(async () => {
    await resetDmcaDesk(ctx.store);
  });

  it('a complete notice opens a takedown against the holder, tells customer and claimant, and records a strike', async () => {
    const { receive } = await dmcaDesk(ctx.store, '2026-11-02T14:00:00.000Z');
    const outcome = await receive(noticeText(), { replyAddress: 'ingrid@aurora-photo.example' });
    expect(outcome).toMatchObject({
      ref: 'DMCA-000001',
      kind: 'notice',
      status: 'takedown',
      complete: true,
      customers: ['C-100'],
    });
    expect(outcome.cases).toEqual(['AUP-000001']);

    const db = ctx.store.db;
    const notice = await requireDmcaRecord(db, 'DMCA-000001');
    expect(notice).toMatchObject({ customerRef: 'C-100', serviceRef: 'S-100', caseRefs: ['AUP-000001'] });
    expect(notice.deadlineAt?.toISOString()).toBe('2026-11-03T14:00:00.000Z');
    expect(notice.elements['accuracy-authority']).toMatchObject({ found: true });
    expect((await getCase(db, 'AUP-000001'))?.customerRef).toBe('C-100');

    const actions = await listActions(db, {});
    expect(letters(actions)).toEqual([
      ['dmca.takedown-customer', 'owner@shop-a.example'],
      ['dmca.takedown-claimant', 'ingrid@aurora-photo.example'],
    ]);
    // iITGEN shares complaints as received: the customer gets the notice itself.
    const toCustomer = actions.find(
      (a) => (a.payload as { letter?: string }).letter === 'dmca.takedown-customer',
    );
    expect((toCustomer!.payload as { text: string }).text).toContain('> I have a good faith belief');
    expect(await strikesOf(db, 'C-100')).toHaveLength(1);
    const steps = await listSteps(db, { subject: 'dmca:1', status: 'pending' });
    expect(steps.map((s) => [s.kind, s.dueAt.toISOString()])).toEqual([
      ['dmca.takedown-due', '2026-11-03T14:00:00.000Z'],
    ]);
    const kinds = (await listAudit(db, { subject: 'dmca:1', limit: 50 })).map((e) => e.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['dmca.notice.received', 'dmca.takedown.opened', 'dmca.strike']),
    );
    expect((await verifyAudit(db)).ok).toBe(true);
  });

  it('a notice without the perjury statement earns a request for it and never touches the customer', async () => {
    const { receive, clock, runSteps } = await dmcaDesk(ctx.store, '2026-11-02T14:00:00.000Z');
    const outcome = await receive(noticeText(['accuracy-authority']));
    expect(outcome).toMatchObject({
      status: 'awaiting-completion',
      complete: false,
      missing: ['accuracy-authority'],
      cases: [],
    });
    const db = ctx.store.db;
    expect(await listCases(db)).toEqual([]);
    const actions = await listActions(db, {});
    expect(actions.map((a) => a.kind)).toEqual(['mail.correspondence']);
    expect(letters(actions)).toEqual([['dmca.missing-elements', 'ingrid@aurora-photo.example']]);
    expect((actions[0]!.payload as { text: string }).text).toContain('penalty of perjury');
    expect(await strikesOf(db, 'C-100')).toEqual([]);
    // The request is tracked with its deadline (the policy's completion_request_window, P14D).
    expect((await getDmcaRecord(db, 1))?.deadlineAt?.toISOString()).toBe('2026-11-16T14:00:00.000Z');
    clock.set('2026-11-16T14:00:01.000Z');
    await runSteps();
    expect((await getDmcaRecord(db, 1))?.status).toBe('lapsed');
  });

  it('a notice that does not substantially comply with (ii)-(iv) is rejected with the reason, customer untouched', async () => {
    const { receive } = await dmcaDesk(ctx.store, '2026-11-02T14:00:00.000Z');
    const outcome = await receive(noticeText(['work', 'good-faith']));
    expect(outcome.status).toBe('rejected');
    const db = ctx.store.db;
    expect((await getDmcaRecord(db, 1))?.reason).toMatch(/does not substantially comply .* lacks work/);
    expect(await listCases(db)).toEqual([]);
    expect(letters(await listActions(db, {}))).toEqual([['dmca.rejected', 'ingrid@aurora-photo.example']]);
  });

  it('disables the material through provisioning when the takedown window passes, and tells the claimant', async () => {
    const { receive, clock, runSteps } = await dmcaDesk(ctx.store, '2026-11-02T14:00:00.000Z');
    await receive(noticeText());
    clock.set('2026-11-03T14:00:00.000Z');
    await runSteps();
    const db = ctx.store.db;
    const notice = await getDmcaRecord(db, 1);
    expect(notice).toMatchObject({ status: 'removed', actionTaken: 'yes' });
    const removal = await listActions(db, { kind: 'provision.remove-content' });
    expect(removal.map((a) => a.payload)).toEqual([
      expect.objectContaining({
        operation: 'remove-content',
        customerId: 'C-100',
        serviceId: 'S-100',
        urls: [
          'https://files.shop-a.example/prints/northern-lights.jpg',
          'https://files.shop-a.example/posters/tromso-aurora',
        ],
      }),
    ]);
    expect(letters(await listActions(db, {})).map((l) => l[0])).toContain('dmca.removed-claimant');
  });

  it('a customer who removes the material in time stops the provider-side takedown', async () => {
    const { receive, clock, runSteps, deps } = await dmcaDesk(ctx.store, '2026-11-02T14:00:00.000Z');
    await receive(noticeText());
    await ctx.store.db
      .transaction()
      .execute((trx) => confirmRemoval(trx, deps, 'DMCA-000001', 'user:analyst'));
    clock.set('2026-11-04T00:00:00.000Z');
    await runSteps();
    expect(await listActions(ctx.store.db, { kind: 'provision.remove-content' })).toEqual([]);
    expect((await getDmcaRecord(ctx.store.db, 1))?.status).toBe('removed');
  });

  it('restores on business day 10 after a counter-notice, across Thanksgiving, and withdraws the strike', async () => {
    const { receive, clock, runSteps } = await dmcaDesk(ctx.store, '2026-11-18T14:00:00.000Z');
    await receive(noticeText());
    // Friday 20 November 2026, 11:00 in New York. Business days skip Thanksgiving (26 Nov).
    clock.set('2026-11-20T16:00:00.000Z');
    const counter = await receive(counterText('DMCA-000001'), { replyAddress: 'oskar@shop-a.example' });
    expect(counter).toMatchObject({ kind: 'counter-notice', status: 'forwarded', notice: 'DMCA-000001' });
    const db = ctx.store.db;
    const record = await requireDmcaRecord(db, counter.ref);
    expect([record.restoreEarliest, record.restoreLatest]).toEqual(['2026-12-07', '2026-12-11']);
    const forward = (await listActions(db, {})).find(
      (a) => (a.payload as { letter?: string }).letter === 'dmca.counter-forward',
    );
    expect(forward?.payload).toMatchObject({ to: 'ingrid@aurora-photo.example' });
    expect((forward!.payload as { text: string }).text).toContain('between 2026-12-07 and 2026-12-11');

    clock.set('2026-12-04T23:00:00.000Z'); // business day 9: not yet
    await runSteps();
    expect((await getDmcaRecord(db, 2))?.status).toBe('forwarded');
    clock.set('2026-12-07T15:00:00.000Z');
    await runSteps();
    expect((await getDmcaRecord(db, 2))?.status).toBe('restored');
    expect((await getDmcaRecord(db, 1))?.status).toBe('restored');
    const restore = await listActions(db, { kind: 'provision.restore-content' });
    expect(restore.map((a) => (a.payload as { operation: string }).operation)).toEqual(['restore-content']);
    expect((await strikesOf(db, 'C-100'))[0]).toMatchObject({ withdrawn: true });
  });

  it("a claimant's report of a filed action stops the restore", async () => {
    const { receive, clock, runSteps, deps } = await dmcaDesk(ctx.store, '2026-11-18T14:00:00.000Z');
    await receive(noticeText());
    clock.set('2026-11-20T16:00:00.000Z');
    const counter = await receive(counterText('DMCA-000001'));
    clock.set('2026-12-01T10:00:00.000Z');
    await ctx.store.db
      .transaction()
      .execute((trx) =>
        reportSuit(trx, deps, counter.ref, 'Aurora Photo v. Lind, D. Vt. No. 2:26-cv-00812', 'user:analyst'),
      );
    clock.set('2026-12-14T00:00:00.000Z');
    await runSteps();
    const db = ctx.store.db;
    expect((await getDmcaRecord(db, 2))?.status).toBe('suit-filed');
    expect(await listActions(db, { kind: 'provision.restore-content' })).toEqual([]);
    expect((await listSteps(db, { subject: 'dmca:2' })).map((s) => s.status)).toEqual(['cancelled']);
    await expect(
      ctx.store.db
        .transaction()
        .execute((trx) => reportSuit(trx, deps, counter.ref, 'again', 'user:analyst')),
    ).rejects.toMatchObject({ code: 'AUP_ERR_DMCA_STATE' });
  });

  it('an incomplete counter-notice is answered and the material stays down', async () => {
    const { receive } = await dmcaDesk(ctx.store, '2026-11-18T14:00:00.000Z');
    await receive(noticeText());
    const counter = await receive(counterText('DMCA-000001', ['jurisdiction-consent']), {
      replyAddress: 'oskar@shop-a.example',
    });
    expect(counter).toMatchObject({ status: 'incomplete', missing: ['jurisdiction-consent'] });
    expect((await getDmcaRecord(ctx.store.db, 1))?.status).toBe('takedown');
  });

  it('terminates a repeat infringer through the ladder on the third strike within 365 days', async () => {
    const { receive, clock } = await dmcaDesk(ctx.store, '2026-01-10T14:00:00.000Z');
    const urls = ['prints/a.jpg', 'prints/b.jpg', 'prints/c.jpg'];
    const outcomes = [];
    for (const [i, path] of urls.entries()) {
      clock.set(['2026-01-10T14:00:00.000Z', '2026-05-10T14:00:00.000Z', '2026-09-10T14:00:00.000Z'][i]!);
      outcomes.push(
        await receive(
          noticeText()
            .replaceAll('prints/northern-lights.jpg', path)
            .replace(/\n\s+https:\/\/files.shop-a.example\/posters\/tromso-aurora/, ''),
        ),
      );
    }
    const db = ctx.store.db;
    const audit = await listAudit(db, { limit: 500 });
    const repeat = audit.filter((e) => e.kind === 'dmca.repeat-infringer');
    expect(repeat).toHaveLength(1);
    expect(repeat[0]!.payload).toMatchObject({ customer: 'C-100', strikes: 3, remedy: 'terminate' });
    const caseRef = outcomes[2]!.cases[0]!;
    const record = await getCase(db, caseRef);
    expect(record?.state.interventions.at(-1)).toMatchObject({
      command: { kind: 'apply-remedy', remedy: 'terminate' },
    });
    expect(['terminated', 'awaiting-approval', 'notified', 'awaiting-cure']).toContain(record?.status);
    const terminate = (await listActions(db, {})).filter(
      (a) =>
        a.kind === 'provision.terminate' ||
        (a.payload as { template?: string }).template === 'termination-notice',
    );
    expect(terminate.length).toBeGreaterThan(0);
  });

  it('exports notices and counter-notices in Lumen fields', async () => {
    const { receive, clock } = await dmcaDesk(ctx.store, '2026-11-18T14:00:00.000Z');
    await receive(noticeText());
    clock.set('2026-11-20T16:00:00.000Z');
    await receive(counterText('DMCA-000001'));
    const [counter, notice] = await listDmcaRecords(ctx.store.db, {});
    const lumen = toLumen({
      ref: notice!.ref,
      kind: notice!.kind,
      receivedAt: notice!.receivedAt,
      sentAt: notice!.sentAt,
      sender: notice!.sender,
      principal: notice!.principal,
      recipient: 'iITGEN',
      works: notice!.works,
      copyrightedUrls: notice!.copyrightedUrls,
      infringingUrls: notice!.urls,
      actionTaken: notice!.actionTaken,
    });
    expect(lumen).toMatchObject({
      type: 'DMCA',
      date_received: '2026-11-18T14:00:00.000Z',
      works: [
        {
          copyrighted_urls: [{ url: 'https://aurora-photo.example/gallery/tromso' }],
          infringing_urls: [
            { url: 'https://files.shop-a.example/prints/northern-lights.jpg' },
            { url: 'https://files.shop-a.example/posters/tromso-aurora' },
          ],
        },
      ],
      entity_notice_roles: { sender: { name: 'Ingrid Solberg' }, recipient: { name: 'iITGEN' } },
    });
    expect(counter!.kind).toBe('counter-notice');
  });
});
