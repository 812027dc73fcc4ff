import { z } from 'zod';
import { remedies, severities } from '../policy/policy-schema.js';

/**
 * What the ladder engine asks the world to do. Each planned action becomes one outbox row: `kind` is the
 * outbox kind an adapter (src/actions/) handles, `payload` is self-contained JSON (the clause text is copied
 * in, so a notice says what the policy version said when the step was taken), and `idempotencyKey` is
 * derived from case, step, attempt and kind only, so planning the same step twice yields the same key and
 * the outbox dedupes it.
 *
 * The payload schemas live here, on the engine's side of the data flow, so adapters (which sit to the
 * right) import them and validate the rows they read back from the database.
 */

export const noticeTemplates = [
  /** First notice of a violation: what, which clause, the cure deadline. */
  'violation-notice',
  /** A further warning on the ladder. */
  'warning-notice',
  'suspension-notice',
  'termination-notice',
  'block-notice',
  'content-removal-notice',
  'fee-notice',
  'reinstatement-notice',
  'cured-notice',
  'dismissal-notice',
] as const;
export type NoticeTemplate = (typeof noticeTemplates)[number];

const clauseRef = z
  .object({
    id: z.string(),
    number: z.string().optional(),
    title: z.string(),
    text: z.string(),
    severity: z.enum(severities),
  })
  .strict();

const caseRef = {
  caseId: z.string().min(1),
  customerId: z.string().min(1),
  serviceId: z.string().min(1),
};

export const noticePayloadSchema = z
  .object({
    ...caseRef,
    template: z.enum(noticeTemplates),
    stepId: z.string(),
    /** The remedy the notice announces or accompanies; null for the notice the policy requires first. */
    remedy: z.enum(remedies).nullable(),
    policy: z
      .object({ providerId: z.string(), providerName: z.string(), version: z.string(), title: z.string() })
      .strict(),
    clauses: z.array(clauseRef),
    /** The absolute UTC deadline to cure by, when the step gives one. */
    deadline: z.iso.datetime({ offset: true }).optional(),
    /** What happens at the deadline if the violation is not cured. */
    nextRemedy: z.enum(remedies).optional(),
    curePeriod: z.string(),
    /** The policy's confidentiality term: how much of the complaint the customer sees. */
    shareWithCustomer: z.enum(['shared', 'reporter-redacted', 'summary-only']),
    channel: z.enum(['email', 'email-and-portal']),
    /** Idempotency keys of the case's earlier notices, oldest first (mail threading). */
    references: z.array(z.string()),
    /** Interruptions under this policy earn no SLA credit (said in suspension/termination notices). */
    slaCreditEligible: z.boolean(),
    /** Reason an analyst gave (dismissal). */
    reason: z.string().optional(),
    fee: z.object({ amount: z.number(), currency: z.string(), basis: z.string() }).strict().optional(),
    stepText: z.string().optional(),
    /**
     * The customer obligation the case starts (policy `obligations[].clauses`): what the customer must
     * provide by the deadline instead of a generic cure (Secure Packet §4.3: consent evidence in 72 hours).
     */
    obligation: z.object({ id: z.string(), title: z.string(), text: z.string() }).strict().optional(),
  })
  .strict();
export type NoticePayload = z.infer<typeof noticePayloadSchema>;

export const provisionOperations = [
  'suspend',
  'unsuspend',
  'terminate',
  'remove-content',
  'restore-content',
] as const;
export type ProvisionOperation = (typeof provisionOperations)[number];

export const provisionPayloadSchema = z
  .object({
    ...caseRef,
    operation: z.enum(provisionOperations),
    reason: z.string(),
    slaCreditEligible: z.boolean(),
    /** Content to remove (`remove-content`). */
    urls: z.array(z.string()).default([]),
  })
  .strict();
export type ProvisionPayload = z.infer<typeof provisionPayloadSchema>;

export const blockPayloadSchema = z
  .object({
    ...caseRef,
    operation: z.enum(['add', 'remove']),
    /** Addresses or prefixes, CIDR or bare address. */
    targets: z.array(z.string()).min(1),
    reason: z.string(),
    slaCreditEligible: z.boolean(),
  })
  .strict();
export type BlockPayload = z.infer<typeof blockPayloadSchema>;

export const feePayloadSchema = z
  .object({
    ...caseRef,
    amount: z.number().positive(),
    currency: z.string().length(3),
    basis: z.string().min(1),
  })
  .strict();
export type FeePayload = z.infer<typeof feePayloadSchema>;

export const taskPayloadSchema = z
  .object({ ...caseRef, task: z.enum(['report-to-authorities']), reason: z.string() })
  .strict();
export type TaskPayload = z.infer<typeof taskPayloadSchema>;

/** Outbox kinds, one adapter each. */
export const actionKinds = [
  'mail.notice',
  'provision.suspend',
  'provision.unsuspend',
  'provision.terminate',
  'provision.remove-content',
  'block.add',
  'block.remove',
  'fee.record',
  'task.report-to-authorities',
] as const;
export type ActionKind = (typeof actionKinds)[number];

interface PlannedBase {
  readonly idempotencyKey: string;
  readonly caseId: string;
  /** The ladder step id, or a synthetic one (`notice-before-<step>`, `immediate-suspension`, `analyst-<n>`). */
  readonly stepId: string;
  /** The n-th time this step was taken in this case. */
  readonly attempt: number;
  /** The reserved remedy this action carries out; null for notices the policy requires and restorations. */
  readonly remedy: (typeof remedies)[number] | null;
}

export type PlannedAction =
  | (PlannedBase & { readonly kind: 'mail.notice'; readonly payload: NoticePayload })
  | (PlannedBase & {
      readonly kind:
        | 'provision.suspend'
        | 'provision.unsuspend'
        | 'provision.terminate'
        | 'provision.remove-content';
      readonly payload: ProvisionPayload;
    })
  | (PlannedBase & { readonly kind: 'block.add' | 'block.remove'; readonly payload: BlockPayload })
  | (PlannedBase & { readonly kind: 'fee.record'; readonly payload: FeePayload })
  | (PlannedBase & { readonly kind: 'task.report-to-authorities'; readonly payload: TaskPayload });

/**
 * `<case>/<step>/<attempt>/<kind>`: case id + step id + attempt, plus the kind because one step may plan
 * several actions (a suspension and its notice).
 */
export function idempotencyKeyOf(caseId: string, stepId: string, attempt: number, kind: ActionKind): string {
  return `${caseId}/${stepId}/${attempt}/${kind}`;
}

/**
 * `mail.correspondence`: a letter of a procedure outside the case ladder, to a named address (a DMCA
 * claimant, a counter-notice sender, a legal requester, a customer told of a takedown or a disclosure). The
 * workflow (src/dmca, src/legal) writes the text when it decides; the adapter only sends it.
 */
export const correspondencePayloadSchema = z
  .object({
    /** What it is about, `dmca:DMCA-000001` or `legal:LEGAL-000001`: a header and the audit subject. */
    about: z.string().min(1).max(100),
    /** Which letter (template id), e.g. `dmca.missing-elements`. */
    letter: z.string().min(1).max(100),
    to: z.string().min(3).max(320),
    toName: z.string().max(300).optional(),
    subject: z.string().min(1).max(300),
    text: z.string().min(1).max(200_000),
  })
  .strict();
export type CorrespondencePayload = z.infer<typeof correspondencePayloadSchema>;
