import { escapeHtml } from '../enforcement/notices/html-escape.js';
import { messageIdFor } from '../enforcement/notices/message-id.js';
import type {
  ActionContext,
  ActionHandler,
  JsonValue,
  OutboxAction,
} from '../enforcement/outbox/action-handler.js';
import { type CorrespondencePayload, correspondencePayloadSchema } from '../enforcement/planned-action.js';
import { AupError } from '../errors.js';
import { loopHeaders, loopToken } from '../intake/mail-loop.js';
import { type MailSender, mailErrorFor } from './mail-transport.js';

/**
 * `mail.correspondence`: the DMCA and legal workflows' letters (to claimants, counter-notice senders,
 * requesters, customers) through the same relay, loop guard and Message-ID scheme as case notices. The
 * text was fixed when the workflow decided; a retry after a crash sends the same message (same Message-ID).
 */

export interface CorrespondenceAdapterOptions {
  readonly sender: MailSender;
  readonly from: string;
  readonly replyTo: string;
  readonly messageIdDomain: string;
  readonly loopToken?: string | undefined;
}

export class CorrespondenceMailAdapter implements ActionHandler<CorrespondencePayload> {
  readonly kind = 'mail.correspondence';
  readonly payloadSchema = correspondencePayloadSchema;
  private readonly loopToken: string;

  constructor(private readonly options: CorrespondenceAdapterOptions) {
    this.loopToken = options.loopToken ?? loopToken();
  }

  async perform(action: OutboxAction<CorrespondencePayload>, ctx: ActionContext): Promise<JsonValue> {
    const payload = correspondencePayloadSchema.parse(action.payload);
    if (!/^[^\s@<>"]+@[^\s@<>"]+$/.test(payload.to)) {
      throw new AupError(
        'AUP_ERR_ACTION_REJECTED',
        `${payload.letter} for ${payload.about}: "${payload.to}" is not an address`,
      );
    }
    const messageId = messageIdFor(action.idempotencyKey, this.options.messageIdDomain);
    if (ctx.signal.aborted)
      throw new AupError('AUP_ERR_ACTION_FAILED', 'letter not sent: the lease was lost');
    try {
      const result = await this.options.sender.sendMail({
        from: this.options.from,
        to: payload.toName ? `"${payload.toName.replace(/["\\\r\n]/g, '')}" <${payload.to}>` : payload.to,
        replyTo: this.options.replyTo,
        subject: payload.subject.replace(/[\r\n]+/g, ' '),
        text: payload.text,
        html: `<pre style="font-family: inherit; white-space: pre-wrap">${escapeHtml(payload.text)}</pre>`,
        messageId,
        headers: {
          'Auto-Submitted': 'auto-generated',
          ...loopHeaders(this.loopToken),
          'X-Auto-Response-Suppress': 'OOF, AutoReply',
          'X-Aupdesk-About': payload.about,
          'X-Aupdesk-Template': payload.letter,
        },
      });
      if (result.accepted.length === 0) {
        throw new AupError(
          'AUP_ERR_ACTION_FAILED',
          `${payload.letter} for ${payload.about}: the relay accepted no recipient`,
        );
      }
      return { messageId, to: payload.to, letter: payload.letter, response: result.response };
    } catch (error) {
      if (error instanceof AupError) throw error;
      throw mailErrorFor(error, `${payload.letter} for ${payload.about}`);
    }
  }
}
