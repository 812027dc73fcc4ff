import { isIP } from 'node:net';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { ClassificationType, Taxonomy } from '../../taxonomy/taxonomy.js';
import { clipRaw, type IntakeEvent } from '../event.js';
import type { MailFormatParser } from '../mail/mail-format-parser.js';
import type { MailMessage, MailPart } from '../mail/mail-message.js';
import {
  applySourceTime,
  asFqdn,
  domainOfAddress,
  firstIp,
  hostOfUrl,
  mailFileParser,
} from '../mail/report-fields.js';
import type { FormatParser, ParserOutput } from '../parser.js';
import type { ParseError } from '../report.js';

/**
 * X-ARF v0.1 and v0.2 (x-arf.org): a `multipart/mixed` mail marked `X-ARF: YES` (0.2) or `X-XARF: PLAIN`
 * (0.1), with three parts — a human-readable text, the report as YAML (`text/plain`, usually
 * `name="report.txt"`), and optional evidence (a log, or the spam as `message/rfc822`). The YAML names
 * `Reported-From`, `Category`, `Report-Type`, `Source`/`Source-Type`, `Date`, `Port`, `Service`, `Report-ID`,
 * `Schema-URL`, `Version`, `Occurrences`, `TLP`.
 *
 * Invalid YAML (tabs, an unquoted `: ` in a value — hand-written X-ARF has both) is reported with its line
 * and then read line by line as `Key: value`, so the report is not lost.
 */

/** Report-Type (and a few Category values) → taxonomy. A new type is one line here. */
const reportTypes: Readonly<Record<string, readonly [Taxonomy, ClassificationType]>> = {
  'login-attack': ['intrusion-attempts', 'brute-force'],
  'brute-force': ['intrusion-attempts', 'brute-force'],
  bruteforce: ['intrusion-attempts', 'brute-force'],
  'login-failure': ['intrusion-attempts', 'brute-force'],
  spam: ['abusive-content', 'spam'],
  'spam-source': ['abusive-content', 'spam'],
  spamvertised: ['abusive-content', 'spam'],
  harvesting: ['information-gathering', 'scanner'],
  'port-scan': ['information-gathering', 'scanner'],
  portscan: ['information-gathering', 'scanner'],
  scan: ['information-gathering', 'scanner'],
  'vulnerability-scan': ['information-gathering', 'scanner'],
  ddos: ['availability', 'ddos'],
  dos: ['availability', 'dos'],
  'malware-attack': ['malicious-code', 'infected-system'],
  malware: ['malicious-code', 'malware-distribution'],
  'malware-distribution': ['malicious-code', 'malware-distribution'],
  bot: ['malicious-code', 'infected-system'],
  botnet: ['malicious-code', 'infected-system'],
  'botnet-drone': ['malicious-code', 'infected-system'],
  'c2-server': ['malicious-code', 'c2-server'],
  phishing: ['fraud', 'phishing'],
  'phishing-site': ['fraud', 'phishing'],
  fraud: ['fraud', 'masquerade'],
  copyright: ['fraud', 'copyright'],
  'copyright-infringement': ['fraud', 'copyright'],
  'hack-attack': ['intrusion-attempts', 'exploit'],
  exploit: ['intrusion-attempts', 'exploit'],
  'ids-alert': ['intrusion-attempts', 'ids-alert'],
  defacement: ['intrusions', 'application-compromise'],
  'child-abuse': ['abusive-content', 'violence'],
  'open-resolver': ['vulnerable', 'ddos-amplifier'],
  'open-proxy': ['vulnerable', 'potentially-unwanted-accessible'],
  'open-service': ['vulnerable', 'potentially-unwanted-accessible'],
  vulnerability: ['vulnerable', 'vulnerable-system'],
};

/** When Report-Type is unknown: the Category's broad class. */
const categories: Readonly<Record<string, readonly [Taxonomy, ClassificationType]>> = {
  abuse: ['other', 'undetermined'],
  fraud: ['fraud', 'masquerade'],
  info: ['other', 'other'],
  private: ['other', 'undetermined'],
};

/** The YAML fields we read, after lower-casing the keys. Values stay loose: senders write numbers as strings. */
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v).trim());
const xarfYamlSchema = z
  .object({
    'reported-from': scalar.optional(),
    category: scalar.optional(),
    'report-type': scalar,
    'report-id': scalar.optional(),
    date: scalar.optional(),
    source: scalar,
    'source-type': scalar.optional(),
    port: scalar.optional(),
    'destination-port': scalar.optional(),
    destination: scalar.optional(),
    service: scalar.optional(),
    'user-agent': scalar.optional(),
    version: scalar.optional(),
    'schema-url': scalar.optional(),
    attachment: scalar.optional(),
    occurrences: scalar.optional(),
    tlp: scalar.optional(),
  })
  .passthrough();

const FEED = 'x-arf';

export const xArfMailParser: MailFormatParser = {
  format: 'x-arf',
  detectMail(mail) {
    const marked = /^yes$/i.test(mail.headers.get('x-arf') ?? '') || mail.headers.has('x-xarf');
    const yaml = reportPart(mail) !== undefined;
    if (marked && yaml) return 0.95;
    if (yaml) return 0.8;
    return marked ? 0.6 : 0;
  },
  parseMail(mail, { receivedAt }) {
    return parseXArf(mail, receivedAt);
  },
};

export const xArfParser: FormatParser = mailFileParser(xArfMailParser, (head) => {
  const marked = /^X-ARF:\s*yes\b/im.test(head) || /^X-XARF:\s*\S/im.test(head);
  const yaml = /^Report-Type:\s*\S/im.test(head) && /^Source:\s*\S/im.test(head);
  if (marked && yaml) return 0.95;
  if (marked) return 0.6;
  return yaml && /^Reported-From:/im.test(head) ? 0.7 : 0;
});

/** The YAML report part: named report.txt, or the first text part with Report-Type and Source lines. */
function reportPart(mail: MailMessage): MailPart | undefined {
  const candidates = mail
    .parts()
    .filter(
      (p) =>
        !p.isMultipart &&
        p.message === undefined &&
        p.encodedSize < 1_000_000 &&
        /^(text\/|application\/(x-)?yaml)/.test(p.contentType),
    );
  return (
    candidates.find((p) => /^report\.(txt|ya?ml)$/i.test(p.fileName ?? '')) ??
    candidates.find((p) => /^Report-Type:\s*\S/im.test(p.rawBody()) && /^Source:\s*\S/im.test(p.rawBody()))
  );
}

function parseXArf(mail: MailMessage, receivedAt: Date): ParserOutput {
  const errors: ParseError[] = [];
  const part = reportPart(mail);
  if (!part) {
    errors.push({
      message: 'X-ARF mail without a YAML report part (report.txt)',
      location: mail.root.path || 'message',
    });
    return { format: 'x-arf', events: [], errors, reporter: { automated: true } };
  }
  // The root part's path is empty: then the location is the message itself.
  const location = part.path || 'message';
  const text = part.text();
  const fields = readYaml(text, location, errors);
  const parsed = xarfYamlSchema.safeParse(fields);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      errors.push({
        message: `X-ARF report: ${issue.path.join('.') || 'report'}: ${issue.message}`,
        location,
      });
    }
    return { format: 'x-arf', events: [], errors, reporter: reporterOf(undefined) };
  }
  const r = parsed.data;
  const reportType = r['report-type'].toLowerCase();
  const category = r.category?.toLowerCase();
  const mapped =
    reportTypes[reportType] ??
    (category ? categories[category] : undefined) ??
    (['other', 'undetermined'] as const);
  const extra: Record<string, unknown> = { report_type: reportType };
  for (const [key, value] of Object.entries(r)) {
    if (['report-type', 'source', 'date', 'port'].includes(key) || value === undefined) continue;
    extra[key.replace(/-/g, '_')] = value;
  }
  const evidence = mail
    .parts()
    .find((p) => p !== part && p.path > part.path && !p.isMultipart && p.isAttachment);
  if (evidence)
    extra.evidence = {
      content_type: evidence.contentType,
      name: evidence.fileName,
      size: evidence.bytes().length,
      location: evidence.path,
    };
  const version = mail.headers.has('x-xarf') ? '0.1' : r.version;
  if (version) extra.version = version;

  const event: IntakeEvent = {
    'classification.taxonomy': mapped[0],
    'classification.type': mapped[1],
    // The field dictionary allows 200 characters; a mangled Report-Type line can be any length.
    'classification.identifier': reportType.slice(0, 200),
    'feed.name': FEED,
    raw: clipRaw(text),
    'raw.location': location,
    extra,
  };
  const provider = domainOfAddress(r['reported-from']) ?? domainOfAddress(mail.from?.address);
  if (provider) event['feed.provider'] = provider;
  if (!setSource(event, r.source, r['source-type'])) {
    errors.push({
      message: `Source ${JSON.stringify(r.source)} is not an IP address, URL or host name`,
      location,
    });
    return { format: 'x-arf', events: [], errors, reporter: reporterOf(r['reported-from']) };
  }
  const port = Number(r.port);
  if (r.port !== undefined) {
    if (Number.isInteger(port) && port >= 0 && port < 65536) event['source.port'] = port;
    else errors.push({ message: `Port ${JSON.stringify(r.port)} is not a port number`, location });
  }
  const destination = firstIp(r.destination);
  if (destination) event['destination.ip'] = destination;
  const dport = Number(r['destination-port']);
  if (Number.isInteger(dport) && dport > 0 && dport < 65536) event['destination.port'] = dport;
  if (r.service) event['protocol.application'] = r.service.toLowerCase().slice(0, 100);
  applySourceTime(event, r.date, receivedAt, errors, location);
  return { format: 'x-arf', events: [event], errors, reporter: reporterOf(r['reported-from']) };
}

function reporterOf(reportedFrom: string | undefined): ParserOutput['reporter'] {
  const email =
    reportedFrom && /@/.test(reportedFrom) ? reportedFrom.replace(/^.*<|>.*$/g, '').trim() : undefined;
  return email ? { automated: true, email } : { automated: true };
}

/** Source by Source-Type (ipv4, ipv6, ip-address, uri, url, domain, email…), or by its shape when the type is absent. */
function setSource(event: IntakeEvent, source: string, sourceType: string | undefined): boolean {
  const type = sourceType?.toLowerCase() ?? '';
  const value = source.trim();
  if (/^(ipv4|ipv6|ip|ip-address)$/.test(type) || (type === '' && isIP(value.replace(/^\[|\]$/g, '')))) {
    const ip = firstIp(value);
    if (ip) event['source.ip'] = ip;
    return ip !== undefined;
  }
  if (/^(uri|url)$/.test(type) || /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    event['source.url'] = value;
    const host = hostOfUrl(value);
    if (host && isIP(host)) event['source.ip'] = host;
    else if (asFqdn(host)) event['source.fqdn'] = asFqdn(host);
    return true;
  }
  if (type === 'email' || value.includes('@')) {
    event['source.account'] = value;
    const domain = domainOfAddress(value);
    if (domain) event['source.fqdn'] = domain;
    return domain !== undefined;
  }
  const fqdn = asFqdn(value);
  if (fqdn) event['source.fqdn'] = fqdn;
  return fqdn !== undefined;
}

/** YAML → record with lower-cased keys; on a syntax error, the error with its line, then `Key: value` lines. */
function readYaml(text: string, location: string, errors: ParseError[]): Record<string, unknown> {
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length === 0) {
    const value: unknown = doc.toJS();
    if (value && typeof value === 'object' && !Array.isArray(value))
      return lowerKeys(value as Record<string, unknown>);
    errors.push({ message: 'X-ARF report part is not a YAML mapping', location });
    return {};
  }
  const first = doc.errors[0]!;
  const offset = first.pos[0];
  const line = Number.isInteger(offset) ? text.slice(0, offset).split('\n').length : undefined;
  errors.push({
    message: `X-ARF report is not valid YAML${line ? ` (line ${line})` : ''}: ${first.message.split('\n')[0]}; read line by line instead`,
    location: line ? `${location}:${line}` : location,
  });
  const out: Record<string, unknown> = {};
  for (const m of text.matchAll(/^[ \t]*([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*?)[ \t]*$/gm)) {
    const key = m[1]!.toLowerCase();
    if (!(key in out)) out[key] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

function lowerKeys(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) out[k.toLowerCase()] = v;
  return out;
}
