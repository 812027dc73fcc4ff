import { describe, expect, it } from 'vitest';
import { checkParser } from '../../../test/support/parser-harness.js';
import { xArfParser } from './x-arf-yaml-parser.js';

const dir = 'test/fixtures/intake/x-arf';

describe('xArfParser', () => {
  it('parses an X-ARF 0.2 login-attack report with its YAML part and evidence', async () => {
    const out = await checkParser(xArfParser, `${dir}/v0.2-login-attack.eml`);
    expect(out.errors).toEqual([]);
    expect(out.events).toHaveLength(1);
    expect(out.events[0]).toMatchObject({
      'classification.taxonomy': 'intrusion-attempts',
      'classification.type': 'brute-force',
      'classification.identifier': 'login-attack',
      'source.ip': '192.0.2.55',
      'source.port': 22,
      'protocol.application': 'ssh',
      'time.source': '2026-01-14T09:31:07.000Z',
      'feed.name': 'x-arf',
      'feed.provider': 'sshguard.example.org',
      'raw.location': '2',
    });
    expect(out.events[0]?.extra).toMatchObject({
      version: '0.2',
      occurrences: '12',
      tlp: 'green',
      report_id: '4711@sshguard.example.org',
      evidence: { content_type: 'text/plain', name: 'logfile.log', location: '3' },
    });
    expect(out.reporter).toEqual({ automated: true, email: 'abuse-reports@sshguard.example.org' });
  });

  it('parses an X-ARF 0.1 (X-XARF: PLAIN) phishing report with a URI source', async () => {
    const out = await checkParser(xArfParser, `${dir}/v0.1-phishing.eml`);
    expect(out.errors).toEqual([]);
    expect(out.events[0]).toMatchObject({
      'classification.taxonomy': 'fraud',
      'classification.type': 'phishing',
      'source.url': 'http://bank-login.customer.example/secure/index.php',
      'source.fqdn': 'bank-login.customer.example',
      'time.source': '2026-01-13T22:00:00.000Z',
    });
    expect(out.events[0]?.extra).toMatchObject({ version: '0.1', category: 'fraud' });
  });

  it('reads invalid YAML line by line, reporting the YAML error and the bad port with their locations', async () => {
    const out = await checkParser(xArfParser, `${dir}/malformed-yaml.eml`);
    expect(out.events[0]).toMatchObject({
      'classification.type': 'scanner',
      'source.ip': '2001:db8:1::99',
      'time.source': '2026-01-14T03:00:00.000Z',
    });
    expect(out.events[0]?.extra).toMatchObject({ assumed_utc: true });
    expect(out.errors).toEqual([
      {
        message: expect.stringMatching(/not valid YAML .*read line by line/),
        location: expect.stringMatching(/^2:\d+$/),
      },
      { message: 'Port "not-a-port" is not a port number', location: '2' },
    ]);
  });

  it('reports a report without a Source as an error and no event', async () => {
    const out = await checkParser(xArfParser, `${dir}/missing-source.eml`);
    expect(out.events).toEqual([]);
    expect(out.errors).toEqual([
      { message: expect.stringMatching(/^X-ARF report: source: /), location: '1' },
    ]);
  });
});
