import { clipRaw, type IntakeEvent, isEventFqdn } from '../event.js';
import { htmlToText } from '../mail/html-text.js';
import type { FormatParser, ParserInput, ParserOutput } from '../parser.js';
import type { DmcaNotice, ParseError, Reporter } from '../report.js';
import { decodeText, peekText } from './text/decode-text.js';
import { extractEmails, extractUrls, hostOf, refang } from './text/indicator-extractor.js';

/**
 * DMCA takedown notices in free text → which of the six elements of 17 U.S.C. 512(c)(3)(A) are present, the
 * claimant, the rights holder when an agent writes, the works, and one `fraud/copyright` event per infringing URL.
 *
 * The elements are recognised by the statutory phrases notices actually use (senders copy the statute), with
 * tolerance for paraphrase: (i) a physical or electronic signature — `/s/ Name`, `Signed:`/`Signature:`, or a
 * name after a sign-off; (ii) identification of the copyrighted work; (iii) the infringing material and where it
 * is (a URL, in practice); (iv) contact information — e-mail, phone or postal address; (v) the good-faith
 * statement; (vi) accuracy and, under penalty of perjury, authority to act. Judging whether a notice is legally
 * sufficient is src/dmca's job; this parser only reports what the text contains, and never drops a notice for
 * missing elements (the desk must still answer it, e.g. asking for what is missing per 512(c)(3)(B)).
 */

export const dmcaElementNames = {
  signature: '(i) physical or electronic signature',
  copyrightedWork: '(ii) identification of the copyrighted work',
  infringingMaterial: '(iii) identification of the infringing material and its location',
  contactInformation: '(iv) contact information of the complaining party',
  goodFaithStatement: '(v) good-faith statement',
  accuracyUnderPenaltyOfPerjury: '(vi) accuracy and authority under penalty of perjury',
} as const;

export const dmcaParser: FormatParser = {
  format: 'dmca',
  detect(input: ParserInput): number {
    const head = peekText(input.bytes, 16384);
    let score = 0;
    if (/\bDMCA\b|Digital Millennium Copyright Act/i.test(head)) score += 0.4;
    if (/512\s*\(\s*c\s*\)|17 U\.?S\.?C\.?/i.test(head)) score += 0.2;
    if (/good[- ]faith belief/i.test(head)) score += 0.2;
    if (/penalty of perjury/i.test(head)) score += 0.2;
    if (/\binfring/i.test(head)) score += 0.1;
    if (/\bcopyright/i.test(head)) score += 0.1;
    if (/take ?down|remov(?:e|al) of/i.test(head)) score += 0.05;
    // Copyright words alone (a free-text complaint mentioning piracy) stay below the free-text parser's 0.5.
    return Math.min(Math.round(score * 100) / 100, 0.97);
  },
  parse(input: ParserInput): ParserOutput {
    const errors: ParseError[] = [];
    const decoded = decodeText(input.bytes);
    if (decoded.fellBack)
      errors.push({ message: 'input is not valid UTF-8; decoded as Windows-1252', location: 'file' });
    const html = /<(?:html|body|div|p|br|table)\b/i.test(decoded.text.slice(0, 4096));
    const text = html ? htmlToText(decoded.text) : decoded.text;
    const notice = readDmcaNotice(text);
    const lines = text.split(/\r?\n/);
    const events: IntakeEvent[] = notice.urls.map((u) => {
      const event: Record<string, unknown> = {
        'classification.taxonomy': 'fraud',
        'classification.type': 'copyright',
        'classification.identifier': 'dmca',
        'classification.confidence': notice.dmca.complete ? 0.95 : 0.75,
        'source.url': u.url,
      };
      if (/^[\d.]+$|:/.test(u.host)) event['source.ip'] = u.host;
      // A host the field dictionary refuses (found by fuzzing: `a..b`, 300 characters) stays in the URL only.
      else if (isEventFqdn(u.host)) event['source.fqdn'] = u.host;
      event['feed.name'] = 'dmca';
      event.raw = clipRaw(lines[u.line - 1] ?? u.url);
      event['raw.location'] = String(u.line);
      event.extra = {
        dmca_complete: notice.dmca.complete,
        ...(notice.dmca.missing.length > 0 ? { dmca_missing: notice.dmca.missing } : {}),
        ...(notice.dmca.rightsHolder ? { rights_holder: notice.dmca.rightsHolder } : {}),
      };
      return event as IntakeEvent;
    });
    if (events.length === 0)
      errors.push({ message: 'the notice names no infringing URL (element (iii) missing)', location: '1' });
    const claimant = notice.dmca.claimant;
    const reporter: Partial<Reporter> = {
      ...(claimant.name ? { name: claimant.name } : {}),
      ...(claimant.organisation ? { organisation: claimant.organisation } : {}),
      ...(claimant.email ? { email: claimant.email } : {}),
      anonymous: !claimant.name && !claimant.organisation && !claimant.email,
      automated: /\bautomated (?:system|notice|process)|auto-?generated|do not reply/i.test(text),
    };
    return { format: 'dmca', events, errors, reporter, dmca: notice.dmca };
  },
};

interface LocatedUrl {
  readonly url: string;
  readonly host: string;
  readonly line: number;
}

const SIGN_OFF =
  /^\s*(?:sincerely|regards|best regards|kind regards|respectfully(?: submitted)?|yours (?:truly|faithfully|sincerely)|thank you|thanks|cordially|very truly yours)[,.!]?\s*$/i;
const NAME_LINE =
  /^\s*(?:[A-Z][a-zA-Z'’.-]+|[A-Z]\.)(?:\s+(?:[A-Z][a-zA-Z'’.-]+|[A-Z]\.|van|von|de|der|da|del|la|le)){1,4}\s*$/;
const WORK_LABEL =
  /^\s*(?:[-*•]\s*)?(?:copyrighted works?|original works?|works?(?: infringed)?|title(?: of (?:the )?work)?|infringed works?|name of (?:the )?work)\s*(?:\(\w+\))?\s*[:\-–]\s*(.+)$/i;
const WORK_STATEMENT =
  /\b(?:copyrighted|original) works?\b|\bown(?:s|er of)? (?:the )?(?:exclusive )?(?:copyright|rights)\b|\bcopyright (?:in|to|of) |\bcopyright owner of (?:the|my|our)\b/i;
const ORIGINAL_URL_LABEL =
  /\b(?:original|authori[sz]ed|official|legitimate|copyrighted work|our (?:web)?site|work)\b[^:]*:\s*$/i;

/** Read a notice's text: elements, claimant, works and the infringing URLs with their line numbers. */
export function readDmcaNotice(raw: string): {
  dmca: DmcaNotice;
  urls: LocatedUrl[];
  evidence: DmcaElementEvidence;
} {
  const text = refang(raw);
  const lines = text.split(/\r?\n/);
  const flat = text.replace(/\s+/g, ' ');

  const signature = findSignature(lines);
  const works = findWorks(lines, flat);
  const urls = findInfringingUrls(lines);
  const emails = extractEmails(text);
  const labelled = (label: RegExp) => {
    for (const line of lines) {
      const m = label.exec(line);
      if (m?.[1]?.trim()) return m[1].trim();
    }
    return undefined;
  };
  const email =
    labelled(/^\s*(?:e-?mail|email address|contact e-?mail)\s*:\s*(?:mailto:)?(\S+@\S+)/i) ?? emails[0];
  const phone =
    labelled(/^\s*(?:phone|telephone|tel\.?|mobile|fax)\s*(?:number)?\s*:\s*(\+?[\d][\d\s().\-/]{6,}\d)/i) ??
    /(?:phone|tel\.?|telephone)[^\d+]{0,12}(\+?\d[\d\s().-]{6,}\d)/i.exec(flat)?.[1] ??
    /(?<![\w.])\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}(?![\w.])/.exec(flat)?.[0];
  const address = labelled(/^\s*(?:(?:postal |mailing )?address)\s*:\s*(.+)$/i) ?? findStreetAddress(lines);
  const organisation = labelled(
    /^\s*(?:company|organi[sz]ation|firm|agency|on behalf of company)\s*:\s*(.+)$/i,
  );
  const name =
    labelled(/^\s*(?:name|full name|complainant|claimant|contact person)\s*:\s*([^@\n]+)$/i) ??
    signature?.name;
  const rightsHolder = findRightsHolder(flat, lines);

  const workStatement = WORK_STATEMENT.exec(flat);
  const goodFaith =
    /good[- ]faith belief[^.]{0,300}?(?:not authori[sz]ed|unauthori[sz]ed|without (?:the )?(?:authori[sz]ation|permission))/i.exec(
      flat,
    );
  const perjury = /penalty of perjury/i.exec(flat);
  const accuracy =
    perjury !== null &&
    /\baccurate\b/i.test(flat) &&
    /authori[sz]ed to act|(?:am|is|are) the (?:copyright )?owner|(?:exclusive )?right(?:s)? (?:that is|that are|allegedly) infringed/i.test(
      flat,
    );
  const elements = {
    signature: signature !== undefined,
    copyrightedWork: works.length > 0 || workStatement !== null,
    infringingMaterial: urls.length > 0,
    contactInformation: Boolean(email || phone || address),
    goodFaithStatement: goodFaith !== null,
    accuracyUnderPenaltyOfPerjury: accuracy,
  };
  // The words that satisfied each element, so a reviewer (and the sender, when asked for what is missing)
  // sees why the desk counted it.
  const evidence: DmcaElementEvidence = {
    signature: signature?.text,
    copyrightedWork:
      works.length > 0
        ? works.join('; ')
        : workStatement
          ? (sentenceOf(text, WORK_STATEMENT) ?? sentenceAround(flat, workStatement.index))
          : undefined,
    infringingMaterial: urls.length > 0 ? urls.map((u) => u.url).join('\n') : undefined,
    contactInformation:
      email || phone || address
        ? [address, phone && `phone ${phone.trim()}`, email].filter(Boolean).join('; ')
        : undefined,
    goodFaithStatement: goodFaith
      ? (sentenceOf(text, /good[- ]faith belief/i) ?? sentenceAround(flat, goodFaith.index))
      : undefined,
    accuracyUnderPenaltyOfPerjury:
      accuracy && perjury
        ? (sentenceOf(text, /penalty of perjury/i) ?? sentenceAround(flat, perjury.index))
        : undefined,
  };
  const missing = (Object.keys(elements) as Array<keyof typeof elements>)
    .filter((k) => !elements[k])
    .map((k) => dmcaElementNames[k]);
  const claimant = {
    ...(name ? { name: clip(name, 200) } : {}),
    ...(organisation ? { organisation: clip(organisation, 200) } : {}),
    ...(email
      ? {
          email: email
            .toLowerCase()
            .replace(/^mailto:/, '')
            .replace(/[>),.;]+$/, ''),
        }
      : {}),
    ...(phone ? { phone: phone.trim() } : {}),
    ...(address ? { address: clip(address, 300) } : {}),
  };
  return {
    dmca: {
      elements,
      missing,
      complete: missing.length === 0,
      claimant,
      ...(rightsHolder ? { rightsHolder } : {}),
      works,
      infringingUrls: urls.map((u) => u.url),
      ...(signature?.text ? { signature: signature.text } : {}),
    },
    urls,
    evidence,
  };
}

/** Per element of 512(c)(3)(A), the text that satisfied it (undefined when the element is missing). */
export type DmcaElementEvidence = { readonly [K in keyof DmcaNotice['elements']]: string | undefined };

/** The sentence of `flat` (whitespace-collapsed text) around `index`, clipped to 500 characters. */
export function sentenceAround(flat: string, index: number): string {
  // A sentence ends at `.`, `!` or `?` before a space (not the dots of a domain) or at a paragraph break.
  const before = flat.slice(0, index);
  let start = 0;
  for (const m of before.matchAll(/[.!?](?=\s)|\u00b6/g)) start = m.index + 1;
  const rest = flat.slice(index);
  const endMatch = /[.!?](?=\s|$)|\u00b6/.exec(rest);
  const end = endMatch ? index + endMatch.index + (endMatch[0] === '\u00b6' ? 0 : 1) : flat.length;
  return clip(
    flat
      .slice(start, end)
      .replace(/\u00b6/g, ' ')
      .trim(),
    500,
  );
}

/** The text with whitespace collapsed and each paragraph break kept as `¶` (for sentenceAround). */
export function paragraphFlat(text: string): string {
  return text.replace(/\r?\n[ \t]*\r?\n\s*/g, ' \u00b6 ').replace(/[ \t\r\n]+/g, ' ');
}

/** The sentence of `text` where `pattern` first matches, or undefined. */
export function sentenceOf(text: string, pattern: RegExp): string | undefined {
  const pflat = paragraphFlat(text);
  const m = pattern.exec(pflat);
  return m ? sentenceAround(pflat, m.index) : undefined;
}

function findSignature(lines: readonly string[]): { name?: string; text: string } | undefined {
  for (const line of lines) {
    const slash = /^\s*(?:(?:electronic )?signature\s*:\s*)?\/s\/\s*(.+?)\s*$/i.exec(line);
    if (slash) return { name: slash[1]!, text: line.trim() };
    const signed = /^\s*(?:signed|signature|electronically signed(?: by)?)\s*[:-]\s*(.{2,100}?)\s*$/i.exec(
      line,
    );
    if (signed && !/^\s*$/.test(signed[1]!))
      return { name: signed[1]!.replace(/^\/s\/\s*/, ''), text: line.trim() };
  }
  for (const line of lines) {
    const inline = /(?:^|\s)\/s\/\s*([A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,4})/.exec(line);
    if (inline) return { name: inline[1]!, text: `/s/ ${inline[1]!}` };
  }
  // A name on one of the two non-empty lines after a sign-off ("Sincerely,\nJane Doe").
  for (let i = 0; i < lines.length; i++) {
    if (!SIGN_OFF.test(lines[i]!)) continue;
    const next = lines
      .slice(i + 1)
      .filter((l) => l.trim() !== '')
      .slice(0, 2);
    const name = next.find((l) => NAME_LINE.test(l));
    if (name) return { name: name.trim(), text: `${lines[i]!.trim()} ${name.trim()}` };
  }
  return undefined;
}

function findWorks(lines: readonly string[], flat: string): string[] {
  const works: string[] = [];
  for (const line of lines) {
    const m = WORK_LABEL.exec(line);
    if (m?.[1] && !/^https?:\/\//i.test(m[1].trim())) works.push(clip(m[1].trim(), 300));
  }
  const titled =
    /\b(?:my|our|the) (?:original )?(?:article|photograph|photo|book|song|album|film|movie|video|software|artwork|illustration|font|poem|novel|podcast)s?\s+["“]([^"”]{2,200})["”]/gi;
  for (const m of flat.matchAll(titled)) works.push(m[1]!.trim());
  const quoted =
    /copyright(?:ed)? (?:work|film|motion picture|song|album|book|photograph|software|video|series|game)s?,?\s+(?:entitled |titled |called )?["“]([^"”]{2,200})["”]/gi;
  for (const m of flat.matchAll(quoted)) works.push(m[1]!.trim());
  return [...new Set(works)];
}

/**
 * URLs the notice says infringe. URLs under a label naming the original work ("Original work:", "Authorized
 * site:") are the claimant's own and are left out, as are URLs on the claimant's own domain when that domain is
 * also its e-mail domain.
 */
function findInfringingUrls(lines: readonly string[]): LocatedUrl[] {
  const emailDomains = new Set(extractEmails(lines.join('\n')).map((e) => e.slice(e.indexOf('@') + 1)));
  const found = new Map<string, LocatedUrl>();
  let originalSection = false;
  lines.forEach((line, i) => {
    if (/^\s*$/.test(line)) originalSection = false;
    if (ORIGINAL_URL_LABEL.test(line)) originalSection = true;
    if (/\binfring|\blocation|\bURLs?\b\s*:|\bavailable at\b|\blocated at\b/i.test(line))
      originalSection = false;
    const inlineOriginal = /^\s*(?:[-*•]\s*)?(?:original|authori[sz]ed|official)[^:]{0,40}:/i.test(line);
    for (const u of extractUrls(line)) {
      if (originalSection || inlineOriginal) continue;
      const host = hostOf(u.url) ?? u.host;
      if ([...emailDomains].some((d) => host === d || host.endsWith(`.${d}`))) continue;
      if (!found.has(u.url)) found.set(u.url, { url: u.url, host, line: i + 1 });
    }
  });
  return [...found.values()];
}

function findStreetAddress(lines: readonly string[]): string | undefined {
  const street =
    /\b\d{1,6}\s+[A-Z0-9][\w .'-]*\b(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Drive|Dr\.?|Lane|Ln\.?|Way|Suite|Plaza|Court|Ct\.?|Place|Pl\.?|Parkway)\b/;
  for (let i = 0; i < lines.length; i++) {
    if (!street.test(lines[i]!)) continue;
    const city = lines[i + 1]?.trim();
    const cityLine = city && /\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b|\b\d{4,5}\b/.test(city) ? `, ${city}` : '';
    return `${lines[i]!.trim()}${cityLine}`;
  }
  return undefined;
}

const GENERIC_HOLDER =
  /^(?:the |a |an )?(?:copyright )?(?:owner|holder|rights ?holder|client|clients|company)s?\b|^(?:my|our|its|their|his|her) /i;

function findRightsHolder(flat: string, lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const m =
      /^\s*(?:rights ?holder|copyright (?:owner|holder)|owner of (?:the )?rights|on behalf of)\s*:\s*(.+)$/i.exec(
        line,
      );
    if (m?.[1]) return clip(m[1].trim(), 200);
  }
  for (const m of flat.matchAll(
    /\bon behalf of\s+([A-Z0-9][\w&.,'’ -]{1,120}?(?:,? (?:Inc|LLC|Ltd|GmbH|Corp|Co|S\.A)\b\.?)?)(?=\s*(?:\(|,|;|\.\s|\.$| who | which | and its | regarding | concerning |$))/g,
  )) {
    const holder = m[1]!.trim().replace(/,$/, '');
    if (!GENERIC_HOLDER.test(holder)) return clip(holder, 200);
  }
  return undefined;
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
