import { isIPv6 } from 'node:net';

/**
 * IPs, URLs, domains and e-mail addresses named in human text, for the free-text and DMCA parsers.
 *
 * Complaints defang what they quote (`hxxp://evil[.]example`, `198.51.100[.]7`) so nobody clicks it: we refang
 * before extracting. Addresses must stand alone — an IPv4 inside a version string (`1.2.3.4.5`, `v1.2.3.4`) or
 * an IPv6-looking clock time (`10:00:01`) is not an address. Special-purpose ranges (private, loopback,
 * documentation, CGNAT…) are kept and labelled with `addressScope`, so the caller decides what to drop.
 */

export function refang(text: string): string {
  return text
    .replace(/\[:\]|\(:\)/g, ':')
    .replace(/\[\/\]/g, '/')
    .replace(/\bh(?:xx|XX|\*\*|tt)p(s?)(?:\[:\]|:)\/\//gi, 'http$1://')
    .replace(/\bfxp:\/\//gi, 'ftp://')
    .replace(/\[(\.|dot)\]|\((\.|dot)\)|\{(\.|dot)\}/gi, '.')
    .replace(/\[(?:at|@)\]|\((?:at|@)\)/gi, '@');
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?![\\w]|\\.\\d)`, 'g');
const IPV6_CANDIDATE =
  /(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}(?:[0-9a-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3})(?![\w:])/gi;

export interface FoundAddress {
  readonly ip: string;
  readonly index: number;
  readonly scope: AddressScope;
}
export type AddressScope =
  | 'public'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'documentation'
  | 'shared'
  | 'multicast'
  | 'unspecified'
  | 'reserved';

export function extractIps(text: string): FoundAddress[] {
  const found: FoundAddress[] = [];
  for (const m of text.matchAll(IPV4)) found.push({ ip: m[0], index: m.index, scope: addressScope(m[0]) });
  for (const m of text.matchAll(IPV6_CANDIDATE)) {
    const candidate = m[0];
    if (!candidate.includes('::') && candidate.split(':').length < 8 && !candidate.includes('.')) continue;
    if (!isIPv6(candidate)) continue;
    const ip = candidate.toLowerCase();
    found.push({ ip, index: m.index, scope: addressScope(ip) });
  }
  return found.sort((a, b) => a.index - b.index);
}

export function addressScope(ip: string): AddressScope {
  if (ip.includes(':')) {
    const v = ip.toLowerCase();
    if (v === '::') return 'unspecified';
    if (v === '::1') return 'loopback';
    if (/^fe[89ab]/.test(v)) return 'link-local';
    if (/^f[cd]/.test(v)) return 'private';
    if (/^ff/.test(v)) return 'multicast';
    if (/^2001:0?db8:/.test(v)) return 'documentation';
    return 'public';
  }
  const [a = 0, b = 0, c = 0] = ip.split('.').map(Number);
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 127) return 'loopback';
  if (a === 169 && b === 254) return 'link-local';
  if (
    (a === 192 && b === 0 && c === 2) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113)
  )
    return 'documentation';
  if (a === 100 && b >= 64 && b <= 127) return 'shared';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a === 0) return 'unspecified';
  if (a >= 240) return 'reserved';
  return 'public';
}

const URL_RE =
  /\b(?:https?|ftp):\/\/[^\s<>"'`\])}|]+|\bwww\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:\/[^\s<>"'`\])}|]*)?/gi;

export interface FoundUrl {
  readonly url: string;
  readonly host: string;
  readonly index: number;
  /** Length of the URL as written (before a `www.` one gains its `http://`). */
  readonly length: number;
}

export function extractUrls(text: string): FoundUrl[] {
  const found: FoundUrl[] = [];
  for (const m of text.matchAll(URL_RE)) {
    const written = m[0].replace(/[.,;:!?'"]+$/, '');
    const url = /^www\./i.test(written) ? `http://${written}` : written;
    const host = hostOf(url);
    if (!host) continue;
    found.push({ url, host, index: m.index, length: written.length });
  }
  return found;
}

export function hostOf(url: string): string | undefined {
  try {
    const host = new URL(url).hostname.toLowerCase();
    return host.startsWith('[') ? host.slice(1, -1) : host || undefined;
  } catch {
    return undefined;
  }
}

const EMAIL_RE = /\b[a-z0-9._%+-]+@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b/gi;
export function extractEmails(text: string): string[] {
  return [...new Set([...text.matchAll(EMAIL_RE)].map((m) => m[0].toLowerCase()))];
}

const DOMAIN_RE =
  /(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,23}(?![\w@-]|\.\w)/gi;
/** Endings that are file names, not top-level domains, in complaint text (`index.php`, `invoice.exe`). */
const NOT_TLDS = new Set(
  'php html htm exe js css txt log zip jpg jpeg png gif pdf doc docx xls xlsx conf cfg sh py pl asp aspx jsp cgi json xml csv gz tar rar bin dll msi iso mp3 mp4 avi mkv ini bak sql tmp eml'.split(
    ' ',
  ),
);

/** Bare domain names (not inside URLs or e-mail addresses; the caller removes those it already has). */
export function extractDomains(text: string): Array<{ domain: string; index: number }> {
  const found: Array<{ domain: string; index: number }> = [];
  for (const m of text.matchAll(DOMAIN_RE)) {
    const domain = m[0].toLowerCase();
    const tld = domain.slice(domain.lastIndexOf('.') + 1);
    if (NOT_TLDS.has(tld) || /^\d+$/.test(tld)) continue;
    found.push({ domain, index: m.index });
  }
  return found;
}
