import { afterAll, beforeAll, expect, it } from 'vitest';
import { listAudit } from '../../../src/audit/audit-log.js';
import { loadPolicyFile } from '../../../src/policy/policy-loader.js';
import { publishPolicyVersion } from '../../../src/policy/policy-repository.js';
import { createCustomer, createService } from '../../../src/registry/registry-repository.js';
import { describeEachBackend } from '../../support/store-backends.js';
import { type ApiHarness, apiHarness, bearer } from './api-harness.js';

interface ConsentItem {
  id: number;
  service: string;
  targets: string[];
  validFrom: string;
  validTo: string;
  reference: string;
  revokedAt: string | null;
}

describeEachBackend('API vulnerability-test consents', (ctx) => {
  let h: ApiHarness;
  let analyst: string;
  let customerKey: string;
  let otherKey: string;
  const tag = `c${Date.now().toString(36)}`;
  beforeAll(async () => {
    h = await apiHarness(ctx.store);
    const a = await createCustomer(ctx.store.db, {
      ref: `pen-${tag}`,
      name: 'Pen Co',
      emails: ['pen@example.net'],
    });
    const b = await createCustomer(ctx.store.db, {
      ref: `oth-${tag}`,
      name: 'Other',
      emails: ['o@example.net'],
    });
    await createService(ctx.store.db, { ref: `pen-vps-${tag}`, customerRef: a.ref, kind: 'vps' });
    await createService(ctx.store.db, { ref: `oth-vps-${tag}`, customerRef: b.ref, kind: 'vps' });
    analyst = await h.key('analyst');
    customerKey = await h.key('customer', a.id);
    otherKey = await h.key('customer', b.id);
  });
  afterAll(async () => h?.close());

  it('records a consent from JSON, once; the customer sees it, another customer does not', async () => {
    const body = {
      service: `pen-vps-${tag}`,
      targets: ['203.0.113.0/28', '2001:DB8:77::/48'],
      validFrom: '2026-06-02',
      validTo: '2026-06-03T18:00:00+02:00',
      reference: 'SP-TICKET-9001',
    };
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/consents',
      headers: bearer(analyst),
      payload: body,
    });
    expect(res.statusCode).toBe(201);
    const created = res.json<{ created: ConsentItem[] }>().created[0]!;
    expect(created).toMatchObject({
      service: `pen-vps-${tag}`,
      targets: ['203.0.113.0/28', '2001:db8:77::/48'],
      validFrom: '2026-06-02T00:00:00.000Z',
      validTo: '2026-06-03T16:00:00.000Z',
      revokedAt: null,
    });
    const again = await h.app.inject({
      method: 'POST',
      url: '/api/v1/consents',
      headers: bearer(analyst),
      payload: body,
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: [], existing: [{ id: created.id }] });

    const own = await h.app.inject({ method: 'GET', url: '/api/v1/consents', headers: bearer(customerKey) });
    expect(own.json<{ items: ConsentItem[] }>().items.map((c) => c.id)).toEqual([created.id]);
    const other = await h.app.inject({ method: 'GET', url: '/api/v1/consents', headers: bearer(otherKey) });
    expect(other.json<{ items: ConsentItem[] }>().items).toEqual([]);
    // Customers read; they never record their own consent.
    const forged = await h.app.inject({
      method: 'POST',
      url: '/api/v1/consents',
      headers: bearer(customerKey),
      payload: body,
    });
    expect(forged.statusCode).toBe(403);
  });

  it('records the CSV form, and refuses bad input with a problem naming the line', async () => {
    const csv = `service,targets,valid_from,valid_to,reference\noth-vps-${tag},192.0.2.0/24;192.0.2.255,2026-06-01,2026-06-01,Letter 12\n`;
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/consents',
      headers: { ...bearer(analyst), 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json<{ created: ConsentItem[] }>().created[0]!.targets).toEqual([
      '192.0.2.0/24',
      '192.0.2.255/32',
    ]);

    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/v1/consents',
      headers: { ...bearer(analyst), 'content-type': 'text/csv' },
      payload: `service,targets,valid_from,valid_to,reference\noth-vps-${tag},192.0.2.1/24,2026-06-01,2026-06-02,X\n`,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ detail: string; code: string }>()).toMatchObject({ code: 'AUP_ERR_INPUT_INVALID' });
    expect(bad.json<{ detail: string }>().detail).toMatch(/line 2: bad prefix/);

    const unknown = await h.app.inject({
      method: 'POST',
      url: '/api/v1/consents',
      headers: bearer(analyst),
      payload: {
        service: 'nope',
        targets: ['192.0.2.1'],
        validFrom: '2026-06-01',
        validTo: '2026-06-02',
        reference: 'X',
      },
    });
    expect(unknown.statusCode).toBe(422);
    const junk = await h.app.inject({
      method: 'POST',
      url: '/api/v1/consents',
      headers: bearer(analyst),
      payload: { service: 'x', targets: 'not-a-list' },
    });
    expect(junk.statusCode).toBe(400);
  });

  it('revokes a consent with its reason in the audit trail', async () => {
    const list = await h.app.inject({
      method: 'GET',
      url: `/api/v1/consents?service=pen-vps-${tag}`,
      headers: bearer(analyst),
    });
    const id = list.json<{ items: ConsentItem[] }>().items[0]!.id;
    const res = await h.app.inject({
      method: 'POST',
      url: `/api/v1/consents/${id}/revoke`,
      headers: bearer(analyst),
      payload: { reason: 'the customer cancelled the test' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json<ConsentItem>().revokedAt).toBe('2026-06-01T12:00:00.000Z');
    const entries = await listAudit(ctx.store.db, { subject: `consent:${id}` });
    expect(entries.map((e) => e.kind)).toEqual(['consent.recorded', 'consent.revoked']);
    expect(entries[1]!.payload).toMatchObject({ reason: 'the customer cancelled the test' });
    const missing = await h.app.inject({
      method: 'POST',
      url: '/api/v1/consents/999999/revoke',
      headers: bearer(analyst),
      payload: { reason: 'x' },
    });
    expect(missing.statusCode).toBe(404);
  });
});

describeEachBackend('API policy waivers', (ctx) => {
  let h: ApiHarness;
  let analyst: string;
  let ownKey: string;
  let otherKey: string;
  const tag = `w${Date.now().toString(36)}`;
  beforeAll(async () => {
    h = await apiHarness(ctx.store);
    for (const v of ['2026-11-22', '2027-03-01']) {
      await publishPolicyVersion(ctx.store.db, await loadPolicyFile(`policies/securepacket/${v}.yaml`));
    }
    await publishPolicyVersion(ctx.store.db, await loadPolicyFile('policies/iitgen/2018-02-24.yaml'));
    const a = await createCustomer(ctx.store.db, {
      ref: `wa-${tag}`,
      name: 'Waived Co',
      emails: ['w@example.net'],
    });
    const b = await createCustomer(ctx.store.db, {
      ref: `wb-${tag}`,
      name: 'Other',
      emails: ['x@example.net'],
    });
    analyst = await h.key('analyst');
    ownKey = await h.key('customer', a.id);
    otherKey = await h.key('customer', b.id);
  });
  afterAll(async () => h?.close());

  it('records a waiver once, shows it to the customer only, refuses one the policy does not allow, withdraws it', async () => {
    const url = `/api/v1/customers/wa-${tag}/waivers`;
    const body = { provider: 'securepacket', version: '2027-03-01', reason: 'severe effect on its business' };
    const res = await h.app.inject({ method: 'POST', url, headers: bearer(analyst), payload: body });
    expect(res.statusCode).toBe(201);
    const waiver = res.json<{ id: number; version: string; revokedAt: string | null }>();
    expect(waiver).toMatchObject({ version: '2027-03-01', revokedAt: null });
    expect(
      (await h.app.inject({ method: 'POST', url, headers: bearer(analyst), payload: body })).statusCode,
    ).toBe(200);

    const own = await h.app.inject({ method: 'GET', url, headers: bearer(ownKey) });
    expect(own.json<{ items: unknown[] }>().items).toHaveLength(1);
    expect((await h.app.inject({ method: 'GET', url, headers: bearer(otherKey) })).statusCode).toBe(404);
    expect(
      (await h.app.inject({ method: 'POST', url, headers: bearer(ownKey), payload: body })).statusCode,
    ).toBe(403);

    const iitgen = await h.app.inject({
      method: 'POST',
      url,
      headers: bearer(analyst),
      payload: { provider: 'iitgen', version: '2018-02-24', reason: 'x' },
    });
    expect(iitgen.statusCode).toBe(400);
    expect(iitgen.json<{ detail: string }>().detail).toMatch(/does not provide for waivers/);

    const revoked = await h.app.inject({
      method: 'POST',
      url: `${url}/${waiver.id}/revoke`,
      headers: bearer(analyst),
      payload: { reason: 'the customer changed its mail practice' },
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json<{ revokedAt: string | null }>().revokedAt).not.toBeNull();
    const wrongCustomer = await h.app.inject({
      method: 'POST',
      url: `/api/v1/customers/wb-${tag}/waivers/${waiver.id}/revoke`,
      headers: bearer(analyst),
      payload: { reason: 'x' },
    });
    expect(wrongCustomer.statusCode).toBe(404);
  });
});
