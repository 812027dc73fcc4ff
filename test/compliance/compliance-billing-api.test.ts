import { afterAll, beforeAll, expect, it } from 'vitest';
import { chargeUncertified } from '../../src/compliance/licence-certification.js';
import { listActions } from '../../src/enforcement/outbox/outbox-repository.js';
import { type ApiHarness, apiHarness, bearer } from '../server/api/api-harness.js';
import { seedRegistry } from '../support/case-support.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * `/api/v1/compliance/certifications` (Secure Packet §6) and `/api/v1/compliance/sla-exclusions` (§11)
 * over HTTP: a request answered late is charged for the period it was overdue; the exclusion report comes
 * as JSON or CSV; bad input is a 400, never a crash; the routes are in the OpenAPI document.
 */

interface Cert {
  ref: string;
  customer: string;
  certifiedAt: string | null;
  feesQueued: number;
}

describeEachBackend('API: compliance certifications and SLA exclusions', (ctx) => {
  let h: ApiHarness;
  let analyst: string;
  beforeAll(async () => {
    h = await apiHarness(ctx.store);
    h.clock.set('2026-12-01T09:00:00Z');
    analyst = await h.key('analyst');
    await seedRegistry(ctx.store, {
      customers: [{ ref: 'hostco' }],
      services: [{ ref: 'hostco-vm', customer: 'hostco' }],
      assignments: [],
    });
  });
  afterAll(async () => h?.close());

  it('requests a certification, charges it once overdue, and records the answer', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/compliance/certifications',
      headers: bearer(analyst),
      payload: { customer: 'hostco', dueAt: '2026-12-15T00:00:00Z', fee: { amount: 99.5, currency: 'eur' } },
    });
    expect(res.statusCode).toBe(201);
    const cert = res.json<Cert>();
    expect(cert).toMatchObject({ customer: 'hostco', certifiedAt: null, feesQueued: 0 });
    expect(await chargeUncertified(ctx.store.db, new Date('2026-12-16T00:00:00Z'))).toHaveLength(1);
    const certified = await h.app.inject({
      method: 'POST',
      url: `/api/v1/compliance/certifications/${cert.ref}/certify`,
      headers: bearer(analyst),
      payload: { statement: 'Signed licence certificate, 2026-12-17' },
    });
    expect(certified.statusCode).toBe(200);
    expect(certified.json<Cert>()).toMatchObject({ feesQueued: 1 });
    expect(await chargeUncertified(ctx.store.db, new Date('2027-03-01T00:00:00Z'))).toEqual([]);
    const fees = await listActions(ctx.store.db, { kind: 'fee.record' });
    expect(fees.map((f) => f.payload)).toEqual([
      expect.objectContaining({ customerId: 'hostco', amount: 99.5, currency: 'EUR', caseId: cert.ref }),
    ]);
    const list = await h.app.inject({
      method: 'GET',
      url: '/api/v1/compliance/certifications?customer=hostco',
      headers: bearer(analyst),
    });
    expect(list.json<{ items: Cert[] }>().items.map((c) => c.ref)).toEqual([cert.ref]);
    const unknown = await h.app.inject({
      method: 'POST',
      url: '/api/v1/compliance/certifications',
      headers: bearer(analyst),
      payload: { customer: 'nobody', dueAt: '2026-12-15T00:00:00Z', fee: { amount: 1, currency: 'USD' } },
    });
    expect(unknown.statusCode).toBe(404);
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/v1/compliance/certifications',
      headers: bearer(analyst),
      payload: { customer: 'hostco', dueAt: 'next tuesday', fee: { amount: -1, currency: 'USD' } },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('gives the SLA exclusions as JSON and as CSV, and refuses a ragged period', async () => {
    const url = '/api/v1/compliance/sla-exclusions?from=2026-12-01T00:00:00Z&to=2027-01-01T00:00:00Z';
    const json = await h.app.inject({ method: 'GET', url, headers: bearer(analyst) });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toEqual({
      from: '2026-12-01T00:00:00.000Z',
      to: '2027-01-01T00:00:00.000Z',
      customers: [],
    });
    const csv = await h.app.inject({
      method: 'GET',
      url,
      headers: { ...bearer(analyst), accept: 'text/csv' },
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body).toBe('customer,service,case,start,end,hours,ongoing\r\n');
    const ragged = await h.app.inject({
      method: 'GET',
      url: '/api/v1/compliance/sla-exclusions?from=yesterday&to=2027-01-01T00:00:00Z',
      headers: bearer(analyst),
    });
    expect(ragged.statusCode).toBe(400);
    const backwards = await h.app.inject({
      method: 'GET',
      url: '/api/v1/compliance/sla-exclusions?from=2027-01-01T00:00:00Z&to=2026-12-01T00:00:00Z',
      headers: bearer(analyst),
    });
    expect(backwards.statusCode).toBe(400);
  });

  it('is in the OpenAPI document', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/docs/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    }>();
    expect(doc.paths['/api/v1/compliance/sla-exclusions']?.get).toBeDefined();
    expect(doc.paths['/api/v1/compliance/certifications/{ref}/certify']?.post).toBeDefined();
    expect(doc.components.schemas.SlaExclusionReport).toBeDefined();
    expect(doc.components.schemas.LicenceCertification).toBeDefined();
  });
});
