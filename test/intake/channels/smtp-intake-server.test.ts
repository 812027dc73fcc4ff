import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SmtpIntakeOptions, SmtpIntakeServer } from '../../../src/intake/channels/smtp-intake-server.js';
import { EvidenceStore } from '../../../src/intake/evidence-store.js';
import { InboxCommitter, type IntakeInboxDeps } from '../../../src/intake/inbox/inbox-accept.js';
import { describeEachBackend } from '../../support/store-backends.js';
import { codeOf, RawSmtpClient } from './smtp-raw-client.js';

/**
 * SMTP intake through real sockets on loopback, with nodemailer as the client (a real client library) and a
 * raw client for what a library would never send.
 */

let dir: string;
let tls: { key: string; cert: string };
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-smtp-'));
  // A self-signed certificate made here: STARTTLS with a configured key/cert.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  tls = {
    key: await readFile(path.join(dir, 'key.pem'), 'utf8'),
    cert: await readFile(path.join(dir, 'cert.pem'), 'utf8'),
  };
});
afterAll(async () => {
  // Retries: an evidence store may still be copying blobs out of its journal into this directory.
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

describeEachBackend('SMTP intake', (ctx) => {
  let deps: IntakeInboxDeps;
  const servers: SmtpIntakeServer[] = [];

  async function start(options: Partial<SmtpIntakeOptions> = {}): Promise<number> {
    const server = new SmtpIntakeServer(deps, { port: 0, serverName: 'desk.test', ...options });
    servers.push(server);
    return server.listen();
  }

  function transport(port: number, extra: Record<string, unknown> = {}) {
    return nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, ...extra });
  }

  beforeEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    deps = {
      db: ctx.store.db,
      evidence: new EvidenceStore(await mkdtemp(path.join(dir, 'ev-'))),
      committer: new InboxCommitter(ctx.store.db),
    };
    await sql`delete from intake_inbox`.execute(ctx.store.db);
  });
  afterAll(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  const rows = () => ctx.store.db.selectFrom('intake_inbox').selectAll().orderBy('id').execute();

  it('answers 250 only once the message is stored; routes abuse@, dmca@ and copyright@', async () => {
    const port = await start();
    const t = transport(port);
    const info = await t.sendMail({
      from: 'noc@example.net',
      to: 'abuse@desk.test',
      subject: 'SSH brute force from 192.0.2.55',
      text: '192.0.2.55 tried 400 passwords on our sshd at 2026-02-28T22:00:00Z',
      messageId: '<bf1@example.net>',
    });
    expect(info.response).toMatch(/^250 .*queued as \d+/);
    await t.sendMail({
      from: 'legal@studio.example',
      to: 'DMCA@desk.test',
      subject: 'notice',
      text: 'x',
      messageId: '<d1@studio.example>',
    });
    await t.sendMail({
      from: 'legal@studio.example',
      to: 'copyright+tag@desk.test',
      subject: 'notice',
      text: 'y',
      messageId: '<d2@studio.example>',
    });
    const stored = await rows();
    expect(stored.map((r) => [r.route, r.kind, r.status, r.message_id])).toEqual([
      ['abuse', 'complaint', 'pending', 'bf1@example.net'],
      ['dmca', 'complaint', 'pending', 'd1@studio.example'],
      ['dmca', 'complaint', 'pending', 'd2@studio.example'],
    ]);
    expect(stored[0]!.envelope).toEqual({
      mailFrom: 'noc@example.net',
      rcptTo: ['abuse@desk.test'],
      remoteAddress: '127.0.0.1',
    });
    const raw = new TextDecoder().decode(await deps.evidence.get(stored[0]!.evidence_sha256));
    expect(raw).toContain('Message-ID: <bf1@example.net>');
    t.close();
  });

  it('refuses unknown mailboxes and foreign domains with 550 at RCPT, and stores nothing', async () => {
    const port = await start({ domains: ['desk.test'] });
    const t = transport(port);
    await expect(
      t.sendMail({ from: 'a@example.net', to: 'sales@desk.test', text: 'x' }),
    ).rejects.toMatchObject({
      responseCode: 550,
    });
    await expect(
      t.sendMail({ from: 'a@example.net', to: 'abuse@elsewhere.example', text: 'x' }),
    ).rejects.toMatchObject({
      responseCode: 550,
    });
    expect(await rows()).toHaveLength(0);
    t.close();
  });

  it('a retried message (same bytes) is recognised as a duplicate and stored once', async () => {
    const port = await start();
    const { client } = await RawSmtpClient.open(port);
    const message =
      'From: a@example.net\r\nTo: abuse@desk.test\r\nMessage-ID: <dup@example.net>\r\nSubject: x\r\n\r\nspam from 192.0.2.1\r\n.';
    const replies: string[] = [];
    expect(codeOf(await client.command('EHLO client.example'))).toBe(250);
    for (let i = 0; i < 2; i++) {
      await client.command('MAIL FROM:<a@example.net>');
      await client.command('RCPT TO:<abuse@desk.test>');
      expect(codeOf(await client.command('DATA'))).toBe(354);
      replies.push(await client.command(message));
    }
    expect(replies[0]).toMatch(/^250 .*queued as/);
    expect(replies[1]).toMatch(/^250 .*already received as/);
    expect(await rows()).toHaveLength(1);
    client.close();
  });

  it('advertises SIZE, refuses a declared oversize at MAIL and a streamed oversize at the end of DATA with 552', async () => {
    const port = await start({ maxMessageBytes: 4096 });
    const { client } = await RawSmtpClient.open(port);
    const ehlo = await client.command('EHLO client.example');
    expect(ehlo).toMatch(/250[- ]SIZE 4096/);
    expect(codeOf(await client.command('MAIL FROM:<a@example.net> SIZE=100000'))).toBe(552);
    expect(codeOf(await client.command('MAIL FROM:<a@example.net>'))).toBe(250);
    expect(codeOf(await client.command('RCPT TO:<abuse@desk.test>'))).toBe(250);
    expect(codeOf(await client.command('DATA'))).toBe(354);
    const line = `${'x'.repeat(998)}\r\n`;
    client.write(`Subject: big\r\n\r\n${line.repeat(200)}`);
    const reply = await client.command('.');
    expect(codeOf(reply)).toBe(552);
    // The session goes on: a small message afterwards is accepted.
    await client.command('MAIL FROM:<a@example.net>');
    await client.command('RCPT TO:<abuse@desk.test>');
    await client.command('DATA');
    expect(codeOf(await client.command('Subject: small\r\n\r\nok\r\n.'))).toBe(250);
    expect(await rows()).toHaveLength(1);
    client.close();
  });

  it('limits connections per client (421) and messages per client (450) with a clear text', async () => {
    const port = await start({ maxConnectionsPerClient: 2, rateLimit: { messages: 2, perMs: 60_000 } });
    const a = await RawSmtpClient.open(port);
    const b = await RawSmtpClient.open(port);
    const c = await RawSmtpClient.open(port);
    expect(codeOf(a.greeting)).toBe(220);
    expect(codeOf(b.greeting)).toBe(220);
    expect(c.greeting).toMatch(/^421 .*Too many connections from 127\.0\.0\.1/);
    c.client.close();
    await a.client.command('EHLO x');
    const codes: number[] = [];
    let refusal = '';
    for (let i = 0; i < 3; i++) {
      const reply = await a.client.command('MAIL FROM:<a@example.net>');
      codes.push(codeOf(reply));
      if (codeOf(reply) === 450) refusal = reply;
      await a.client.command('RSET');
    }
    expect(codes).toEqual([250, 250, 450]);
    expect(refusal).toMatch(/Rate limit: at most 2 messages per 60 s/);
    a.client.close();
    b.client.close();
  });

  it('offers STARTTLS with the configured certificate and takes mail over it', async () => {
    const port = await start({ tls });
    const { client } = await RawSmtpClient.open(port);
    expect(await client.command('EHLO client.example')).toMatch(/STARTTLS/);
    client.close();
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      requireTLS: true,
      tls: { rejectUnauthorized: false },
    });
    const info = await t.sendMail({
      from: 'a@example.net',
      to: 'abuse@desk.test',
      subject: 'tls',
      text: 'over tls',
    });
    expect(info.response).toMatch(/^250/);
    t.close();
    // Without a certificate, STARTTLS is not offered.
    const plainPort = await start();
    const plain = await RawSmtpClient.open(plainPort);
    expect(await plain.client.command('EHLO client.example')).not.toMatch(/STARTTLS/);
    plain.client.close();
  });

  it('refuses a looping message (too many Received) with 554, records our own X-Loop and bounces without treating them as complaints', async () => {
    const port = await start();
    const { client } = await RawSmtpClient.open(port);
    await client.command('EHLO client.example');
    const send = async (from: string, message: string): Promise<string> => {
      await client.command(`MAIL FROM:<${from}>`);
      await client.command('RCPT TO:<abuse@desk.test>');
      await client.command('DATA');
      return client.command(`${message}\r\n.`);
    };
    const hops = Array.from(
      { length: 31 },
      (_, i) => `Received: from hop${i}.example by hop${i + 1}.example; Sat, 28 Feb 2026 22:00:00 +0000\r\n`,
    ).join('');
    expect(await send('a@example.net', `${hops}Subject: loop\r\n\r\nx`)).toMatch(/^554 5\.4\.6/);
    expect(codeOf(await send('a@example.net', 'X-Loop: aupdesk\r\nSubject: ack\r\n\r\nthanks'))).toBe(250);
    const dsn =
      'From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nSubject: Undelivered\r\n' +
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n--b\r\n\r\nfailed\r\n--b--';
    expect(codeOf(await send('', dsn))).toBe(250);
    const arf =
      'From: fbl@isp.example\r\nSubject: FBL\r\nContent-Type: multipart/report; report-type=feedback-report; boundary="c"\r\n\r\n--c\r\n\r\nspam\r\n--c--';
    expect(codeOf(await send('', arf))).toBe(250);
    expect((await rows()).map((r) => r.kind)).toEqual(['loop', 'bounce', 'complaint']);
    client.close();
  });

  it('answers malformed commands with proper error codes and keeps serving', async () => {
    const port = await start();
    const { client } = await RawSmtpClient.open(port);
    expect(codeOf(await client.command('FROBNICATE'))).toBeGreaterThanOrEqual(500);
    expect(codeOf(await client.command('MAIL FROM:<a@example.net>'))).toBe(503); // before EHLO
    expect(codeOf(await client.command('EHLO client.example'))).toBe(250);
    expect(codeOf(await client.command('RCPT TO:<abuse@desk.test>'))).toBe(503); // before MAIL
    expect(codeOf(await client.command('MAIL FROM:<unterminated'))).toBeGreaterThanOrEqual(500);
    expect(codeOf(await client.command('MAIL FROM:<a@example.net> SIZE=abc'))).toBeGreaterThanOrEqual(500);
    expect(codeOf(await client.command('DATA'))).toBe(503);
    // An over-long command line ends the session with 421 (RFC 5321 allows 512 octets; we allow 2,048).
    const tooLong = await client.command(`NOOP ${'x'.repeat(5000)}`);
    expect(tooLong).toMatch(/^421 .*too long/i);
    client.close();
    const garbage = await RawSmtpClient.open(port);
    garbage.client.write(Buffer.from([0, 255, 13, 10, 1, 2, 3, 13, 10]));
    expect(codeOf(await garbage.client.reply())).toBeGreaterThanOrEqual(500);
    garbage.client.close();
    const t = transport(port);
    expect(
      (await t.sendMail({ from: 'a@example.net', to: 'abuse@desk.test', text: 'still alive' })).response,
    ).toMatch(/^250/);
    t.close();
  });

  it('answers 451 when the store fails, so the client keeps the message and retries', async () => {
    const broken: IntakeInboxDeps = {
      db: ctx.store.db,
      evidence: new EvidenceStore(path.join(dir, 'not-a-dir', 'x')),
    };
    // The evidence root's parent is a file: every put fails.
    await import('node:fs/promises').then((fs) => fs.writeFile(path.join(dir, 'not-a-dir'), 'file'));
    const server = new SmtpIntakeServer(broken, { port: 0 });
    servers.push(server);
    const port = await server.listen();
    const t = transport(port);
    await expect(
      t.sendMail({ from: 'a@example.net', to: 'abuse@desk.test', text: 'x' }),
    ).rejects.toMatchObject({
      responseCode: 451,
    });
    t.close();
    expect(await rows()).toHaveLength(0);
  });
});

describe('SMTP intake classification', () => {
  it('is covered by the socket tests above; the header reader unfolds continuation lines', async () => {
    const { inspectHeaders } = await import('../../../src/intake/channels/smtp-intake-server.js');
    const facts = inspectHeaders(
      new TextEncoder().encode(
        'Content-Type: multipart/report;\r\n report-type=delivery-status\r\nX-Loop: AupDesk\r\n\r\nReceived: body',
      ),
    );
    expect(facts).toMatchObject({
      received: 0,
      xLoop: ['aupdesk'],
      contentType: 'multipart/report; report-type=delivery-status',
    });
  });
});
