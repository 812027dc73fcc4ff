import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ParsedMail } from 'mailparser';
import { verifyWebhookSignature } from '../../src/actions/provisioning-webhook-adapter.js';
import { startSmtpSink } from './smtp-sink.js';

/**
 * A real SMTP server and a real webhook receiver on loopback, for tests that check what the desk actually
 * delivers: notices arrive parsed in `mails`, provisioning calls in `hooks` with their HMAC checked against
 * `secret` at the test's clock (`now`), so a moved ManualClock and the receiver agree on freshness.
 */
export interface ReceivedHook {
  readonly body: Record<string, unknown>;
  /** The Idempotency-Key header the adapter sent. */
  readonly key: string | undefined;
  readonly signatureOk: boolean;
}

export interface LoopbackSinks {
  readonly smtpPort: number;
  readonly webhookUrl: string;
  readonly mails: ParsedMail[];
  readonly hooks: ReceivedHook[];
  close(): Promise<void>;
}

export async function startLoopbackSinks(options: {
  /** The webhook's shared secret. */
  secret: string;
  /** The instant signatures are checked at. */
  now: () => Date;
  /** The receiver's path, as the desk's webhook URL names it. */
  hookPath: string;
}): Promise<LoopbackSinks> {
  const mails: ParsedMail[] = [];
  const hooks: ReceivedHook[] = [];
  const smtp = await startSmtpSink({ onMail: (mail) => mails.push(mail.parsed) });
  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const check = verifyWebhookSignature({
        secret: options.secret,
        timestamp: req.headers['x-aupdesk-timestamp'] as string | undefined,
        signature: req.headers['x-aupdesk-signature'] as string | undefined,
        body: raw,
        now: options.now(),
      });
      hooks.push({
        body: JSON.parse(raw) as Record<string, unknown>,
        key: req.headers['idempotency-key'] as string | undefined,
        signatureOk: check.valid,
      });
      res.writeHead(check.valid ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: check.valid }));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}${options.hookPath}`;
  return {
    smtpPort: smtp.port,
    webhookUrl,
    mails,
    hooks,
    async close() {
      await smtp.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
