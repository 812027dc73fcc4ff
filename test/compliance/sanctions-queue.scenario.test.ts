import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createUser } from '../../src/accounts/user-repository.js';
import { listAudit } from '../../src/audit/audit-log.js';
import { type ApiHarness, apiHarness, bearer } from '../server/api/api-harness.js';
import { PASSWORD, PageClient } from '../server/console/console-support.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * Secure Packet §7 through the real store, the API and the console: an imported SDN list screens every
 * customer; the true match (an alias, with the country) and the near miss go to the review queue, the
 * clean customer does not; a customer added later by a registry import is screened against the stored
 * list; an analyst clears or confirms each match, once, audited; nothing acts on a match by itself.
 */

const dir = 'test/fixtures/compliance/sdn';
const sdn = readFileSync(`${dir}/sdn.csv`, 'utf8');
const alt = readFileSync(`${dir}/alt.csv`, 'utf8');
const add = readFileSync(`${dir}/add.csv`, 'utf8');
const registry = readFileSync(`${dir}/registry.csv`, 'utf8');

interface Match {
  id: number;
  customer: string;
  name: string;
  entry: number;
  score: number;
  status: string;
  countryMatch: boolean;
  decidedBy: string | null;
}

describeEachBackend('sanctions review queue (Secure Packet §7)', (ctx) => {
  let h: ApiHarness;
  let admin: string;
  let analyst: string;
  beforeAll(async () => {
    h = await apiHarness(ctx.store);
    admin = await h.key('admin');
    analyst = await h.key('analyst');
  });
  afterAll(async () => h?.close());

  const csv = (_text: string) => ({ ...bearer(admin), 'content-type': 'text/csv' });

  it('queues the true match and the near miss, screens a new customer, and records each decision', async () => {
    // Before any list: importing the registry screens nothing (no list to screen against).
    const first = registry.split('\n').slice(0, 3).join('\n');
    const imported = await h.app.inject({
      method: 'POST',
      url: '/api/v1/registry/import',
      headers: csv(first),
      payload: first,
    });
    expect(imported.statusCode).toBe(200);

    const list = await h.app.inject({
      method: 'POST',
      url: '/api/v1/sanctions/lists',
      headers: bearer(admin),
      payload: { sdn, alt, add },
    });
    expect(list.statusCode).toBe(201);
    const screened = list.json<{ entries: number; customers: number; queued: Match[] }>();
    expect(screened).toMatchObject({ entries: 5, customers: 2 });
    expect(screened.queued.map((m) => [m.customer, m.entry, m.status])).toEqual([
      ['northstar', 10002, 'open'],
      ['globaltek', 10003, 'open'],
    ]);
    expect(screened.queued[0]).toMatchObject({ name: 'NORTH STAR MARINE', score: 1, countryMatch: true });

    // Customers added later by a registry import are screened against the stored list: the listed
    // individual is queued, the clean customer is not.
    const rest = [
      registry.split('\n')[0],
      registry.split('\n')[3],
      'petrov,ivan@petrov.example,petrov-vps,vps,192.0.2.24/29,2026-01-01,,Ivan Petrov,RU',
    ].join('\n');
    expect(
      (
        await h.app.inject({
          method: 'POST',
          url: '/api/v1/registry/import',
          headers: csv(rest),
          payload: rest,
        })
      ).statusCode,
    ).toBe(200);
    const queue = await h.app.inject({
      method: 'GET',
      url: '/api/v1/sanctions/matches?status=open',
      headers: bearer(analyst),
    });
    const open = queue.json<{ items: Match[] }>().items;
    expect(open.map((m) => [m.customer, m.entry])).toEqual([
      ['northstar', 10002],
      ['petrov', 10001],
      ['globaltek', 10003],
    ]);
    const screenings = await listAudit(ctx.store.db, { kind: 'sanctions.screened' });
    expect(screenings.map((e) => (e.payload as { customers: number }).customers)).toEqual([2, 4]);

    // Importing the same list again queues nothing new.
    const again = await h.app.inject({
      method: 'POST',
      url: '/api/v1/sanctions/lists',
      headers: bearer(admin),
      payload: { sdn, alt, add },
    });
    expect(again.json<{ queued: Match[] }>().queued).toEqual([]);

    // The near miss is cleared through the API; a second decision is refused; a bad decision is a 400.
    const near = open.find((m) => m.customer === 'globaltek')!;
    const bad = await h.app.inject({
      method: 'POST',
      url: `/api/v1/sanctions/matches/${near.id}/decide`,
      headers: bearer(analyst),
      payload: { decision: 'block', note: 'x' },
    });
    expect(bad.statusCode).toBe(400);
    const cleared = await h.app.inject({
      method: 'POST',
      url: `/api/v1/sanctions/matches/${near.id}/decide`,
      headers: bearer(analyst),
      payload: {
        decision: 'cleared',
        note: 'Global Tek Holdings is a UK company, registration 01234567; not the listed entity',
      },
    });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json<Match>()).toMatchObject({ status: 'cleared' });
    const twice = await h.app.inject({
      method: 'POST',
      url: `/api/v1/sanctions/matches/${near.id}/decide`,
      headers: bearer(analyst),
      payload: { decision: 'confirmed', note: 'changed my mind' },
    });
    expect(twice.statusCode).toBe(409);
    // A customer created on its own through the API is screened on creation (only it).
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: bearer(admin),
      payload: { ref: 'aerocar', name: 'Aerocaribbean Airlines S.A.', country: 'CU' },
    });
    expect(created.statusCode).toBe(201);
    const afterCreate = await h.app.inject({
      method: 'GET',
      url: '/api/v1/sanctions/matches?status=open',
      headers: bearer(analyst),
    });
    expect(afterCreate.json<{ items: Match[] }>().items.find((m) => m.customer === 'aerocar')).toMatchObject({
      entry: 36,
      countryMatch: true,
    });
    const lastScreening = (await listAudit(ctx.store.db, { kind: 'sanctions.screened' })).at(-1);
    expect(lastScreening?.payload).toMatchObject({ customers: 1, refs: ['aerocar'] });
    // A customer's key never sees the queue.
    const customer = await h.key('customer', 1);
    expect(
      (await h.app.inject({ method: 'GET', url: '/api/v1/sanctions/matches', headers: bearer(customer) }))
        .statusCode,
    ).toBe(403);

    // The console lists the open match (only) and confirms it through the form, with CSRF.
    await createUser(ctx.store.db, {
      email: 'sanctions-analyst@desk.example',
      role: 'analyst',
      password: PASSWORD,
      now: h.clock.now(),
    });
    const page = new PageClient(h.app);
    await page.login('console', 'sanctions-analyst@desk.example');
    const listed = await page.get('/console/compliance/sanctions');
    expect(listed.statusCode).toBe(200);
    expect(listed.body).toContain('NORTH STAR MARINE');
    expect(listed.body).not.toContain('GLOBAL TECH HOLDINGS');
    const northstar = open.find((m) => m.customer === 'northstar')!;
    const forged = await page.post(
      `/console/compliance/sanctions/${northstar.id}/decide`,
      { decision: 'confirmed', note: 'x' },
      { csrf: 'forged' },
    );
    expect(forged.statusCode).toBe(403);
    const done = await page.follow(
      await page.post(`/console/compliance/sanctions/${northstar.id}/decide`, {
        decision: 'confirmed',
        note: 'Same name as the alias, Iranian address: escalated to counsel',
      }),
    );
    expect(done.body).toContain(`match ${northstar.id} (northstar, ent_num 10002) confirmed`);
    expect(done.body).not.toContain('NORTH STAR MARINE');
    expect(done.body).toContain('PETROV, Ivan');

    const audit = await listAudit(ctx.store.db, { limit: 10_000 });
    const kinds = audit.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'sanctions.list-imported')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'sanctions.match-queued')).toHaveLength(4);
    expect(audit.find((e) => e.kind === 'sanctions.match-cleared')).toMatchObject({
      subject: `sanctions-match:${near.id}`,
    });
    expect(audit.find((e) => e.kind === 'sanctions.match-confirmed')?.actor).toMatch(/^user:/);
    // Never an action: nothing was queued in the outbox.
    expect(await ctx.store.db.selectFrom('outbox_actions').select('id').execute()).toEqual([]);
  });

  it('refuses a list with a header row, naming the file and line', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/sanctions/lists',
      headers: bearer(admin),
      payload: {
        sdn: 'ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,Vess_flag,Vess_owner,Remarks\n',
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('sdn.csv line 1');
  });
});
