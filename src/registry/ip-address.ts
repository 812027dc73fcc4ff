import { AupError } from '../errors.js';

/**
 * IP addresses and prefixes without BigInt: IPv4 as one unsigned 32-bit integer, IPv6 as four unsigned
 * 32-bit words (most significant first). The parsers are hand-written because they sit on the
 * attribution hot path (every event's source address goes through them): the fast variants return a
 * sentinel instead of throwing and allocate nothing.
 *
 * IPv4-mapped IPv6 (`::ffff:192.0.2.1`, `::ffff:0:0/96` and longer) is normalised to IPv4: complaints
 * quote dual-stack socket addresses in that form and they must land on the IPv4 assignment.
 */

export type IpFamily = 4 | 6;

export type IpAddress =
  | { readonly family: 4; readonly v4: number }
  | { readonly family: 6; readonly v6: Words };

/** Four unsigned 32-bit words, most significant first. */
export type Words = readonly [number, number, number, number];

export type IpPrefix =
  | { readonly family: 4; readonly v4: number; readonly length: number }
  | { readonly family: 6; readonly v6: Words; readonly length: number };

const DOT = 46;
const COLON = 58;

/** Dotted-quad IPv4 (no leading zeros beyond a lone 0, no shorthand forms) → uint32, or -1. */
export function parseIPv4(text: string, start = 0, end = text.length): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  let leadingZero = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (leadingZero) return -1;
      if (digits === 0 && c === 48) leadingZero = true;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === DOT) {
      if (digits === 0 || parts === 3) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
      leadingZero = false;
    } else {
      return -1;
    }
  }
  if (digits === 0 || parts !== 3) return -1;
  return value * 256 + part;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * RFC 4291 text form (compressed, mixed with a trailing dotted quad) → `out` (four words). Returns false
 * for anything else, including zone ids: a complaint's scoped link-local address is not ours to attribute.
 */
export function parseIPv6Into(
  text: string,
  out: Uint32Array | number[],
  start = 0,
  end = text.length,
): boolean {
  const groups = scratchGroups;
  let n = 0;
  let gap = -1;
  let i = start;
  if (end - start < 2) return false;
  if (text.charCodeAt(i) === COLON) {
    if (text.charCodeAt(i + 1) !== COLON) return false;
    gap = 0;
    i += 2;
    if (i === end) {
      out[0] = out[1] = out[2] = out[3] = 0;
      return true;
    }
  }
  while (i < end) {
    if (n === 8) return false;
    let value = 0;
    let digits = 0;
    const groupStart = i;
    while (i < end) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      if (++digits > 4) return false;
      i++;
    }
    if (i < end && text.charCodeAt(i) === DOT) {
      // Trailing IPv4: occupies the last two groups.
      if (n > 6) return false;
      const v4 = parseIPv4(text, groupStart, end);
      if (v4 < 0) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0) return false;
    groups[n++] = value;
    if (i === end) break;
    if (text.charCodeAt(i) !== COLON) return false;
    i++;
    if (i < end && text.charCodeAt(i) === COLON) {
      if (gap >= 0) return false;
      gap = n;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false;
    }
  }
  if (gap < 0) {
    if (n !== 8) return false;
  } else {
    if (n > 7) return false;
    const tail = n - gap;
    for (let k = 7; k >= 8 - tail; k--) groups[k] = groups[k - (8 - n)]!;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  out[0] = ((groups[0]! << 16) | groups[1]!) >>> 0;
  out[1] = ((groups[2]! << 16) | groups[3]!) >>> 0;
  out[2] = ((groups[4]! << 16) | groups[5]!) >>> 0;
  out[3] = ((groups[6]! << 16) | groups[7]!) >>> 0;
  return true;
}
const scratchGroups = new Int32Array(8);

/** True for `::ffff:a.b.c.d` (words 0, 0, 0xffff, v4). */
export function isV4Mapped(w: ArrayLike<number>): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
}

const scratchWords = new Uint32Array(4);

/** Parses an address (IPv4, IPv6, bracketed IPv6); IPv4-mapped IPv6 becomes IPv4. Null when not an address. */
export function parseIpAddress(text: string): IpAddress | null {
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const v4 = parseIPv4(s);
  if (v4 >= 0) return { family: 4, v4 };
  if (!parseIPv6Into(s, scratchWords)) return null;
  if (isV4Mapped(scratchWords)) return { family: 4, v4: scratchWords[3]! };
  return { family: 6, v6: [scratchWords[0]!, scratchWords[1]!, scratchWords[2]!, scratchWords[3]!] };
}

/** Mask keeping the top `bits` (0..32) of a word. */
export function wordMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Parses `address/length` (a bare address is a /32 or /128) and refuses host bits set: `192.0.2.1/24`
 * is almost always a typo for either the /24 or the /32, and guessing would attribute the wrong tenant.
 */
export function parsePrefix(text: string): IpPrefix {
  const s = text.trim();
  const slash = s.indexOf('/');
  const addressText = slash < 0 ? s : s.slice(0, slash);
  const address = parseIpAddress(addressText);
  if (!address) throw invalid(text, `"${addressText}" is not an IPv4 or IPv6 address`);
  const mapped = address.family === 4 && addressText.includes(':');
  const max = address.family === 4 && !mapped ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const lengthText = s.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lengthText) || Number(lengthText) > max) {
      throw invalid(text, `prefix length "${lengthText}" must be a whole number from 0 to ${max}`);
    }
    length = Number(lengthText);
  }
  if (mapped) {
    if (length < 96) throw invalid(text, 'an IPv4-mapped prefix must be /96 or longer');
    length -= 96;
  }
  if (address.family === 4) {
    if ((address.v4 & ~wordMask(length)) >>> 0 !== 0) {
      throw invalid(
        text,
        `host bits set: did you mean ${formatIPv4((address.v4 & wordMask(length)) >>> 0)}/${length}?`,
      );
    }
    return { family: 4, v4: address.v4, length };
  }
  const masked = maskWords(address.v6, length);
  for (let k = 0; k < 4; k++) {
    if (masked[k] !== address.v6[k]) {
      throw invalid(text, `host bits set: did you mean ${formatIPv6(masked)}/${length}?`);
    }
  }
  return { family: 6, v6: address.v6, length };
}

export function maskWords(w: ArrayLike<number>, length: number): Words {
  return [
    (w[0]! & wordMask(length)) >>> 0,
    (w[1]! & wordMask(length - 32)) >>> 0,
    (w[2]! & wordMask(length - 64)) >>> 0,
    (w[3]! & wordMask(length - 96)) >>> 0,
  ];
}

export function formatIPv4(v4: number): string {
  return `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
}

/** RFC 5952: lower case, leading zeros dropped, the longest run (≥ 2) of zero groups as `::`. */
export function formatIPv6(w: ArrayLike<number>): string {
  const groups: number[] = [];
  for (let k = 0; k < 4; k++) groups.push(w[k]! >>> 16, w[k]! & 0xffff);
  let bestStart = -1;
  let bestLength = 1;
  for (let k = 0; k < 8; ) {
    if (groups[k] !== 0) {
      k++;
      continue;
    }
    let j = k;
    while (j < 8 && groups[j] === 0) j++;
    if (j - k > bestLength) {
      bestStart = k;
      bestLength = j - k;
    }
    k = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

export function formatIpAddress(address: IpAddress): string {
  return address.family === 4 ? formatIPv4(address.v4) : formatIPv6(address.v6);
}

/** Canonical text, the same PostgreSQL prints for `cidr`: `192.0.2.0/24`, `2001:db8::/48`. */
export function formatPrefix(prefix: IpPrefix): string {
  return prefix.family === 4
    ? `${formatIPv4(prefix.v4)}/${prefix.length}`
    : `${formatIPv6(prefix.v6)}/${prefix.length}`;
}

/** Null when `text` is not a prefix; the reason is lost, use `parsePrefix` to report it. */
export function tryParsePrefix(text: string): IpPrefix | null {
  try {
    return parsePrefix(text);
  } catch {
    return null;
  }
}

function invalid(text: string, reason: string): AupError {
  return new AupError('AUP_ERR_INPUT_INVALID', `bad prefix "${text}": ${reason}`, {
    details: { value: text, reason },
  });
}
