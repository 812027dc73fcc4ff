import { describe, expect, it } from 'vitest';
import { checkParser, HARNESS_RECEIVED_AT } from '../../../test/support/parser-harness.js';
import { createFreeTextParser, freeTextParser } from './free-text-parser.js';
import { classifyComplaint } from './text/complaint-classifier.js';
import { extractDomains, extractIps, extractUrls, refang } from './text/indicator-extractor.js';
import { findTimes } from './text/log-time.js';

const dir = 'test/fixtures/intake/free-text';
const check = (name: string, options: Parameters<typeof checkParser>[2] = {}) =>
  checkParser(freeTextParser, `${dir}/${name}`, { detect: 0.2, ...options });

describe('free-text parser', () => {
  it('makes one brute-force event per attacking address from pasted sshd and fail2ban lines', async () => {
    const out = await check('ssh-bruteforce-complaint.txt');
    expect(out.events.map((e) => e['source.ip'])).toEqual(['203.0.113.45', '2001:db8:beef::7']);
    const [main] = out.events;
    expect(main).toMatchObject({
      'classification.taxonomy': 'intrusion-attempts',
      'classification.type': 'brute-force',
      'time.source': '2026-01-15T06:12:01.000Z',
      'raw.location': '6',
      extra: {
        count: 6,
        first_seen: '2026-01-15T06:12:01.000Z',
        last_seen: '2026-01-15T06:20:46.112Z',
        log_kinds: ['fail2ban', 'sshd'],
        address_scope: 'documentation',
        assumed_utc: true,
      },
    });
    expect(main?.['classification.confidence']).toBeGreaterThan(0.8);
    // The victim's own address in the prose is not a source.
    expect(out.events.some((e) => e['source.ip'] === '192.0.2.10')).toBe(false);
  });

  it('refangs and reports phishing URLs with their hosts and the RFC 2822 time in UTC', async () => {
    const out = await check('phishing-report.txt');
    expect(out.events.map((e) => [e['source.url'], e['source.fqdn'] ?? e['source.ip']])).toEqual([
      [
        'https://secure-login.examplebank-verify.com/online/signin.php',
        'secure-login.examplebank-verify.com',
      ],
      ['http://203.0.113.80/~acct/verify/', '203.0.113.80'],
    ]);
    expect(out.events[0]).toMatchObject({
      'classification.type': 'phishing',
      'time.source': '2026-01-15T07:30:00.000Z',
    });
  });

  it('classifies web and firewall log sources by their own lines, converting Apache times to UTC', async () => {
    const out = await check('web-scan-access-log.txt');
    const byIp = Object.fromEntries(out.events.map((e) => [e['source.ip'], e]));
    expect(byIp['198.51.100.23']).toMatchObject({
      'classification.type': 'scanner',
      'time.source': '2026-01-15T09:00:01.000Z',
      extra: { count: 5, destination_ports: [3389, 5900] },
    });
    expect(byIp['198.51.100.24']?.['classification.type']).toBe('brute-force');
    // An ordinary page view is not an offence.
    expect(byIp['203.0.113.99']).toBeUndefined();
  });

  it('reads postfix and exim rejects as spam and SASL failures as brute force', async () => {
    const out = await check('mail-rejects.log');
    expect(out.events.map((e) => [e['source.ip'], e['classification.type'], e.extra?.count])).toEqual([
      ['203.0.113.150', 'spam', 2],
      ['198.51.100.201', 'brute-force', 1],
      ['203.0.113.151', 'spam', 1],
    ]);
  });

  it('says undetermined, with its confidence, when the complaint does not say what happened', async () => {
    const out = await check('vague-complaint.txt');
    expect(out.events).toHaveLength(1);
    expect(out.events[0]).toMatchObject({
      'source.ip': '198.51.100.77',
      'classification.taxonomy': 'other',
      'classification.type': 'undetermined',
      'classification.confidence': 0,
    });
  });

  it('reads an HTML complaint as text and a Windows-1252 one with a warning', async () => {
    const ddos = await check('ddos-complaint.html', { rawInInput: false });
    expect(ddos.events.map((e) => [e['source.ip'], e['classification.type'], e['time.source']])).toEqual([
      ['203.0.113.201', 'ddos', '2026-01-15T04:00:00.000Z'],
      ['203.0.113.202', 'ddos', '2026-01-15T04:00:00.000Z'],
    ]);
    const latin = await check('latin1-scan-complaint.txt', { rawInInput: false });
    expect(latin.events[0]).toMatchObject({ 'source.ip': '203.0.113.60', 'classification.type': 'scanner' });
    expect(latin.errors[0]?.message).toMatch(/Windows-1252/);
  });

  it("names the sender of a pasted Received header, not the reporter's own receiving host", async () => {
    const out = await freeTextParser.parse({
      bytes: new TextEncoder().encode(
        [
          'Your customer sent us unsolicited bulk email (spam). Headers of one spam message:',
          '',
          'Received: from mail.spammer.example ([198.51.100.7]) by MX1.reporter.example; Tue, 13 Jan 2026 10:00:00 +0000',
          '> Received: from relay.reporter.example by mx2.reporter.example with ESMTP',
          '',
          'It advertised http://cheap-watches.example/buy',
        ].join('\n'),
      ),
      receivedAt: HARNESS_RECEIVED_AT,
    });
    const sources = out.events.map((e) => e['source.url'] ?? e['source.fqdn'] ?? e['source.ip']);
    expect(sources).toEqual(['198.51.100.7', 'http://cheap-watches.example/buy']);
    // The HELO name is the sender's claim about itself: kept, but not a source of its own.
    expect(out.events[0]?.extra).toMatchObject({
      helo: 'mail.spammer.example',
      received_by: 'mx1.reporter.example',
    });
    expect(JSON.stringify(out.events)).not.toMatch(/"source\.\w+":"[^"]*reporter\.example/);
  });

  it('drops special-purpose addresses only when asked', async () => {
    const strict = createFreeTextParser({ dropSpecialAddresses: true });
    const out = await strict.parse({
      bytes: new TextEncoder().encode('Port scan from 10.1.2.3 and 8.8.8.8 and 192.0.2.5 with nmap.'),
      receivedAt: HARNESS_RECEIVED_AT,
    });
    expect(out.events.map((e) => e['source.ip'])).toEqual(['8.8.8.8']);
  });

  it('reads a huge log only up to its line limit, and says so', async () => {
    const line = (i: number, ip: string) =>
      `2026-01-15T10:00:${String(i % 60).padStart(2, '0')}Z sshd[${1000 + i}]: Failed password for invalid user admin from ${ip} port ${40000 + i} ssh2`;
    const text = [
      ...Array.from({ length: 100 }, (_, i) => line(i, '198.51.100.7')),
      ...Array.from({ length: 50 }, (_, i) => line(i, '198.51.100.99')),
    ].join('\n');
    const out = await createFreeTextParser({ maxLines: 100 }).parse({
      bytes: new TextEncoder().encode(text),
      receivedAt: HARNESS_RECEIVED_AT,
    });
    expect(out.events.map((e) => e['source.ip'])).toEqual(['198.51.100.7']);
    expect(out.errors.map((e) => e.message)).toContain(
      'read the first 100 of 150 lines; the evidence keeps the rest',
    );
  });
});

describe('text extraction', () => {
  it('finds standalone IPv4 and IPv6 addresses, not versions or clock times', () => {
    const ips = extractIps(
      'v1.2.3.4 and 1.2.3.4.5, then 10.0.0.1, at 10:00:01 from 2001:db8::1; mac 00:1a:2b:3c:4d:5e.',
    );
    expect(ips.map((a) => [a.ip, a.scope])).toEqual([
      ['10.0.0.1', 'private'],
      ['2001:db8::1', 'documentation'],
    ]);
  });

  it('refangs URLs and finds domains that are not file names', () => {
    const text = refang('see hxxp://bad[.]example[.]net/a.exe and evil-example.org, not index.php');
    expect(extractUrls(text).map((u) => u.url)).toEqual(['http://bad.example.net/a.exe']);
    expect(extractDomains(text).map((d) => d.domain)).toContain('evil-example.org');
    expect(extractDomains(text).map((d) => d.domain)).not.toContain('index.php');
  });

  it('reads ISO, syslog (year from receipt, previous year across New Year), Apache and RFC 2822 times', () => {
    const times = findTimes(
      '2026-01-15T10:00:00+02:00 | 2026-01-15 10:00:00 | Dec 31 23:59:59 | [15/Jan/2026:10:00:01 +0100] | Thu, 15 Jan 2026 10:00:00 -0500',
      new Date('2026-01-02T00:00:00Z'),
    );
    expect(times.map((t) => [t.iso, t.assumedUtc])).toEqual([
      ['2026-01-15T08:00:00.000Z', false],
      ['2026-01-15T10:00:00.000Z', true],
      ['2025-12-31T23:59:59.000Z', true],
      ['2026-01-15T09:00:01.000Z', false],
      ['2026-01-15T15:00:00.000Z', false],
    ]);
  });

  it('needs enough evidence before it is sure of a category, and keeps its best guess when it is not', () => {
    expect(classifyComplaint('please look at this')).toMatchObject({
      eventClass: 'other/undetermined',
      confidence: 0,
    });
    // One weak word: the guess is kept for the analyst, below the desk's threshold.
    const weak = classifyComplaint('got some junk mail');
    expect(weak.eventClass).toBe('abusive-content/spam');
    expect(weak.confidence).toBeLessThan(0.6);
    // Two categories in a tie: not sure either.
    expect(classifyComplaint('port scan and brute force attack').confidence).toBeLessThan(0.6);
    const sure = classifyComplaint('they are sending spam, unsolicited bulk email to our spamtrap');
    expect(sure.eventClass).toBe('abusive-content/spam');
    expect(sure.confidence).toBeGreaterThanOrEqual(0.6);
  });
});
