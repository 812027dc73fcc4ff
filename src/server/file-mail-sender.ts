import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { MailSender, MailSendResult, OutgoingMail } from '../actions/mail-transport.js';

/**
 * Where notices go when no SMTP relay is configured (a fresh machine, the demo): each message is written as
 * an RFC 5322 `.eml` file named after its Message-ID, so nothing is silently dropped and an operator can
 * read exactly what would have been sent. Writing the same Message-ID again overwrites the same file, which
 * keeps the outbox's at-least-once retries idempotent here too.
 */
export function fileMailSender(dir: string): MailSender {
  return {
    async sendMail(mail: OutgoingMail): Promise<MailSendResult> {
      await mkdir(dir, { recursive: true });
      const composer = new MailComposer({
        from: mail.from,
        to: mail.to,
        ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
        ...(mail.references ? { references: mail.references } : {}),
        headers: mail.headers,
      });
      const bytes = await composer.compile().build();
      const name = mail.messageId
        .replace(/[<>]/g, '')
        .replace(/[^A-Za-z0-9._@-]/g, '_')
        .slice(0, 200);
      await writeFile(path.join(dir, `${name}.eml`), bytes);
      return {
        messageId: mail.messageId,
        response: `250 written to ${dir}`,
        accepted: [mail.to],
        rejected: [],
      };
    },
  };
}
