import { isIP } from 'node:net';
import type { z } from 'zod';
import type { ClassificationType, Taxonomy } from '../../taxonomy/taxonomy.js';
import { clipRaw, type IntakeEvent } from '../event.js';
import type { MailFormatParser } from '../mail/mail-format-parser.js';
import type { MailMessage, MailPart } from '../mail/mail-message.js';
import { applySourceTime, asFqdn, firstIp, hostOfUrl } from '../mail/report-fields.js';
import type { FormatParser, ParserInput, ParserOutput } from '../parser.js';
import type { ParseError, Reporter } from '../report.js';
import { v4CategoryRequirements, xarfV3Schema, xarfV4Schema } from './xarf-schema.js';

/**
 * XARF JSON, v4 and v3 (schemas in xarf-schema.ts), as a standalone `.json` file or attached to a mail
 * (any JSON part whose content is an XARF report; the mail may also carry `X-XARF`/`X-ARF` headers). A file
 * may hold one report or an array of them. A report that breaks its schema is still read when its source and
 * type can be made out — each violation is an error with the JSON path — because an abuse desk would rather
 * act on a sloppy report than drop it; one that names no usable source yields no event.
 */

type Pair = readonly [Taxonomy, ClassificationType];

/** v4 `category/type` (and the draft names seen in older v4 drafts) → taxonomy. A new type is one line. */
const v4Types: Readonly<Record<string, Pair>> = {
  'messaging/spam': ['abusive-content', 'spam'],
  'messaging/bulk_messaging': ['abusive-content', 'spam'],
  'abuse/spam': ['abusive-content', 'spam'],
  'connection/login_attack': ['intrusion-attempts', 'brute-force'],
  'connection/auth_failure': ['intrusion-attempts', 'brute-force'],
  'connection/port_scan': ['information-gathering', 'scanner'],
  'connection/ddos': ['availability', 'ddos'],
  'connection/ddos_amplification': ['vulnerable', 'ddos-amplifier'],
  'connection/scraping': ['information-gathering', 'scanner'],
  'connection/sql_injection': ['intrusion-attempts', 'exploit'],
  'connection/vulnerability_scan': ['information-gathering', 'scanner'],
  'connection/vuln_scanning': ['information-gathering', 'scanner'],
  'connection/reconnaissance': ['information-gathering', 'scanner'],
  'connection/infected_host': ['malicious-code', 'infected-system'],
  'connection/bot': ['malicious-code', 'infected-system'],
  'content/phishing': ['fraud', 'phishing'],
  'fraud/phishing': ['fraud', 'phishing'],
  'content/malware': ['malicious-code', 'malware-distribution'],
  'content/fraud': ['fraud', 'masquerade'],
  'content/brand_infringement': ['fraud', 'masquerade'],
  'content/suspicious_registration': ['fraud', 'masquerade'],
  'content/csam': ['abusive-content', 'violence'],
  'content/csem': ['abusive-content', 'violence'],
  'content/exposed_data': ['information-content-security', 'data-leak'],
  'content/remote_compromise': ['intrusions', 'application-compromise'],
  'content/defacement': ['intrusions', 'application-compromise'],
  'content/spamvertised': ['abusive-content', 'spam'],
  'content/web_hack': ['intrusions', 'application-compromise'],
  'copyright/copyright': ['fraud', 'copyright'],
  'copyright/cyberlocker': ['fraud', 'copyright'],
  'copyright/link_site': ['fraud', 'copyright'],
  'copyright/p2p': ['fraud', 'copyright'],
  'copyright/usenet': ['fraud', 'copyright'],
  'copyright/ugc_platform': ['fraud', 'copyright'],
  'copyright/trademark': ['fraud', 'masquerade'],
  'vulnerability/cve': ['vulnerable', 'vulnerable-system'],
  'vulnerability/misconfiguration': ['vulnerable', 'vulnerable-system'],
  'vulnerability/open_service': ['vulnerable', 'potentially-unwanted-accessible'],
  'vulnerability/open': ['vulnerable', 'potentially-unwanted-accessible'],
  'infrastructure/botnet': ['malicious-code', 'infected-system'],
  'infrastructure/bot': ['malicious-code', 'infected-system'],
  'infrastructure/compromised_server': ['intrusions', 'system-compromise'],
  'reputation/blocklist': ['other', 'blacklist'],
  'reputation/threat_intelligence': ['other', 'undetermined'],
};

/** A v4 type not in the table falls back to its category's broad class. */
const v4Categories: Readonly<Record<string, Pair>> = {
  messaging: ['abusive-content', 'spam'],
  connection: ['other', 'undetermined'],
  content: ['other', 'undetermined'],
  copyright: ['fraud', 'copyright'],
  vulnerability: ['vulnerable', 'vulnerable-system'],
  infrastructure: ['malicious-code', 'infected-system'],
  reputation: ['other', 'blacklist'],
};

/** v3 ReportType (lower-case, without separators) → taxonomy. */
const v3Types: Readonly<Record<string, Pair>> = {
  spam: ['abusive-content', 'spam'],
  loginattack: ['intrusion-attempts', 'brute-force'],
  portscan: ['information-gathering', 'scanner'],
  ddos: ['availability', 'ddos'],
  malware: ['malicious-code', 'malware-distribution'],
  phishing: ['fraud', 'phishing'],
  copyright: ['fraud', 'copyright'],
  botnet: ['malicious-code', 'infected-system'],
  childabuse: ['abusive-content', 'violence'],
  rpz: ['other', 'blacklist'],
  openservice: ['vulnerable', 'potentially-unwanted-accessible'],
  harassment: ['abusive-content', 'harmful-speech'],
  exploit: ['intrusion-attempts', 'exploit'],
  hackattack: ['intrusion-attempts', 'exploit'],
  compromisedaccount: ['intrusions', 'unprivileged-account-compromise'],
  potentiallycompromisedaccount: ['intrusions', 'unprivileged-account-compromise'],
  fraud: ['fraud', 'masquerade'],
  defacement: ['intrusions', 'application-compromise'],
  ids: ['intrusion-attempts', 'ids-alert'],
};

const FEED = 'xarf';

export const xarfParser: FormatParser = {
  format: 'xarf',
  detect(input: ParserInput): number {
    const head = Buffer.from(
      input.bytes.buffer,
      input.bytes.byteOffset,
      Math.min(input.bytes.byteLength, 8192),
    )
      .toString('utf8')
      .trimStart();
    if (!head.startsWith('{') && !head.startsWith('[')) return 0;
    if (/"xarf_version"\s*:/.test(head)) return 0.97;
    if (/"ReporterInfo"\s*:/.test(head) || /"ReportType"\s*:/.test(head)) return 0.9;
    return input.fileName?.toLowerCase().includes('xarf') ? 0.3 : 0;
  },
  parse(input: ParserInput): ParserOutput {
    const text = new TextDecoder('utf-8').decode(input.bytes);
    return parseXarfText(text, '1', input.receivedAt);
  },
};

export const xarfMailParser: MailFormatParser = {
  format: 'xarf',
  detectMail(mail) {
    if (jsonReportPart(mail)) return 0.97;
    return 0;
  },
  parseMail(mail, { receivedAt }) {
    const part = jsonReportPart(mail);
    if (!part) {
      return {
        format: 'xarf',
        events: [],
        errors: [{ message: 'no XARF JSON part in this mail', location: mail.root.path || 'message' }],
      };
    }
    return parseXarfText(part.text(), part.path, receivedAt);
  },
};

function jsonReportPart(mail: MailMessage): MailPart | undefined {
  return mail.parts().find((p) => {
    if (p.isMultipart || p.message !== undefined || p.oversize || p.encodedSize > 10_000_000) return false;
    const jsonish =
      p.contentType === 'application/json' ||
      /\.json$/i.test(p.fileName ?? '') ||
      p.contentType === 'text/plain';
    if (!jsonish) return false;
    const head = p.text().trimStart().slice(0, 8192);
    return (head.startsWith('{') || head.startsWith('[')) && /"(xarf_version|ReporterInfo)"\s*:/.test(head);
  });
}

/** One JSON document: a report or an array of reports. `location` is the line (`1`) or MIME part path. */
export function parseXarfText(text: string, location: string, receivedAt: Date): ParserOutput {
  const errors: ParseError[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    errors.push({
      message: `not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      location,
      raw: clipRaw(text),
    });
    return { format: 'xarf', events: [], errors };
  }
  const reports = Array.isArray(doc) ? doc : [doc];
  const events: IntakeEvent[] = [];
  let reporter: Partial<Reporter> | undefined;
  // `raw` is the document as received (re-serialising an array element would not be the input); the
  // location names the element.
  const raw = clipRaw(text);
  reports.forEach((report, i) => {
    const where = Array.isArray(doc) ? `${location}:[${i}]` : location;
    const one = parseOne(report, where, raw, receivedAt, errors);
    if (one.event) events.push(one.event);
    reporter ??= one.reporter;
  });
  return { format: 'xarf', events, errors, reporter: reporter ?? { automated: true } };
}

interface One {
  event?: IntakeEvent;
  reporter?: Partial<Reporter>;
}

function parseOne(
  report: unknown,
  location: string,
  raw: string,
  receivedAt: Date,
  errors: ParseError[],
): One {
  if (!report || typeof report !== 'object' || Array.isArray(report)) {
    errors.push({ message: 'XARF report is not a JSON object', location });
    return {};
  }
  const r = report as Record<string, unknown>;
  if ('xarf_version' in r || 'source_identifier' in r || 'category' in r)
    return parseV4(r, location, raw, receivedAt, errors);
  if ('ReporterInfo' in r || 'Report' in r) return parseV3(r, location, raw, receivedAt, errors);
  errors.push({ message: 'JSON is neither XARF v4 (xarf_version) nor v3 (ReporterInfo/Report)', location });
  return {};
}

function parseV4(
  r: Record<string, unknown>,
  location: string,
  raw: string,
  receivedAt: Date,
  errors: ParseError[],
): One {
  const checked = xarfV4Schema.safeParse(r);
  if (!checked.success) schemaErrors('XARF v4', checked.error, location, errors);
  const category = str(r.category)?.toLowerCase() ?? '';
  const type = str(r.type)?.toLowerCase().replace(/-/g, '_') ?? '';
  const required = v4CategoryRequirements[category];
  for (const field of [...(required?.['*'] ?? []), ...(required?.[type] ?? [])]) {
    if (r[field] === undefined)
      errors.push({ message: `XARF v4 ${category}/${type}: required field "${field}" is missing`, location });
  }
  const pair =
    v4Types[`${category}/${type}`] ??
    v4Types[type] ??
    v4Categories[category] ??
    (['other', 'undetermined'] as const);
  const reporterObj = obj(r.reporter);
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(r)) {
    if (V4_MAPPED.has(key) || key === '_internal') continue;
    if (key === 'evidence' && Array.isArray(value)) {
      // Payloads stay in the evidence store (the report's raw bytes); the event keeps what describes them.
      extra.evidence = value.map((e) => {
        const { payload: _payload, ...rest } = obj(e) ?? {};
        return rest;
      });
    } else extra[key] = value;
  }
  const event: IntakeEvent = {
    'classification.taxonomy': pair[0],
    'classification.type': pair[1],
    'classification.identifier': category && type ? `${category}/${type}` : type || category || 'unknown',
    'feed.name': FEED,
    raw,
    'raw.location': location,
    extra,
  };
  const org = str(reporterObj?.org);
  if (org) event['feed.provider'] = org.slice(0, 200);
  const confidence = r.confidence;
  if (typeof confidence === 'number' && confidence >= 0 && confidence <= 1)
    event['classification.confidence'] = confidence;
  const sourceOk = setSource(event, str(r.source_identifier), str(r.url) ?? str(r.infringing_url));
  setPort(event, 'source.port', r.source_port);
  const dest = firstIp(str(r.destination_ip));
  if (dest) event['destination.ip'] = dest;
  setPort(event, 'destination.port', r.destination_port);
  setProtocol(event, str(r.protocol), str(r.service));
  const malware = str(r.malware_family);
  if (malware) event['malware.name'] = malware.toLowerCase().slice(0, 200);
  const reporter = contactReporter(org, str(reporterObj?.contact));
  if (!sourceOk) {
    errors.push({ message: 'XARF v4 report names no usable source (source_identifier, url)', location });
    return { reporter };
  }
  applySourceTime(event, str(r.timestamp) ?? str(r.first_seen), receivedAt, errors, location);
  return { event, reporter };
}

const V4_MAPPED = new Set([
  'category',
  'type',
  'source_identifier',
  'source_port',
  'destination_ip',
  'destination_port',
  'timestamp',
  'confidence',
  'malware_family',
]);

function parseV3(
  r: Record<string, unknown>,
  location: string,
  raw: string,
  receivedAt: Date,
  errors: ParseError[],
): One {
  const checked = xarfV3Schema.safeParse(r);
  if (!checked.success) schemaErrors('XARF v3', checked.error, location, errors);
  const info = obj(r.ReporterInfo);
  const rep = obj(r.Report) ?? {};
  const reportType = str(rep.ReportType) ?? '';
  const key = reportType.toLowerCase().replace(/[^a-z0-9]/g, '');
  const pair = v3Types[key] ?? (['other', 'undetermined'] as const);
  const source = obj(rep.Source);
  const extra: Record<string, unknown> = {
    xarf_version: String(r.Version ?? '3'),
    report_class: rep.ReportClass,
  };
  for (const [k, value] of Object.entries(rep)) {
    if (
      [
        'ReportType',
        'ReportClass',
        'Date',
        'SourceIp',
        'SourcePort',
        'Source',
        'DestinationIp',
        'DestinationPort',
      ].includes(k)
    )
      continue;
    if ((k === 'Samples' || k === 'Attachment') && Array.isArray(value)) {
      extra[k.toLowerCase()] = value.map((s) => {
        const { Payload: _p, Data: _d, ...rest } = obj(s) ?? {};
        return rest;
      });
    } else extra[k] = value;
  }
  if (r.OnBehalfOf !== undefined) extra.on_behalf_of = r.OnBehalfOf;
  const event: IntakeEvent = {
    'classification.taxonomy': pair[0],
    'classification.type': pair[1],
    'classification.identifier': reportType || 'unknown',
    'feed.name': FEED,
    raw,
    'raw.location': location,
    extra,
  };
  const org = str(info?.ReporterOrg);
  if (org) event['feed.provider'] = org.slice(0, 200);
  const sourceOk = setSource(
    event,
    str(rep.SourceIp) ?? str(source?.IP),
    str(rep.Url) ?? str(rep.InfringingUrl),
  );
  setPort(event, 'source.port', rep.SourcePort ?? source?.Port);
  const dest = firstIp(str(rep.DestinationIp));
  if (dest) event['destination.ip'] = dest;
  setPort(event, 'destination.port', rep.DestinationPort);
  const reporter = contactReporter(
    org,
    str(info?.ReporterContactEmail) ?? str(info?.ReporterOrgEmail),
    str(info?.ReporterContactName),
  );
  if (!sourceOk) {
    errors.push({ message: 'XARF v3 report names no usable source (SourceIp, Url)', location });
    return { reporter };
  }
  applySourceTime(event, str(rep.Date), receivedAt, errors, location);
  return { event, reporter };
}

function setSource(event: IntakeEvent, identifier: string | undefined, url: string | undefined): boolean {
  const id = identifier?.trim();
  if (id && isIP(id)) event['source.ip'] = firstIp(id)!;
  else if (id && /^[a-z][a-z0-9+.-]*:\/\//i.test(id)) url ??= id;
  else if (asFqdn(id)) event['source.fqdn'] = asFqdn(id)!;
  if (url && /^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    event['source.url'] = url.slice(0, 8192);
    const host = hostOfUrl(url);
    if (host && isIP(host) && !event['source.ip']) event['source.ip'] = firstIp(host)!;
    else if (!event['source.fqdn'] && asFqdn(host)) event['source.fqdn'] = asFqdn(host)!;
  }
  return Boolean(event['source.ip'] ?? event['source.fqdn'] ?? event['source.url']);
}

function setPort(event: IntakeEvent, key: 'source.port' | 'destination.port', value: unknown): void {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535) event[key] = n;
}

const TRANSPORTS = new Set(['tcp', 'udp', 'icmp', 'sctp', 'gre']);

function setProtocol(event: IntakeEvent, protocol: string | undefined, service: string | undefined): void {
  const p = protocol?.toLowerCase();
  if (p && TRANSPORTS.has(p)) event['protocol.transport'] = p as 'tcp';
  else if (p) event['protocol.application'] = p.slice(0, 100);
  if (service && !event['protocol.application'])
    event['protocol.application'] = service.toLowerCase().slice(0, 100);
}

function contactReporter(
  org: string | undefined,
  email: string | undefined,
  name?: string,
): Partial<Reporter> {
  return {
    automated: true,
    ...(org ? { organisation: org.slice(0, 300) } : {}),
    ...(email ? { email: email.slice(0, 320) } : {}),
    ...(name ? { name: name.slice(0, 300) } : {}),
  };
}

function schemaErrors(label: string, error: z.ZodError, location: string, errors: ParseError[]): void {
  for (const issue of error.issues.slice(0, 20)) {
    errors.push({
      message: `${label} schema: ${issue.path.join('.') || '(report)'}: ${issue.message}`,
      location,
    });
  }
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
