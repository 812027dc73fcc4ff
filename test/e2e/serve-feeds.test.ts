import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config.js';
import { parseRegistryCsv } from '../../src/registry/registry-file-parser.js';
import { importRegistry } from '../../src/registry/registry-import.js';
import { type ServeHandle, type ServeOptions, startServe } from '../../src/server/serve.js';
import { freshSchemaName } from '../support/store-backends.js';
import {
  CUSTOMER,
  complaintMail,
  customerRegistryCsv,
  e2ePolicyDir,
  type Sinks,
  startSinks,
} from './e2e-support.js';

/**
 * The intake role's pull channels in a running desk: a file dropped into the watched directory, and a feed
 * served by a local HTTP server, each becomes a report, a case for the customer holding the address and a
 * notice at the SMTP sink — with nothing but the desk's own loops (system clock, short poll periods). On
 * PGlite the desk opens its own store in a temp data directory; on PostgreSQL it opens a fresh schema named
 * by AUPDESK_DB_SCHEMA. A bad feeds file stops `aupdesk serve` before it opens anything.
 */

const backends = [
  { name: 'pglite', postgres: false },
  ...(process.env.DATABASE_URL ? [{ name: 'postgres', postgres: true }] : []),
];

interface FeedDesk {
  dir: string;
  sinks: Sinks;
  handle: ServeHandle;
}

async function startFeedDesk(
  postgres: boolean,
  options: (dir: string) => Promise<Partial<ServeOptions>>,
): Promise<FeedDesk> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-feeds-'));
  const sinks = await startSinks(() => new Date());
  const config = loadConfig({
    AUPDESK_DATA: dir,
    ...(postgres ? { DATABASE_URL: process.env.DATABASE_URL, AUPDESK_DB_SCHEMA: freshSchemaName() } : {}),
  });
  const handle = await startServe(
    {
      host: '127.0.0.1',
      httpPort: 0,
      smtpPort: 0,
      policyDir: await e2ePolicyDir(dir),
      provider: 'infince',
      ...(await options(dir)),
    },
    {
      config,
      env: {
        AUPDESK_SMTP_HOST: '127.0.0.1',
        AUPDESK_SMTP_PORT: String(sinks.smtpPort),
        AUPDESK_MAIL_FROM: '"INFINCE abuse desk" <abuse@desk-e2e.example>',
        AUPDESK_SECRET: 'a-feeds-e2e-form-secret-of-at-least-32-chars',
        FEED_TOKEN: 'sesame-feed-token',
      },
      logger: pino({ level: 'silent' }),
      intervals: {
        inboxPollMs: 200,
        workerPollMs: 200,
        registryMs: 60_000,
        dropDirPollMs: 50,
        dropDirStableMs: 100,
      },
      http: { rateLimits: false, secureCookies: false },
      beforeListen: async (ctx) => {
        const csv = customerRegistryCsv(['192.0.2.0/24']);
        const summary = await importRegistry(ctx.store.db, parseRegistryCsv(csv));
        if (summary.failed > 0) throw new Error(`registry: ${JSON.stringify(summary.errors)}`);
        await ctx.registry.refresh();
      },
    },
  );
  return { dir, sinks, handle };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The inbox row of `channel` processed, its case for the customer opened, and the notice at the sink. */
async function expectCaseAndNotice(d: FeedDesk, channel: string, ip: string): Promise<void> {
  const db = d.handle.store.db;
  const row = await until(`the ${channel} inbox row to be done`, async () => {
    const r = await db
      .selectFrom('intake_inbox')
      .selectAll()
      .where('channel', '=', channel)
      .executeTakeFirst();
    return r?.status === 'done' ? r : undefined;
  });
  expect(row.last_error ?? null).toBeNull();
  expect(row.report_status).toBe('parsed');
  expect(Buffer.from(await d.handle.evidence.get(row.evidence_sha256)).toString('utf8')).toContain(ip);
  const cases = await db.selectFrom('cases').selectAll().execute();
  expect(cases).toHaveLength(1);
  expect(cases[0]).toMatchObject({ customer_ref: CUSTOMER.ref, service_ref: CUSTOMER.service });
  const notice = await until('the notice at the SMTP sink', async () =>
    d.sinks.mails.find((m) => JSON.stringify(m.to).includes(CUSTOMER.email)),
  );
  expect(notice.text).toContain(ip);
}

function complaintEml(ip: string, id: string): string {
  const mail = complaintMail(ip, new Date(), id);
  return [
    'From: "Alice Reporter" <alice@reporter-e2e.example>',
    'To: abuse@desk-e2e.example',
    `Subject: ${mail.subject}`,
    `Message-ID: ${mail.messageId}`,
    `Date: ${new Date().toUTCString()}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    mail.text,
    '',
  ].join('\r\n');
}

for (const backend of backends) {
  describe(`serve pull channels [${backend.name}]`, () => {
    let desk: FeedDesk | undefined;
    let feedServer: Server | undefined;
    afterEach(async () => {
      await desk?.handle.stop();
      await desk?.sinks.close();
      if (feedServer) await new Promise<void>((resolve) => feedServer!.close(() => resolve()));
      if (desk) await rm(desk.dir, { recursive: true, force: true, maxRetries: 5 });
      desk = undefined;
      feedServer = undefined;
    });

    it('a file dropped into the watched directory becomes a report, a case and a notice', {
      timeout: 120_000,
    }, async () => {
      desk = await startFeedDesk(backend.postgres, async (dir) => ({ dropDir: path.join(dir, 'drop') }));
      const d = desk;
      const drop = path.join(d.dir, 'drop');
      expect(d.handle.pull).toEqual({ dropDir: drop, feeds: [] });
      // The writer's convention: write a .part file, then rename it into place.
      await writeFile(path.join(drop, 'complaint.eml.part'), complaintEml('192.0.2.41', 'drop-1'));
      await rename(path.join(drop, 'complaint.eml.part'), path.join(drop, 'complaint.eml'));

      await expectCaseAndNotice(d, 'file', '192.0.2.41');
      expect(await readdir(path.join(drop, 'done'))).toEqual(['complaint.eml']);
      expect((await readdir(drop)).sort()).toEqual(['done', 'failed']);
    });

    it('a feed served over HTTP is pulled with its headers and processed', { timeout: 120_000 }, async () => {
      const seen: Array<{ url: string; auth: string | undefined }> = [];
      const now = Date.now();
      const event = {
        'feed.name': 'Partner spam traps',
        'time.source': new Date(now - 3_600_000).toISOString(),
        'classification.taxonomy': 'abusive-content',
        'classification.type': 'spam',
        'source.ip': '192.0.2.42',
      };
      feedServer = createServer((req, res) => {
        seen.push({ url: req.url ?? '', auth: req.headers.authorization });
        if (req.headers.authorization !== 'Bearer sesame-feed-token') {
          res.writeHead(401).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/x-ndjson', etag: '"v1"' });
        res.end(`${JSON.stringify(event)}\n`);
      });
      await new Promise<void>((resolve) => feedServer!.listen(0, '127.0.0.1', resolve));
      const port = (feedServer.address() as AddressInfo).port;

      desk = await startFeedDesk(backend.postgres, async (dir) => {
        const file = path.join(dir, 'feeds.yaml');
        await writeFile(
          file,
          [
            'feeds:',
            '  - name: partner-spamtraps',
            `    url: http://127.0.0.1:${port}/export/events.jsonl`,
            '    interval: 1h',
            '    headers:',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: the feeds file's own ${VAR} syntax
            '      Authorization: "Bearer ${FEED_TOKEN}"',
            '',
          ].join('\n'),
        );
        return { feedsFile: file };
      });
      const d = desk;
      expect(d.handle.pull?.feeds).toEqual(['partner-spamtraps']);

      await expectCaseAndNotice(d, 'feed', '192.0.2.42');
      expect(seen[0]).toEqual({ url: '/export/events.jsonl', auth: 'Bearer sesame-feed-token' });
      const row = await d.handle.store.db
        .selectFrom('intake_inbox')
        .selectAll()
        .where('channel', '=', 'feed')
        .executeTakeFirstOrThrow();
      expect(row.file_name).toBe('partner-spamtraps-events.jsonl');
    });
  });
}

describe('aupdesk serve --feeds with a bad file', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    dir = undefined;
  });

  async function serveWith(feeds: string, name = 'feeds.yaml'): Promise<{ code: number; err: string }> {
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-badfeeds-'));
    await mkdir(path.join(dir, 'data'));
    const file = path.join(dir, name);
    await writeFile(file, feeds);
    const out = new PassThrough();
    const err = new PassThrough();
    const chunks: Buffer[] = [];
    err.on('data', (c: Buffer) => chunks.push(c));
    out.resume();
    const code = await main(
      ['--data', path.join(dir, 'data'), 'serve', '--http-port', '0', '--smtp-port', '0', '--feeds', file],
      { out, err },
    );
    return { code, err: Buffer.concat(chunks).toString() };
  }

  it('names the file, the entry and the field, exits 2 and opens nothing', async () => {
    const result = await serveWith(
      [
        'feeds:',
        '  - name: good-feed',
        '    url: https://feeds.example.net/a.csv',
        '  - name: typo-feed',
        '    url: https://feeds.example.net/b.csv',
        '    interval: every hour',
        '',
      ].join('\n'),
    );
    expect(result.code).toBe(2);
    expect(result.err).toMatch(
      /^aupdesk: feeds file \/.*feeds\.yaml: feed 2 \(typo-feed\): interval: "every hour" is not a duration like 90s, 15m, 1h or 1d \[AUP_ERR_CONFIG_INVALID\]\n$/,
    );
    // Rejected before the store was opened: no embedded database was created.
    expect(await readdir(path.join(dir!, 'data'))).toEqual([]);
  });

  it('reports JSON syntax errors and a URL that is not http(s)', async () => {
    const syntax = await serveWith('[{"name": "x",', 'feeds.json');
    expect(syntax.code).toBe(2);
    expect(syntax.err).toMatch(
      /feeds file .*feeds\.json: not valid YAML or JSON: .*\[AUP_ERR_CONFIG_INVALID\]/,
    );
    const scheme = await serveWith(
      '[{"name": "ftp-feed", "url": "ftp://feeds.example.net/x"}]',
      'feeds.json',
    );
    expect(scheme.code).toBe(2);
    expect(scheme.err).toMatch(/feed 1 \(ftp-feed\): url: /);
  });
});
