import nodemailer from 'nodemailer';
import { z } from 'zod';
import { AupError } from '../errors.js';

/**
 * The outgoing mail relay. aupdesk does not deliver mail itself: it hands each message to the provider's
 * relay (host/port/TLS/auth from config) and lets the relay queue and retry. The adapters depend only on
 * `MailSender`, the one method of nodemailer's transport they use, so tests and other transports fit.
 */

export interface OutgoingMail {
  readonly from: string;
  readonly to: string;
  readonly replyTo?: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly messageId: string;
  readonly inReplyTo?: string;
  readonly references?: string[];
  readonly headers: Record<string, string>;
}

export interface MailSendResult {
  readonly messageId: string;
  /** The relay's final answer, e.g. `250 2.0.0 Ok: queued as 4F2...`. */
  readonly response: string;
  readonly accepted: string[];
  readonly rejected: string[];
}

export interface MailSender {
  sendMail(mail: OutgoingMail): Promise<MailSendResult>;
}

export const smtpRelayConfigSchema = z
  .object({
    host: z.string().min(1),
    port: z.coerce.number().int().min(1).max(65535).default(587),
    /** true: TLS from the first byte (port 465); false: STARTTLS when offered. */
    secure: z.boolean().default(false),
    /** Refuse to send without STARTTLS (set for relays across a network you do not own). */
    requireTls: z.boolean().default(false),
    auth: z
      .object({ user: z.string().min(1), pass: z.string().min(1) })
      .strict()
      .optional(),
    /** Envelope and header sender of notices, e.g. `"Example abuse desk" <abuse@example.net>`. */
    from: z.string().min(3),
    /** Right-hand side of our Message-IDs; also how we recognise our own mail coming back. */
    messageIdDomain: z.string().min(1),
    timeoutMs: z.number().int().positive().default(30_000),
  })
  .strict();
export type SmtpRelayConfig = z.infer<typeof smtpRelayConfigSchema>;

/** Connections kept to the relay: the outbox's claim loops send one message at a time each. */
const POOLED_CONNECTIONS = 2;

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .optional()
  .transform((v) => (v === undefined ? undefined : ['true', '1', 'yes'].includes(v)));

/**
 * Reads the relay from the environment: AUPDESK_SMTP_HOST, AUPDESK_SMTP_PORT, AUPDESK_SMTP_SECURE,
 * AUPDESK_SMTP_REQUIRE_TLS, AUPDESK_SMTP_USER, AUPDESK_SMTP_PASS, AUPDESK_MAIL_FROM,
 * AUPDESK_MESSAGE_ID_DOMAIN (default: the domain of AUPDESK_MAIL_FROM).
 */
export function smtpRelayConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SmtpRelayConfig {
  const secure = bool.safeParse(env.AUPDESK_SMTP_SECURE);
  const requireTls = bool.safeParse(env.AUPDESK_SMTP_REQUIRE_TLS);
  const from = env.AUPDESK_MAIL_FROM ?? '';
  const fromDomain = /@([^>\s]+)>?\s*$/.exec(from)?.[1];
  const parsed = smtpRelayConfigSchema.safeParse({
    host: env.AUPDESK_SMTP_HOST,
    port: env.AUPDESK_SMTP_PORT ?? 587,
    secure: secure.success ? (secure.data ?? false) : 'invalid',
    requireTls: requireTls.success ? (requireTls.data ?? false) : 'invalid',
    ...(env.AUPDESK_SMTP_USER
      ? { auth: { user: env.AUPDESK_SMTP_USER, pass: env.AUPDESK_SMTP_PASS ?? '' } }
      : {}),
    from,
    messageIdDomain: env.AUPDESK_MESSAGE_ID_DOMAIN ?? fromDomain,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `SMTP relay configuration: ${issue?.path.join('.') || '?'}: ${issue?.message ?? 'invalid'} (AUPDESK_SMTP_HOST, AUPDESK_SMTP_PORT, AUPDESK_SMTP_SECURE, AUPDESK_SMTP_USER, AUPDESK_SMTP_PASS, AUPDESK_MAIL_FROM)`,
    );
  }
  return parsed.data;
}

/**
 * A `MailSender` over nodemailer's SMTP transport to the configured relay, on pooled connections: a new
 * connection per message costs the relay's greeting every time (smtp-server and postscreen-style relays
 * hold it back on purpose, 100 ms here on loopback, seconds on some), which made the outbox send about
 * 9 messages a second; one kept connection sends about 80. A connection the relay closes (its idle
 * timeout) leaves the pool and the next message opens another; one idle for `timeoutMs` is closed by us.
 */
export function createSmtpSender(config: SmtpRelayConfig): MailSender & { close(): void } {
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: POOLED_CONNECTIONS,
    // Relays limit messages per connection (Postfix: smtpd_client_message_rate_limit; Exchange: 20–100).
    maxMessages: 100,
    host: config.host,
    port: config.port,
    secure: config.secure,
    requireTLS: config.requireTls,
    ...(config.auth ? { auth: { user: config.auth.user, pass: config.auth.pass } } : {}),
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
  });
  return {
    async sendMail(mail) {
      const info = await transport.sendMail({
        from: mail.from,
        to: mail.to,
        ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
        ...(mail.references && mail.references.length > 0 ? { references: mail.references } : {}),
        headers: mail.headers,
      });
      return {
        messageId: String(info.messageId ?? mail.messageId),
        response: String(info.response ?? ''),
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
      };
    },
    close() {
      transport.close();
    },
  };
}

/** SMTP failures a retry can fix: connection trouble, timeouts, 4xx replies. A 5xx reply is permanent. */
export function mailErrorFor(error: unknown, what: string): AupError {
  const responseCode = (error as { responseCode?: unknown } | null)?.responseCode;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600) {
    return new AupError(
      'AUP_ERR_ACTION_REJECTED',
      `${what}: the relay refused the message (${responseCode}): ${message}`,
      {
        details: { responseCode },
        cause: error,
      },
    );
  }
  return new AupError('AUP_ERR_ACTION_FAILED', `${what}: ${message}`, {
    details: typeof responseCode === 'number' ? { responseCode } : {},
    cause: error,
  });
}
