import {
  POLICY_CHANGE_KIND,
  type PolicyChangePayload,
  policyChangePayloadSchema,
  renderPolicyChange,
} from '../compliance/aup-change-notice.js';
import { messageIdFor } from '../enforcement/notices/message-id.js';
import type {
  ActionContext,
  ActionHandler,
  JsonValue,
  OutboxAction,
} from '../enforcement/outbox/action-handler.js';
import { AupError } from '../errors.js';
import { loopHeaders, loopToken } from '../intake/mail-loop.js';
import { type MailSender, mailErrorFor } from './mail-transport.js';

/**
 * `mail.policy-change`: the e-mail announcing a change of the AUP to one customer (compliance/
 * aup-change-notice.ts decides who is told and what it says). Sent to every notice address of the
 * customer; the Message-ID comes from the outbox key, so a retried send is the same message.
 */

export interface PolicyChangeDirectory {
  recipientsFor(customerRef: string): Promise<{ name: string; emails: readonly string[] } | undefined>;
}

export interface PolicyChangeMailAdapterOptions {
  readonly sender: MailSender;
  readonly directory: PolicyChangeDirectory;
  readonly from: string;
  readonly replyTo: string;
  readonly messageIdDomain: string;
  readonly loopToken?: string | undefined;
}

export class PolicyChangeMailAdapter implements ActionHandler<PolicyChangePayload> {
  readonly kind = POLICY_CHANGE_KIND;
  readonly payloadSchema = policyChangePayloadSchema;
  private readonly loopToken: string;

  constructor(private readonly options: PolicyChangeMailAdapterOptions) {
    this.loopToken = options.loopToken ?? loopToken();
  }

  async perform(action: OutboxAction<PolicyChangePayload>, ctx: ActionContext): Promise<JsonValue> {
    const payload = policyChangePayloadSchema.parse(action.payload);
    const recipient = await this.options.directory.recipientsFor(payload.customer);
    if (!recipient || recipient.emails.length === 0) {
      throw new AupError(
        'AUP_ERR_ACTION_REJECTED',
        `policy change notice: customer ${payload.customer} has no notice address`,
      );
    }
    const rendered = renderPolicyChange(payload, recipient.name);
    const messageId = messageIdFor(action.idempotencyKey, this.options.messageIdDomain);
    if (ctx.signal.aborted) {
      throw new AupError('AUP_ERR_ACTION_FAILED', 'policy change notice not sent: the lease was lost');
    }
    try {
      const result = await this.options.sender.sendMail({
        from: this.options.from,
        to: recipient.emails.join(', '),
        replyTo: this.options.replyTo,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        messageId,
        headers: {
          'Auto-Submitted': 'auto-generated',
          ...loopHeaders(this.loopToken),
          'X-Auto-Response-Suppress': 'OOF, AutoReply',
          'X-Aupdesk-Template': 'policy-change',
          'X-Aupdesk-Policy': `${payload.provider} ${payload.to}`,
        },
      });
      if (result.accepted.length === 0) {
        throw new AupError('AUP_ERR_ACTION_FAILED', 'policy change notice: the relay accepted no recipient');
      }
      return {
        messageId,
        to: recipient.emails.join(', '),
        response: result.response,
        accepted: result.accepted,
      };
    } catch (error) {
      if (error instanceof AupError) throw error;
      throw mailErrorFor(error, `policy change notice to ${payload.customer}`);
    }
  }
}
