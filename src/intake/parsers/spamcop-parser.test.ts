import { describe, expect, it } from 'vitest';
import { checkParser } from '../../../test/support/parser-harness.js';
import { spamcopParser } from './spamcop-parser.js';

const dir = 'test/fixtures/intake/spamcop';

describe('spamcopParser', () => {
  it('parses the source line and the spamvertised site of a report with the spam attached', async () => {
    const out = await checkParser(spamcopParser, `${dir}/report-attached.eml`);
    expect(out.errors).toEqual([]);
    expect(out.events).toHaveLength(2);
    expect(out.events[0]).toMatchObject({
      'classification.taxonomy': 'abusive-content',
      'classification.type': 'spam',
      'classification.identifier': 'spam-source',
      'source.ip': '192.0.2.33',
      'time.source': '2026-01-14T16:00:00.000Z',
      'feed.name': 'spamcop',
      raw: 'Email from 192.0.2.33 / Wed, 14 Jan 2026 09:00:00 -0700',
      'raw.location': '1:4',
    });
    expect(out.events[0]?.extra).toMatchObject({
      spamcop_report_id: '7012345678',
      original_subject: 'Cheap meds online, 80% off',
      tracking_url: 'https://www.spamcop.net/sc?id=z7012345678z0123456789abcdef0123456789abz',
      original_headers: expect.objectContaining({ 'message-id': '<offer-991@customer.example>' }),
    });
    expect(out.events[1]).toMatchObject({
      'classification.identifier': 'spamvertised',
      'source.url': 'http://cheap-meds.customer.example/offer',
      'source.fqdn': 'cheap-meds.customer.example',
      'source.ip': '198.51.100.80',
      'time.source': '2026-01-14T16:05:00.000Z',
      'raw.location': '1:7',
    });
    expect(out.reporter).toEqual({ automated: true, organisation: 'SpamCop' });
  });

  it('parses a single-part report with the spam inline after [ Offending message ] (IPv6 source)', async () => {
    const out = await checkParser(spamcopParser, `${dir}/report-inline.eml`);
    expect(out.errors).toEqual([]);
    expect(out.events).toHaveLength(1);
    expect(out.events[0]).toMatchObject({
      'source.ip': '2001:db8:5::25',
      'time.source': '2026-01-15T00:55:00.000Z',
    });
    expect(out.events[0]?.extra).toMatchObject({
      original_headers: expect.objectContaining({ subject: 'Re: invoice', from: 'billing@customer.example' }),
    });
  });

  it('reports an invalid source address with its line and keeps no event', async () => {
    const out = await checkParser(spamcopParser, `${dir}/malformed-bad-ip.eml`);
    expect(out.events).toEqual([]);
    expect(out.errors).toEqual([
      {
        message: '"Email from" names no valid IP address: "999.1.2.3"',
        location: '1:2',
        raw: expect.any(String),
      },
    ]);
  });
});
