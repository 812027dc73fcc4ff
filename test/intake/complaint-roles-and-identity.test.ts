import { describe, expect, it } from 'vitest';
import { parseReport } from '../../src/intake/parse-report.js';
import type { ParsedReport } from '../../src/intake/report.js';
import { judgeEvent } from '../../src/judgement/judge-event.js';
import { loadPolicyDirectory } from '../../src/policy/policy-loader.js';
import { checkParsedReport } from '../support/parser-harness.js';

/**
 * Complaints as the desk receives them (SMTP), through parseReport: the parties (who is the source, who the
 * victim, who the reporter), the contract fields the desk acts on, and who counts as anonymous.
 */
const receivedAt = new Date('2026-12-03T12:30:00.000Z');

function mail(headers: Record<string, string>, body: string): Uint8Array {
  const head = Object.entries({
    To: 'abuse@hosting.example',
    Subject: 'complaint',
    Date: 'Thu, 03 Dec 2026 12:00:00 +0000',
    'Message-ID': `<${Math.random().toString(36).slice(2)}@sender.example>`,
    'MIME-Version': '1.0',
    'Content-Type': 'text/plain; charset=utf-8',
    ...headers,
  })
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  return new TextEncoder().encode(`${head}\r\n\r\n${body.replace(/\n/g, '\r\n')}`);
}

async function viaSmtp(from: string, body: string, subject = 'complaint'): Promise<ParsedReport> {
  const bytes = mail({ From: from, Subject: subject }, body);
  return checkParsedReport(await parseReport({ bytes, channel: 'smtp', receivedAt }), { input: bytes });
}

describe('the parties of a complaint', () => {
  it('names the scanner, not the victim, from short iptables lines (the seen bug)', async () => {
    const report = await viaSmtp(
      'Jane Operator <noc@reporter.example>',
      [
        'Hi, 198.51.100.41 keeps scanning our network, see the firewall log below.',
        '',
        'Dec  3 06:00:01 fw kernel: DROP IN=eth0 SRC=198.51.100.41 DST=198.51.100.34 PROTO=TCP SPT=40000 DPT=22',
      ].join('\n'),
    );
    expect(report.events).toHaveLength(1);
    expect(report.events[0]).toMatchObject({
      'classification.type': 'scanner',
      'source.ip': '198.51.100.41',
      'protocol.transport': 'tcp',
      'destination.ip': '198.51.100.34',
      'destination.port': 22,
    });
    expect(report.events.some((e) => e['source.ip'] === '198.51.100.34')).toBe(false);
  });

  it("never names the reporter's own mail servers, from their From: domain, as the source", async () => {
    const report = await viaSmtp(
      'Postmaster <postmaster@reporter-mail.example>',
      [
        'We keep getting spam from your network. One of them:',
        '',
        'Received: from relay2.reporter-mail.example (relay2.reporter-mail.example [192.0.2.31])',
        '\tby mailbox.reporter-mail.example with LMTP; Thu, 03 Dec 2026 09:00:02 +0000',
        'Received: from mta.bulk-sender.example (mta.bulk-sender.example [203.0.113.90])',
        '\tby relay2.reporter-mail.example with ESMTP; Thu, 03 Dec 2026 09:00:01 +0000',
        'From: deals@bulk-sender.example',
        '',
        'Our MX relay2.reporter-mail.example rejected most of them.',
      ].join('\n'),
    );
    const sources = report.events.map((e) => e['source.ip'] ?? e['source.fqdn']);
    expect(sources).toEqual(['203.0.113.90']);
    expect(report.events[0]).toMatchObject({
      'classification.type': 'spam',
      'time.source': '2026-12-03T09:00:01.000Z',
      extra: { reverse_dns: 'mta.bulk-sender.example', received_by: 'relay2.reporter-mail.example' },
    });
  });

  it('sends an address whose role nothing tells to triage, and a vague complaint with its best guess', async () => {
    const two = await viaSmtp(
      'Tom <tom@example.org>',
      'Something odd with 198.51.100.5 and 203.0.113.6, please check.',
    );
    expect(two.events.map((e) => [e['source.ip'], e.extra?.triage_reason])).toEqual([
      ['198.51.100.5', 'role-unknown'],
      ['203.0.113.6', 'role-unknown'],
    ]);
    const weak = await viaSmtp('Tom <tom@example.org>', 'got some junk mail from 198.51.100.5');
    expect(weak.events[0]).toMatchObject({
      'classification.type': 'spam',
      extra: { triage_reason: 'low-confidence' },
    });
    expect(weak.events[0]?.['classification.confidence']).toBeLessThan(0.6);
  });

  it('labels a legal request, and says so when it names no address', async () => {
    const order = await viaSmtp(
      'Clerk <clerk@court.example>',
      'COURT ORDER. Produce subscriber information for IP address 203.0.113.77 on 2026-10-03 14:22 UTC.',
    );
    expect(order.events[0]).toMatchObject({
      'source.ip': '203.0.113.77',
      'classification.taxonomy': 'other',
      'classification.type': 'other',
      extra: { request_kind: 'legal-request' },
    });
    const bare = await viaSmtp(
      'Clerk <clerk@court.example>',
      'SUBPOENA. YOU ARE COMMANDED to produce the records of account 4411.',
    );
    expect(bare.status).toBe('unparsed');
    expect(bare.errors.map((e) => e.message).join()).toMatch(/legal request/);
  });

  it('reads the gist of the complaint in its subject', async () => {
    const report = await viaSmtp(
      'A. Person <a@example.org>',
      'please remove hxxp://203.0.113.5/login',
      'Phishing site on your network',
    );
    expect(report.events[0]).toMatchObject({
      'classification.type': 'phishing',
      'source.url': 'http://203.0.113.5/login',
    });
    expect(report.events[0]?.extra?.triage_reason).toBeUndefined();
  });

  it('files child abuse material under the strictest class', async () => {
    const report = await viaSmtp(
      'A. Person <a@example.org>',
      'Child sexual abuse material at hxxp://203.0.113.66/g/',
    );
    expect(report.events[0]).toMatchObject({
      'classification.taxonomy': 'abusive-content',
      'classification.type': 'violence',
      'classification.identifier': 'csam',
      'source.url': 'http://203.0.113.66/g/',
    });
  });
});

describe('reporters who decline to be identified', () => {
  const body = 'Your customer at 203.0.113.33 sends me spam every day.';

  it.each([
    ['anonymous@anon-mail.example', `${body} I'd rather stay anonymous, no name please.`],
    ['Jane Doe <jane@example.org>', `${body} I will not give my name.`],
    [
      'noreply@wegwerf-mail.example',
      'Ich bekomme Spam von 198.51.100.211. Meinen Namen möchte ich nicht nennen.',
    ],
    ['Nadie <no-reply@correo.example>', 'Recibo spam desde 198.51.100.211. Prefiero permanecer anónimo.'],
    ['noreply@wegwerf-mail.example', body],
  ])('%s: anonymous', async (from, text) => {
    const report = await viaSmtp(from, text);
    expect(report.reporter.anonymous).toBe(true);
    expect(report.events.length).toBeGreaterThan(0);
  });

  it.each([
    ['Jane Doe <jane@example.org>', body],
    ['Jane Doe <noreply@example.org>', body],
  ])('%s: identified', async (from, text) => {
    expect((await viaSmtp(from, text)).reporter.anonymous).toBe(false);
  });

  it('is refused by a policy that refuses anonymous complaints (iITGEN)', async () => {
    const report = await viaSmtp('anonymous@anon-mail.example', `${body} I'd rather stay anonymous.`);
    const iitgen = await loadPolicyDirectory('policies/iitgen');
    const policy = iitgen.versions[iitgen.versions.length - 1]!.document;
    expect(policy.terms.complaints.anonymous).toBe('reject');
    const judgement = judgeEvent({
      event: report.events[0]!,
      reporter: report.reporter,
      channel: report.channel,
      receivedAt,
      serviceKind: 'vps',
      policy,
      now: receivedAt,
    });
    expect(judgement.verdict).toBe('rejected-anonymous');
  });

  it('never makes a machine sender anonymous', async () => {
    const bytes = mail(
      { From: 'noreply@feeds.example', 'Auto-Submitted': 'auto-generated' },
      'Automated notice: spam from 203.0.113.33 observed at our traps.',
    );
    const report = await parseReport({ bytes, channel: 'smtp', receivedAt });
    expect(report.reporter).toMatchObject({ anonymous: false, automated: true });
  });
});

describe('an open mail relay complaint', () => {
  it('falls under the open-services clause that names open mail relays (INFINCE, Secure Packet 2027)', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile('test/fixtures/intake/prose/03-open-relay-transcript.txt', 'utf8');
    const report = await viaSmtp('Postmaster <postmaster@reporter.example>', text, 'Open relay');
    const event = report.events.find((e) => e['source.ip'] === '198.51.100.25');
    expect(event?.['classification.identifier']).toBe('open-mail-relay');
    for (const [dir, version, clause] of [
      ['policies/infince', '2019-08-01', 'network.open-services'],
      ['policies/securepacket', '2027-03-01', 'abuse.open-services'],
    ] as const) {
      const history = await loadPolicyDirectory(dir);
      const policy = history.versions.find((v) => v.document.version === version)!.document;
      const judgement = judgeEvent({
        event: event!,
        reporter: report.reporter,
        channel: report.channel,
        receivedAt,
        serviceKind: 'vps',
        policy,
        now: receivedAt,
      });
      expect(judgement.verdict === 'violation' && judgement.clauses.map((c) => c.id)).toContain(clause);
    }
  });
});
