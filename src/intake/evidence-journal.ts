import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fdatasync, fsync, open, read, readdir, stat, unlink, write } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { isErrno } from '../errors.js';
import { processExists } from '../process-identity.js';

/**
 * The evidence journal: group commit for the evidence store. Concurrent `append`s (those that arrive while
 * a flush is in flight) go to one append-only segment file in one write and one `fdatasync`, so under load
 * the number of syncs per second stays bounded by the disk, not by the number of messages, and a channel
 * may acknowledge once `append` resolves. The evidence store copies each record to its content-addressed
 * file in the background and then `settle`s it; a segment whose records are all settled is deleted.
 *
 * Segment: a 16-byte header (`AUPDESK-EVJ` NUL, version u32 LE), then records:
 * `magic u32 | length u32 | sha256 (32 bytes) | crc32 of those 40 bytes u32 | data (length bytes)`, little
 * endian. A record counts only if its header checksum holds, its data is all there and hashes to its sha256;
 * a scan stops at the first record that does not. Only the tail can be torn (a crash mid-write: that batch
 * was never acknowledged), because a segment is never appended to after a failed write, nor by a later
 * process.
 *
 * Several processes (or store instances) may share one evidence root. Each writes only its own segments,
 * named `<host>~<pid>~<token>~<seq>.evj`. Readers find other writers' records by scanning their segments
 * (`refresh`). A segment is deleted only by its writer, or, after a crash, by a process on the same host that
 * finds its writer gone (no such pid, or this very pid with a token no live instance holds: a restarted
 * container's pid 1); that process adopts the segment and replays it.
 */

export interface JournalRecord {
  readonly sha256: string;
  readonly segment: JournalSegment;
  /** Offset of the data in the segment file. */
  readonly offset: number;
  readonly length: number;
}

export interface JournalSegment {
  readonly name: string;
  readonly file: string;
  /** Written by this journal instance. */
  readonly own: boolean;
  /** Left by a crashed writer and taken over: replayed, then deleted by us. */
  adopted: boolean;
  /** Bytes known to hold valid records (ours: written and synced; others': scanned). */
  end: number;
  /** No more appends (rotated, failed, or not ours). */
  sealed: boolean;
  /** Records not yet settled (copied durably to the blob tree), for segments we may delete. */
  unsettled: number;
  /** Hashes indexed from this segment (to drop them when it goes away). */
  readonly hashes: string[];
  fd: number | undefined;
}

export interface EvidenceJournalOptions {
  /** Records in one flush at most (default 1,000). */
  readonly maxBatch?: number;
  /** Bytes in one flush at most (default 8 MiB). */
  readonly maxBatchBytes?: number;
  /** A segment past this size is sealed and a new one started (default 64 MiB). */
  readonly segmentBytes?: number;
}

const SEGMENT_MAGIC = Buffer.from('AUPDESK-EVJ\0', 'latin1');
const SEGMENT_VERSION = 1;
const SEGMENT_HEADER = 16;
const RECORD_MAGIC = 0x31525645; // "EVR1"
export const RECORD_HEADER = 44;
const SEGMENT_SUFFIX = '.evj';

const openAsync = promisify(open);
const writeAsync = promisify(write);
const readAsync = promisify(read);
const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const readdirAsync = promisify(readdir);
const statAsync = promisify(stat);
const unlinkAsync = promisify(unlink);

/** Tokens of the journal instances alive in this process (to tell a restarted pid from a live sibling). */
const liveTokens = new Set<string>();
const HOST =
  hostname()
    .replace(/[^A-Za-z0-9.-]/g, '-')
    .slice(0, 60) || 'host';

interface Pending {
  readonly sha256: string;
  readonly bytes: Uint8Array;
  readonly resolve: (record: JournalRecord) => void;
  readonly reject: (error: unknown) => void;
}

export class EvidenceJournal {
  readonly dir: string;
  private readonly token = randomBytes(6).toString('hex');
  private readonly maxBatch: number;
  private readonly maxBatchBytes: number;
  private readonly segmentBytes: number;
  private readonly index = new Map<string, JournalRecord>();
  private readonly segments = new Map<string, JournalSegment>();
  /** Records already settled (two copiers may finish the same record; count it once). */
  private readonly settled = new WeakSet<JournalRecord>();
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private active: JournalSegment | undefined;
  private seq = 0;
  private closed = false;

  constructor(dir: string, options: EvidenceJournalOptions = {}) {
    this.dir = dir;
    this.maxBatch = options.maxBatch ?? 1_000;
    this.maxBatchBytes = options.maxBatchBytes ?? 8 * 1024 * 1024;
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    liveTokens.add(this.token);
  }

  /**
   * Scan the segments already on disk (the directory must exist). Returns the records of adopted segments
   * (crashed writers'), which the caller replays into the blob tree and then settles.
   */
  async open(): Promise<JournalRecord[]> {
    const adopted: JournalRecord[] = [];
    for (const name of await this.segmentNames()) {
      const segment = this.foreignSegment(name);
      if (!segment) continue;
      segment.adopted = isOrphan(name);
      const records = await this.scan(segment);
      if (segment.adopted) {
        segment.unsettled = records.length;
        adopted.push(...records);
        if (records.length === 0) await this.retire(segment);
      }
    }
    return adopted;
  }

  /** A durable record of these bytes, if the journal holds one. */
  lookup(sha256: string): JournalRecord | undefined {
    return this.index.get(sha256);
  }

  /** Pick up records other writers appended since the last look (and forget segments they deleted). */
  async refresh(): Promise<void> {
    const names = new Set(await this.segmentNames());
    for (const segment of [...this.segments.values()]) {
      if (segment.own || names.has(segment.name)) continue;
      this.forget(segment);
    }
    for (const name of names) {
      const known = this.segments.get(name);
      if (known?.own || known?.adopted) continue;
      const segment = known ?? this.foreignSegment(name);
      if (segment) await this.scan(segment);
    }
  }

  /**
   * Append bytes (whose sha256 the caller computed) and resolve once they are synced to disk. Appends that
   * arrive while a flush runs go together in the next one.
   */
  append(sha256: string, bytes: Uint8Array): Promise<JournalRecord> {
    if (this.closed) return Promise.reject(new Error('evidence journal closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ sha256, bytes, resolve, reject });
      if (!this.flushing) this.flushing = this.flush();
    });
  }

  /** The record's bytes, verified against its hash (throws ENOENT if the segment went away meanwhile). */
  async read(record: JournalRecord): Promise<Uint8Array> {
    const fd = await openAsync(record.segment.file, 'r');
    try {
      const bytes = await readAt(fd, record.offset, record.length);
      if (sha256Hex(bytes) !== record.sha256) {
        throw Object.assign(new Error(`journal record ${record.sha256} does not match its hash`), {
          code: 'EJOURNALCORRUPT',
        });
      }
      return bytes;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The bytes of several records, verified against their hashes, with one read per segment for the span
   * they cover (a copier round is mostly consecutive records). Records whose segment is gone are absent;
   * records whose bytes no longer match their hash map to `'corrupt'`.
   */
  async readMany(records: readonly JournalRecord[]): Promise<Map<JournalRecord, Uint8Array | 'corrupt'>> {
    const out = new Map<JournalRecord, Uint8Array | 'corrupt'>();
    const bySegment = new Map<JournalSegment, JournalRecord[]>();
    for (const r of records) {
      const list = bySegment.get(r.segment);
      if (list) list.push(r);
      else bySegment.set(r.segment, [r]);
    }
    for (const [segment, list] of bySegment) {
      let fd: number;
      try {
        fd = await openAsync(segment.file, 'r');
      } catch (error) {
        if (isErrno(error, 'ENOENT')) continue;
        throw error;
      }
      try {
        list.sort((a, b) => a.offset - b.offset);
        // Spans of records no more than 64 KiB apart, so a round never reads much it does not need.
        for (let i = 0; i < list.length; ) {
          let j = i + 1;
          while (j < list.length && list[j]!.offset - (list[j - 1]!.offset + list[j - 1]!.length) <= 65_536)
            j++;
          const start = list[i]!.offset;
          const end = list[j - 1]!.offset + list[j - 1]!.length;
          const span = Buffer.from(await readAt(fd, start, end - start));
          for (const r of list.slice(i, j)) {
            const bytes = new Uint8Array(span.subarray(r.offset - start, r.offset - start + r.length));
            out.set(r, sha256Hex(bytes) === r.sha256 ? bytes : 'corrupt');
          }
          i = j;
        }
      } finally {
        closeSync(fd);
      }
    }
    return out;
  }

  /**
   * The record is now durable in the blob tree: drop it from the index and delete its segment once nothing
   * in it is left unsettled (and nothing will be appended to it).
   */
  async settle(record: JournalRecord): Promise<void> {
    if (this.settled.has(record)) return;
    this.settled.add(record);
    if (this.index.get(record.sha256) === record) this.index.delete(record.sha256);
    const segment = record.segment;
    if (!segment.own && !segment.adopted) return;
    segment.unsettled -= 1;
    if (segment.unsettled === 0 && segment.sealed) await this.retire(segment);
  }

  /**
   * Seal the active segment if everything in it is settled and nothing is being appended, so that it is
   * deleted (called when the store goes idle; a later append opens a new segment).
   */
  async sealIfSettled(): Promise<void> {
    const active = this.active;
    if (!active || this.flushing || this.queue.length > 0 || active.unsettled > 0) return;
    active.sealed = true;
    this.active = undefined;
    await this.retire(active);
  }

  /** Unsettled records of our own and adopted segments (what a closing store still has to copy). */
  get unsettled(): number {
    let n = 0;
    for (const s of this.segments.values()) if (s.own || s.adopted) n += s.unsettled;
    return n;
  }

  /** Finish pending appends and close the active segment's file (its unsettled records stay on disk). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    if (this.active) {
      this.active.sealed = true;
      closeFd(this.active);
      if (this.active.unsettled === 0) await this.retire(this.active);
      this.active = undefined;
    }
    liveTokens.delete(this.token);
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        let bytes = 0;
        let n = 0;
        while (n < this.queue.length && n < this.maxBatch) {
          bytes += RECORD_HEADER + this.queue[n]!.bytes.length;
          n++;
          if (bytes >= this.maxBatchBytes) break;
        }
        const batch = this.queue.splice(0, n);
        try {
          const records = await this.writeBatch(batch);
          for (const [i, p] of batch.entries()) p.resolve(records[i]!);
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBatch(batch: readonly Pending[]): Promise<JournalRecord[]> {
    const segment = await this.writableSegment();
    const parts: Uint8Array[] = [];
    const offsets: number[] = [];
    let at = segment.end;
    for (const p of batch) {
      parts.push(recordHeader(p.sha256, p.bytes.length), p.bytes);
      offsets.push(at + RECORD_HEADER);
      at += RECORD_HEADER + p.bytes.length;
    }
    const buffer = Buffer.concat(parts);
    try {
      await writeFully(segment.fd!, buffer, segment.end);
      await fdatasyncAsync(segment.fd!);
    } catch (error) {
      // Whatever reached the file may be torn: never append after it (a scan stops at the tear).
      segment.sealed = true;
      closeFd(segment);
      if (this.active === segment) this.active = undefined;
      if (segment.unsettled === 0) await this.retire(segment).catch(() => undefined);
      throw error;
    }
    segment.end = at;
    const records = batch.map(
      (p, i): JournalRecord => ({ sha256: p.sha256, segment, offset: offsets[i]!, length: p.bytes.length }),
    );
    for (const r of records) {
      this.index.set(r.sha256, r);
      segment.hashes.push(r.sha256);
    }
    segment.unsettled += records.length;
    if (segment.end >= this.segmentBytes) {
      segment.sealed = true;
      closeFd(segment);
      this.active = undefined;
    }
    return records;
  }

  /** The active segment, or a new one: created, its header synced and its name synced into the directory. */
  private async writableSegment(): Promise<JournalSegment> {
    if (this.active && !this.active.sealed) return this.active;
    const name = `${HOST}~${process.pid}~${this.token}~${String(this.seq++).padStart(6, '0')}${SEGMENT_SUFFIX}`;
    const file = path.join(this.dir, name);
    const fd = await openAsync(file, 'wx+', 0o640);
    const segment: JournalSegment = {
      name,
      file,
      own: true,
      adopted: false,
      end: 0,
      sealed: false,
      unsettled: 0,
      hashes: [],
      fd,
    };
    try {
      const header = Buffer.alloc(SEGMENT_HEADER);
      SEGMENT_MAGIC.copy(header, 0);
      header.writeUInt32LE(SEGMENT_VERSION, 12);
      await writeFully(fd, header, 0);
      await fsyncAsync(fd);
      await fsyncDirectory(this.dir);
    } catch (error) {
      closeFd(segment);
      await unlinkAsync(file).catch(() => undefined);
      throw error;
    }
    segment.end = SEGMENT_HEADER;
    this.segments.set(name, segment);
    this.active = segment;
    return segment;
  }

  private foreignSegment(name: string): JournalSegment | undefined {
    if (!name.endsWith(SEGMENT_SUFFIX) || parseSegmentName(name) === undefined) return undefined;
    const segment: JournalSegment = {
      name,
      file: path.join(this.dir, name),
      own: false,
      adopted: false,
      end: 0,
      sealed: true,
      unsettled: 0,
      hashes: [],
      fd: undefined,
    };
    this.segments.set(name, segment);
    return segment;
  }

  /** Index the valid records past `segment.end`, stopping at the first torn one. */
  private async scan(segment: JournalSegment): Promise<JournalRecord[]> {
    let fd: number;
    try {
      fd = await openAsync(segment.file, 'r');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        this.forget(segment);
        return [];
      }
      throw error;
    }
    try {
      const size = (await statAsync(segment.file)).size;
      if (segment.end === 0) {
        if (size < SEGMENT_HEADER) return [];
        const header = Buffer.from(await readAt(fd, 0, SEGMENT_HEADER));
        if (!header.subarray(0, 12).equals(SEGMENT_MAGIC) || header.readUInt32LE(12) !== SEGMENT_VERSION) {
          return [];
        }
        segment.end = SEGMENT_HEADER;
      }
      if (size <= segment.end) return [];
      const bytes = Buffer.from(await readAt(fd, segment.end, size - segment.end));
      const found = parseRecords(bytes, segment.end);
      const records: JournalRecord[] = [];
      for (const r of found.records) {
        const record: JournalRecord = { sha256: r.sha256, segment, offset: r.offset, length: r.length };
        if (!this.index.has(r.sha256)) this.index.set(r.sha256, record);
        segment.hashes.push(r.sha256);
        records.push(record);
      }
      segment.end = found.end;
      return records;
    } finally {
      closeSync(fd);
    }
  }

  private forget(segment: JournalSegment): void {
    for (const sha of segment.hashes) {
      if (this.index.get(sha)?.segment === segment) this.index.delete(sha);
    }
    this.segments.delete(segment.name);
  }

  private async retire(segment: JournalSegment): Promise<void> {
    if (this.active === segment) return;
    closeFd(segment);
    this.forget(segment);
    try {
      await unlinkAsync(segment.file);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
  }

  private async segmentNames(): Promise<string[]> {
    try {
      return (await readdirAsync(this.dir)).filter((n) => n.endsWith(SEGMENT_SUFFIX)).sort();
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
  }
}

export interface ParsedRecords {
  readonly records: { sha256: string; offset: number; length: number }[];
  /** Offset just past the last valid record. */
  readonly end: number;
  /** Bytes after `end` that do not form a valid record (a torn tail, or a record still being written). */
  readonly torn: boolean;
}

/** Parse records from `bytes`, which start at file offset `base`; stops at the first invalid record. */
export function parseRecords(bytes: Buffer, base: number): ParsedRecords {
  const records: { sha256: string; offset: number; length: number }[] = [];
  let p = 0;
  while (p + RECORD_HEADER <= bytes.length) {
    if (bytes.readUInt32LE(p) !== RECORD_MAGIC) break;
    if (crc32(bytes.subarray(p, p + 40)) !== bytes.readUInt32LE(p + 40)) break;
    const length = bytes.readUInt32LE(p + 4);
    if (p + RECORD_HEADER + length > bytes.length) break;
    const sha256 = bytes.subarray(p + 8, p + 40).toString('hex');
    const data = bytes.subarray(p + RECORD_HEADER, p + RECORD_HEADER + length);
    if (sha256Hex(data) !== sha256) break;
    records.push({ sha256, offset: base + p + RECORD_HEADER, length });
    p += RECORD_HEADER + length;
  }
  return { records, end: base + p, torn: p < bytes.length };
}

function recordHeader(sha256: string, length: number): Buffer {
  const header = Buffer.alloc(RECORD_HEADER);
  header.writeUInt32LE(RECORD_MAGIC, 0);
  header.writeUInt32LE(length, 4);
  header.write(sha256, 8, 32, 'hex');
  header.writeUInt32LE(crc32(header.subarray(0, 40)), 40);
  return header;
}

function parseSegmentName(name: string): { host: string; pid: number; token: string } | undefined {
  const parts = name.slice(0, -SEGMENT_SUFFIX.length).split('~');
  if (parts.length !== 4) return undefined;
  const pid = Number(parts[1]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { host: parts[0]!, pid, token: parts[2]! };
}

/** A segment whose writer is gone: on this host, and its pid dead or reused by a process that is not it. */
function isOrphan(name: string): boolean {
  const owner = parseSegmentName(name);
  if (!owner || owner.host !== HOST) return false;
  if (owner.pid === process.pid) return !liveTokens.has(owner.token);
  return !processExists(owner.pid);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readAt(fd: number, position: number, length: number): Promise<Uint8Array> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await readAsync(fd, buffer, done, length - done, position + done);
    if (bytesRead === 0) {
      throw Object.assign(new Error('journal segment ended early'), { code: 'EJOURNALSHORT' });
    }
    done += bytesRead;
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

async function writeFully(fd: number, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesWritten } = await writeAsync(fd, buffer, done, buffer.length - done, position + done);
    done += bytesWritten;
  }
}

export async function fsyncDirectory(dir: string): Promise<void> {
  const fd = await openAsync(dir, 'r');
  try {
    await fsyncAsync(fd);
  } catch (error) {
    // Some filesystems refuse fsync on a directory; a rename or create is still atomic there.
    if (!isErrno(error, 'EINVAL') && !isErrno(error, 'EPERM') && !isErrno(error, 'EISDIR')) throw error;
  } finally {
    closeSync(fd);
  }
}

function closeFd(segment: JournalSegment): void {
  if (segment.fd === undefined) return;
  const fd = segment.fd;
  segment.fd = undefined;
  closeSync(fd);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
