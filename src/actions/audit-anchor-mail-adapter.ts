import { z } from 'zod';
import { auditAnchorSchema } from '../audit/audit-anchor.js';
import { messageIdFor } from '../enforcement/notices/message-id.js';
import type {
  ActionContext,
  ActionHandler,
  JsonValue,
  OutboxAction,
} from '../enforcement/outbox/action-handler.js';
import { loopHeaders, loopToken } from '../intake/mail-loop.js';
import { type MailSender, mailErrorFor } from './mail-transport.js';

/**
 * Mails an audit anchor (src/audit/audit-anchor.ts) to the address the operator named
 * (AUPDESK_AUDIT_ANCHOR_MAILTO): a copy of the head in a mailbox the database's writer does not control.
 * Queued in the outbox like any notice, so a relay outage delays it instead of losing it. The body is the
 * anchor's JSON line, the same as in the anchor file, so it can be pasted into one for `audit verify
 * --anchors`.
 */

export const auditAnchorMailPayloadSchema = z.object({
  to: z.string().min(3).max(320),
  anchor: auditAnchorSchema,
});
export type AuditAnchorMailPayload = z.infer<typeof auditAnchorMailPayloadSchema>;

export const AUDIT_ANCHOR_MAIL_KIND = 'mail.audit-anchor';

export class AuditAnchorMailAdapter implements ActionHandler<AuditAnchorMailPayload> {
  readonly kind = AUDIT_ANCHOR_MAIL_KIND;
  readonly payloadSchema = auditAnchorMailPayloadSchema;
  private readonly loopToken: string;

  constructor(
    private readonly options: {
      readonly sender: MailSender;
      readonly from: string;
      readonly messageIdDomain: string;
      readonly loopToken?: string;
    },
  ) {
    this.loopToken = options.loopToken ?? loopToken();
  }

  async perform(action: OutboxAction<AuditAnchorMailPayload>, _ctx: ActionContext): Promise<JsonValue> {
    const { to, anchor } = auditAnchorMailPayloadSchema.parse(action.payload);
    const line = JSON.stringify(anchor);
    const text = [
      `The aupdesk audit log was anchored at entry ${anchor.seq} on ${anchor.anchoredAt}.`,
      '',
      'Keep this message. To check the log against it later, put the line below in a file and run',
      '`aupdesk audit verify --anchors <file>`.',
      '',
      line,
      '',
    ].join('\n');
    const messageId = messageIdFor(action.idempotencyKey, this.options.messageIdDomain);
    try {
      const result = await this.options.sender.sendMail({
        from: this.options.from,
        to,
        subject: `aupdesk audit anchor: entry ${anchor.seq} ${anchor.hash.slice(0, 16)}`,
        text,
        html: `<pre>${text.replaceAll('&', '&amp;').replaceAll('<', '&lt;')}</pre>`,
        messageId,
        headers: { 'Auto-Submitted': 'auto-generated', ...loopHeaders(this.loopToken) },
      });
      return { messageId, to, seq: anchor.seq, response: result.response };
    } catch (error) {
      throw mailErrorFor(error, `audit anchor to ${to}`);
    }
  }
}
