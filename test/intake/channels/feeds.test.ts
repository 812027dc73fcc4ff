import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { DropDirWatcher } from '../../../src/intake/channels/drop-dir-watcher.js';
import { FeedPoller } from '../../../src/intake/channels/feed-poller.js';
import { EvidenceStore } from '../../../src/intake/evidence-store.js';
import type { IntakeInboxDeps } from '../../../src/intake/inbox/inbox-accept.js';
import { openStore, pgliteDirFor } from '../../../src/store/database.js';
import { describeEachBackend } from '../../support/store-backends.js';

const CSV = 'ip,timestamp,port\n192.0.2.10,2026-02-28 22:00:00,23\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-feeds-'));
});
afterAll(async () => {
  // Retries: an evidence store may still be copying blobs out of its journal into this directory.
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

describeEachBackend('feeds', (ctx) => {
  let deps: IntakeInboxDeps;
  beforeEach(async () => {
    deps = { db: ctx.store.db, evidence: new EvidenceStore(await mkdtemp(path.join(dir, 'ev-'))) };
    await sql`delete from intake_inbox`.execute(ctx.store.db);
  });
  const rows = () => ctx.store.db.selectFrom('intake_inbox').selectAll().orderBy('id').execute();

  describe('drop directory', () => {
    it('takes a file once its size is stable, moves it to done/; .part files wait for their rename', async () => {
      const drop = await mkdtemp(path.join(dir, 'drop-'));
      const watcher = new DropDirWatcher(deps, { dir: drop, stableMs: 1_000 });
      await writeFile(path.join(drop, 'scan.csv'), CSV);
      await writeFile(path.join(drop, 'big.csv.part'), CSV.slice(0, 10));
      expect(await watcher.scanOnce(0)).toMatchObject({ accepted: 0, waiting: 1 });
      // Too soon: not yet stable.
      expect(await watcher.scanOnce(500)).toMatchObject({ accepted: 0, waiting: 1 });
      expect(await watcher.scanOnce(1_500)).toMatchObject({ accepted: 1, waiting: 0 });
      expect((await readdir(drop)).sort()).toEqual(['big.csv.part', 'done', 'failed']);
      expect(await readdir(path.join(drop, 'done'))).toEqual(['scan.csv']);
      expect((await rows()).map((r) => [r.channel, r.file_name])).toEqual([['file', 'scan.csv']]);
      // A file still growing is not taken.
      await writeFile(path.join(drop, 'grow.txt'), 'a');
      await watcher.scanOnce(2_000);
      await writeFile(path.join(drop, 'grow.txt'), 'ab');
      expect(await watcher.scanOnce(4_000)).toMatchObject({ accepted: 0, waiting: 1 });
      // The same content dropped again is a duplicate and still leaves the directory.
      await writeFile(path.join(drop, 'scan.csv'), CSV);
      // grow.txt has now been unchanged for 1 s: taken; the re-dropped scan.csv is first seen.
      expect(await watcher.scanOnce(5_000)).toMatchObject({ accepted: 1, waiting: 1 });
      expect(await watcher.scanOnce(7_000)).toMatchObject({ duplicates: 1, accepted: 0 });
      expect((await readdir(path.join(drop, 'done'))).sort()).toEqual(['1-scan.csv', 'grow.txt', 'scan.csv']);
    });

    it('moves a file it cannot take to failed/ with the reason beside it', async () => {
      const drop = await mkdtemp(path.join(dir, 'drop-'));
      const watcher = new DropDirWatcher(deps, { dir: drop, stableMs: 0, maxFileBytes: 10 });
      await writeFile(path.join(drop, 'huge.csv'), CSV);
      await watcher.scanOnce(0);
      expect(await watcher.scanOnce(1)).toMatchObject({ failed: 1 });
      expect((await readdir(path.join(drop, 'failed'))).sort()).toEqual(['huge.csv', 'huge.csv.error.txt']);
      expect(await readFile(path.join(drop, 'failed', 'huge.csv.error.txt'), 'utf8')).toMatch(
        /exceeds the 10-byte limit/,
      );
      expect(await rows()).toHaveLength(0);
    });
  });

  describe('HTTP feed pulls', () => {
    let server: Server;
    let base: string;
    let body = CSV;
    let etag = '"v1"';
    const seen: { ifNoneMatch?: string | undefined; ifModifiedSince?: string | undefined }[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        seen.push({
          ifNoneMatch: req.headers['if-none-match'] as string | undefined,
          ifModifiedSince: req.headers['if-modified-since'] as string | undefined,
        });
        if (req.url === '/broken') {
          res.writeHead(503).end('down');
          return;
        }
        if (req.url === '/huge') {
          res.writeHead(200, { 'content-type': 'text/csv' });
          res.end('x'.repeat(5_000));
          return;
        }
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304).end();
          return;
        }
        res.writeHead(200, {
          'content-type': 'text/csv',
          etag,
          'last-modified': 'Sat, 28 Feb 2026 22:00:00 GMT',
        });
        res.end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('accepts each new body once, sends the validators back, and treats 304 as nothing new', async () => {
      seen.length = 0;
      body = CSV;
      etag = '"v1"';
      const poller = new FeedPoller(deps, [{ name: 'telnet-scan', url: `${base}/scan.csv`, route: 'abuse' }]);
      expect(await poller.pull('telnet-scan')).toMatchObject({ status: 'accepted', httpStatus: 200 });
      expect(await poller.pull('telnet-scan')).toMatchObject({ status: 'not-modified' });
      expect(seen[1]).toEqual({ ifNoneMatch: '"v1"', ifModifiedSince: 'Sat, 28 Feb 2026 22:00:00 GMT' });
      body = `${CSV}192.0.2.11,2026-02-28 22:05:00,23\n`;
      etag = '"v2"';
      expect(await poller.pull('telnet-scan')).toMatchObject({ status: 'accepted' });
      // A restarted poller forgets the validators; the same body is a duplicate in the inbox.
      const restarted = new FeedPoller(deps, [{ name: 'telnet-scan', url: `${base}/scan.csv` }]);
      expect(await restarted.pull('telnet-scan')).toMatchObject({ status: 'duplicate' });
      const stored = await rows();
      expect(stored.map((r) => [r.channel, r.route, r.file_name, r.content_type])).toEqual([
        ['feed', 'abuse', 'telnet-scan-scan.csv', 'text/csv'],
        ['feed', 'abuse', 'telnet-scan-scan.csv', 'text/csv'],
      ]);
    });

    it('reports HTTP errors and oversize bodies as failed pulls without storing anything', async () => {
      const poller = new FeedPoller(deps, [
        { name: 'broken', url: `${base}/broken` },
        { name: 'huge', url: `${base}/huge`, maxBytes: 1_000 },
      ]);
      expect(await poller.pull('broken')).toMatchObject({
        status: 'failed',
        error: 'HTTP 503 Service Unavailable',
      });
      expect(await poller.pull('huge')).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(/1000-byte limit/),
      });
      expect(await rows()).toHaveLength(0);
    });

    it('start() pulls at once and on its interval; stop() waits for the pull in flight', async () => {
      etag = '"v3"';
      body = `${CSV}# v3\n`;
      const poller = new FeedPoller(deps, [{ name: 'scheduled', url: `${base}/s.csv`, intervalMs: 1_000 }]);
      poller.start();
      await new Promise((r) => setTimeout(r, 300));
      await poller.stop();
      expect((await rows()).map((r) => r.channel)).toEqual(['feed']);
    });

    it('refuses a bad feed configuration by name', () => {
      expect(() => new FeedPoller(deps, [{ name: 'x', url: 'ftp://example.net/feed' }])).toThrow(
        /feed 1 \(x\): url/,
      );
    });
  });
});

describe('aupdesk ingest', () => {
  it('accepts files and directories, processes them, prints the summary and exits 1 when one failed', async () => {
    const data = await mkdtemp(path.join(dir, 'data-'));
    const input = await mkdtemp(path.join(dir, 'in-'));
    await writeFile(
      path.join(input, 'a.eml'),
      'From: noc@example.net\r\nSubject: scan\r\nMessage-ID: <a@example.net>\r\n\r\nHost 192.0.2.10 scanned us at 2026-02-28T22:00:00Z.\r\n',
    );
    await writeFile(path.join(input, 'b.bin'), Buffer.from([0, 1, 2, 255, 254, 0]));
    const copy = path.join(dir, 'a-copy.eml');
    await writeFile(copy, await readFile(path.join(input, 'a.eml')));
    const out = new PassThrough();
    const err = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => {
      text += c.toString();
    });
    err.resume();
    const env = process.env.DATABASE_URL;
    delete process.env.DATABASE_URL;
    try {
      // The pipeline judges under the published policy: ingest refuses on a desk without one.
      const published = await main(['--data', data, 'policy', 'publish', 'policies/iitgen/2018-02-24.yaml'], {
        out: new PassThrough().resume(),
        err,
      });
      expect(published).toBe(0);
      const code = await main(['--data', data, 'ingest', input, copy, path.join(dir, 'missing.eml')], {
        out,
        err,
      });
      expect(code).toBe(1);
    } finally {
      if (env !== undefined) process.env.DATABASE_URL = env;
    }
    const lines = text.trim().split('\n');
    expect(lines[0]).toMatch(/^ingest: 4 files, 2 accepted, 1 duplicate, 2 failed, [1-9]\d* events?$/);
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(/^failed .*b\.bin: .*(not recognised|binary|unknown)/i),
      expect.stringMatching(/^failed .*missing\.eml: .*ENOENT/),
    ]);
    const store = await openStore({ pgliteDir: pgliteDirFor(data) });
    try {
      const rows = await store.db.selectFrom('intake_inbox').select(['status', 'report_status']).execute();
      expect(rows.map((r) => r.status)).toEqual(['done', 'done']);
    } finally {
      await store.close();
    }
  }, 60_000);
});
