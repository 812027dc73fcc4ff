import { readDmcaNotice, sentenceAround, sentenceOf } from '../intake/parsers/dmca-parser.js';
import { extractUrls, refang } from '../intake/parsers/text/indicator-extractor.js';

/**
 * A notice or counter-notice checked against the statute, element by element, with the text that satisfied
 * each one. The notice elements are 17 U.S.C. 512(c)(3)(A)(i)–(vi), read by the intake's DMCA parser (one
 * reader of notices, not two); the counter-notice elements are 512(g)(3)(A)–(D), read here.
 *
 * This is what `aupdesk dmca check` prints and what the DMCA workflow decides on: a complete notice opens a
 * takedown, an incomplete one that substantially complies with (ii)–(iv) earns a request for the missing
 * elements (512(c)(3)(B)(ii)), anything else is rejected with the reason; neither of the last two touches
 * the customer.
 */

export const noticeElementIds = [
  'signature',
  'work',
  'material',
  'contact',
  'good-faith',
  'accuracy-authority',
] as const;
export type NoticeElementId = (typeof noticeElementIds)[number];

export const counterElementIds = [
  'signature',
  'material',
  'mistake-statement',
  'jurisdiction-consent',
] as const;
export type CounterElementId = (typeof counterElementIds)[number];

/** What each element is, in the statute's words (for replies that name what is missing). */
export const elementDescriptions: Record<NoticeElementId | CounterElementId, string> = {
  signature:
    'a physical or electronic signature of the person authorised to act (512(c)(3)(A)(i) / (g)(3)(A))',
  work: 'identification of the copyrighted work claimed to be infringed, or a representative list (512(c)(3)(A)(ii))',
  material:
    'identification of the material (infringing, or removed) and information reasonably sufficient to locate it, such as its URL (512(c)(3)(A)(iii) / (g)(3)(B))',
  contact:
    'information reasonably sufficient to contact the complaining party: address, telephone number, e-mail (512(c)(3)(A)(iv))',
  'good-faith':
    'a statement of good-faith belief that the use is not authorised by the copyright owner, its agent, or the law (512(c)(3)(A)(v))',
  'accuracy-authority':
    'a statement that the notice is accurate and, under penalty of perjury, that the complaining party is authorised to act for the owner (512(c)(3)(A)(vi))',
  'mistake-statement':
    'a statement under penalty of perjury of good-faith belief that the material was removed as a result of mistake or misidentification (512(g)(3)(C))',
  'jurisdiction-consent':
    "name, address and telephone number, consent to the jurisdiction of the Federal District Court for the subscriber's district, and acceptance of service of process from the complaining party (512(g)(3)(D))",
};

export interface ElementResult {
  readonly found: boolean;
  readonly text: string | null;
}

export interface NoticeClaimant {
  readonly name?: string | undefined;
  readonly organisation?: string | undefined;
  readonly email?: string | undefined;
  readonly phone?: string | undefined;
  readonly address?: string | undefined;
}

export interface NoticeCheck {
  readonly kind: 'notice';
  readonly complete: boolean;
  readonly elements: Record<NoticeElementId, ElementResult>;
  readonly missing: NoticeElementId[];
  /** 512(c)(3)(B)(ii): the notice substantially complies with (ii), (iii) and (iv). */
  readonly substantiallyComplies: boolean;
  readonly claimant: NoticeClaimant;
  readonly rightsHolder: string | null;
  readonly works: string[];
  readonly urls: string[];
}

export interface CounterNoticeCheck {
  readonly kind: 'counter-notice';
  readonly complete: boolean;
  readonly elements: Record<CounterElementId, ElementResult>;
  readonly missing: CounterElementId[];
  readonly subscriber: NoticeClaimant;
  readonly urls: string[];
  /** A notice reference (DMCA-…) the counter-notice names, when it names one. */
  readonly noticeRef: string | null;
}

const MISTAKE =
  /mistake or misidentification|misidentif|removed (?:or disabled )?(?:as a result of|by|in) (?:a )?mistake/i;
const CONSENT =
  /consent to the jurisdiction of (?:the )?(?:federal )?(?:united states )?district court|consent to (?:the )?jurisdiction[^.]{0,120}district court/i;

const el = (text: string | undefined | null): ElementResult =>
  text ? { found: true, text } : { found: false, text: null };

export function checkNotice(text: string): NoticeCheck {
  const { dmca, evidence } = readDmcaNotice(text);
  const elements: Record<NoticeElementId, ElementResult> = {
    signature: el(evidence.signature),
    work: el(evidence.copyrightedWork),
    material: el(evidence.infringingMaterial),
    contact: el(evidence.contactInformation),
    'good-faith': el(evidence.goodFaithStatement),
    'accuracy-authority': el(evidence.accuracyUnderPenaltyOfPerjury),
  };
  const missing = noticeElementIds.filter((id) => !elements[id].found);
  return {
    kind: 'notice',
    complete: missing.length === 0,
    elements,
    missing,
    substantiallyComplies: elements.work.found && elements.material.found && elements.contact.found,
    claimant: dmca.claimant,
    rightsHolder: dmca.rightsHolder ?? null,
    works: dmca.works,
    urls: dmca.infringingUrls,
  };
}

/** A text that calls itself a counter-notice or makes the 512(g)(3)(C) statement. */
export function looksLikeCounterNotice(text: string): boolean {
  return /counter[- ]?(?:notice|notification)|512\s*\(\s*g\s*\)|mistake or misidentification/i.test(text);
}

export function checkCounterNotice(raw: string): CounterNoticeCheck {
  const text = refang(raw);
  const flat = text.replace(/\s+/g, ' ');
  // (A) and the contact details read as in a notice: the parser's signature and contact readers.
  const { dmca, evidence } = readDmcaNotice(text);
  const urls = [...new Set(extractUrls(text).map((u) => u.url))];

  const perjury = /penalty of perjury/i.exec(flat);
  const mistake = MISTAKE.exec(flat);
  const mistakeText =
    perjury && mistake && /good[- ]faith belief/i.test(flat) ? sentenceOf(text, MISTAKE) : undefined;

  const consent = CONSENT.exec(flat);
  const service = /accept service of process/i.test(flat);
  const { name, phone, address } = dmca.claimant;
  const jurisdiction =
    consent && service && name && phone && address
      ? `${name}; ${address}; phone ${phone}; ${sentenceOf(text, CONSENT) ?? sentenceAround(flat, consent.index)}`
      : undefined;

  const elements: Record<CounterElementId, ElementResult> = {
    signature: el(evidence.signature),
    material: el(urls.length > 0 ? urls.join('\n') : undefined),
    'mistake-statement': el(mistakeText),
    'jurisdiction-consent': el(jurisdiction),
  };
  const missing = counterElementIds.filter((id) => !elements[id].found);
  return {
    kind: 'counter-notice',
    complete: missing.length === 0,
    elements,
    missing,
    subscriber: dmca.claimant,
    urls,
    noticeRef: /\bDMCA-\d{4,}\b/.exec(text)?.[0] ?? null,
  };
}

/** The JSON `aupdesk dmca check` prints: the interface's fields only. */
export function checkSummary(check: NoticeCheck | CounterNoticeCheck): {
  kind: 'notice' | 'counter-notice';
  complete: boolean;
  elements: Record<string, ElementResult>;
  missing: string[];
} {
  return {
    kind: check.kind,
    complete: check.complete,
    elements: check.elements,
    missing: [...check.missing],
  };
}
