import { connect, type Socket } from 'node:net';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';

/** Sends `lines` one per server reply after the greeting; resolves with the socket once all are answered. */
function converse(port: number, lines: readonly string[]): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let next = 0;
    let buffered = '';
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      // A reply is complete at a line whose code is followed by a space (the last line of a multi-line one).
      if (!/^\d{3} .*\r\n/m.test(buffered)) return;
      buffered = '';
      if (next === lines.length) resolve(socket);
      else socket.write(`${lines[next++]}\r\n`);
    });
  });
}

describe('the loopback SMTP sink', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await sink.close();
  });

  it('records a sender that resets the connection mid-transaction, and goes on accepting mail', async () => {
    const socket = await converse(sink.port, ['EHLO killed.example', 'MAIL FROM:<desk@killed.example>']);
    socket.resetAndDestroy();
    for (let i = 0; i < 50 && sink.dropped.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(sink.dropped.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ECONNRESET']);

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, ignoreTLS: true });
    await transport.sendMail({
      from: 'desk@example.net',
      to: 'ops@customer.example',
      subject: 'after',
      text: 'x',
    });
    expect(sink.messages.map((m) => [m.envelopeTo, m.parsed.subject])).toEqual([
      [['ops@customer.example'], 'after'],
    ]);
  });

  it('refuses with the configured code while failWith is set', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, ignoreTLS: true });
    sink.failWith = 451;
    await expect(
      transport.sendMail({ from: 'desk@example.net', to: 'ops@customer.example', subject: 'no', text: 'x' }),
    ).rejects.toMatchObject({ responseCode: 451 });
    sink.failWith = null;
    expect(sink.messages.map((m) => m.parsed.subject)).toEqual(['after']);
  });
});
