import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream, statSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AupError, isErrno } from '../errors.js';
import {
  EvidenceJournal,
  type EvidenceJournalOptions,
  fsyncDirectory,
  type JournalRecord,
  sha256Hex,
} from './evidence-journal.js';

export { sha256Hex } from './evidence-journal.js';

/**
 * Raw evidence, stored content-addressed by sha256 before anything acknowledges receipt (DESIGN.md: a
 * channel answers SMTP `250` / HTTP `202` only after `put` resolves). Layout: `<root>/ab/cd/<sha256>`, the
 * first two byte pairs of the hash as directories so no directory grows past 65,536 entries per level.
 *
 * Durability: `put` appends the bytes to the evidence journal (`<root>/.journal/`, evidence-journal.ts) and
 * resolves once they are fdatasynced there. Concurrent puts share one write and one sync (group commit), so a
 * busy SMTP intake pays one sync per batch instead of 3–5 per message. A background copier then writes each
 * blob to its content-addressed file (temporary file, fsync, rename, directory fsync) and only after that
 * lets the journal forget the record and delete its segment. Reads look at the blob tree first and then at
 * the journal, so a blob is readable as soon as `put` resolved. After a crash, the next store opened on the
 * root replays the dead writer's segments (a torn last batch, never acknowledged, is ignored).
 * Blobs larger than `journalMaxBytes` skip the journal and are written and fsynced directly.
 *
 * Blobs are immutable (mode 0444) and never deleted here: retention is a separate, audited decision.
 * Identical bytes are stored once; `put` says whether they were already there (concurrent puts of the same
 * new bytes in one store: one answers `duplicate: false`, the others `true`). Bytes another process put
 * moments ago and has not copied yet are not looked for: such a put answers `duplicate: false` and the blob
 * is simply written twice, to the same name.
 *
 * `close()` finishes the copying (so the journal is empty) and is optional: an unclosed store loses nothing.
 */

export interface EvidencePutResult {
  readonly sha256: string;
  readonly size: number;
  /** True when the same bytes were already stored (a re-ingested mail or file). */
  readonly duplicate: boolean;
}

export interface EvidenceStoreOptions extends EvidenceJournalOptions {
  /** Blobs larger than this bypass the journal (default 1 MiB). */
  readonly journalMaxBytes?: number;
  /** Blobs copied from the journal to the blob tree per round (default 32). */
  readonly copyBatch?: number;
  /**
   * The copier waits until no put has come for this long (default 200 ms), so that its fsyncs do not slow
   * the syncs that acknowledgements wait for during a burst…
   */
  readonly copyQuietMs?: number;
  /** …unless this many records wait to be copied (default 20,000): then it copies while puts go on. */
  readonly copyBacklog?: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const JOURNAL_DIR = '.journal';
/** `putFile`'s temporary files in the root. */
const TEMP_FILE_PREFIX = '.tmp-file-';
/** A temporary file not written for this long was left by a copy that died (removeAbandonedFiles). */
export const ABANDONED_TEMP_MS = 60 * 60_000;
/** After this long with nothing to copy, the settled active segment is deleted. */
const IDLE_SEAL_MS = 1_000;
const RETRY_MS = 5_000;

/** Throws `AUP_ERR_EVIDENCE_BAD_HASH` unless `value` is 64 lowercase hex digits (no path can be smuggled in). */
export function assertSha256(value: string): string {
  if (!SHA256_HEX.test(value)) {
    throw new AupError(
      'AUP_ERR_EVIDENCE_BAD_HASH',
      `not a sha256 evidence id (64 lowercase hex characters): ${JSON.stringify(value.slice(0, 80))}`,
      { details: { value: value.slice(0, 80) } },
    );
  }
  return value;
}

export class EvidenceStore {
  readonly root: string;
  private readonly journal: EvidenceJournal;
  private readonly journalMaxBytes: number;
  private readonly copyBatch: number;
  private ready: Promise<void> | undefined;
  /** Puts whose journal write is in flight, by hash (a concurrent put of the same bytes waits for it). */
  private readonly inFlight = new Map<string, Promise<JournalRecord>>();
  /** Durable journal records still to be copied to the blob tree, oldest first. */
  private copyQueue: JournalRecord[] = [];
  private copying: Promise<void> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private quietTimer: NodeJS.Timeout | undefined;
  private readonly copyQuietMs: number;
  private readonly copyBacklog: number;
  private lastPutAt = 0;
  private draining = false;
  /** Directories known to exist (and be durable), so the copier does not stat them for every blob. */
  private readonly knownDirs = new Set<string>();
  /** The last copy failure (the records stay in the journal and are retried). */
  lastCopyError: unknown;

  constructor(root: string, options: EvidenceStoreOptions = {}) {
    this.root = path.resolve(root);
    this.journal = new EvidenceJournal(path.join(this.root, JOURNAL_DIR), options);
    this.journalMaxBytes = options.journalMaxBytes ?? 1024 * 1024;
    this.copyBatch = options.copyBatch ?? 32;
    this.copyQuietMs = options.copyQuietMs ?? 200;
    this.copyBacklog = options.copyBacklog ?? 20_000;
  }

  /** Where a blob lives once copied from the journal (after validating the hash). */
  pathFor(sha256: string): string {
    assertSha256(sha256);
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  /** Store bytes durably; resolves only once they are on disk (in the journal or the blob tree). */
  async put(bytes: Uint8Array): Promise<EvidencePutResult> {
    await this.open();
    const sha256 = sha256Hex(bytes);
    const target = this.pathFor(sha256);
    const result = (duplicate: boolean): EvidencePutResult => ({ sha256, size: bytes.length, duplicate });

    // The journal before the blob tree: a record leaves the journal only after its blob is durable.
    if (await this.knownInJournal(sha256)) return result(true);
    // A synchronous stat: microseconds for a cached path, where the thread pool's round trip costs a
    // context switch each way and queues behind the fsyncs.
    if (statSync(target, { throwIfNoEntry: false })?.size === bytes.length) return result(true);
    // Checked again with no await between the check and registering our own write, so that of two
    // concurrent puts of the same new bytes exactly one writes them.
    const racing = this.inFlight.get(sha256);
    if (
      racing &&
      (await racing.then(
        () => true,
        () => false,
      ))
    )
      return result(true);
    if (this.journal.lookup(sha256)) return result(true);

    if (bytes.length > this.journalMaxBytes) {
      await this.writeBlob(target, bytes);
      return result(false);
    }
    this.lastPutAt = performance.now();
    const pending = this.journal.append(sha256, bytes);
    this.inFlight.set(sha256, pending);
    try {
      const record = await pending;
      this.enqueueCopy(record);
    } finally {
      this.inFlight.delete(sha256);
    }
    return result(false);
  }

  /**
   * Store a file's bytes durably without holding them: streamed into a temporary file in the store's root
   * while hashed, fsynced, then renamed to its name (`aupdesk ingest` of a feed file of a million rows).
   * The same contract as `put`: resolves once the bytes are on disk; the same bytes twice are a duplicate.
   */
  async putFile(file: string): Promise<EvidencePutResult> {
    await this.open();
    const temp = path.join(this.root, `${TEMP_FILE_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    await writeSynced(temp, async (handle) => {
      for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
        const bytes = chunk as Buffer;
        hash.update(bytes);
        size += bytes.length;
        await handle.write(bytes);
      }
    });
    const sha256 = hash.digest('hex');
    const target = this.pathFor(sha256);
    const known =
      (await this.knownInJournal(sha256)) ||
      statSync(target, { throwIfNoEntry: false })?.size === size ||
      this.journal.lookup(sha256) !== undefined;
    if (known) {
      await unlink(temp).catch(() => undefined);
      return { sha256, size, duplicate: true };
    }
    try {
      await this.ensureDir(path.dirname(target));
      await rename(temp, target);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await fsyncDirectory(path.dirname(target));
    return { sha256, size, duplicate: false };
  }

  async has(sha256: string): Promise<boolean> {
    const file = this.pathFor(sha256);
    await this.open();
    if ((await sizeOf(file)) !== undefined) return true;
    if (await this.findRecord(sha256)) return true;
    return (await sizeOf(file)) !== undefined;
  }

  /** The stored bytes, re-hashed on read: a blob that no longer matches its name is reported, not served. */
  async get(sha256: string): Promise<Uint8Array> {
    const file = this.pathFor(sha256);
    await this.open();
    const fromTree = existsNow(file) ? await readOptional(file) : undefined;
    if (fromTree) return verified(sha256, fromTree, file);
    const record = await this.findRecord(sha256);
    if (record) {
      try {
        return await this.journal.read(record);
      } catch (error) {
        // Copied and its segment deleted meanwhile: the blob tree has it now.
        if (!isErrno(error, 'ENOENT')) throw journalCorrupt(sha256, error);
      }
    }
    const late = await readOptional(file);
    if (late) return verified(sha256, late, file);
    throw notFound(sha256);
  }

  /** A read stream for large blobs (the CLI pipes it to stdout); not re-hashed, use `get` to verify. */
  async openReadStream(sha256: string): Promise<ReadStream> {
    const file = this.pathFor(sha256);
    await this.open();
    if ((await sizeOf(file)) === undefined) {
      // Still only in the journal: copy it now, so the stream reads an ordinary immutable file.
      const record = await this.findRecord(sha256);
      if (record) await this.copyRecords([record]);
      if ((await sizeOf(file)) === undefined) throw notFound(sha256);
    }
    return createReadStream(file);
  }

  /**
   * The blob's file in the tree (copied from the journal first if it is still there), its hash checked by
   * reading it through: for a reader that streams a big blob rather than holding it (the streamed report
   * parser reads the file in a parsing thread). The file is immutable once named by its hash.
   */
  async fileOf(sha256: string): Promise<string> {
    const file = this.pathFor(sha256);
    const hash = createHash('sha256');
    for await (const chunk of await this.openReadStream(sha256)) hash.update(chunk as Buffer);
    if (hash.digest('hex') !== sha256) throw corruptBlob(sha256, file);
    return file;
  }

  /** Resolves once every blob put so far is copied to the blob tree (and the journal segments deleted). */
  async drain(): Promise<void> {
    await this.open();
    this.draining = true;
    try {
      for (;;) {
        if (!this.copying) {
          if (this.copyQueue.length === 0) break;
          clearTimeout(this.retryTimer);
          this.retryTimer = undefined;
          this.startCopying();
        }
        await this.copying;
        if (this.copyQueue.length > 0 && this.lastCopyError !== undefined) throw this.lastCopyError;
      }
    } finally {
      this.draining = false;
    }
    await this.journal.sealIfSettled();
  }

  /** Finish writes and copying; the store must not be used afterwards. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.quietTimer);
    try {
      if (this.ready) await this.drain();
    } finally {
      await this.journal.close();
    }
  }

  /** Create the root and journal directory and replay what a crashed writer left (once; retried on failure). */
  private open(): Promise<void> {
    if (!this.ready) {
      this.ready = (async () => {
        await this.createDirs(this.journal.dir);
        const adopted = await this.journal.open();
        for (const record of adopted) this.enqueueCopy(record);
        await this.removeAbandonedFiles();
      })();
      this.ready.catch(() => {
        this.ready = undefined;
      });
    }
    return this.ready;
  }

  /**
   * Removes what a `putFile` killed mid-copy left in the root (a temporary file as big as the feed file it
   * copied, a gigabyte and more), once the file has not been written for ABANDONED_TEMP_MS: a copy under way
   * in another process sharing the store writes to its file all the time, so only a dead one's goes. Returns
   * the names removed.
   */
  async removeAbandonedFiles(now: number = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(this.root)) {
      if (!name.startsWith(TEMP_FILE_PREFIX)) continue;
      const file = path.join(this.root, name);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile() || now - info.mtimeMs < ABANDONED_TEMP_MS) continue;
      await unlink(file).catch(() => undefined);
      removed.push(name);
    }
    return removed;
  }

  /** True when the bytes are durable in the journal or about to be (waiting for the in-flight write). */
  private async knownInJournal(sha256: string): Promise<boolean> {
    const inFlight = this.inFlight.get(sha256);
    // A failed write of the same bytes by another put: this put writes them itself.
    if (inFlight)
      return inFlight.then(
        () => true,
        () => false,
      );
    return this.journal.lookup(sha256) !== undefined;
  }

  private async findRecord(sha256: string): Promise<JournalRecord | undefined> {
    const inFlight = this.inFlight.get(sha256);
    if (inFlight) return inFlight.catch(() => undefined);
    const known = this.journal.lookup(sha256);
    if (known) return known;
    await this.journal.refresh();
    return this.journal.lookup(sha256);
  }

  private enqueueCopy(record: JournalRecord): void {
    this.copyQueue.push(record);
    clearTimeout(this.idleTimer);
    this.scheduleCopy();
  }

  /** Start copying now if puts have gone quiet or the backlog is full; otherwise look again later. */
  private scheduleCopy(): void {
    if (this.copying || this.retryTimer || this.quietTimer || this.copyQueue.length === 0) return;
    const quietFor = performance.now() - this.lastPutAt;
    if (quietFor >= this.copyQuietMs || this.copyQueue.length >= this.copyBacklog) {
      this.startCopying();
      return;
    }
    // Unref'd: an unclosed store in an exiting process leaves the records in the journal, replayed later.
    this.quietTimer = setTimeout(
      () => {
        this.quietTimer = undefined;
        this.scheduleCopy();
      },
      Math.max(1, this.copyQuietMs - quietFor),
    );
    this.quietTimer.unref();
  }

  private startCopying(): void {
    this.copying = this.copyLoop().finally(() => {
      this.copying = undefined;
      this.scheduleCopy();
    });
  }

  /**
   * Copies in rounds, pausing when puts resume (unless draining or the backlog is full); after a failure the
   * records stay queued (and in the journal) and are retried later.
   */
  private async copyLoop(): Promise<void> {
    while (this.copyQueue.length > 0) {
      if (statSync(this.journal.dir, { throwIfNoEntry: false }) === undefined) {
        // The whole root was removed under us (only tests do that): its records went with it.
        this.copyQueue = [];
        return;
      }
      const busy = performance.now() - this.lastPutAt < this.copyQuietMs;
      if (busy && !this.draining && this.copyQueue.length < this.copyBacklog) return;
      const round = this.copyQueue.slice(0, this.copyBatch);
      try {
        this.lastCopyError = undefined;
        await this.copyRecords(round);
        this.copyQueue.splice(0, round.length);
      } catch (error) {
        this.lastCopyError = error;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (!this.copying) this.startCopying();
        }, RETRY_MS);
        this.retryTimer.unref();
        return;
      }
    }
    this.idleTimer = setTimeout(() => {
      void this.journal.sealIfSettled().catch(() => undefined);
    }, IDLE_SEAL_MS);
    this.idleTimer.unref();
  }

  /**
   * Write each record's blob (temporary file, fsync, rename), then fsync the directories once each, then
   * settle the records in the journal. A blob already in the tree is re-hashed (after a power cut a file may
   * be there with the wrong bytes) and fsynced rather than rewritten.
   */
  private async copyRecords(records: readonly JournalRecord[]): Promise<void> {
    const contents = await this.journal.readMany(records);
    const dirs = new Set<string>();
    const settled: JournalRecord[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < records.length) {
        const record = records[next++]!;
        if (!existsNow(this.journal.dir)) return;
        const target = this.pathFor(record.sha256);
        const dir = path.dirname(target);
        await this.ensureDir(dir);
        const bytes = contents.get(record);
        if (bytes === 'corrupt') {
          // Left unsettled, so its segment is never deleted: the damaged bytes stay for an analyst.
          this.lastCopyError = corruptInJournal(record.sha256);
          continue;
        }
        if (existsNow(target)) {
          const existing = await readOptional(target);
          if (existing && sha256Hex(existing) === record.sha256) {
            await fsyncFile(target);
            dirs.add(dir);
            settled.push(record);
            continue;
          }
        }
        // Its segment is gone: another store copied the record (and fsynced the blob) before deleting it.
        if (bytes === undefined) {
          if ((await sizeOf(target)) !== record.length) throw notFound(record.sha256);
          settled.push(record);
          continue;
        }
        await writeTemporaryAndRename(target, bytes);
        dirs.add(dir);
        settled.push(record);
      }
    };
    // Two at a time: the copies share libuv's thread pool with the journal's syncs on the ack path.
    await Promise.all([worker(), worker()]);
    const dirList = [...dirs];
    await Promise.all(
      [0, 1].map(async (k) => {
        for (let i = k; i < dirList.length; i += 2) await fsyncDirectory(dirList[i]!);
      }),
    );
    for (const record of settled) await this.journal.settle(record);
  }

  /** The direct path for large blobs: temporary file, fsync, rename, directory fsync. */
  private async writeBlob(target: string, bytes: Uint8Array): Promise<void> {
    const dir = path.dirname(target);
    await this.ensureDir(dir);
    await writeTemporaryAndRename(target, bytes);
    await fsyncDirectory(dir);
  }

  /**
   * A blob's fan-out directory `<root>/ab/cd`, created one level at a time with each new entry fsynced into
   * its parent. Never the root: if the root was removed under a running store (a test's temporary
   * directory being deleted), nothing is recreated and the copy fails with ENOENT.
   */
  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    for (const d of [path.dirname(dir), dir]) {
      try {
        await mkdir(d);
        await fsyncDirectory(path.dirname(d));
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
    }
    // Bounded: at most 65,536 fan-out directories exist, but a long-lived process need not remember all.
    if (this.knownDirs.size >= 70_000) this.knownDirs.clear();
    this.knownDirs.add(dir);
  }

  /** mkdir -p (for the root and its journal directory), fsyncing each parent that gained a directory. */
  private async createDirs(dir: string): Promise<void> {
    const missing: string[] = [];
    for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
      if ((await sizeOf(d)) !== undefined) break;
      missing.unshift(d);
    }
    if (missing.length === 0) return;
    await mkdir(dir, { recursive: true });
    for (const d of missing) await fsyncDirectory(path.dirname(d));
  }
}

async function writeTemporaryAndRename(target: string, bytes: Uint8Array): Promise<void> {
  const temp = path.join(
    path.dirname(target),
    `.tmp-${path.basename(target).slice(0, 16)}-${process.pid}-${randomBytes(6).toString('hex')}`,
  );
  await writeSynced(temp, (handle) => handle.writeFile(bytes));
  try {
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** A new read-only file at `temp`, written by `write` and fsynced; removed again if anything fails. */
async function writeSynced(temp: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  const handle = await open(temp, 'wx', 0o444);
  try {
    await write(handle);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function verified(sha256: string, bytes: Uint8Array, file: string): Uint8Array {
  if (sha256Hex(bytes) !== sha256) throw corruptBlob(sha256, file);
  return bytes;
}

function corruptBlob(sha256: string, file: string): AupError {
  return new AupError('AUP_ERR_EVIDENCE_CORRUPT', `evidence ${sha256} does not match its hash`, {
    details: { sha256, path: file },
  });
}

function journalCorrupt(sha256: string, error: unknown): unknown {
  if (!isErrno(error, 'EJOURNALCORRUPT') && !isErrno(error, 'EJOURNALSHORT')) return error;
  return corruptInJournal(sha256);
}

function corruptInJournal(sha256: string): AupError {
  return new AupError(
    'AUP_ERR_EVIDENCE_CORRUPT',
    `evidence ${sha256} does not match its hash in the journal`,
    {
      details: { sha256 },
    },
  );
}

function existsNow(file: string): boolean {
  return statSync(file, { throwIfNoEntry: false }) !== undefined;
}

async function readOptional(file: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

function notFound(sha256: string): AupError {
  return new AupError('AUP_ERR_EVIDENCE_NOT_FOUND', `no evidence stored under ${sha256}`, {
    details: { sha256 },
  });
}

function isNotFound(error: unknown): boolean {
  return isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR');
}
