import { caseTag } from '../enforcement/notices/case-tag.js';
import { messageIdFor } from '../enforcement/notices/message-id.js';
import { type EvidenceItem, renderNotice } from '../enforcement/notices/notice-templates.js';
import { caseReplyAddress } from '../enforcement/notices/reply-token.js';
import type {
  ActionContext,
  ActionHandler,
  JsonValue,
  OutboxAction,
} from '../enforcement/outbox/action-handler.js';
import { type NoticePayload, noticePayloadSchema } from '../enforcement/planned-action.js';
import { AupError } from '../errors.js';
import { loopHeaders, loopToken } from '../intake/mail-loop.js';
import { type MailSender, mailErrorFor } from './mail-transport.js';

/**
 * `mail.notice`: the customer notice of a ladder step, rendered from its template and handed to the relay.
 *
 * The notice is rendered when it is sent, from the payload (clause text, deadline, policy version fixed when
 * the step was taken) and the case's evidence as the directory gives it then. Its Message-ID is derived from
 * the outbox key, so a repeat after a crash is the same message; In-Reply-To/References name the case's
 * earlier notices the same way, so the customer's client shows one thread per case.
 */

export interface NoticeRecipient {
  readonly email: string;
  readonly name?: string;
  readonly serviceLabel?: string;
}

/** What the adapter needs from the case and registry stores. */
export interface NoticeDirectory {
  recipientFor(customerId: string, serviceId: string): Promise<NoticeRecipient | undefined>;
  evidenceFor(caseId: string): Promise<readonly EvidenceItem[]>;
}

export interface MailNoticeAdapterOptions {
  readonly sender: MailSender;
  readonly directory: NoticeDirectory;
  /** `From:` of notices. */
  readonly from: string;
  /** Where customers reply (the abuse desk mailbox the intake reads). */
  readonly replyTo: string;
  /**
   * The desk secret. Given, each notice's Reply-To is the case's own address (`abuse+aup-<case>.<token>@…`),
   * which is how the customer's reply proves it answers this notice (notices/reply-token.ts).
   */
  readonly replySecret?: Uint8Array;
  readonly messageIdDomain: string;
  /** The X-Loop token (default `loopToken()`: the one our SMTP intake recognises). */
  readonly loopToken?: string | undefined;
}

export class MailNoticeAdapter implements ActionHandler<NoticePayload> {
  readonly kind = 'mail.notice';
  readonly payloadSchema = noticePayloadSchema;

  private readonly loopToken: string;

  constructor(private readonly options: MailNoticeAdapterOptions) {
    this.loopToken = options.loopToken ?? loopToken();
  }

  async perform(action: OutboxAction<NoticePayload>, ctx: ActionContext): Promise<JsonValue> {
    const payload = noticePayloadSchema.parse(action.payload);
    const { directory, messageIdDomain } = this.options;
    const recipient = await directory.recipientFor(payload.customerId, payload.serviceId);
    if (!recipient) {
      throw new AupError(
        'AUP_ERR_ACTION_REJECTED',
        `notice for case ${payload.caseId}: customer ${payload.customerId} has no notice address`,
        { details: { caseId: payload.caseId, customerId: payload.customerId } },
      );
    }
    const evidence = await directory.evidenceFor(payload.caseId);
    const replyTo =
      this.options.replySecret === undefined
        ? this.options.replyTo
        : caseReplyAddress(this.options.replyTo, payload.caseId, this.options.replySecret);
    const rendered = renderNotice(payload, {
      ...(recipient.name === undefined ? {} : { customerName: recipient.name }),
      ...(recipient.serviceLabel === undefined ? {} : { serviceLabel: recipient.serviceLabel }),
      evidence,
      replyTo,
    });
    const messageId = messageIdFor(action.idempotencyKey, messageIdDomain);
    const references = payload.references.map((key) => messageIdFor(key, messageIdDomain));
    if (ctx.signal.aborted)
      throw new AupError('AUP_ERR_ACTION_FAILED', 'notice not sent: the lease was lost');
    try {
      const result = await this.options.sender.sendMail({
        from: this.options.from,
        to: recipient.name
          ? `"${recipient.name.replace(/["\\\r\n]/g, '')}" <${recipient.email}>`
          : recipient.email,
        replyTo,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        messageId,
        ...(references.length > 0 ? { inReplyTo: references[references.length - 1]!, references } : {}),
        headers: {
          // RFC 3834: an automatic message; vacation responders and our own intake must not answer it.
          'Auto-Submitted': 'auto-generated',
          // Our intake knows it by this if it comes back (intake/mail-loop.ts), Auto-Submitted or not.
          ...loopHeaders(this.loopToken),
          'X-Auto-Response-Suppress': 'OOF, AutoReply',
          'X-Aupdesk-Case': caseTag(payload.caseId),
          'X-Aupdesk-Template': payload.template,
        },
      });
      if (result.accepted.length === 0) {
        throw new AupError(
          'AUP_ERR_ACTION_FAILED',
          `notice for case ${payload.caseId}: the relay accepted no recipient`,
        );
      }
      return {
        messageId,
        to: recipient.email,
        template: payload.template,
        response: result.response,
        accepted: result.accepted,
      };
    } catch (error) {
      if (error instanceof AupError) throw error;
      throw mailErrorFor(error, `notice for case ${payload.caseId}`);
    }
  }
}
