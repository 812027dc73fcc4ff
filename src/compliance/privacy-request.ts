import { z } from 'zod';
import type { PolicyHistory } from '../policy/policy-loader.js';
import { durationMs } from '../policy/policy-schema.js';

/**
 * Privacy requests (INFINCE, "Collection and Use of Children's Personal Information" and "How We Protect
 * Your Information"): what a request to delete a minor's personal data says, how a mail to the `privacy`
 * route is read into one, and the deadline the policy sets.
 */

export const PRIVACY_KINDS = ['child-data-deletion', 'breach'] as const;
export type PrivacyKind = (typeof PRIVACY_KINDS)[number];

/** A deletion request as the API and the form take it. */
export const childDataRequestSchema = z
  .object({
    requester: z.object({
      name: z.string().trim().min(1).max(300),
      email: z
        .string()
        .trim()
        .regex(/^[^\s@<>"]+@[^\s@<>"]+$/, 'an e-mail address'),
    }),
    /** Whose data, and where it is (an account, a service, an address): what the desk must find and delete. */
    summary: z.string().trim().min(1).max(5000),
  })
  .strict();
export type ChildDataRequest = z.infer<typeof childDataRequestSchema>;

/** A breach notification the provider made, with the dates it told the affected parties and the regulator. */
export const breachRecordSchema = z
  .object({
    summary: z.string().trim().min(1).max(5000),
    discoveredAt: z.coerce.date(),
    affectedNotifiedAt: z.coerce.date().optional(),
    regulatorNotifiedAt: z.coerce.date().optional(),
  })
  .strict();
export type BreachRecord = z.infer<typeof breachRecordSchema>;

const CHILD =
  /\b(?:child(?:ren)?|minor|kid|son|daughter|under(?:\s+the\s+age\s+of)?\s+(?:18|eighteen)|(?:1[0-7]|[1-9])[-\s]year[-\s]old|teen(?:ager)?)\b/i;
const DELETE = /\b(?:delet\w*|remov\w*|eras\w*|take\s+down|purg\w*)\b/i;
const DATA = /\b(?:personal|data|information|details|account|profile|name|address|e-?mail|phone)\b/i;

export interface PrivacyMailReading {
  /** The text asks to delete a child's personal data (each element found). */
  readonly recognised: boolean;
  readonly missing: readonly ('child' | 'deletion' | 'data')[];
  readonly summary: string;
}

/**
 * Reads a mail to the privacy route. A parent's letter comes in prose ("my 14-year-old daughter signed up…
 * please delete her details"), so recognition looks for the three things the policy's promise turns on:
 * a child, personal data, and a request to delete it. A request missing one is still recorded (the desk
 * must answer it) and says what it lacks.
 */
export function readPrivacyMail(text: string, subject?: string): PrivacyMailReading {
  const all = `${subject ?? ''}\n${text}`;
  const missing: ('child' | 'deletion' | 'data')[] = [];
  if (!CHILD.test(all)) missing.push('child');
  if (!DELETE.test(all)) missing.push('deletion');
  if (!DATA.test(all)) missing.push('data');
  const body = text.replace(/\s+/g, ' ').trim();
  const summary = (subject ? `${subject.trim()}: ${body}` : body).slice(0, 5000) || '(empty message)';
  return { recognised: missing.length === 0, missing, summary };
}

/**
 * The deadline of a minor's-data deletion: the `children-data-deletion` obligation's `deadline` in the
 * newest policy version that has one (INFINCE: "immediately", encoded as P1D). No such term → no deadline.
 */
export function childDeletionDeadline(
  policies: readonly PolicyHistory[],
  receivedAt: Date,
): { dueAt: Date; provider: string; deadline: string } | undefined {
  for (const history of policies) {
    const newest = history.versions.at(-1);
    const obligation = newest?.document.obligations?.find((o) => o.kind === 'children-data-deletion');
    if (obligation?.deadline) {
      return {
        dueAt: new Date(receivedAt.getTime() + durationMs(obligation.deadline)),
        provider: history.provider,
        deadline: obligation.deadline,
      };
    }
  }
  return undefined;
}
