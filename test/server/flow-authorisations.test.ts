import { expect, it } from 'vitest';
import { recordTestConsents } from '../../src/compliance/test-consent-repository.js';
import { consentAuthorisations } from '../../src/server/flow-authorisations.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * The flow detectors' authorisation check as serve wires it: compliance's recorded pen-test consents
 * decide whether a detection (its service, the targets it saw, its window) was an authorised test.
 */
describeEachBackend('flow detections against recorded pen-test consents', (ctx) => {
  const query = (targets: string[], from: string, to: string, serviceRef = 'vps-7') => ({
    serviceRef,
    customerRef: 'C-7',
    sourceIp: '198.51.100.7',
    targets,
    from: new Date(from),
    to: new Date(to),
  });

  it('covers a detection inside the consent and no other', async () => {
    await ctx.store.db.transaction().execute((trx) =>
      recordTestConsents(
        trx,
        [
          {
            id: null,
            service: 'vps-7',
            targets: ['203.0.113.0/28', '2001:db8:77::/48'],
            validFrom: new Date('2026-12-05T08:00:00Z'),
            validTo: new Date('2026-12-05T20:00:00Z'),
            reference: 'SP-TICKET-4411',
            revokedAt: null,
          },
        ],
        { at: new Date('2026-12-05T07:00:00Z'), actor: 'user:analyst@desk.example', source: 'test' },
      ),
    );
    const check = consentAuthorisations(ctx.store.db);
    const inside = await check.covering(
      query(['203.0.113.5', '2001:db8:77::9'], '2026-12-05T10:00:00Z', '2026-12-05T10:00:10Z'),
    );
    expect(inside).toMatchObject({ reference: 'SP-TICKET-4411' });
    // One target outside the consented prefixes: not an authorised test.
    expect(
      await check.covering(
        query(['203.0.113.5', '203.0.113.99'], '2026-12-05T10:00:00Z', '2026-12-05T10:00:10Z'),
      ),
    ).toBeNull();
    // The window runs past the consent's end.
    expect(
      await check.covering(query(['203.0.113.5'], '2026-12-05T19:59:50Z', '2026-12-05T20:00:05Z')),
    ).toBeNull();
    // Another service, and a detection that names no target.
    expect(
      await check.covering(query(['203.0.113.5'], '2026-12-05T10:00:00Z', '2026-12-05T10:00:10Z', 'vps-8')),
    ).toBeNull();
    expect(await check.covering(query([], '2026-12-05T10:00:00Z', '2026-12-05T10:00:10Z'))).toBeNull();
  });
});
