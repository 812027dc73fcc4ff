import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  truncateSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAupError } from '../errors.js';
import { parseRecords, RECORD_HEADER } from './evidence-journal.js';
import { EvidenceStore, type EvidenceStoreOptions, sha256Hex } from './evidence-store.js';

/** A store whose background copier never starts on its own (only `drain`/`close` copy). */
function holdingStore(root?: string, options: EvidenceStoreOptions = {}): EvidenceStore {
  return new EvidenceStore(root ?? mkdtempSync(path.join(tmpdir(), 'evidence-journal-')), {
    copyQuietMs: 3_600_000,
    copyBacklog: 1_000_000,
    ...options,
  });
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function segments(root: string): string[] {
  const dir = path.join(root, '.journal');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.evj')) : [];
}

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += Buffer.from(chunk as Buffer).toString('utf8');
  return out;
}

/** A pid that no process has (a child that has exited). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

/** Copy a live store's segments into a fresh root as if their writer (same host, a dead pid) had crashed. */
function asCrashed(from: string): string {
  const root = mkdtempSync(path.join(tmpdir(), 'evidence-crashed-'));
  mkdirSync(path.join(root, '.journal'));
  const pid = deadPid();
  for (const name of segments(from)) {
    const [host, , token, seq] = name.split('~');
    copyFileSync(
      path.join(from, '.journal', name),
      path.join(root, '.journal', `${host}~${pid}~${token}~${seq}`),
    );
  }
  return root;
}

describe('evidence journal', () => {
  it('makes a put readable at once from the journal, and copies it to the blob tree later', async () => {
    const store = holdingStore();
    const bytes = enc('From: a@example.net\r\n\r\nspam');
    const { sha256, duplicate } = await store.put(bytes);
    expect(duplicate).toBe(false);
    expect(existsSync(store.pathFor(sha256))).toBe(false);
    expect(segments(store.root)).toHaveLength(1);
    expect(await store.has(sha256)).toBe(true);
    expect(Buffer.from(await store.get(sha256)).equals(Buffer.from(bytes))).toBe(true);
    expect(await text(await store.openReadStream(sha256))).toBe('From: a@example.net\r\n\r\nspam');
    // openReadStream copied it (a stream reads an ordinary file); the rest waits for the copier.
    expect(existsSync(store.pathFor(sha256))).toBe(true);

    const other = await store.put(enc('second'));
    expect(existsSync(store.pathFor(other.sha256))).toBe(false);
    await store.drain();
    expect(readFileSync(store.pathFor(other.sha256), 'utf8')).toBe('second');
    expect(segments(store.root)).toEqual([]);
    expect((await store.put(enc('second'))).duplicate).toBe(true);
    await store.close();
  });

  it('group-commits concurrent puts into one segment and stores identical bytes once', async () => {
    const store = holdingStore();
    const same = enc('the same complaint, sent ten times at once');
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => store.put(same)),
      ...Array.from({ length: 30 }, (_, i) => store.put(enc(`distinct ${i}`))),
    ]);
    const sameResults = results.slice(0, 10);
    expect(sameResults.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(sameResults.map((r) => r.sha256))).toEqual(new Set([sha256Hex(same)]));
    expect(results.slice(10).every((r) => !r.duplicate)).toBe(true);

    const [segment] = segments(store.root);
    const file = readFileSync(path.join(store.root, '.journal', segment!));
    const parsed = parseRecords(file.subarray(16), 16);
    expect(parsed.torn).toBe(false);
    expect(parsed.records).toHaveLength(31);
    expect(parsed.records.filter((r) => r.sha256 === sha256Hex(same))).toHaveLength(1);
    await store.close();
  });

  it('answers duplicate for bytes already in the blob tree or already in the journal', async () => {
    const store = holdingStore();
    await store.put(enc('x'));
    expect((await store.put(enc('x'))).duplicate).toBe(true);
    await store.drain();
    expect((await store.put(enc('x'))).duplicate).toBe(true);
    expect(segments(store.root)).toEqual([]);
    await store.close();
  });

  it('reads blobs another store on the same root has only journalled, without deleting its segment', async () => {
    const writer = holdingStore();
    const { sha256 } = await writer.put(enc('written by the intake process'));
    const reader = new EvidenceStore(writer.root);
    expect(new TextDecoder().decode(await reader.get(sha256))).toBe('written by the intake process');
    const later = await writer.put(enc('appended after the reader opened'));
    expect(await reader.has(later.sha256)).toBe(true);
    await reader.close();
    expect(segments(writer.root)).toHaveLength(1);
    await writer.close();
    expect(segments(writer.root)).toEqual([]);
    expect(new TextDecoder().decode(await reader.get(later.sha256))).toBe('appended after the reader opened');
  });

  it('replays a crashed writer and ignores its torn last record, which was never acknowledged', async () => {
    const writer = holdingStore();
    const blobs = ['first', 'second', 'third, torn by the crash'].map(enc);
    for (const b of blobs) await writer.put(b);
    const root = asCrashed(writer.root);
    const [segment] = segments(root);
    const file = path.join(root, '.journal', segment!);
    // The crash cut the last record short: its data is incomplete.
    truncateSync(file, readFileSync(file).length - 3);

    const store = new EvidenceStore(root);
    expect(new TextDecoder().decode(await store.get(sha256Hex(blobs[0]!)))).toBe('first');
    expect(new TextDecoder().decode(await store.get(sha256Hex(blobs[1]!)))).toBe('second');
    expect(await store.has(sha256Hex(blobs[2]!))).toBe(false);
    await store.drain();
    expect(readFileSync(store.pathFor(sha256Hex(blobs[1]!)), 'utf8')).toBe('second');
    expect(segments(root)).toEqual([]);
    // The sender retries the message that got no 250: stored as new.
    expect((await store.put(blobs[2]!)).duplicate).toBe(false);
    await store.close();
    await writer.close();
  });

  it('ignores garbage after the last record and a record whose bytes do not match its hash', async () => {
    const writer = holdingStore();
    await writer.put(enc('kept'));
    await writer.put(enc('flipped'));
    const root = asCrashed(writer.root);
    const file = path.join(root, '.journal', segments(root)[0]!);
    const bytes = readFileSync(file);
    // Flip one data byte of the second record, then add a half-written header.
    bytes[bytes.length - 1]! ^= 0xff;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, bytes);
    appendFileSync(file, Buffer.alloc(RECORD_HEADER - 5, 0x45));

    const store = new EvidenceStore(root);
    expect(await store.has(sha256Hex(enc('kept')))).toBe(true);
    expect(await store.has(sha256Hex(enc('flipped')))).toBe(false);
    await store.close();
    expect(readFileSync(store.pathFor(sha256Hex(enc('kept'))), 'utf8')).toBe('kept');
    await writer.close();
  });

  it('refuses records whose header checksum is missing', () => {
    const records = [enc('alpha'), enc(''), enc('gamma gamma')];
    const parts: Buffer[] = [];
    for (const r of records) {
      const header = Buffer.alloc(RECORD_HEADER);
      header.writeUInt32LE(0x31525645, 0);
      header.writeUInt32LE(r.length, 4);
      header.write(sha256Hex(r), 8, 32, 'hex');
      parts.push(header, Buffer.from(r));
    }
    // Magic, length and hash are right and the data hashes correctly, but bytes 40-43 are not the crc32.
    expect(parseRecords(Buffer.concat(parts), 0).records).toEqual([]);
  });

  it('scans every cut of a real segment to the records that are complete', async () => {
    const writer = holdingStore();
    const blobs = ['one', '', 'three three three'].map(enc);
    for (const b of blobs) await writer.put(b);
    const file = readFileSync(path.join(writer.root, '.journal', segments(writer.root)[0]!));
    const body = file.subarray(16);
    const ends: number[] = [];
    let at = 0;
    for (const b of blobs) {
      at += RECORD_HEADER + b.length;
      ends.push(at);
    }
    for (let cut = 0; cut <= body.length; cut++) {
      const parsed = parseRecords(body.subarray(0, cut), 16);
      const complete = ends.filter((e) => e <= cut).length;
      expect(parsed.records.map((r) => r.sha256)).toEqual(blobs.slice(0, complete).map(sha256Hex));
      expect(parsed.torn).toBe(cut !== (ends[complete - 1] ?? 0));
    }
    await writer.close();
  });

  it('writes blobs above the journal limit straight to the blob tree', async () => {
    const store = holdingStore(undefined, { journalMaxBytes: 16 });
    const { sha256 } = await store.put(enc('longer than sixteen bytes'));
    expect(readFileSync(store.pathFor(sha256), 'utf8')).toBe('longer than sixteen bytes');
    expect(segments(store.root)).toEqual([]);
    await store.close();
  });

  it('fails a put when the root cannot be created, and works once it can', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'evidence-broken-'));
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'blocked'), 'a file where the root should be');
    const store = new EvidenceStore(path.join(dir, 'blocked', 'evidence'));
    await expect(store.put(enc('x'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    rmSync(path.join(dir, 'blocked'));
    expect((await store.put(enc('x'))).duplicate).toBe(false);
    await store.close();
  });

  it('reports a journal record that no longer matches its hash as corrupt', async () => {
    const store = holdingStore();
    const { sha256 } = await store.put(enc('intact when written'));
    const file = path.join(store.root, '.journal', segments(store.root)[0]!);
    const bytes = readFileSync(file);
    bytes[bytes.length - 2]! ^= 0x01;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, bytes);
    const error = await store.get(sha256).catch((e: unknown) => e);
    expect(isAupError(error) && error.code).toBe('AUP_ERR_EVIDENCE_CORRUPT');
    // The copier skips it and keeps the segment (the damaged bytes stay for an analyst).
    const ok = await store.put(enc('written after the damage'));
    await store.close();
    expect(existsSync(store.pathFor(ok.sha256))).toBe(true);
    expect(existsSync(store.pathFor(sha256))).toBe(false);
    expect(segments(store.root)).toHaveLength(1);
    expect(isAupError(store.lastCopyError) && store.lastCopyError.code).toBe('AUP_ERR_EVIDENCE_CORRUPT');
  });
});
