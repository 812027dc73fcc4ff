import { describe, expect, it } from 'vitest';
import { checkParser } from '../../../test/support/parser-harness.js';
import { arfParser } from './arf-parser.js';

const dir = 'test/fixtures/intake/arf';

describe('arfParser', () => {
  it('parses the RFC 5965 example into one spam event with the feedback fields and original headers', async () => {
    const out = await checkParser(arfParser, `${dir}/rfc5965-example.eml`);
    expect(out.errors).toEqual([]);
    expect(out.events).toHaveLength(1);
    const e = out.events[0]!;
    expect(e).toMatchObject({
      'classification.taxonomy': 'abusive-content',
      'classification.type': 'spam',
      'classification.identifier': 'abuse',
      'source.ip': '192.0.2.1',
      'time.source': '2005-03-08T18:00:00.000Z',
      'feed.name': 'arf',
      'feed.provider': 'mail.example.com',
      'raw.location': '2',
    });
    expect(e.extra).toMatchObject({
      arf_version: '1',
      original_mail_from: '<somespammer@example.net>',
      reported_uri: ['http://example.net/earn_money.html', 'mailto:user@example.com'],
      reported_domain: ['example.net'],
      original_headers: expect.objectContaining({ subject: 'Earn money', from: '<somespammer@example.net>' }),
    });
    expect(out.reporter).toEqual({ automated: true });
  });

  it('accepts Version 0.1, Received-Date, odd parameter order, bracketed Source-IP and redacted recipients', async () => {
    const out = await checkParser(arfParser, `${dir}/deviations-version-0.1.eml`);
    expect(out.errors).toEqual([]);
    const e = out.events[0]!;
    expect(e['source.ip']).toBe('198.51.100.23');
    expect(e['time.source']).toBe('2026-01-12T14:14:44.000Z');
    expect(e.extra).toMatchObject({
      arf_version: '0.1',
      redacted: true,
      original_rcpt_to: ['redacted@aol.com'],
      original_headers: expect.objectContaining({ subject: 'Dernière chance' }),
    });
  });

  it('takes the source from the topmost Received header when Source-IP is missing, and maps fraud', async () => {
    const out = await checkParser(arfParser, `${dir}/fraud-no-source-ip.eml`);
    const e = out.events[0]!;
    expect(e['classification.taxonomy']).toBe('fraud');
    expect(e['classification.type']).toBe('phishing');
    expect(e['source.ip']).toBe('203.0.113.77');
    expect(e.extra).toMatchObject({ source_ip_from: 'received', assumed_utc: true, redacted: true });
    expect(e['time.source']).toBe('2026-01-13T08:00:00.000Z');
  });

  it('reports a report without a feedback part as an error with its location', async () => {
    const out = await checkParser(arfParser, `${dir}/malformed-no-feedback-part.eml`);
    expect(out.events).toEqual([]);
    expect(out.errors).toEqual([
      { message: expect.stringMatching(/no message\/feedback-report part/), location: 'message' },
    ]);
  });

  it('keeps the event of a truncated report and reports the cut and the unreadable time', async () => {
    const out = await checkParser(arfParser, `${dir}/truncated.eml`);
    expect(out.events[0]).toMatchObject({
      'source.ip': '2001:db8::25',
      'time.source': '2026-01-15T12:00:00.000Z',
    });
    expect(out.events[0]?.extra).toMatchObject({ time_source: 'received' });
    expect(out.errors.map((e) => e.location)).toEqual(['2', 'message', '1']);
    expect(out.errors[0]?.message).toMatch(/ends inside its header block/);
    expect(out.errors[1]?.message).toMatch(/closing boundary/);
    expect(out.errors[2]?.message).toMatch(/unreadable time "sometime last week"/);
  });

  it('yields no event for not-spam feedback', async () => {
    const out = await checkParser(arfParser, `${dir}/not-spam.eml`, { allowEmpty: true });
    expect(out.events).toEqual([]);
    expect(out.errors).toEqual([]);
  });

  it('does not claim mail that is not ARF', () => {
    const input = {
      bytes: new TextEncoder().encode('From: a@b.c\nSubject: hi\n\nhello'),
      receivedAt: new Date(),
    };
    expect(arfParser.detect(input)).toBe(0);
  });
});
