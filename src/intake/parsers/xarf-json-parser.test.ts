import { describe, expect, it } from 'vitest';
import { checkParser } from '../../../test/support/parser-harness.js';
import { mailFileParser } from '../mail/report-fields.js';
import { xarfMailParser, xarfParser } from './xarf-json-parser.js';

const dir = 'test/fixtures/intake/xarf';

describe('xarfParser (JSON)', () => {
  it('parses a v4 login attack: source, ports, protocol, time in UTC, evidence without payload', async () => {
    const out = await checkParser(xarfParser, `${dir}/v4-login-attack.json`);
    expect(out.errors).toEqual([]);
    const e = out.events[0]!;
    expect(e).toMatchObject({
      'classification.taxonomy': 'intrusion-attempts',
      'classification.type': 'brute-force',
      'classification.identifier': 'connection/login_attack',
      'classification.confidence': 0.95,
      'source.ip': '198.51.100.77',
      'source.port': 45621,
      'destination.ip': '203.0.113.22',
      'destination.port': 22,
      'protocol.transport': 'tcp',
      'protocol.application': 'ssh',
      'time.source': '2026-01-14T08:15:00.000Z',
      'feed.name': 'xarf',
      'feed.provider': 'SSH Honeypot Network',
      'raw.location': '1',
    });
    expect(e.extra).toMatchObject({ report_id: '7d3c1a52-1f0e-4b6a-9c1d-2e5f8a7b9c01', attempt_count: 2847 });
    expect(JSON.stringify(e.extra)).not.toContain('payload');
    expect(out.reporter).toEqual({
      automated: true,
      organisation: 'SSH Honeypot Network',
      email: 'honeypot@sshwatch.example.org',
    });
  });

  it('parses a v4 phishing report with a URL and a host-name source', async () => {
    const out = await checkParser(xarfParser, `${dir}/v4-phishing.json`);
    expect(out.errors).toEqual([]);
    expect(out.events[0]).toMatchObject({
      'classification.taxonomy': 'fraud',
      'classification.type': 'phishing',
      'source.fqdn': 'secure-login.customer.example',
      'source.url': 'https://secure-login.customer.example/bank/verify.php',
    });
  });

  it('parses an array of v4 reports (copyright/p2p)', async () => {
    const out = await checkParser(xarfParser, `${dir}/v4-copyright-array.json`);
    expect(out.errors).toEqual([]);
    expect(out.events[0]).toMatchObject({
      'classification.type': 'copyright',
      'source.ip': '192.0.2.200',
      'raw.location': '1:[0]',
    });
  });

  it('reads a v4 report that breaks its schema, reporting every violation by JSON path', async () => {
    const out = await checkParser(xarfParser, `${dir}/v4-schema-violations.json`);
    expect(out.events[0]).toMatchObject({ 'classification.type': 'scanner', 'source.ip': '203.0.113.9' });
    expect(out.events[0]?.extra).toMatchObject({ assumed_utc: true });
    const messages = out.errors.map((e) => e.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^XARF v4 schema: xarf_version: expected 4\.x\.y/),
        expect.stringMatching(/^XARF v4 schema: report_id: /),
        expect.stringMatching(/^XARF v4 schema: timestamp: /),
        expect.stringMatching(/^XARF v4 schema: reporter\.contact: /),
        expect.stringMatching(/^XARF v4 schema: sender: /),
        'XARF v4 connection/port_scan: required field "first_seen" is missing',
      ]),
    );
    expect(out.errors.every((e) => e.location === '1')).toBe(true);
  });

  it('parses v3 (abusix) with SourceIp and Samples, and the spec variant with Source {IP, Port}', async () => {
    const a = await checkParser(xarfParser, `${dir}/v3-login-attack.json`);
    expect(a.errors).toEqual([]);
    expect(a.events[0]).toMatchObject({
      'classification.type': 'brute-force',
      'classification.identifier': 'LoginAttack',
      'source.ip': '192.0.2.55',
      'source.port': 54321,
      'destination.port': 22,
      'time.source': '2018-02-05T14:17:10.000Z',
    });
    expect(a.reporter).toMatchObject({
      organisation: 'ExampleOrg',
      email: 'reports@example.com',
      name: 'Abuse Desk',
    });
    const b = await checkParser(xarfParser, `${dir}/v3-spam-source-object.json`);
    expect(b.errors).toEqual([]);
    expect(b.events[0]).toMatchObject({
      'classification.type': 'spam',
      'source.ip': '2001:db8::beef',
      'source.port': 25,
      'time.source': '2026-01-15T12:30:25.000Z',
    });
  });

  it('reports invalid JSON with its location and no event', async () => {
    const out = await checkParser(xarfParser, `${dir}/invalid.json`);
    expect(out.events).toEqual([]);
    expect(out.errors).toEqual([
      { message: expect.stringMatching(/^not valid JSON/), location: '1', raw: expect.any(String) },
    ]);
  });

  it('does not claim JSON that is not XARF', () => {
    const bytes = new TextEncoder().encode('{"feed.name": "x", "source.ip": "192.0.2.1"}');
    expect(xarfParser.detect({ bytes, receivedAt: new Date() })).toBe(0);
  });
});

describe('xarfMailParser (attached to mail)', () => {
  it('finds the base64 JSON attachment and parses it at its part path', async () => {
    const parser = mailFileParser(xarfMailParser, (head) => (/^X-XARF:/im.test(head) ? 0.9 : 0));
    const out = await checkParser(parser, `${dir}/v4-attached.eml`, { rawInInput: false });
    expect(out.errors).toEqual([]);
    expect(out.events[0]).toMatchObject({
      'classification.taxonomy': 'abusive-content',
      'classification.type': 'spam',
      'source.ip': '192.0.2.99',
      'protocol.application': 'smtp',
      'raw.location': '2',
    });
    expect(out.events[0]?.extra).toMatchObject({ smtp_from: 'offers@customer.example' });
  });
});
