/**
 * Bytes → text for the line formats (Shadowserver CSV, IntelMQ JSON lines, free text, DMCA notices).
 *
 * Reports are meant to be UTF-8 but arrive in whatever the sender's tooling wrote: a UTF-8 BOM (Excel), UTF-16
 * with a BOM (Windows "Unicode" saves), or Windows-1252 from older mail clients. We decode UTF-8 strictly and
 * fall back to Windows-1252 (a superset of Latin-1 for printable text) rather than silently turning bytes into
 * U+FFFD; the caller learns which charset was used and reports the fallback as a warning with a location.
 */
export interface DecodedText {
  readonly text: string;
  readonly charset: 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';
  /** True when the bytes were not valid in the charset the input claimed or implied (UTF-8). */
  readonly fellBack: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function decodeText(bytes: Uint8Array): DecodedText {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe)
    return { text: new TextDecoder('utf-16le').decode(bytes), charset: 'utf-16le', fellBack: false };
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff)
    return { text: new TextDecoder('utf-16be').decode(bytes), charset: 'utf-16be', fellBack: false };
  try {
    // `ignoreBOM: false` strips a leading UTF-8 BOM, so the first header column is `timestamp`, not `\uFEFFtimestamp`.
    return { text: utf8.decode(bytes), charset: 'utf-8', fellBack: false };
  } catch {
    return { text: new TextDecoder('windows-1252').decode(bytes), charset: 'windows-1252', fellBack: true };
  }
}

/** The first `limit` bytes as text, for `detect` (never throws; invalid bytes become U+FFFD). */
export function peekText(bytes: Uint8Array, limit = 4096): string {
  const head = bytes.subarray(0, limit);
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe)
    return new TextDecoder('utf-16le').decode(head);
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff)
    return new TextDecoder('utf-16be').decode(head);
  return new TextDecoder('utf-8').decode(head);
}
