import { isAscii } from 'node:buffer';
import { TextDecoder } from 'node:util';

/**
 * Charsets and transfer encodings. Node's TextDecoder (full ICU) knows the WHATWG encodings: the Windows code
 * pages, ISO-8859-x, KOI8, Shift_JIS, EUC-JP/KR, GB18030, Big5, UTF-16. What it lacks, or bytes that are not
 * valid in the declared charset, fall back to UTF-8 (when valid) or Windows-1252, and the caller is told so it
 * can report the part (wrong charsets are common in spam and in hand-written complaints).
 */

export interface DecodedBytes {
  readonly text: string;
  /** The charset actually used. */
  readonly charset: string;
  /** The bytes were not valid in the declared charset; a fallback was used. */
  readonly fellBack: boolean;
  /** The declared charset is not one we know. */
  readonly unknownCharset: boolean;
}

const decoders = new Map<string, TextDecoder | null>();

function decoderFor(label: string, fatal: boolean): TextDecoder | null {
  const key = `${label}|${fatal}`;
  let decoder = decoders.get(key);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label, { fatal });
    } catch {
      decoder = null;
    }
    decoders.set(key, decoder);
  }
  return decoder;
}

const ALIASES: Record<string, string> = {
  utf8: 'utf-8',
  'us-ascii': 'utf-8',
  ascii: 'utf-8',
  'ansi_x3.4-1968': 'utf-8',
  latin1: 'windows-1252',
  'iso-8859-1': 'windows-1252',
  'iso8859-1': 'windows-1252',
  cp1252: 'windows-1252',
  'x-unknown': 'utf-8',
  unknown: 'utf-8',
  'unknown-8bit': 'utf-8',
  default: 'utf-8',
};

/** Decode bytes in a declared charset, falling back as described above. Never throws. */
export function decodeBytes(bytes: Uint8Array, declared: string | undefined): DecodedBytes {
  const label = normaliseCharset(declared);
  // Pure ASCII reads the same in every ASCII-compatible charset: the fast path for most report parts.
  if (!label.startsWith('utf-16') && isAscii(bytes)) {
    return {
      text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'),
      charset: label,
      fellBack: false,
      unknownCharset: false,
    };
  }
  const strict = decoderFor(label, true);
  if (strict) {
    try {
      return { text: strict.decode(bytes), charset: label, fellBack: false, unknownCharset: false };
    } catch {
      // not valid in the declared charset: fall through
    }
  }
  const unknownCharset = strict === null;
  if (label !== 'utf-8') {
    try {
      return {
        text: decoderFor('utf-8', true)!.decode(bytes),
        charset: 'utf-8',
        fellBack: true,
        unknownCharset,
      };
    } catch {
      // not UTF-8 either
    }
  }
  return {
    text: decoderFor('windows-1252', false)!.decode(bytes),
    charset: 'windows-1252',
    fellBack: true,
    unknownCharset,
  };
}

export function normaliseCharset(declared: string | undefined): string {
  if (!declared) return 'utf-8';
  const label = declared
    .trim()
    .replace(/^["']|["']$/g, '')
    .toLowerCase();
  return ALIASES[label] ?? label;
}

export type TransferEncoding = 'base64' | 'quoted-printable' | 'identity';

export function normaliseTransferEncoding(raw: string | undefined): {
  encoding: TransferEncoding;
  known: boolean;
} {
  const value = (raw ?? '').trim().toLowerCase();
  if (value === 'base64') return { encoding: 'base64', known: true };
  if (value === 'quoted-printable') return { encoding: 'quoted-printable', known: true };
  if (value === '' || value === '7bit' || value === '8bit' || value === 'binary')
    return { encoding: 'identity', known: true };
  return { encoding: 'identity', known: false };
}

/** Decode a body (binary string) per its Content-Transfer-Encoding. Lenient: bad base64/QP bytes are skipped/kept. */
export function decodeTransfer(body: string, encoding: TransferEncoding): Buffer {
  if (encoding === 'base64') return Buffer.from(body, 'base64');
  if (encoding === 'quoted-printable') return Buffer.from(decodeQuotedPrintable(body), 'latin1');
  return Buffer.from(body, 'latin1');
}

/** Size a base64 body will decode to, without decoding it (for limits). */
export function decodedSizeEstimate(encodedLength: number, encoding: TransferEncoding): number {
  return encoding === 'base64' ? Math.floor((encodedLength * 3) / 4) : encodedLength;
}

export function decodeQuotedPrintable(body: string): string {
  return body
    .replace(/[ \t]+(?=\r?\n)/g, '')
    .replace(/=(?:\r?\n|([0-9A-Fa-f]{2}))/g, (_m, hex: string | undefined) =>
      hex ? String.fromCharCode(Number.parseInt(hex, 16)) : '',
    );
}
