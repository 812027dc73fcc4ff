import { afterAll, beforeAll, expect, it } from 'vitest';
import { listAudit } from '../../../src/audit/audit-log.js';
import { listActions } from '../../../src/enforcement/outbox/outbox-repository.js';
import { processInbox } from '../../../src/intake/inbox/inbox-worker.js';
import { loadPolicyFile } from '../../../src/policy/policy-loader.js';
import { publishPolicyVersion } from '../../../src/policy/policy-repository.js';
import { routedInboxProcessor } from '../../../src/server/inbox-router.js';
import { dmcaRegistry, iitgenHistory } from '../../dmca/dmca-support.js';
import { noticeParagraphs } from '../../dmca/statute-texts.js';
import { seedRegistry } from '../../support/case-support.js';
import { describeEachBackend } from '../../support/store-backends.js';
import { type ApiHarness, apiHarness, bearer } from './api-harness.js';

interface OpenApiDoc {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas?: Record<string, unknown> };
}

describeEachBackend('API: /dmca and /legal-requests', (ctx) => {
  let h: ApiHarness;
  let analyst: string;
  let run: () => Promise<void>;
  beforeAll(async () => {
    h = await apiHarness(ctx.store);
    h.clock.set('2026-11-02T14:00:00Z');
    analyst = await h.key('analyst');
    await publishPolicyVersion(ctx.store.db, await loadPolicyFile('policies/iitgen/2018-02-24.yaml'));
    const snapshot = await seedRegistry(ctx.store, dmcaRegistry);
    const processor = routedInboxProcessor({
      policies: iitgenHistory,
      clock: h.clock,
      messageIdDomain: 'desk.example.net',
      snapshot: () => snapshot,
      evidence: h.evidence,
    });
    run = async () => {
      await processInbox(
        { db: ctx.store.db, evidence: h.evidence, processReport: processor },
        { limit: 10, clock: h.clock },
      );
    };
  });
  afterAll(async () => h?.close());

  const fields = {
    work: '"Northern Lights over Tromsø", a photograph',
    material: ['https://files.shop-a.example/prints/northern-lights.jpg'],
    name: 'Ingrid Solberg',
    address: '55 Harbor Street, Portland, ME 04101',
    phone: '+1 207 555 0199',
    email: 'ingrid@aurora-photo.example',
    good_faith: true,
    signature: '/s/ Ingrid Solberg',
  };

  it('takes a notice as fields, answers with the check, and the inbox works it without touching the customer', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/dmca/notices',
      headers: bearer(analyst),
      payload: fields,
    });
    expect(res.statusCode).toBe(202);
    const body = res.json<{ id: string; check: { complete: boolean; missing: string[] } }>();
    expect(body.check).toMatchObject({ complete: false, missing: ['accuracy-authority'] });
    await run();
    const list = await h.app.inject({
      method: 'GET',
      url: `/api/v1/dmca/notices?inbox=${body.id}`,
      headers: bearer(analyst),
    });
    expect(list.json<{ items: Array<{ ref: string; status: string; channel: string }> }>().items).toEqual([
      expect.objectContaining({ status: 'awaiting-completion', channel: 'api' }),
    ]);
    const mails = (await listActions(ctx.store.db, { kind: 'mail.correspondence' })).map(
      (a) => (a.payload as { to: string }).to,
    );
    expect(mails).toEqual(['ingrid@aurora-photo.example']);
  });

  it('a complete notice through the API opens the takedown; the removal is confirmed; Lumen export lists it', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/dmca/notices',
      headers: bearer(analyst),
      payload: { ...fields, accuracy_authority: true },
    });
    expect(res.json<{ check: { complete: boolean } }>().check.complete).toBe(true);
    await run();
    const list = await h.app.inject({
      method: 'GET',
      url: '/api/v1/dmca/notices?status=takedown',
      headers: bearer(analyst),
    });
    const [notice] = list.json<{ items: Array<{ ref: string; customer: string; cases: string[] }> }>().items;
    expect(notice).toMatchObject({ customer: 'C-100' });
    expect(notice!.cases).toHaveLength(1);
    const detail = await h.app.inject({
      method: 'GET',
      url: `/api/v1/dmca/notices/${notice!.ref}`,
      headers: bearer(analyst),
    });
    expect(
      detail.json<{ elements: Record<string, { found: boolean; text: string }> }>().elements['good-faith'],
    ).toMatchObject({ found: true });
    const removed = await h.app.inject({
      method: 'POST',
      url: `/api/v1/dmca/notices/${notice!.ref}/removed`,
      headers: bearer(analyst),
    });
    expect(removed.json()).toMatchObject({ status: 'removed', actionTaken: 'yes' });
    const again = await h.app.inject({
      method: 'POST',
      url: `/api/v1/dmca/notices/${notice!.ref}/removed`,
      headers: bearer(analyst),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'AUP_ERR_DMCA_STATE' });
    const lumen = await h.app.inject({
      method: 'GET',
      url: '/api/v1/dmca/export/lumen',
      headers: bearer(analyst),
    });
    expect(lumen.json<Array<{ id: string; action_taken: string }>>()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: notice!.ref, type: 'DMCA', action_taken: 'Yes' }),
      ]),
    );
    const strikes = await h.app.inject({
      method: 'GET',
      url: '/api/v1/dmca/strikes/C-100',
      headers: bearer(analyst),
    });
    expect(strikes.json()).toMatchObject({
      counted: 1,
      threshold: 3,
      repeatInfringer: false,
      remedy: 'terminate',
    });
  });

  it('checks text, computes the restore window, and refuses bad input with problem details', async () => {
    const check = await h.app.inject({
      method: 'POST',
      url: '/api/v1/dmca/check',
      headers: bearer(analyst),
      payload: { text: noticeParagraphs.signature },
    });
    expect(check.json()).toMatchObject({ kind: 'notice', complete: false });
    const window = await h.app.inject({
      method: 'GET',
      url: '/api/v1/dmca/restore-window?received=2026-11-20T11:00:00-05:00',
      headers: bearer(analyst),
    });
    expect(window.json()).toEqual({ earliest: '2026-12-07', latest: '2026-12-11' });
    const bad = await h.app.inject({
      method: 'GET',
      url: '/api/v1/dmca/restore-window?received=soon',
      headers: bearer(analyst),
    });
    expect(bad.statusCode).toBe(400);
    const unknown = await h.app.inject({
      method: 'POST',
      url: '/api/v1/dmca/notices',
      headers: bearer(analyst),
      payload: { color: 'red' },
    });
    expect(unknown.statusCode).toBe(400);
    const noAuth = await h.app.inject({ method: 'GET', url: '/api/v1/dmca/notices' });
    expect(noAuth.statusCode).toBe(401);
  });

  it("records a subpoena under iITGEN's terms, logs the disclosure and bills the time spent", async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/legal-requests',
      headers: bearer(analyst),
      payload: {
        kind: 'subpoena',
        requester: {
          name: 'Dana Whitfield',
          organisation: 'Whitfield & Rowe LLP',
          email: 'dwhitfield@wr-law.example',
        },
        authority: 'Fed. R. Civ. P. 45',
        matter: { court: 'C.D. Cal.', case_number: '2:26-cv-04411', filed_at: '2026-09-14', pending: true },
        asks: ['subscriber name for files.shop-a.example'],
        estimated_hours: 2,
        customer: 'C-100',
      },
    });
    expect(res.statusCode).toBe(201);
    const record = res.json<{
      ref: string;
      decision: string;
      fee: unknown;
      customerNotifiedAt: string | null;
    }>();
    expect(record).toMatchObject({
      decision: 'accepted',
      fee: { hourly_rate: 275, currency: 'USD', estimated_hours: 2, estimate: 550 },
    });
    expect(record.customerNotifiedAt).not.toBeNull();
    const disclosed = await h.app.inject({
      method: 'POST',
      url: `/api/v1/legal-requests/${record.ref}/disclosures`,
      headers: bearer(analyst),
      payload: { what: 'subscriber name and billing address of C-100' },
    });
    expect(disclosed.statusCode).toBe(201);
    expect(disclosed.json()).toMatchObject({
      request: record.ref,
      to: 'Dana Whitfield (Whitfield & Rowe LLP)',
      customerTold: true,
      forbiddingOrder: null,
    });
    const billed = await h.app.inject({
      method: 'POST',
      url: `/api/v1/legal-requests/${record.ref}/bill`,
      headers: bearer(analyst),
      payload: { hours: 3.5 },
    });
    expect(billed.json()).toMatchObject({ billedHours: 3.5, billedAmount: 962.5 });
    const twice = await h.app.inject({
      method: 'POST',
      url: `/api/v1/legal-requests/${record.ref}/bill`,
      headers: bearer(analyst),
      payload: { hours: 1 },
    });
    expect(twice.statusCode).toBe(409);
    const log = await h.app.inject({
      method: 'GET',
      url: '/api/v1/legal-requests/disclosures',
      headers: bearer(analyst),
    });
    expect(log.json<unknown[]>()).toHaveLength(1);
    const letters = (await listActions(ctx.store.db, { kind: 'mail.correspondence' })).map(
      (a) => (a.payload as { letter: string }).letter,
    );
    expect(letters).toEqual(
      expect.arrayContaining(['legal.decision', 'legal.customer-shared', 'legal.invoice']),
    );
    const audit = (await listAudit(ctx.store.db, { limit: 500 })).map((e) => e.kind);
    expect(audit).toEqual(
      expect.arrayContaining([
        'legal.request.received',
        'legal.request.assessed',
        'legal.disclosure',
        'legal.billed',
      ]),
    );
  });

  it('refuses a request outside a filed matter, and nothing may be disclosed under it', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/legal-requests',
      headers: bearer(analyst),
      payload: {
        kind: 'private-request',
        requester: 'A curious neighbour',
        asks: ['who runs shop-a.example'],
      },
    });
    const record = res.json<{ ref: string; decision: string; reasons: string[] }>();
    expect(record.decision).toBe('refused');
    const disclosed = await h.app.inject({
      method: 'POST',
      url: `/api/v1/legal-requests/${record.ref}/disclosures`,
      headers: bearer(analyst),
      payload: { what: 'anything' },
    });
    expect(disclosed.statusCode).toBe(409);
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/v1/legal-requests',
      headers: bearer(analyst),
      payload: { kind: 'letter' },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('documents every route and registers the schemas in the OpenAPI document', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/api/docs/openapi.json' })).json<OpenApiDoc>();
    for (const p of [
      '/api/v1/dmca/notices',
      '/api/v1/dmca/notices/{ref}',
      '/api/v1/dmca/notices/{ref}/removed',
      '/api/v1/dmca/counter-notices/{ref}/suit',
      '/api/v1/dmca/export/lumen',
      '/api/v1/legal-requests',
      '/api/v1/legal-requests/{ref}',
      '/api/v1/legal-requests/{ref}/disclosures',
      '/api/v1/legal-requests/{ref}/bill',
    ]) {
      expect(doc.paths[p], p).toBeDefined();
    }
    expect(Object.keys(doc.components.schemas ?? {})).toEqual(
      expect.arrayContaining(['DmcaRecord', 'DmcaCheck', 'LumenNotice', 'LegalRequest', 'LegalDisclosure']),
    );
  });
});
