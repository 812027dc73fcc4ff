import {
  type AddressScope,
  extractDomains,
  extractEmails,
  extractIps,
  extractUrls,
} from './indicator-extractor.js';
import { joined, type ProseRole, proseRole } from './prose-roles.js';

/**
 * The URLs, addresses and domains a complaint's prose names, each with the role its words give it
 * (prose-roles.ts). An address inside a URL belongs to the URL; a domain inside a URL or an e-mail address is
 * not named on its own. `isOwn` overrides the words: a host of the reporter's own domain is theirs whatever
 * the sentence says.
 */
export interface ProseIndicator {
  readonly kind: 'url' | 'ip' | 'domain';
  readonly value: string;
  /** The host of a URL (a name or an address). */
  readonly host?: string | undefined;
  readonly index: number;
  readonly end: number;
  readonly role: ProseRole;
  readonly scope?: AddressScope | undefined;
}

export function proseIndicators(text: string, isOwn: (host: string) => boolean): ProseIndicator[] {
  const found: Array<Omit<ProseIndicator, 'role'>> = [];
  const taken: Array<[number, number]> = [];
  const inside = (i: number) => taken.some(([s, e]) => i >= s && i < e);
  for (const u of extractUrls(text)) {
    found.push({ kind: 'url', value: u.url, host: u.host, index: u.index, end: u.index + u.length });
    taken.push([u.index, u.index + u.length]);
  }
  for (const e of emailRanges(text)) taken.push(e);
  for (const a of extractIps(text)) {
    if (inside(a.index)) continue;
    found.push({ kind: 'ip', value: a.ip, index: a.index, end: a.index + a.ip.length, scope: a.scope });
  }
  for (const d of extractDomains(text)) {
    if (inside(d.index)) continue;
    found.push({ kind: 'domain', value: d.domain, index: d.index, end: d.index + d.domain.length });
  }
  found.sort((a, b) => a.index - b.index);
  const out: ProseIndicator[] = [];
  let previous: { end: number; role: ProseRole } | undefined;
  for (const f of found) {
    const host = f.kind === 'url' ? f.host : f.value;
    const role: ProseRole = host && isOwn(host) ? 'own' : proseRole(text, f.index, f.end, { previous });
    out.push({ ...f, role });
    previous = { end: f.end, role };
  }
  // A cue after a list speaks for the whole list ("198.51.100.1, 198.51.100.2 and 198.51.100.3 are scanning us").
  for (let i = out.length - 2; i >= 0; i--) {
    const here = out[i]!;
    const next = out[i + 1]!;
    if (here.role === 'unknown' && next.role !== 'unknown' && joined(text, here.end, next.index))
      out[i] = { ...here, role: next.role };
  }
  return out;
}

function emailRanges(text: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const emails = new Set(extractEmails(text));
  if (emails.size === 0) return ranges;
  const lower = text.toLowerCase();
  for (const e of emails) {
    for (let i = lower.indexOf(e); i !== -1; i = lower.indexOf(e, i + 1)) ranges.push([i, i + e.length]);
  }
  return ranges;
}
