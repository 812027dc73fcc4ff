import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AupError } from '../errors.js';

/**
 * Raw evidence, stored content-addressed by sha256 before anything acknowledges receipt (DESIGN.md: a
 * channel answers SMTP `250` / HTTP `202` only after `put` resolves). Layout: `<root>/ab/cd/<sha256>`, the
 * first two byte pairs of the hash as directories so no directory grows past 65,536 entries per level.
 *
 * Durability: bytes go to a temporary file in the target directory, the file is fsynced, renamed into place
 * (atomic on POSIX: a reader sees the whole blob or nothing) and the directory fsynced so the rename itself
 * survives a power cut. Newly created fan-out directories are fsynced into their parents too.
 *
 * Blobs are immutable (mode 0444) and never deleted here: retention is a separate, audited decision.
 * Identical bytes are stored once; `put` says whether they were already there. Two concurrent `put`s of the
 * same new bytes may both answer `duplicate: false`; the blob is written correctly either way.
 */

export interface EvidencePutResult {
  readonly sha256: string;
  readonly size: number;
  /** True when the same bytes were already stored (a re-ingested mail or file). */
  readonly duplicate: boolean;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

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

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Where a blob lives (after validating the hash). */
  pathFor(sha256: string): string {
    assertSha256(sha256);
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  /** Store bytes durably; resolves only once they (and their directory entry) are on disk. */
  async put(bytes: Uint8Array): Promise<EvidencePutResult> {
    const sha256 = sha256Hex(bytes);
    const target = this.pathFor(sha256);
    const existing = await sizeOf(target);
    if (existing === bytes.length) return { sha256, size: bytes.length, duplicate: true };

    const dir = path.dirname(target);
    await this.ensureDir(dir);
    const temp = path.join(
      dir,
      `.tmp-${sha256.slice(0, 16)}-${process.pid}-${randomBytes(6).toString('hex')}`,
    );
    const handle = await open(temp, 'wx', 0o444);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await handle.close();
    try {
      await rename(temp, target);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await fsyncDir(dir);
    return { sha256, size: bytes.length, duplicate: false };
  }

  async has(sha256: string): Promise<boolean> {
    return (await sizeOf(this.pathFor(sha256))) !== undefined;
  }

  /** The stored bytes, re-hashed on read: a blob that no longer matches its name is reported, not served. */
  async get(sha256: string): Promise<Uint8Array> {
    const file = this.pathFor(sha256);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (error) {
      if (isNotFound(error)) throw notFound(sha256);
      throw error;
    }
    if (sha256Hex(bytes) !== sha256) {
      throw new AupError('AUP_ERR_EVIDENCE_CORRUPT', `evidence ${sha256} does not match its hash`, {
        details: { sha256, path: file },
      });
    }
    return bytes;
  }

  /** A read stream for large blobs (the CLI pipes it to stdout); not re-hashed, use `get` to verify. */
  async openReadStream(sha256: string): Promise<ReadStream> {
    const file = this.pathFor(sha256);
    if ((await sizeOf(file)) === undefined) throw notFound(sha256);
    return createReadStream(file);
  }

  /** mkdir -p, fsyncing each parent whose listing gained a new directory. */
  private async ensureDir(dir: string): Promise<void> {
    const missing: string[] = [];
    for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
      if ((await sizeOf(d)) !== undefined) break;
      missing.unshift(d);
    }
    if (missing.length === 0) return;
    await mkdir(dir, { recursive: true });
    for (const d of missing) await fsyncDir(path.dirname(d));
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

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems (and Windows) refuse fsync on a directory; the rename is still atomic there.
    if (!isErrno(error, 'EINVAL') && !isErrno(error, 'EPERM') && !isErrno(error, 'EISDIR')) throw error;
  } finally {
    await handle.close();
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

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
