import { Gunzip, Unzip, type UnzipFile, UnzipInflate } from 'fflate';
import type { ParseError } from '../report.js';
import { type ArchiveLimits, defaultArchiveLimits } from './mail-limits.js';

/**
 * Zipped and gzipped report attachments (Shadowserver mails a CSV zipped; some feeds gzip). Unpacked as a
 * stream, fed in small chunks, so no single step can allocate more than a few MiB however the archive lies:
 * each entry is checked against its declared size, the bytes it actually inflates to, the compression ratio,
 * and the archive against its entry count and total. An archive over a limit (a zip bomb) is refused with an
 * error naming the entry and the limit; entries already read are kept.
 */

export type ArchiveKind = 'zip' | 'gzip';

export interface ArchiveEntry {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface ArchiveResult {
  readonly entries: ArchiveEntry[];
  readonly errors: ParseError[];
}

/** Recognise an archive by its magic bytes (names and content types lie more often than bytes). */
export function archiveKind(bytes: Uint8Array): ArchiveKind | undefined {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)
    return 'zip';
  if (bytes.length >= 3 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 0x08) return 'gzip';
  return undefined;
}

const CHUNK = 16 * 1024;

/** Thrown from the gunzip callback to abort inflating (fflate's Gunzip lets it propagate out of push). */
class LimitExceeded extends Error {}

export function extractArchive(
  bytes: Uint8Array,
  options: { kind?: ArchiveKind; name?: string; location: string; limits?: ArchiveLimits },
): ArchiveResult {
  const kind = options.kind ?? archiveKind(bytes);
  const limits = options.limits ?? defaultArchiveLimits;
  if (kind === 'gzip') return gunzip(bytes, options.name, options.location, limits);
  if (kind === 'zip') return unzip(bytes, options.location, limits);
  return { entries: [], errors: [{ message: 'not a zip or gzip archive', location: options.location }] };
}

function gunzip(
  bytes: Uint8Array,
  name: string | undefined,
  location: string,
  limits: ArchiveLimits,
): ArchiveResult {
  const entryName = gzipEntryName(name);
  // No trust in ISIZE (the last four bytes): it is modulo 2^32, per member, and garbage in a truncated file.
  // The inflated bytes are counted instead.
  const chunks: Uint8Array[] = [];
  let total = 0;
  let failure: string | undefined;
  let refused = false;
  let finished = false;
  const stream = new Gunzip((chunk, final) => {
    if (final) finished = true;
    total += chunk.length;
    end.inflated(chunk.length);
    const over = archiveEntryRefusal(entryName, total, bytes.length, limits, 'inflates to');
    if (over) throw new LimitExceeded(over);
    chunks.push(chunk);
  });
  const end = new GzipEndCheck(stream);
  try {
    for (let i = 0; i < bytes.length; i += CHUNK) {
      const piece = bytes.subarray(i, i + CHUNK);
      end.compressed(piece);
      stream.push(piece, i + CHUNK >= bytes.length);
    }
  } catch (error) {
    refused = error instanceof LimitExceeded;
    failure = refused ? messageOf(error) : `gzip data is corrupt or truncated: ${messageOf(error)}`;
  }
  if (!failure && !(finished && end.whole()))
    failure = 'gzip data is truncated: the stream ends before its trailer';
  const errors: ParseError[] = failure ? [{ message: failure, location }] : [];
  // A truncated gzip still yields what inflated before the cut (the error says it is partial); a refused one nothing.
  const keep = !refused && total > 0;
  return { entries: keep ? [{ name: entryName, bytes: concat(chunks, total) }] : [], errors };
}

/**
 * What fflate's Gunzip does not always check: that a stream it says has ended is whole. Cut inside its deflate
 * data, a gzip file now and then inflates to a clean end with no error (one cut in about fifteen of a
 * hex-text file at half its length): the half would be taken for the whole report. The last member's trailer
 * settles it: its ISIZE, the stream's last four bytes, is that member's inflated size modulo 2^32 (a cut
 * stream ends in deflate data instead, which matches by chance once in 2^32).
 */
export class GzipEndCheck {
  private total = 0;
  private memberStart = 0;
  private readonly tail = new Uint8Array(4);
  private seen = 0;

  constructor(gunzip: Gunzip) {
    // Called when a further member begins, after the previous member's bytes were handed out.
    gunzip.onmember = () => {
      this.memberStart = this.total;
    };
  }

  /** Each compressed piece, in order, as it is pushed. */
  compressed(piece: Uint8Array): void {
    if (piece.length >= 4) this.tail.set(piece.subarray(piece.length - 4));
    else if (piece.length > 0) {
      this.tail.copyWithin(0, piece.length);
      this.tail.set(piece, 4 - piece.length);
    }
    this.seen += piece.length;
  }

  /** Each inflated piece's length. */
  inflated(length: number): void {
    this.total += length;
  }

  /** True when the stream ends in the last member's trailer. */
  whole(): boolean {
    if (this.seen < 18) return false; // a gzip member's header and trailer alone take 18 bytes
    const isize =
      (this.tail[0]! | (this.tail[1]! << 8) | (this.tail[2]! << 16) | (this.tail[3]! << 24)) >>> 0;
    return isize === (this.total - this.memberStart) % 2 ** 32;
  }
}

/** The name a gzip file's one entry goes by: the file's name without `.gz` (`.tgz` → `.tar`). */
export function gzipEntryName(name: string | undefined): string {
  return (name ?? 'data.gz').replace(/\.t?gz$/i, (m) => (m.toLowerCase() === '.tgz' ? '.tar' : '')) || 'data';
}

function unzip(bytes: Uint8Array, location: string, limits: ArchiveLimits): ArchiveResult {
  const entries: ArchiveEntry[] = [];
  const errors: ParseError[] = [];
  let count = 0;
  let archiveTotal = 0;
  let stop: string | undefined;
  const started: { name: string; done: boolean }[] = [];
  const stream = new Unzip((file: UnzipFile) => {
    if (stop) return;
    count++;
    if (count > limits.maxEntries) {
      stop = `archive has more than ${limits.maxEntries} entries; the rest are not unpacked`;
      return;
    }
    if (file.name.endsWith('/')) return; // a directory entry
    const declaredRefusal =
      file.originalSize !== undefined
        ? archiveEntryRefusal(file.name, file.originalSize, file.size ?? 0, limits, 'declares')
        : undefined;
    if (declaredRefusal) {
      stop = declaredRefusal;
      return;
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const entry = { name: file.name, done: false };
    started.push(entry);
    file.ondata = (err, chunk, final) => {
      if (stop) return;
      if (err) {
        errors.push({
          message: `entry "${file.name}" is corrupt: ${err.message}`,
          location: `${location}:${file.name}`,
        });
        entry.done = true;
        return;
      }
      total += chunk.length;
      archiveTotal += chunk.length;
      const over =
        archiveEntryRefusal(file.name, total, file.size ?? bytes.length, limits, 'inflates to') ??
        (archiveTotal > limits.maxTotalBytes
          ? `archive inflates past the ${limits.maxTotalBytes}-byte total limit at "${file.name}" (possible zip bomb); refused`
          : undefined);
      if (over) {
        // Stop here: no further chunk of this entry is inflated or kept.
        stop = over;
        chunks.length = 0;
        file.terminate();
        return;
      }
      chunks.push(chunk);
      if (final) {
        entry.done = true;
        entries.push({ name: file.name, bytes: concat(chunks, total) });
      }
    };
    try {
      file.start();
    } catch (error) {
      errors.push({
        message: `entry "${file.name}": ${messageOf(error)}`,
        location: `${location}:${file.name}`,
      });
    }
  });
  stream.register(UnzipInflate);
  try {
    for (let i = 0; i < bytes.length && !stop; i += CHUNK)
      stream.push(bytes.subarray(i, i + CHUNK), i + CHUNK >= bytes.length);
  } catch (error) {
    stop =
      error instanceof LimitExceeded
        ? error.message
        : `zip data is corrupt or truncated: ${messageOf(error)}`;
  }
  if (stop) errors.push({ message: stop, location });
  for (const entry of started) {
    if (!entry.done && !stop) {
      errors.push({
        message: `entry "${entry.name}" is truncated: the archive ends inside it`,
        location: `${location}:${entry.name}`,
      });
    }
  }
  if (!stop && entries.length === 0 && errors.length === 0) {
    errors.push({ message: 'zip archive is empty, corrupt or truncated: no readable file in it', location });
  }
  return { entries, errors };
}

/**
 * Why an entry that inflated (or declares) `size` bytes from `compressed` is refused, or undefined. Exported for
 * the streamed report (report-stream.ts), which inflates a gzip file itself and must refuse what this refuses.
 */
export function archiveEntryRefusal(
  name: string,
  size: number,
  compressed: number,
  limits: ArchiveLimits,
  verb: string,
): string | undefined {
  if (size > limits.maxEntryBytes) {
    return `archive entry "${name}" ${verb} ${size} bytes, over the ${limits.maxEntryBytes}-byte limit (possible zip bomb); refused`;
  }
  if (size > limits.ratioFloorBytes && compressed > 0 && size / compressed > limits.maxRatio) {
    return `archive entry "${name}" ${verb} ${size} bytes from ${compressed} (ratio ${Math.round(size / compressed)}:1, limit ${limits.maxRatio}:1): zip bomb refused`;
  }
  return undefined;
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
