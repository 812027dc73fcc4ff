import type { InformationRequestInput } from './information-request.js';

/**
 * A legal request as mail states it: subpoenas and orders are letters, not forms, so this reads what the
 * text says plainly (the kind of process, court, case number, filing date, "pending", what is asked, the
 * deadline, the authority invoked, a nondisclosure order) and leaves the rest unknown. A request read this
 * way is assessed like any other: where the policy needs a filed, pending matter and the text does not show
 * one, it is refused with that reason, and an analyst can record the request again from the console.
 */

const MONTHS = 'January|February|March|April|May|June|July|August|September|October|November|December';
const DATE = `(\\d{4}-\\d{2}-\\d{2}|(?:${MONTHS})\\s+\\d{1,2},\\s+\\d{4})`;

function isoDate(text: string): string | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return text;
  const t = Date.parse(`${text} 00:00:00 UTC`);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().slice(0, 10);
}

export function readLegalRequest(
  text: string,
  from: { name?: string | undefined; email?: string | undefined },
): InformationRequestInput {
  const flat = text.replace(/\s+/g, ' ');
  const kind: InformationRequestInput['kind'] = /search warrant/i.test(flat)
    ? 'search-warrant'
    : /\bsubpoena/i.test(flat)
      ? 'subpoena'
      : /\bcourt order\b|\bit is (?:hereby )?ordered\b/i.test(flat)
        ? 'court-order'
        : /law enforcement|police|federal bureau|special agent|detective/i.test(flat)
          ? 'law-enforcement-request'
          : /regulator|commission|authority request/i.test(flat)
            ? 'regulatory-request'
            : /plaintiff|defendant|civil action|lawsuit/i.test(flat)
              ? 'civil-action-request'
              : 'private-request';
  const court =
    /((?:United States District Court|Superior Court|Circuit Court|District Court|Court of)[^\n,.;]{0,120})/i
      .exec(text)?.[1]
      ?.trim();
  const caseNumber = /(?:Case|Civil Action|Docket)\s*(?:No\.?|Number|#)\s*:?\s*([\w:./-]{3,60})/i.exec(
    flat,
  )?.[1];
  const filed = new RegExp(`filed(?: on)?:?\\s+${DATE}`, 'i').exec(flat)?.[1];
  const deadline = new RegExp(`(?:no later than|on or before|respond by|deadline:?)\\s+${DATE}`, 'i').exec(
    flat,
  )?.[1];
  // Citations carry dots ("Fed. R. Civ. P. 45"): the authority runs to the end of the sentence, i.e. a dot
  // followed by a capitalised word, a semicolon or the end.
  const authority =
    /(?:[Pp]ursuant to|[Uu]nder the authority of|[Ii]ssued under)\s+(.{3,200}?)(?=\.\s+[A-Z][a-z]+\s|;|\.?\s*$)/
      .exec(flat)?.[1]
      ?.trim();
  const order =
    /((?:[Nn]ondisclosure|[Nn]on-disclosure) order.{0,200}?|18 U\.?S\.?C\.? (?:§\s*)?2705\(b\).{0,120}?)(?=\.\s+[A-Z][a-z]+\s|\.?\s*$)/
      .exec(flat)?.[1]
      ?.trim();
  const asks = text
    .split(/\r?\n/)
    .map((l) => /^\s*(?:[-*•]|\d+[.)])\s+(.{3,})$/.exec(l)?.[1]?.trim())
    .filter((a): a is string => a !== undefined)
    .slice(0, 50);
  const filedIso = filed ? isoDate(filed) : undefined;
  const deadlineIso = deadline ? isoDate(deadline) : undefined;
  const pending =
    /\b(?:is|remains) (?:currently )?pending\b|\bpending (?:matter|action|case|litigation)\b/i.test(flat)
      ? true
      : /\b(?:closed|dismissed|concluded)\b/i.test(flat)
        ? false
        : null;
  return {
    kind,
    requester: {
      name: from.name || from.email || 'unknown sender',
      ...(from.email ? { email: from.email } : {}),
    },
    ...(authority ? { authority } : {}),
    matter: {
      court: court ?? null,
      case_number: caseNumber ?? null,
      filed_at: filedIso ?? null,
      pending,
    },
    asks: asks.length > 0 ? asks : ['(as stated in the request; see the original message)'],
    ...(deadlineIso ? { deadline: deadlineIso } : {}),
    ...(order ? { nondisclosure_order: order } : {}),
  };
}
