import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { isAupError } from '../../src/errors.js';
import { assertSha256, EvidenceStore, sha256Hex } from '../../src/intake/evidence-store.js';

const HELLO_SHA = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';

function freshStore(): EvidenceStore {
  return new EvidenceStore(mkdtempSync(path.join(tmpdir(), 'evidence-')));
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isAupError(error) ? error.code : String(error);
  }
}

describe('evidence store', () => {
  it('stores bytes under <root>/ab/cd/<sha256> and reads them back', async () => {
    const store = freshStore();
    const bytes = new TextEncoder().encode('hello');
    const result = await store.put(bytes);
    expect(result).toEqual({ sha256: HELLO_SHA, size: 5, duplicate: false });
    // Durable in the journal once put resolved; drain waits for the copy into the blob tree.
    await store.drain();
    const file = path.join(store.root, '2c', 'f2', HELLO_SHA);
    expect(readFileSync(file, 'utf8')).toBe('hello');
    expect(statSync(file).mode & 0o777).toBe(0o444);
    expect(new TextDecoder().decode(await store.get(HELLO_SHA))).toBe('hello');
    expect(await store.has(HELLO_SHA)).toBe(true);
    // No temporary files are left behind.
    expect(readdirSync(path.dirname(file))).toEqual([HELLO_SHA]);
  });

  it('recognises identical bytes as a duplicate and different bytes as new', async () => {
    const store = freshStore();
    const a = new TextEncoder().encode('From: a@example.net\r\n\r\nspam');
    expect((await store.put(a)).duplicate).toBe(false);
    expect((await store.put(new Uint8Array(a))).duplicate).toBe(true);
    expect((await store.put(new TextEncoder().encode('other'))).duplicate).toBe(false);
  });

  it('stores empty input and binary input exactly', async () => {
    const store = freshStore();
    const empty = await store.put(new Uint8Array());
    expect(empty.sha256).toBe(sha256Hex(new Uint8Array()));
    expect((await store.get(empty.sha256)).length).toBe(0);
    const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
    const put = await store.put(binary);
    expect(Array.from(await store.get(put.sha256))).toEqual(Array.from(binary));
  });

  it('refuses anything that is not a lowercase sha256, so no path can escape the root', async () => {
    const store = freshStore();
    for (const bad of [
      '../../etc/passwd',
      `${'a'.repeat(63)}/`,
      HELLO_SHA.toUpperCase(),
      `${HELLO_SHA}0`,
      '',
    ]) {
      expect(await codeOf(store.get(bad))).toBe('AUP_ERR_EVIDENCE_BAD_HASH');
      expect(await codeOf(store.has(bad))).toBe('AUP_ERR_EVIDENCE_BAD_HASH');
    }
    expect(() => assertSha256(`../${'0'.repeat(61)}`)).toThrow(/sha256/);
  });

  it('reports a missing blob as not found', async () => {
    const store = freshStore();
    expect(await codeOf(store.get('0'.repeat(64)))).toBe('AUP_ERR_EVIDENCE_NOT_FOUND');
    expect(await store.has('0'.repeat(64))).toBe(false);
  });

  it('reports a blob whose bytes no longer match its name', async () => {
    const store = freshStore();
    const { sha256 } = await store.put(new TextEncoder().encode('original'));
    await store.drain();
    const file = store.pathFor(sha256);
    chmodSync(file, 0o644);
    writeFileSync(file, 'tampered');
    expect(await codeOf(store.get(sha256))).toBe('AUP_ERR_EVIDENCE_CORRUPT');
  });
});

function memoryStream(): { stream: Writable; bytes: () => Buffer; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks), text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('evidence store: big files streamed in', () => {
  it('putFile stores a file without holding it, under the same name and with the same duplicates as put', async () => {
    const store = freshStore();
    const dir = mkdtempSync(path.join(tmpdir(), 'evidence-file-'));
    const bytes = new Uint8Array(3 * 1024 * 1024 + 17);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 11)) & 0xff;
    const file = path.join(dir, 'feed.csv');
    writeFileSync(file, bytes);

    const first = await store.putFile(file);
    expect(first).toEqual({ sha256: sha256Hex(bytes), size: bytes.length, duplicate: false });
    // Buffer.equals, not toEqual: a deep compare of 3 MiB element by element takes seconds.
    expect(readFileSync(store.pathFor(first.sha256)).equals(bytes)).toBe(true);
    expect(Buffer.from(await store.get(first.sha256)).equals(bytes)).toBe(true);
    // The same bytes again, by file or by value: a duplicate, and no temporary file is left behind.
    expect((await store.putFile(file)).duplicate).toBe(true);
    expect((await store.put(bytes)).duplicate).toBe(true);
    expect(readdirSync(store.root).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    // fileOf hands a reader the checked file; a blob changed on disk is reported, not handed out.
    expect(await store.fileOf(first.sha256)).toBe(store.pathFor(first.sha256));
    chmodSync(store.pathFor(first.sha256), 0o644);
    writeFileSync(store.pathFor(first.sha256), 'tampered');
    expect(await codeOf(store.fileOf(first.sha256))).toBe('AUP_ERR_EVIDENCE_CORRUPT');
    await store.close();
  });

  it('removes what a copy killed mid-file left in the root, once it has not been written for an hour, and nothing else', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'evidence-'));
    const hours = (n: number) => new Date(Date.now() - n * 3_600_000);
    // A copy killed an hour and a half ago, one under way in another process, and files that are not
    // temporary copies at all.
    writeFileSync(path.join(root, '.tmp-file-4242-abandoned'), 'half a feed file');
    utimesSync(path.join(root, '.tmp-file-4242-abandoned'), hours(1.5), hours(1.5));
    writeFileSync(path.join(root, '.tmp-file-4343-running'), 'a feed file being copied');
    utimesSync(path.join(root, '.tmp-file-4343-running'), hours(0.5), hours(0.5));
    writeFileSync(path.join(root, 'notes.txt'), "an operator's file");
    utimesSync(path.join(root, 'notes.txt'), hours(48), hours(48));
    const store = new EvidenceStore(root);
    await store.put(new TextEncoder().encode('hello'));
    // (The blob itself is in the journal, or already copied into its two-letter directory.)
    const left = readdirSync(root).filter((n) => n !== '.journal' && n.length !== 2);
    expect(left.sort()).toEqual(['.tmp-file-4343-running', 'notes.txt']);
    // An hour later the other copy is abandoned too.
    expect(await store.removeAbandonedFiles(Date.now() + 3_600_000)).toEqual(['.tmp-file-4343-running']);
    await store.close();
  });

  it('putFile of a file that cannot be read fails and stores nothing', async () => {
    const store = freshStore();
    expect(await codeOf(store.putFile(path.join(tmpdir(), 'no-such-evidence-file')))).toMatch(/ENOENT/);
    expect(readdirSync(store.root).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    await store.close();
  });
});

describe('aupdesk evidence', () => {
  it('put then get returns the raw bytes, to stdout or --out', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'evidence-cli-'));
    const file = path.join(dir, 'mail.eml');
    const content = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x41]);
    writeFileSync(file, content);
    const sha = sha256Hex(content);

    const put = memoryStream();
    expect(await main(['--data', dir, 'evidence', 'put', file], { out: put.stream, err: put.stream })).toBe(
      0,
    );
    expect(put.text()).toBe(`${sha} 5 stored ${file}\n`);
    const again = memoryStream();
    await main(['--data', dir, 'evidence', 'put', file], { out: again.stream, err: again.stream });
    expect(again.text()).toContain('duplicate');

    const get = memoryStream();
    expect(await main(['--data', dir, 'evidence', 'get', sha], { out: get.stream, err: get.stream })).toBe(0);
    expect(get.bytes().equals(content)).toBe(true);

    const outFile = path.join(dir, 'copy.bin');
    const quiet = memoryStream();
    expect(await main(['--data', dir, 'evidence', 'get', sha, '--out', outFile], { out: quiet.stream })).toBe(
      0,
    );
    expect(readFileSync(outFile).equals(content)).toBe(true);
    expect(existsSync(path.join(dir, 'evidence', sha.slice(0, 2), sha.slice(2, 4), sha))).toBe(true);
  });

  it('answers a bad or unknown hash with its error code and exit 2', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'evidence-cli-'));
    const err = memoryStream();
    expect(await main(['--data', dir, 'evidence', 'get', '../x'], { out: err.stream, err: err.stream })).toBe(
      2,
    );
    expect(err.text()).toContain('AUP_ERR_EVIDENCE_BAD_HASH');
    const err2 = memoryStream();
    expect(await main(['--data', dir, 'evidence', 'get', 'f'.repeat(64)], { err: err2.stream })).toBe(2);
    expect(err2.text()).toContain('AUP_ERR_EVIDENCE_NOT_FOUND');
  });
});
