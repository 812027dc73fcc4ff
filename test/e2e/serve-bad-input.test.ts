import { connect } from 'node:net';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/accounts/api-key-repository.js';
import { type Desk, healthy, startDesk, stopDesk } from './e2e-support.js';

/**
 * Bad input over every channel gets a clear error and the desk stays up: after each case `/healthz` still
 * answers. One desk (PGlite on disk) serves every case; limits are lowered so oversize is cheap to send.
 */

const SMTP_MAX = 64 * 1024;
const FORM_MAX = 32 * 1024;

/** One SMTP dialogue on a raw socket: each command's reply, as the server wrote it. */
async function smtpDialogue(port: number, commands: readonly string[]): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  let buffer = '';
  const replies: string[] = [];
  const waiters: Array<() => void> = [];
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    // A complete reply ends with a line "ddd text" (no dash after the code).
    while (/^\d{3} .*\r\n/m.test(buffer)) {
      const match = /^(?:\d{3}-.*\r\n)*\d{3} .*\r\n/.exec(buffer);
      if (!match) break;
      replies.push(match[0].trimEnd());
      buffer = buffer.slice(match[0].length);
      waiters.shift()?.();
    }
  });
  const next = () =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no SMTP reply; got ${JSON.stringify(replies)}`)),
        10_000,
      );
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  await next(); // greeting
  for (const command of commands) {
    const reply = next();
    socket.write(`${command}\r\n`);
    await reply;
  }
  socket.end();
  return replies;
}

describe('serve: bad input over every channel', () => {
  let desk: Desk;
  let apiKey: string;

  beforeAll(async () => {
    desk = await startDesk({
      postgres: false,
      start: '2026-11-20T09:00:00.000Z',
      smtpMaxMessageBytes: SMTP_MAX,
      formMaxUploadBytes: FORM_MAX,
    });
    apiKey = (
      await createApiKey(desk.handle.store.db, { name: 'bad-input', role: 'reporter', now: desk.clock.now() })
    ).key;
  });
  afterAll(async () => {
    await stopDesk(desk);
  });

  it('SMTP: malformed and out-of-order commands get 5xx replies', async () => {
    const replies = await smtpDialogue(desk.handle.smtp!.port, [
      'EHLO client.example',
      'BOGUS command',
      'RCPT TO:<abuse@desk-e2e.example>',
      'MAIL FROM:<unterminated',
      'DATA',
      'QUIT',
    ]);
    expect(replies[0]).toMatch(/^220 /); // greeting
    expect(replies[1]).toMatch(/^250[ -]/); // EHLO
    expect(replies[2]).toMatch(/^5\d\d /); // unknown command
    expect(replies[3]).toMatch(/^503 /); // RCPT before MAIL
    expect(replies[4]).toMatch(/^5\d\d /); // bad address syntax
    expect(replies[5]).toMatch(/^503 /); // DATA without recipients
    expect(replies[6]).toMatch(/^221 /);
    expect(await healthy(desk)).toBe(true);
  });

  it('SMTP: a message over the size limit gets 552 and nothing is stored', async () => {
    const before = await desk.handle.store.db.selectFrom('intake_inbox').select('id').execute();
    const client = nodemailer.createTransport({
      host: '127.0.0.1',
      port: desk.handle.smtp!.port,
      ignoreTLS: true,
    });
    const error = await client
      .sendMail({
        from: 'alice@reporter-e2e.example',
        to: 'abuse@desk-e2e.example',
        subject: 'too big',
        text: 'x'.repeat(SMTP_MAX * 2),
      })
      .then(
        () => undefined,
        (e: { responseCode?: number; response?: string }) => e,
      );
    client.close();
    expect(error?.responseCode).toBe(552);
    const after = await desk.handle.store.db.selectFrom('intake_inbox').select('id').execute();
    expect(after).toHaveLength(before.length);
    expect(await healthy(desk)).toBe(true);
  });

  it('API: invalid JSON and a wrong content type get problem details (400, 415)', async () => {
    const url = `${desk.handle.http!.url}/api/v1/reports`;
    const invalid = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: '{"source": {"ip": "192.0.2.1"',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await invalid.json()) as { status: number; title: string; detail?: string };
    expect(problem.status).toBe(400);
    expect(await healthy(desk)).toBe(true);

    const wrongType = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'image/png' },
      body: new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
    });
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await healthy(desk)).toBe(true);
  });

  it('API: path traversal in evidence ids is refused, never read from disk', async () => {
    for (const id of [
      '..%2F..%2F..%2Fetc%2Fpasswd',
      '..%252F..%252Fsecret',
      `${'a'.repeat(63)}%2F`,
      '%2e%2e',
    ]) {
      const res = await fetch(`${desk.handle.http!.url}/api/v1/evidence/${id}`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect([400, 404]).toContain(res.status);
      const text = await res.text();
      expect(text).not.toContain('root:');
      if (res.status === 400) expect(text).toContain('AUP_ERR_EVIDENCE_BAD_HASH');
    }
    expect(await healthy(desk)).toBe(true);
  });

  it('form: an oversized upload gets a 413 page, a post without the token a 403 page', async () => {
    const base = desk.handle.http!.url;
    const page = await fetch(`${base}/report`);
    const token = /name="_token" value="([^"]+)"/.exec(await page.text())![1]!;
    const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
    const big = new FormData();
    big.append('_token', token);
    big.append('target', '192.0.2.9');
    big.append('description', 'attached');
    big.append('evidence', new Blob([new Uint8Array(FORM_MAX * 3)]), 'big.bin');
    const res = await fetch(`${base}/report`, {
      method: 'POST',
      body: big,
      headers: { cookie },
      redirect: 'manual',
    });
    expect(res.status).toBe(413);
    expect(await res.text()).toContain('Upload too large');
    expect(await healthy(desk)).toBe(true);

    const noToken = new FormData();
    noToken.append('target', '192.0.2.9');
    noToken.append('description', 'no token');
    const forbidden = await fetch(`${base}/report`, { method: 'POST', body: noToken, redirect: 'manual' });
    expect(forbidden.status).toBe(403);
    expect(await healthy(desk)).toBe(true);
  });
});
