import { describe, expect, it } from 'vitest';
import { isAupError } from '../errors.js';
import { isAuthorised, type TestConsent, TestConsentSet } from './test-consent.js';
import { parseTestConsentCsv, testConsentOf } from './test-consent-csv.js';

const consent = (over: Partial<TestConsent> = {}): TestConsent => ({
  id: 1,
  service: 'gamehost-ded-7',
  targets: ['203.0.113.0/28', '2001:db8:77::/48', '198.51.100.200/32'],
  validFrom: new Date('2026-12-05T00:00:00Z'),
  validTo: new Date('2026-12-06T00:00:00Z'),
  reference: 'SP-TICKET-4411',
  ...over,
});

describe('isAuthorised', () => {
  const set = new TestConsentSet([consent()]);
  const inside = new Date('2026-12-05T12:00:00Z');

  it('authorises the consented service against a target inside a v4 or v6 prefix, inside the window', () => {
    expect(set.isAuthorised('gamehost-ded-7', '203.0.113.9', inside)).toBe(true);
    expect(set.isAuthorised('gamehost-ded-7', '203.0.113.15', inside)).toBe(true);
    expect(set.isAuthorised('gamehost-ded-7', '2001:db8:77:1::25', inside)).toBe(true);
    expect(set.isAuthorised('gamehost-ded-7', '198.51.100.200', inside)).toBe(true);
    // IPv4-mapped IPv6, as dual-stack sockets print it, is the IPv4 address.
    expect(set.isAuthorised('gamehost-ded-7', '::ffff:203.0.113.1', inside)).toBe(true);
    expect(set.authorising('gamehost-ded-7', '203.0.113.9', inside)?.reference).toBe('SP-TICKET-4411');
  });

  it('refuses another target, another service, or a time outside the window (the end is exclusive)', () => {
    expect(set.isAuthorised('gamehost-ded-7', '203.0.113.16', inside)).toBe(false);
    expect(set.isAuthorised('gamehost-ded-7', '2001:db8:78::1', inside)).toBe(false);
    expect(set.isAuthorised('gamehost-ded-7', '198.51.100.201', inside)).toBe(false);
    expect(set.isAuthorised('labco-vps', '203.0.113.9', inside)).toBe(false);
    expect(set.isAuthorised('gamehost-ded-7', '203.0.113.9', new Date('2026-12-04T23:59:59Z'))).toBe(false);
    expect(set.isAuthorised('gamehost-ded-7', '203.0.113.9', new Date('2026-12-06T00:00:00Z'))).toBe(false);
    expect(set.isAuthorised('gamehost-ded-7', 'not-an-address', inside)).toBe(false);
  });

  it('a revoked consent authorised the tests before its revocation only', () => {
    const revoked = [consent({ revokedAt: new Date('2026-12-05T12:00:00Z') })];
    expect(isAuthorised(revoked, 'gamehost-ded-7', '203.0.113.9', new Date('2026-12-05T11:00:00Z'))).toBe(
      true,
    );
    expect(isAuthorised(revoked, 'gamehost-ded-7', '203.0.113.9', new Date('2026-12-05T12:00:00Z'))).toBe(
      false,
    );
  });
});

describe('the consent CSV', () => {
  it('reads the published header, `;`-separated targets, dates and date-times with zones', () => {
    const consents = parseTestConsentCsv(
      '\uFEFFservice,targets,valid_from,valid_to,reference\r\n' +
        'gamehost-ded-7,"203.0.113.0/28; 2001:DB8:77::/48 ;198.51.100.200",2026-12-05,2026-12-06,SP-TICKET-4411\r\n' +
        '\r\n' +
        'labco-vps,192.0.2.7,2026-12-05T09:00:00+01:00,2026-12-05T17:00:00Z,"Letter of 2 Dec, signed"\r\n',
    );
    expect(consents).toHaveLength(2);
    expect(consents[0]).toMatchObject({
      service: 'gamehost-ded-7',
      targets: ['203.0.113.0/28', '2001:db8:77::/48', '198.51.100.200/32'],
      reference: 'SP-TICKET-4411',
    });
    expect(consents[0]!.validFrom.toISOString()).toBe('2026-12-05T00:00:00.000Z');
    // A date in valid_to includes that whole day.
    expect(consents[0]!.validTo.toISOString()).toBe('2026-12-07T00:00:00.000Z');
    expect(consents[1]!.validFrom.toISOString()).toBe('2026-12-05T08:00:00.000Z');
    expect(consents[1]!.reference).toBe('Letter of 2 Dec, signed');
  });

  it('refuses the whole file, naming every bad line', () => {
    const bad = [
      'service,targets,valid_from,valid_to,reference',
      'gamehost-ded-7,203.0.113.1/24,2026-12-05,2026-12-06,T1',
      'gamehost-ded-7,203.0.113.0/24,2026-12-06,2026-12-05,T2',
      'gamehost-ded-7,203.0.113.0/24,2026-12-05T09:00:00,2026-12-06,T3',
      'gamehost-ded-7,,2026-12-05,2026-12-06,T4',
      'gamehost-ded-7,203.0.113.0/24,2026-12-05,2026-12-06,',
      'gamehost-ded-7,203.0.113.0/24,2026-02-30,2026-12-06,T6',
      'gamehost-ded-7,203.0.113.0/24,2026-12-05,2026-12-06,T7,extra',
    ].join('\n');
    let message = '';
    try {
      parseTestConsentCsv(bad);
    } catch (error) {
      expect(isAupError(error, 'AUP_ERR_INPUT_INVALID')).toBe(true);
      message = (error as Error).message;
    }
    expect(message).toMatch(/line 2: bad prefix "203.0.113.1\/24": host bits set/);
    expect(message).toMatch(/line 3: valid_to .* must be after valid_from/);
    expect(message).toMatch(/line 4: valid_from "2026-12-05T09:00:00" is not a date/);
    expect(message).toMatch(/line 5: targets is empty/);
    expect(message).toMatch(/line 6: reference must name the written consent/);
    expect(message).toMatch(/line 7: valid_from "2026-02-30"/);
    expect(message).toMatch(/line 8: 6 fields for 5 columns/);
  });

  it('refuses a file without the header, or an empty one', () => {
    expect(() => parseTestConsentCsv('gamehost-ded-7,203.0.113.0/24,2026-12-05,2026-12-06,T1\n')).toThrow(
      /line 1: the header must be service,targets,valid_from,valid_to,reference/,
    );
    expect(() => parseTestConsentCsv('')).toThrow(/empty/);
  });

  it('refuses a service reference with spaces or markup', () => {
    expect(() =>
      testConsentOf({
        service: '<script>',
        targets: '192.0.2.1',
        validFrom: '2026-12-05',
        validTo: '2026-12-06',
        reference: 'x',
      }),
    ).toThrow(/not a service reference/);
  });
});
