import type { ComplaintCategory } from './complaint-classifier.js';

/**
 * Log lines complainants paste or attach, as a table: which daemon wrote it, which address in it is the
 * offender, and what it is evidence of. The IP placeholder `(?<ip>…)` is filled in from `IP` below.
 */

const IP = String.raw`(?<ip>(?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]+)`;

export interface LogPattern {
  readonly kind: string;
  readonly pattern: RegExp;
  readonly category: ComplaintCategory | ((m: RegExpExecArray) => ComplaintCategory | undefined);
  /** Evidence weight per line for the complaint classifier (see complaint-classifier.ts). */
  readonly weight: number;
}

const SUSPICIOUS_PATH =
  /(?:\/\.env|\/\.git\/|phpmyadmin|\/cgi-bin\/|\.\.\/|\/wp-admin\/(?:setup-config|install)|\/boaform|\/HNAP1|\/shell|\/vendor\/phpunit|\/actuator|\/solr\/|\/console|\/manager\/html|\/\.aws|\/config\.(?:php|json)|\/admin\.php|\/xmlrpc\.php\?|\/owa\/auth|\/autodiscover|\/remote\/login)/i;
const LOGIN_PATH = /\/(?:wp-login\.php|xmlrpc\.php|user\/login|administrator\/index\.php|login)\b/i;

export const logPatterns: readonly LogPattern[] = [
  {
    kind: 'sshd',
    pattern: new RegExp(
      String.raw`sshd\[\d+\]: (?:Failed (?:password|publickey|none|keyboard-interactive\/pam) for (?:invalid user )?(?<user>\S*) from ${IP}(?: port (?<port>\d+))?|Invalid user (?<user2>\S*) from ${IP.replace('<ip>', '<ip2>')}|(?:Disconnected from|Connection closed by) (?:invalid |authenticating )?user \S+ ${IP.replace('<ip>', '<ip3>')} port \d+ \[preauth\]|error: maximum authentication attempts exceeded for (?:invalid user )?\S+ from ${IP.replace('<ip>', '<ip4>')}|pam_unix\(sshd:auth\): authentication failure;.*rhost=${IP.replace('<ip>', '<ip5>')})`,
    ),
    category: 'brute-force',
    weight: 1,
  },
  {
    kind: 'fail2ban',
    pattern: new RegExp(
      String.raw`fail2ban\.actions\s*(?:\[\d+\])?:?\s*(?:NOTICE|WARNING|INFO)\s+\[(?<jail>[\w.-]+)\]\s+(?:Ban|Already banned|Restore Ban)\s+${IP}`,
    ),
    category: (m) => {
      const jail = m.groups?.jail?.toLowerCase() ?? '';
      if (/bot|scan|probe|noscript|404|badreq/.test(jail)) return 'scanning';
      if (/ddos|flood|limit-req|req-limit/.test(jail)) return 'ddos';
      if (/spam|postscreen|rbl/.test(jail)) return 'spam';
      return 'brute-force';
    },
    weight: 1,
  },
  {
    kind: 'access-log',
    pattern: new RegExp(
      String.raw`^${IP} \S+ \S+ \[[^\]]+\] "(?<method>[A-Z]+) (?<path>\S*)[^"]*" (?<status>\d{3}) \S+(?: "[^"]*" "(?<agent>[^"]*)")?`,
    ),
    category: (m) => {
      const path = m.groups?.path ?? '';
      if (m.groups?.method === 'POST' && LOGIN_PATH.test(path)) return 'brute-force';
      if (
        SUSPICIOUS_PATH.test(path) ||
        /zgrab|masscan|nmap|nikto|sqlmap|l9explore/i.test(m.groups?.agent ?? '')
      )
        return 'scanning';
      return undefined; // an ordinary request is not evidence of anything by itself
    },
    weight: 0.5,
  },
  {
    kind: 'postfix',
    pattern: new RegExp(
      String.raw`postfix\/(?:smtpd|postscreen|submission\/smtpd)\[\d+\]: (?:NOQUEUE: reject: (?:RCPT|DATA|CONNECT) from [^\[\s]*\[${IP}\]|warning: [^\[\s]*\[${IP.replace('<ip>', '<ip2>')}\]: SASL \w+ authentication failed|(?:DNSBL rank \d+|PREGREET \d+ after [\d.]+) for \[${IP.replace('<ip>', '<ip3>')}\])`,
    ),
    category: (m) => (m.groups?.ip2 ? 'brute-force' : 'spam'),
    weight: 1,
  },
  {
    kind: 'exim',
    pattern: new RegExp(
      String.raw`(?:H=[^\[\n]*)?\[${IP}\](?::\d+)?[^\n]*?\b(?:rejected (?:RCPT|after DATA|EHLO|MAIL|connection)|authenticator failed)`,
    ),
    category: (m) => (/authenticator failed/.test(m[0]) ? 'brute-force' : 'spam'),
    weight: 1,
  },
  {
    kind: 'iptables',
    pattern: new RegExp(
      String.raw`(?:\[UFW (?:BLOCK|AUDIT|LIMIT BLOCK)\]|IN=\S*\s+OUT=\S*).*?\bSRC=${IP}\s+DST=(?<dst>\S+).*?\bPROTO=(?<proto>\w+)(?:.*?\bSPT=(?<spt>\d+)\s+DPT=(?<dpt>\d+))?`,
    ),
    category: 'scanning',
    weight: 0.5,
  },
];

export interface LogMatch {
  readonly kind: string;
  readonly ip: string;
  readonly category: ComplaintCategory | undefined;
  readonly weight: number;
  readonly user?: string | undefined;
  readonly destination?: string | undefined;
  readonly destinationPort?: number | undefined;
  readonly protocol?: string | undefined;
}

export function matchLogLine(line: string): LogMatch | undefined {
  for (const p of logPatterns) {
    const m = p.pattern.exec(line);
    if (!m) continue;
    const g = m.groups ?? {};
    const ip = g.ip ?? g.ip2 ?? g.ip3 ?? g.ip4 ?? g.ip5;
    if (!ip) continue;
    const category = typeof p.category === 'function' ? p.category(m) : p.category;
    return {
      kind: p.kind,
      ip,
      category,
      weight: p.weight,
      user: g.user ?? g.user2,
      destination: g.dst,
      destinationPort: g.dpt ? Number(g.dpt) : undefined,
      protocol: g.proto?.toLowerCase(),
    };
  }
  return undefined;
}
