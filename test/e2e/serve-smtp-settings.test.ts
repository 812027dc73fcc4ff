import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { complaintMail, type Desk, startDesk, stopDesk } from './e2e-support.js';

/**
 * The desk's SMTP intake as an operator configures it (`AUPDESK_INTAKE_SMTP_*`): STARTTLS with the
 * configured certificate, only the desk's own domains, and the per-client connection and rate limits, all
 * through real sockets on loopback with nodemailer as the client.
 */

describe('serve: SMTP intake configured from the environment', () => {
  let dir: string;
  let desk: Desk;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-smtp-settings-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'].concat([
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ]),
      { stdio: 'ignore' },
    );
    desk = await startDesk({
      postgres: false,
      start: new Date().toISOString(),
      env: {
        AUPDESK_INTAKE_SMTP_TLS_KEY: path.join(dir, 'key.pem'),
        AUPDESK_INTAKE_SMTP_TLS_CERT: path.join(dir, 'cert.pem'),
        AUPDESK_INTAKE_SMTP_DOMAINS: 'desk-e2e.example',
        AUPDESK_INTAKE_SMTP_MAX_CONNECTIONS_PER_CLIENT: '2',
        AUPDESK_INTAKE_SMTP_RATE_PER_MINUTE: '3',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await stopDesk(desk);
    await rm(dir, { recursive: true, force: true });
  });

  const transport = (extra: Record<string, unknown> = {}) =>
    nodemailer.createTransport({ host: '127.0.0.1', port: desk.handle.smtp!.port, secure: false, ...extra });

  it('offers STARTTLS with the configured certificate, takes the desk domains only, and limits each client', {
    timeout: 60_000,
  }, async () => {
    expect(desk.handle.smtp).toMatchObject({ starttls: true, domains: ['desk-e2e.example'] });
    const mail = complaintMail('192.0.2.44', new Date(), 'tls-1');
    // Over TLS (the client insists on it), trusting the test's self-signed certificate.
    const tlsClient = transport({ requireTLS: true, tls: { rejectUnauthorized: false } });
    const info = await tlsClient.sendMail({
      from: 'alice@reporter-e2e.example',
      to: 'abuse@desk-e2e.example',
      subject: mail.subject,
      text: mail.text,
      messageId: mail.messageId,
    });
    tlsClient.close();
    expect(info.response).toMatch(/^250 /);
    const rows = await desk.handle.store.db.selectFrom('intake_inbox').select('message_id').execute();
    expect(rows).toEqual([{ message_id: 'tls-1@reporter-e2e.example' }]);

    // Another domain is not the desk's: refused at RCPT.
    const plain = transport({ ignoreTLS: true });
    await expect(
      plain.sendMail({ from: 'alice@reporter-e2e.example', to: 'abuse@elsewhere.example', text: 'x' }),
    ).rejects.toThrow(/550 5\.7\.1 Relaying denied/);

    // Three messages a minute per client address, counted at MAIL (the relay attempt above took one
    // too): the rate limit answers 450 before the third of these.
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      outcomes.push(
        await plain
          .sendMail({ from: 'bob@reporter-e2e.example', to: 'abuse@desk-e2e.example', text: `n${i}` })
          .then(
            (r) => String(r.response).slice(0, 3),
            (e: Error) => e.message.slice(0, 80),
          ),
      );
    }
    plain.close();
    expect(outcomes[0]).toBe('250');
    expect(outcomes.slice(1).every((o) => /450 4\.7\.1 Rate limit/.test(o))).toBe(true);
  });

  it('a third concurrent connection from one address gets 421 at the greeting', {
    timeout: 30_000,
  }, async () => {
    const greet = (): Promise<{ line: string; socket: Socket }> =>
      new Promise((resolve, reject) => {
        const socket = connect(desk.handle.smtp!.port, '127.0.0.1');
        socket.setEncoding('utf8');
        socket.once('data', (line: string) => resolve({ line, socket }));
        socket.once('error', reject);
      });
    const open = [await greet(), await greet()];
    const third = await greet();
    try {
      expect(open.map((o) => o.line.slice(0, 4))).toEqual(['220 ', '220 ']);
      expect(third.line).toMatch(/^421 4\.7\.0 Too many connections from 127\.0\.0\.1 \(limit 2\)/);
    } finally {
      for (const o of [...open, third]) o.socket.destroy();
    }
  });
});
