import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HARNESS_RECEIVED_AT } from '../../../../../test/support/parser-harness.js';
import { freeTextParser } from '../../free-text-parser.js';
import { logRecognisers, readLogLine } from '../log-recognisers.js';

/**
 * Every log format's lines, written from the product's documented format, read for roles: which address sent
 * the traffic (the source), which received it (the destination), and which lines name no offender at all.
 */

interface Case {
  readonly name: string;
  readonly line: string;
  readonly kind: string;
  readonly source?: readonly [string, number?];
  readonly destination?: readonly [string, number?];
  readonly direction?: string;
  readonly category?: string;
}

// biome-ignore format: one case per entry reads as a table
const cases: readonly Case[] = [
  // netfilter LOG target (kernel: ipt_LOG / nf_log_syslog), full UFW line and the short form seen in complaints.
  { name: 'UFW BLOCK, full line', kind: 'iptables', category: 'scanning', direction: 'inbound',
    line: 'Dec  3 07:14:22 homebox kernel: [812345.123456] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.18 DST=192.0.2.55 LEN=44 TOS=0x00 PREC=0x00 TTL=245 ID=54321 PROTO=TCP SPT=51234 DPT=23 WINDOW=1024 RES=0x00 SYN URGP=0',
    source: ['203.0.113.18', 51234], destination: ['192.0.2.55', 23] },
  { name: 'iptables DROP, short line without MAC= and LEN= (the seen bug)', kind: 'iptables', category: 'scanning',
    line: 'Dec  3 06:00:01 fw kernel: DROP IN=eth0 SRC=198.51.100.41 DST=198.51.100.34 PROTO=TCP SPT=40000 DPT=22',
    source: ['198.51.100.41', 40000], destination: ['198.51.100.34', 22] },
  { name: 'iptables, IPv6', kind: 'iptables', category: 'scanning',
    line: 'Dec  3 06:00:01 fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:16:3e:00:00:01 SRC=2001:0db8:0bad:0000:0000:0000:0000:0005 DST=2001:0db8:0001:0000:0000:0000:0000:0001 LEN=80 TC=0 HOPLIMIT=52 FLOWLBL=0 PROTO=TCP SPT=41000 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0',
    source: ['2001:db8:bad::5', 41000], destination: ['2001:db8:1::1', 22] },
  { name: 'iptables, outbound (IN= empty): the reporter\'s own traffic', kind: 'iptables', direction: 'outbound',
    line: 'Dec  3 06:00:01 fw kernel: [UFW BLOCK] IN= OUT=eth0 SRC=192.0.2.10 DST=198.51.100.99 LEN=60 PROTO=TCP SPT=50000 DPT=25',
    destination: ['198.51.100.99', 25] },
  // pf via tcpdump -n -e -ttt -r /var/log/pflog
  { name: 'pf block in', kind: 'pf', category: 'scanning',
    line: 'Dec 03 11:02:13.123456 rule 4/0(match): block in on em0: 198.51.100.140.51515 > 192.0.2.1.22: Flags [S], seq 123456, win 1024, length 0',
    source: ['198.51.100.140', 51515], destination: ['192.0.2.1', 22] },
  { name: 'pf block in, IPv6', kind: 'pf', category: 'scanning',
    line: 'rule 2/0(match): block in on em0: 2001:db8:bad::5.40000 > 2001:db8:1::1.443: Flags [S], seq 1, win 1024, length 0',
    source: ['2001:db8:bad::5', 40000], destination: ['2001:db8:1::1', 443] },
  { name: 'pf block out: no offender', kind: 'pf', direction: 'outbound',
    line: 'rule 9/0(match): block out on em0: 192.0.2.5.40000 > 203.0.113.9.25: Flags [S], seq 1, win 1024, length 0',
    destination: ['203.0.113.9', 25] },
  // Cisco ASA syslog messages 106023, 106001, 106006, 710003
  { name: 'ASA 106023', kind: 'cisco-asa', category: 'scanning',
    line: 'Dec 03 2026 08:15:44: %ASA-4-106023: Deny tcp src outside:203.0.113.88/44321 dst inside:192.0.2.20/445 by access-group "outside_access_in" [0x0, 0x0]',
    source: ['203.0.113.88', 44321], destination: ['192.0.2.20', 445] },
  { name: 'ASA 106023 from the inside interface: the reporter\'s host going out', kind: 'cisco-asa', direction: 'outbound',
    line: '%ASA-4-106023: Deny udp src inside:192.0.2.77/5353 dst outside:198.51.100.1/53 by access-group "inside_in" [0x0, 0x0]',
    destination: ['198.51.100.1', 53] },
  { name: 'ASA 106001', kind: 'cisco-asa', category: 'scanning',
    line: '%ASA-2-106001: Inbound TCP connection denied from 203.0.113.88/44323 to 192.0.2.22/1433 flags SYN  on interface outside',
    source: ['203.0.113.88', 44323], destination: ['192.0.2.22', 1433] },
  { name: 'ASA 106006', kind: 'cisco-asa', category: 'scanning',
    line: '%ASA-2-106006: Deny inbound UDP from 203.0.113.88/44324 to 192.0.2.23/161 on interface outside',
    source: ['203.0.113.88', 44324], destination: ['192.0.2.23', 161] },
  { name: 'ASA 710003', kind: 'cisco-asa', category: 'scanning',
    line: '%ASA-3-710003: TCP access denied by ACL from 203.0.113.88/40000 to outside:192.0.2.1/22',
    source: ['203.0.113.88', 40000], destination: ['192.0.2.1', 22] },
  // Juniper SRX RT_FLOW (structured and BSD syslog) and RT_SCREEN
  { name: 'SRX RT_FLOW_SESSION_DENY, structured', kind: 'juniper-srx', category: 'scanning',
    line: '<14>1 2026-12-03T08:20:01.100Z srx-edge RT_FLOW - RT_FLOW_SESSION_DENY [junos@2636.1.1.1.2.129 source-address="198.51.100.71" source-port="53211" destination-address="192.0.2.40" destination-port="3306" connection-tag="0" service-name="None" protocol-id="6" icmp-type="0" policy-name="deny-all" source-zone-name="untrust" destination-zone-name="trust" reason="policy deny"]',
    source: ['198.51.100.71', 53211], destination: ['192.0.2.40', 3306] },
  { name: 'SRX RT_FLOW_SESSION_DENY, BSD syslog', kind: 'juniper-srx', category: 'scanning',
    line: 'Dec  3 08:20:02 srx-edge RT_FLOW: RT_FLOW_SESSION_DENY: session denied 198.51.100.71/53212->192.0.2.41/5432 0x0 None 6(0) deny-all untrust trust UNKNOWN UNKNOWN N/A(N/A) ge-0/0/0.0 UNKNOWN policy deny',
    source: ['198.51.100.71', 53212], destination: ['192.0.2.41', 5432] },
  { name: 'SRX deny from the trust zone: outbound', kind: 'juniper-srx', direction: 'outbound',
    line: 'RT_FLOW - RT_FLOW_SESSION_DENY [junos@2636.1.1.1.2.129 source-address="192.0.2.40" source-port="5000" destination-address="203.0.113.5" destination-port="25" policy-name="no-smtp" source-zone-name="trust" destination-zone-name="untrust"]',
    destination: ['203.0.113.5', 25] },
  { name: 'SRX screen: port scan', kind: 'juniper-srx', category: 'scanning',
    line: 'Dec  3 08:20:03 srx-edge RT_IDS: RT_SCREEN_TCP: TCP port scan! source: 198.51.100.71:53213, destination: 192.0.2.42:21, zone name: untrust, interface name: ge-0/0/0.0, action: drop',
    source: ['198.51.100.71', 53213], destination: ['192.0.2.42', 21] },
  // fail2ban, sshd, Postfix, Exim
  { name: 'fail2ban Ban', kind: 'fail2ban', category: 'brute-force',
    line: '2026-12-03 02:11:45,118 fail2ban.actions        [911]: NOTICE  [sshd] Ban 198.51.100.131', source: ['198.51.100.131'] },
  { name: 'sshd Failed password', kind: 'sshd', category: 'brute-force',
    line: 'Dec  3 03:12:04 bastion sshd[21879]: Failed password for root from 203.0.113.45 port 40188 ssh2', source: ['203.0.113.45', 40188] },
  { name: 'sshd Accepted: settled, no offender', kind: 'sshd', direction: 'allowed',
    line: 'Dec  3 03:12:09 bastion sshd[21881]: Accepted publickey for deploy from 192.0.2.200 port 50022 ssh2: ED25519 SHA256:abc' },
  { name: 'Postfix SASL failure', kind: 'postfix', category: 'brute-force',
    line: 'Dec  3 05:00:01 mail postfix/smtpd[4411]: warning: unknown[198.51.100.199]: SASL LOGIN authentication failed: UGFzc3dvcmQ6', source: ['198.51.100.199'] },
  { name: 'Postfix reject', kind: 'postfix', category: 'spam',
    line: 'Dec  3 03:00:01 mx1 postfix/smtpd[1201]: NOQUEUE: reject: RCPT from unknown[203.0.113.150]: 554 5.7.1 Service unavailable; Client host [203.0.113.150] blocked using zen.spamhaus.org; from=<a@deals.example> to=<b@example.org> proto=ESMTP helo=<mail.deals.example>',
    source: ['203.0.113.150'] },
  { name: 'Exim reject', kind: 'exim', category: 'spam',
    line: '2026-12-03 03:10:00 H=(spammer.example) [203.0.113.151] F=<bulk@spammer.example> rejected RCPT <info@example.org>: blocked', source: ['203.0.113.151'] },
  // Apache/nginx combined, and vhost_combined
  { name: 'nginx POST wp-login', kind: 'access-log', category: 'brute-force',
    line: '203.0.113.171 - - [03/Dec/2026:06:10:01 +0100] "POST /wp-login.php HTTP/1.1" 200 4520 "-" "Mozilla/5.0"', source: ['203.0.113.171'] },
  { name: 'Apache vhost_combined SQL injection', kind: 'access-log', category: 'exploit',
    line: 'shop.example.org:443 203.0.113.175 - - [03/Dec/2026:08:01:01 +0000] "GET /product.php?id=1%27%20UNION%20SELECT%20password%20FROM%20users-- HTTP/1.1" 200 512 "-" "Mozilla/5.0"',
    source: ['203.0.113.175'] },
  { name: 'access log, ordinary page view: no category', kind: 'access-log',
    line: '192.0.2.150 - - [03/Dec/2026:06:10:04 +0100] "GET /about/ HTTP/1.1" 200 9913 "-" "Mozilla/5.0"', source: ['192.0.2.150'] },
  // Snort 2 alert_fast and Suricata fast.log
  { name: 'Snort fast alert, exploit', kind: 'ids-alert', category: 'exploit',
    line: '12/03-10:41:07.123456  [**] [1:2024897:3] ET EXPLOIT Apache Struts RCE Attempt [**] [Classification: Attempted Administrator Privilege Gain] [Priority: 1] {TCP} 203.0.113.120:48212 -> 192.0.2.80:80',
    source: ['203.0.113.120', 48212], destination: ['192.0.2.80', 80] },
  { name: 'Suricata fast.log, scan', kind: 'ids-alert', category: 'scanning',
    line: '12/03/2026-07:01:02.123456  [**] [1:2001219:20] ET SCAN Potential SSH Scan [**] [Classification: Attempted Information Leak] [Priority: 2] {TCP} 198.51.100.160:51000 -> 192.0.2.70:22',
    source: ['198.51.100.160', 51000], destination: ['192.0.2.70', 22] },
  { name: 'Suricata fast.log, IPv6 printed in full', kind: 'ids-alert', category: 'scanning',
    line: '12/03/2026-07:01:02.123456  [**] [1:2001219:20] ET SCAN Potential SSH Scan [**] [Classification: Attempted Information Leak] [Priority: 2] {TCP} 2001:0db8:0bad:0000:0000:0000:0000:0005:51000 -> 2001:0db8:0001:0000:0000:0000:0000:0001:22',
    source: ['2001:db8:bad::5', 51000], destination: ['2001:db8:1::1', 22] },
  // nfdump text output
  { name: 'nfdump flow', kind: 'nfdump',
    line: '2026-12-03 04:00:01.123    59.912 UDP      198.51.100.90:40125 ->       192.0.2.60:80      1.2 M    1.7 G     1',
    source: ['198.51.100.90', 40125], destination: ['192.0.2.60', 80] },
  { name: 'nfdump TCP reply from a service port: no offender', kind: 'nfdump', direction: 'reply',
    line: '2026-12-03 04:00:02.001     0.000 TCP         192.0.2.60:443   ->   198.51.100.90:40126        1       40     1',
    destination: ['198.51.100.90', 40126] },
  { name: 'nfdump IPv6 flow', kind: 'nfdump',
    line: '2026-12-03 04:00:03.000     1.000 TCP    2001:db8:bad::5.40000 ->    2001:db8:1::1.22          5      300     1',
    source: ['2001:db8:bad::5', 40000], destination: ['2001:db8:1::1', 22] },
  // Windows Firewall pfirewall.log (W3C, #Version 1.5)
  { name: 'Windows Firewall DROP RECEIVE', kind: 'windows-firewall', category: 'scanning',
    line: '2026-12-03 09:01:11 DROP TCP 203.0.113.140 192.0.2.90 52100 3389 52 S 1234567 0 64240 - - - RECEIVE',
    source: ['203.0.113.140', 52100], destination: ['192.0.2.90', 3389] },
  { name: 'Windows Firewall ALLOW SEND: outbound', kind: 'windows-firewall', direction: 'outbound',
    line: '2026-12-03 09:01:14 ALLOW TCP 192.0.2.90 192.0.2.1 49822 53 0 - 0 0 0 - - - SEND', destination: ['192.0.2.1', 53] },
  // tcpdump and the generic arrow notation of honeypot and flow exports
  { name: 'tcpdump SYN', kind: 'tcpdump', category: 'scanning',
    line: '06:00:01.123456 IP 203.0.113.5.40000 > 192.0.2.1.22: Flags [S], seq 1, win 1024, length 0',
    source: ['203.0.113.5', 40000], destination: ['192.0.2.1', 22] },
  { name: 'honeypot line with an arrow', kind: 'flow-arrow', category: 'brute-force',
    line: '2026-12-03T11:22:33Z 203.0.113.211 -> 192.0.2.99:23 telnet login attempt root/admin',
    source: ['203.0.113.211'], destination: ['192.0.2.99', 23] },
];

describe('log line recognisers', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const reading = readLogLine(c.line);
    expect(reading, 'recognised').toBeDefined();
    expect(reading?.kind).toBe(c.kind);
    expect(
      reading?.source ? [reading.source.ip, reading.source.port].filter((v) => v !== undefined) : undefined,
    ).toEqual(c.source ? [...c.source] : undefined);
    if (c.destination) {
      expect([reading?.destination?.ip, reading?.destination?.port]).toEqual([...c.destination]);
    }
    expect(reading?.direction).toBe(c.direction ?? 'inbound');
    expect(reading?.category).toBe(c.category);
  });

  it('has a file and a case for every format in the table', () => {
    const kinds = new Set(cases.map((c) => c.kind));
    for (const r of logRecognisers) expect(kinds.has(r.kind), r.kind).toBe(true);
  });

  it('never reads prose as a log line', () => {
    for (const line of [
      'I received spam from 198.51.100.7',
      'SRC and DST are documented in the manual',
      'from 198.51.100.41 to 198.51.100.34 on port 22',
      'Deny tcp src outside: nothing',
      'Settings -> Security -> cafe => bad',
    ]) {
      expect(readLogLine(line), line).toBeUndefined();
    }
  });
});

/**
 * The contract with the desk: no event with an address as `source.ip` comes from a line where that address is
 * the destination. Generated firewall and IDS lines with random documentation addresses, pasted under a complaint
 * that names the wrong address too ("… about 198.51.100.34"): the destination never becomes a source.
 */
describe('roles of generated log lines', () => {
  const octet = fc.integer({ min: 1, max: 254 });
  const address = fc.oneof(
    octet.map((o) => `198.51.100.${o}`),
    octet.map((o) => `203.0.113.${o}`),
    octet.map((o) => `192.0.2.${o}`),
  );
  const port = fc.integer({ min: 1, max: 65535 });
  const templates: ReadonlyArray<(s: string, d: string, sp: number, dp: number) => string> = [
    (s, d, sp, dp) =>
      `Dec  3 06:00:01 fw kernel: DROP IN=eth0 SRC=${s} DST=${d} PROTO=TCP SPT=${sp} DPT=${dp}`,
    (s, d, sp, dp) =>
      `Dec  3 06:00:01 fw kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:16:3e:00:00:01 SRC=${s} DST=${d} LEN=44 TOS=0x00 PROTO=TCP SPT=${sp} DPT=${dp} WINDOW=1024 SYN URGP=0`,
    (s, d, sp, dp) =>
      `rule 4/0(match): block in on em0: ${s}.${sp} > ${d}.${dp}: Flags [S], seq 1, win 1024, length 0`,
    (s, d, sp, dp) =>
      `%ASA-4-106023: Deny tcp src outside:${s}/${sp} dst inside:${d}/${dp} by access-group "in" [0x0, 0x0]`,
    (s, d, sp, dp) =>
      `%ASA-2-106001: Inbound TCP connection denied from ${s}/${sp} to ${d}/${dp} flags SYN on interface outside`,
    (s, d, sp, dp) =>
      `RT_FLOW: RT_FLOW_SESSION_DENY: session denied ${s}/${sp}->${d}/${dp} 0x0 None 6(0) deny-all untrust trust`,
    (s, d, sp, dp) =>
      `12/03-10:41:07.123456  [**] [1:2001219:20] ET SCAN Potential SSH Scan [**] [Priority: 2] {TCP} ${s}:${sp} -> ${d}:${dp}`,
    (s, d, sp, dp) =>
      `2026-12-03 04:00:01.123    59.912 UDP      ${s}:${sp} ->       ${d}:${dp}      12    1700     1`,
    (s, d, sp, dp) => `2026-12-03 09:01:11 DROP TCP ${s} ${d} ${sp} ${dp} 52 S 1234567 0 64240 - - - RECEIVE`,
  ];

  it('never makes a line’s destination a source', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: templates.length - 1 }), address, address, port, port), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.constantFrom(
          'Port scans from your network, DDoS too. Log:',
          'Your customer at 198.51.100.34 is attacking us:',
          'We are under attack, please help',
        ),
        async (rows, prose) => {
          const lines = rows.map(([t, s, d, sp, dp]) => templates[t]!(s, d, sp, dp));
          const sources = new Set(rows.map(([, s]) => s));
          const destinationsOnly = rows.map(([, , d]) => d).filter((d) => !sources.has(d));
          const out = await freeTextParser.parse({
            bytes: new TextEncoder().encode(`${prose}\n\n${lines.join('\n')}\n`),
            receivedAt: HARNESS_RECEIVED_AT,
          });
          for (const event of out.events) {
            expect(destinationsOnly).not.toContain(event['source.ip']);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
