import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { createApiKey } from '../../src/accounts/api-key-repository.js';
import { createUser } from '../../src/accounts/user-repository.js';
import { getCase } from '../../src/cases/case-repository.js';
import { loadConfig } from '../../src/config.js';
import { EvidenceStore } from '../../src/intake/evidence-store.js';
import { buildApp } from '../../src/server/app.js';
import { describeScenarios, spamFrom } from '../scenarios/scenario-harness.js';
import { PASSWORD, PageClient } from '../server/console/console-support.js';

/**
 * Consent evidence per recipient through the server: the customer fills the portal form on a Secure Packet
 * bulk-mail case (§4.3), the analyst sees it on the console's case page and accepts it (the case is cured);
 * through the API a customer sends evidence and the analyst rejects it (the ladder goes on).
 */

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describeScenarios('consent evidence pages and API (Secure Packet §4.3)', 'securepacket', (ctx) => {
  it('portal form → console case page → accept; API submit → reject', async () => {
    const desk = await ctx.open('2026-12-01T09:00:00.000Z');
    const ref = (await desk.submit(spamFrom('198.51.100.14', '2026-12-01T09:00:00.000Z'))).cases[0]!.ref;
    const record = (await getCase(ctx.store.db, ref))!;
    const now = desk.clock.now();
    await createUser(ctx.store.db, {
      email: 'noc@acme-mail.example',
      role: 'customer',
      customerId: record.customerId,
      password: PASSWORD,
      now,
    });
    await createUser(ctx.store.db, {
      email: 'analyst@desk.example',
      role: 'analyst',
      password: PASSWORD,
      now,
    });
    const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-evidence-'));
    const app = await buildApp({
      store: ctx.store,
      config: loadConfig({}, { dataDir: dir }),
      evidenceStore: new EvidenceStore(path.join(dir, 'evidence')),
      clock: desk.clock,
      caseCommands: desk.deps,
      logger: false,
      http: { secureCookies: false, rateLimits: false },
    });
    await app.ready();
    try {
      const portal = new PageClient(app);
      await portal.login('portal', 'noc@acme-mail.example');
      const casePage = await portal.get(`/portal/cases/${ref}`);
      expect(casePage.body).toContain('id="consent-evidence-link"');
      const form = await portal.get(`/portal/cases/${ref}/consent-evidence`);
      expect(form.statusCode).toBe(200);
      const row = {
        address: ['alice@recipient.example', ''],
        time: ['2026-10-02T10:14:00Z', ''],
        source: ['newsletter form at shop.acme.example', ''],
        method: ['double opt-in', ''],
        confirmation: ['link clicked 2026-10-02T10:20:11Z', ''],
      };
      // A ragged row (no time) is refused with the recipient named, the form kept; nothing is stored.
      const ragged = await portal.post(`/portal/cases/${ref}/consent-evidence`, { ...row, time: ['', ''] });
      expect(ragged.statusCode).toBe(422);
      expect(ragged.body).toContain('recipient 1 time');
      expect(ragged.body).toContain('value="alice@recipient.example"');
      // Without the CSRF token the form is refused.
      expect(
        (await portal.post(`/portal/cases/${ref}/consent-evidence`, row, { csrf: null })).statusCode,
      ).toBe(403);
      const sent = await portal.follow(await portal.post(`/portal/cases/${ref}/consent-evidence`, row));
      expect(sent.body).toContain('consent evidence for 1 recipient(s)');

      const console = new PageClient(app);
      await console.login('console', 'analyst@desk.example');
      const shown = await console.get(`/console/cases/${ref}`);
      expect(shown.body).toContain('Consent evidence');
      expect(shown.body).toContain('alice@recipient.example');
      expect(shown.body).toContain('double opt-in');
      const id = Number(/consent-evidence\/(\d+)\/decide/.exec(shown.body)?.[1]);
      const accepted = await console.follow(
        await console.post(`/console/cases/${ref}/consent-evidence/${id}/decide`, {
          decision: 'accept',
          note: 'double opt-in shown',
        }),
      );
      expect(accepted.body).toContain(`consent evidence ${id} accepted: the case is cured`);
      expect((await getCase(ctx.store.db, ref))?.status).toBe('cured');

      // The API: a second complaint, evidence sent with the customer's key, rejected by the analyst.
      const ref2 = (await desk.submit(spamFrom('198.51.100.14', '2026-12-01T10:00:00.000Z'))).cases[0]!.ref;
      expect(ref2).not.toBe(ref);
      const customerKey = (
        await createApiKey(ctx.store.db, { name: 'c', role: 'customer', customerId: record.customerId, now })
      ).key;
      const analystKey = (
        await createApiKey(ctx.store.db, { name: 'a', role: 'analyst', customerId: null, now })
      ).key;
      const submitted = await app.inject({
        method: 'POST',
        url: `/api/v1/cases/${ref2}/consent-evidence`,
        headers: bearer(customerKey),
        payload: {
          recipients: [
            {
              ...row,
              address: 'bob@recipient.example',
              time: '2026-09-01',
              source: 'trade fair',
              method: 'business card',
              confirmation: 'none',
            },
          ],
        },
      });
      expect(submitted.statusCode).toBe(201);
      const evidenceId = submitted.json<{ id: number }>().id;
      expect(
        (
          await app.inject({
            method: 'POST',
            url: `/api/v1/cases/${ref2}/consent-evidence/${evidenceId}/decide`,
            headers: bearer(customerKey),
            payload: { decision: 'accept' },
          })
        ).statusCode,
      ).toBe(403);
      const rejected = await app.inject({
        method: 'POST',
        url: `/api/v1/cases/${ref2}/consent-evidence/${evidenceId}/decide`,
        headers: bearer(analystKey),
        payload: { decision: 'reject', note: 'a business card is not consent to bulk mail' },
      });
      expect(rejected.statusCode).toBe(200);
      expect(rejected.json()).toMatchObject({ evidence: { status: 'rejected' } });
      expect(rejected.json<{ caseStatus: string }>().caseStatus).not.toBe('cured');
      const listed = await app.inject({
        method: 'GET',
        url: `/api/v1/cases/${ref2}/consent-evidence`,
        headers: bearer(customerKey),
      });
      expect(listed.json()).toMatchObject({
        items: [{ id: evidenceId, status: 'rejected', recipients: [{ address: 'bob@recipient.example' }] }],
      });
    } finally {
      await app.close();
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    }
  });
});
