import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server on loopback standing in for the provider's relay: what it receives is what the desk
 * actually delivered. Every test that checks sent mail uses this one, so they all survive a sender that
 * goes away mid-transaction: smtp-server reports a connection reset after MAIL FROM as an 'error' event on
 * the server, and an EventEmitter with no 'error' listener throws it as an uncaught exception. That is
 * exactly what a `kill -9` of a desk in the middle of relaying a notice produces, so the sink records such
 * drops in `dropped` instead of failing the run.
 */

export interface ReceivedMail {
  /** RCPT TO addresses of the envelope, which may differ from the To header. */
  readonly envelopeTo: string[];
  readonly raw: string;
  readonly parsed: ParsedMail;
}

export interface SmtpSink {
  readonly port: number;
  /** Messages accepted, in arrival order; tests may empty it between cases. */
  readonly messages: ReceivedMail[];
  /** An SMTP reply code to refuse each message with after DATA (a 4xx or 5xx), or null to accept. */
  failWith: number | null;
  /** Connections the sender dropped in the middle of a transaction. */
  readonly dropped: Error[];
  close(): Promise<void>;
}

export async function startSmtpSink(
  options: { onMail?: (mail: ReceivedMail) => void } = {},
): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const dropped: Error[] = [];
  const sink = {
    messages,
    dropped,
    failWith: null as number | null,
  };
  const server = new SMTPServer({
    // Closing ends the senders' connections at once (smtp-server waits 30 s for them by default; 0 means
    // that default): a desk's relay connections are pooled and stay open while idle.
    closeTimeout: 1,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (sink.failWith !== null) {
          callback(Object.assign(new Error('mailbox unavailable'), { responseCode: sink.failWith }));
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw).then(
          (parsed) => {
            const mail = { envelopeTo: session.envelope.rcptTo.map((r) => r.address), raw, parsed };
            messages.push(mail);
            options.onMail?.(mail);
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  server.on('error', (error: Error) => dropped.push(error));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(sink, {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
