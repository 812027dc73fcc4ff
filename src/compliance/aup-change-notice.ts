import { z } from 'zod';
import { textToHtml } from '../enforcement/notices/html-escape.js';
import type { RenderedMail } from '../enforcement/notices/notice-templates.js';
import type { PolicyDiff } from '../policy/policy-diff.js';
import { durationMs, type PolicyDocument } from '../policy/policy-schema.js';

/**
 * The notice of an AUP change to one customer (outbox kind `mail.policy-change`), and whether a change is
 * announced at all. The promise is the *previous* version's change terms (what the customer agreed to):
 * iITGEN "if we change this AUP in a material manner, we will provide you with notice via email"
 * (`announce` includes `email`, `notify_customers: material-only`). The notice summarises the changes
 * (the diff's verdict sentences), links the rendered diff on the published AUP pages, says when the new
 * version takes effect, and any grace period or acceptance the terms give.
 */

export const POLICY_CHANGE_KIND = 'mail.policy-change';

export const policyChangePayloadSchema = z
  .object({
    provider: z.string().min(1),
    providerName: z.string().min(1),
    customer: z.string().min(1),
    from: z.string().min(1),
    to: z.string().min(1),
    effectiveAt: z.string().min(1),
    material: z.boolean(),
    /** One sentence per change. */
    changes: z.array(z.string()).max(200),
    /** The rendered diff (the published AUP's `/aup/diff` page); null when no public URL is configured. */
    diffUrl: z.string().nullable(),
    /** The previous version binds this customer until then (grace period), if the terms give one. */
    graceEndsAt: z.string().nullable(),
    /** The new version binds only once accepted (portal). */
    explicitAcceptance: z.boolean(),
    waiverBasis: z.string().nullable(),
  })
  .strict();
export type PolicyChangePayload = z.infer<typeof policyChangePayloadSchema>;

export type ChangeAnnouncement =
  | { readonly notify: true; readonly changes: readonly string[] }
  | { readonly notify: false; readonly why: string };

/** Whether the previous version's change terms promise customers a mail about this change, and what. */
export function changeAnnouncement(previous: PolicyDocument, diff: PolicyDiff): ChangeAnnouncement {
  const terms = previous.terms.changes;
  if (!terms.announce.includes('email')) {
    return {
      notify: false,
      why: `the ${previous.version} terms announce changes by ${terms.announce.join(', ')}, not by e-mail`,
    };
  }
  if (terms.notify_customers === 'none') {
    return { notify: false, why: `the ${previous.version} terms promise customers no notice of changes` };
  }
  if (terms.notify_customers === 'material-only' && !diff.verdict.material) {
    return {
      notify: false,
      why: 'the change is not material; the terms promise notice of material changes only',
    };
  }
  const changes = diff.verdict.material
    ? diff.verdict.reasons
    : diff.verdict.editorial.length > 0
      ? diff.verdict.editorial
      : ['editorial changes only'];
  return { notify: true, changes };
}

export function policyChangePayload(input: {
  readonly next: PolicyDocument;
  readonly previous: PolicyDocument;
  readonly diff: PolicyDiff;
  readonly changes: readonly string[];
  readonly customer: string;
  readonly publicUrl: string | undefined;
}): PolicyChangePayload {
  const { next, previous } = input;
  const grace = next.terms.changes.grace_period_previous_version;
  const diffUrl = input.publicUrl
    ? `${input.publicUrl.replace(/\/+$/, '')}/aup/diff?from=${encodeURIComponent(previous.version)}&to=${encodeURIComponent(next.version)}`
    : null;
  return {
    provider: next.provider.id,
    providerName: next.provider.name,
    customer: input.customer,
    from: previous.version,
    to: next.version,
    effectiveAt: new Date(next.effective_at).toISOString(),
    material: input.diff.verdict.material,
    changes: input.changes.slice(0, 200),
    diffUrl,
    graceEndsAt: grace ? new Date(Date.parse(next.effective_at) + durationMs(grace)).toISOString() : null,
    explicitAcceptance: next.terms.changes.acceptance === 'explicit',
    waiverBasis: next.terms.changes.waivers_allowed ? (next.terms.changes.waiver_basis ?? null) : null,
  };
}

export function renderPolicyChange(payload: PolicyChangePayload, customerName?: string): RenderedMail {
  const day = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
  const subject = `${payload.providerName}: changes to our Acceptable Use Policy (${payload.to})`;
  const lines = [
    `Dear ${customerName ?? payload.customer},`,
    '',
    `we have changed our Acceptable Use Policy. Version ${payload.to} replaces ${payload.from} and takes effect on ${day(payload.effectiveAt)}.${payload.material ? ' The change is material:' : ''}`,
    '',
    ...payload.changes.map((c) => `- ${c}`),
    '',
    payload.diffUrl
      ? `Every change, side by side: ${payload.diffUrl}`
      : 'The changes are published with the new version of the policy.',
  ];
  if (payload.graceEndsAt) {
    lines.push(
      '',
      `You may continue to use the services under version ${payload.from} until ${day(payload.graceEndsAt)}.`,
    );
  }
  if (payload.explicitAcceptance) {
    lines.push('', 'The new version binds you once you accept it in the customer portal.');
  } else {
    lines.push('', 'Continued use of the services after the new version takes effect is acceptance of it.');
  }
  if (payload.waiverBasis) {
    lines.push(
      '',
      `If the changes would affect you as our terms describe (${payload.waiverBasis}), you may ask us to waive them for you; reply to this message.`,
    );
  }
  lines.push('', `${payload.providerName}`);
  const text = lines.join('\n');
  return {
    subject,
    text,
    html: `<html><head><meta charset="utf-8"></head><body>${textToHtml(text)}</body></html>`,
  };
}
