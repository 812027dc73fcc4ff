import { domainToASCII } from 'node:url';

/**
 * Domain names as the registry and attribution compare them: lower case, no trailing dot, IDNs in their
 * punycode (A-label) form, so `Bücher.Example.` and `xn--bcher-kva.example` are one name.
 *
 * The common case (already lower-case ASCII) is checked in one pass without calling `domainToASCII`,
 * which costs about a microsecond and would dominate attribution of domain events.
 */

const MAX_NAME = 253;
const MAX_LABEL = 63;

/** Normalised name, or null when `text` is not a syntactically valid host name. */
export function normalizeDomain(text: string): string | null {
  let s = text;
  if (s.length > 0 && s.charCodeAt(s.length - 1) === 46) s = s.slice(0, -1);
  if (s.length === 0 || s.length > MAX_NAME * 4) return null;
  if (!isLowerAsciiName(s)) {
    const ascii = domainToASCII(s.trim());
    if (ascii === '') return null;
    s = ascii.endsWith('.') ? ascii.slice(0, -1) : ascii;
    if (!isLowerAsciiName(s)) return null;
  }
  return s;
}

/**
 * One pass: characters [a-z0-9_-] and dots, labels 1..63 long not starting or ending with '-', at most
 * 253 characters, and a last label that is not all digits (that would be an IPv4 address).
 */
function isLowerAsciiName(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > MAX_NAME) return false;
  let labelStart = 0;
  let allDigits = true;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46;
    if (c === 46) {
      const length = i - labelStart;
      if (length === 0 || length > MAX_LABEL) return false;
      if (s.charCodeAt(labelStart) === 45 || s.charCodeAt(i - 1) === 45) return false;
      if (i < n) allDigits = true;
      labelStart = i + 1;
      continue;
    }
    if (c >= 97 && c <= 122) {
      allDigits = false;
    } else if (c === 45 || c === 95) {
      allDigits = false;
    } else if (c < 48 || c > 57) {
      return false;
    }
  }
  return !allDigits;
}

/** Number of labels (`example.com` → 2). */
export function labelCount(name: string): number {
  let count = 1;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) === 46) count++;
  return count;
}
