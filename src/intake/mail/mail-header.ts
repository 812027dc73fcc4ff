import { decodeBytes } from './mail-charset.js';

/**
 * Mail header parsing over a "binary string" (one char per byte, as `Buffer#toString('latin1')` gives): the
 * MIME parser works on that form so boundaries and offsets are byte-exact and nothing is decoded until asked.
 * Values are unfolded but otherwise raw; RFC 2047 encoded words and 8-bit UTF-8 are decoded on access.
 */

export interface MailHeader {
  /** Lower-case field name. */
  readonly name: string;
  /** Unfolded value as written (binary string; encoded words not decoded). */
  readonly raw: string;
}

export class MailHeaders {
  readonly list: readonly MailHeader[];

  constructor(list: readonly MailHeader[]) {
    this.list = list;
  }

  /** First value of a field, decoded (encoded words, UTF-8), trimmed. */
  get(name: string): string | undefined {
    const raw = this.getRaw(name);
    return raw === undefined ? undefined : decodeHeaderValue(raw);
  }

  getRaw(name: string): string | undefined {
    const wanted = name.toLowerCase();
    for (const h of this.list) if (h.name === wanted) return h.raw;
    return undefined;
  }

  getAll(name: string): string[] {
    const wanted = name.toLowerCase();
    const out: string[] = [];
    for (const h of this.list) if (h.name === wanted) out.push(decodeHeaderValue(h.raw));
    return out;
  }

  has(name: string): boolean {
    return this.getRaw(name) !== undefined;
  }

  /** `{ name: value }` (repeated fields as arrays), decoded; for `extra`. Caps the value length. */
  toRecord(maxValue = 1000): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const h of this.list) {
      const value = decodeHeaderValue(h.raw).slice(0, maxValue);
      const prior = out[h.name];
      if (prior === undefined) out[h.name] = value;
      else if (Array.isArray(prior)) prior.push(value);
      else out[h.name] = [prior, value];
    }
    return out;
  }
}

const FIELD_NAME = /^[!-9;-~]+$/;

export interface HeaderBlock {
  readonly headers: MailHeaders;
  /** Offset where the body starts (after the blank line), or `end` when there is none. */
  readonly bodyStart: number;
  /** The block ended without a blank line (truncated input, or garbage where headers should be). */
  readonly unterminated: boolean;
}

/**
 * Reads header lines from `src[start..end)` up to the first empty line. A line that is neither a field nor a
 * continuation ends the block early (treated as the body start): mail truncated or mangled in transit still
 * yields what came before it.
 */
export function parseHeaderBlock(src: string, start: number, end: number): HeaderBlock {
  const list: { name: string; raw: string }[] = [];
  let pos = start;
  // An mbox "From " separator line before the headers is not a field.
  if (src.startsWith('From ', pos)) {
    const nl = src.indexOf('\n', pos);
    pos = nl < 0 || nl >= end ? end : nl + 1;
  }
  while (pos < end) {
    let nl = src.indexOf('\n', pos);
    if (nl < 0 || nl >= end) nl = end;
    let lineEnd = nl;
    if (lineEnd > pos && src.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    if (lineEnd === pos)
      return { headers: new MailHeaders(list), bodyStart: Math.min(nl + 1, end), unterminated: false };
    const first = src.charCodeAt(pos);
    if ((first === 32 || first === 9) && list.length > 0) {
      const last = list[list.length - 1]!;
      last.raw += ` ${src.slice(pos, lineEnd).trim()}`;
    } else {
      const colon = src.indexOf(':', pos);
      // A field name is printable ASCII without spaces (RFC 5322 §2.2; obsolete syntax allows space before ':').
      if (colon < 0 || colon >= lineEnd || !FIELD_NAME.test(src.slice(pos, colon).trimEnd())) {
        return { headers: new MailHeaders(list), bodyStart: pos, unterminated: true };
      }
      list.push({
        name: src.slice(pos, colon).trim().toLowerCase(),
        raw: src.slice(colon + 1, lineEnd).trim(),
      });
    }
    pos = nl + 1;
  }
  return { headers: new MailHeaders(list), bodyStart: end, unterminated: list.length > 0 };
}

const EIGHT_BIT = /[\x80-\xff]/;
const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=/g;

/** Decode a raw header value: 8-bit bytes as UTF-8 (else Windows-1252), then RFC 2047 encoded words. */
export function decodeHeaderValue(raw: string): string {
  return decodeHeaderValueNoting(raw).text;
}

export interface DecodedHeaderValue {
  readonly text: string;
  /** Encoded words left as written, and why (bad base64, bytes not valid in the declared charset…). */
  readonly problems: readonly string[];
}

/** `decodeHeaderValue`, also saying which encoded words could not be decoded (they stay as written). */
export function decodeHeaderValueNoting(raw: string): DecodedHeaderValue {
  let value = raw;
  if (EIGHT_BIT.test(value)) value = decodeBytes(Buffer.from(value, 'latin1'), 'utf-8').text;
  const problems: string[] = [];
  if (value.includes('=?')) value = decodeEncodedWords(value, problems);
  return { text: value.trim(), problems };
}

const BASE64_WORD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/**
 * RFC 2047 encoded words decoded. A word that cannot be decoded faithfully (base64 that is not base64, bytes
 * that are not valid in the declared charset, a charset we do not know) is kept as written rather than
 * guessed into mojibake; `problems`, when given, receives why.
 */
export function decodeEncodedWords(value: string, problems?: string[]): string {
  // Whitespace between two adjacent encoded words is not part of the text (RFC 2047 §6.2).
  const joined = value.replace(/(\?=)\s+(=\?)/g, '$1$2');
  return joined.replace(ENCODED_WORD, (whole, charsetLabel: string, enc: string, text: string) => {
    const charset = charsetLabel.split('*')[0] ?? 'utf-8';
    const clipped = whole.length > 80 ? `${whole.slice(0, 77)}...` : whole;
    let bytes: Buffer;
    if (enc === 'b' || enc === 'B') {
      if (!BASE64_WORD.test(text)) {
        problems?.push(`encoded word ${clipped} is not valid base64; shown as written`);
        return whole;
      }
      bytes = Buffer.from(text, 'base64');
    } else {
      const binary = text
        .replace(/_/g, ' ')
        .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
      bytes = Buffer.from(binary, 'latin1');
    }
    const decoded = decodeBytes(bytes, charset);
    if (decoded.unknownCharset) {
      problems?.push(`encoded word ${clipped} names an unknown charset ${charset}; shown as written`);
      return whole;
    }
    if (decoded.fellBack) {
      problems?.push(`encoded word ${clipped} is not valid ${charset}; shown as written`);
      return whole;
    }
    return decoded.text;
  });
}

export interface ParsedParams {
  /** The main value, lower-cased (`multipart/report`, `attachment`). */
  readonly value: string;
  readonly params: Readonly<Record<string, string>>;
}

const PARAM = /([^\s;=]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^\s;]*)/g;

/**
 * `type/subtype; name=value ...` in any parameter order, tolerating missing semicolons, unquoted values and
 * RFC 2231 continuations/charsets (`filename*0*=utf-8''a%20b; filename*1=c`).
 */
export function parseParams(raw: string): ParsedParams {
  const cut = raw.search(/[;\s]/);
  const value = (cut < 0 ? raw : raw.slice(0, cut)).trim().toLowerCase();
  const params: Record<string, string> = {};
  const continued: Record<string, { index: number; text: string; encoded: boolean }[]> = {};
  const rest = cut < 0 ? '' : raw.slice(cut);
  for (const m of rest.matchAll(PARAM)) {
    const name = m[1]!.toLowerCase();
    let text = m[2] ?? '';
    if (text.startsWith('"'))
      text = text.slice(1, text.endsWith('"') && text.length > 1 ? -1 : undefined).replace(/\\(.)/g, '$1');
    const star = /^(.+?)\*(\d+)?(\*)?$/.exec(name);
    if (star) {
      const base = star[1]!;
      const index = star[2] === undefined ? 0 : Number(star[2]);
      const encoded = star[3] === '*' || (star[2] === undefined && name.endsWith('*'));
      const list = continued[base] ?? [];
      list.push({ index, text, encoded });
      continued[base] = list;
    } else if (!(name in params)) params[name] = decodeHeaderValue(text);
  }
  for (const [base, pieces] of Object.entries(continued)) {
    pieces.sort((a, b) => a.index - b.index);
    let charset = 'utf-8';
    let bytes = '';
    pieces.forEach((piece, i) => {
      let text = piece.text;
      if (piece.encoded && i === 0) {
        const m = /^([^']*)'[^']*'(.*)$/.exec(text);
        if (m) {
          charset = m[1] || 'utf-8';
          text = m[2] ?? '';
        }
      }
      bytes += piece.encoded
        ? text.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) =>
            String.fromCharCode(Number.parseInt(hex, 16)),
          )
        : text;
    });
    params[base] = decodeBytes(Buffer.from(bytes, 'latin1'), charset).text;
  }
  return { value, params };
}

export interface MailAddress {
  readonly name?: string | undefined;
  readonly address?: string | undefined;
}

const BARE_ADDRESS = /[^\s<>"(),;:]+@[^\s<>"(),;:]+/;

/** The first mailbox of an address header: `"Name" <a@b>`, `Name <a@b>`, `a@b (Name)`, `a@b`. */
export function parseAddress(raw: string | undefined): MailAddress | undefined {
  if (raw === undefined) return undefined;
  const value = decodeHeaderValue(raw);
  if (value === '') return undefined;
  const angle = /<([^<>]*)>/.exec(value);
  let address: string | undefined;
  let name: string | undefined;
  if (angle) {
    address = angle[1]!.trim() || undefined;
    name = value.slice(0, angle.index).trim();
  } else {
    const bare = BARE_ADDRESS.exec(value);
    address = bare?.[0];
    const comment = /\(([^)]*)\)/.exec(value);
    name = comment ? comment[1] : bare ? value.replace(bare[0], '').trim() : value;
  }
  name = name
    ?.replace(/^"(.*)"$/s, '$1')
    .replace(/\\(.)/g, '$1')
    .trim();
  if (address && !address.includes('@')) address = undefined;
  return { name: name || undefined, address: address?.toLowerCase() };
}

/** Message-IDs in a header (`<a@b> <c@d>`); a lone id without brackets is accepted too. */
export function parseMessageIds(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const ids = [...raw.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
  if (ids.length > 0) return ids;
  const bare = raw.trim();
  return bare && !/\s/.test(bare) ? [bare] : [];
}
