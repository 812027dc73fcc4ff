import { z } from 'zod';
import { legalProcesses } from '../policy/policy-schema.js';

/**
 * An information request as the desk records it: a subpoena, court order, warrant, law-enforcement,
 * regulatory, civil or private request for information about a customer. The same shape comes from the
 * request file of `aupdesk legal assess`, the API body and the console form; a request read from mail fills
 * what the text states and leaves the rest for an analyst.
 */

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);
const dateTime = z.union([
  z.iso.datetime({ offset: true, error: 'expected a date-time with offset such as 2026-11-02T00:00:00Z' }),
  z.iso.date({ error: 'expected a date such as 2026-11-02' }).transform((d) => `${d}T00:00:00Z`),
]);

export const requesterSchema = z.union([
  text(300).transform((name): Requester => ({ name })),
  z
    .object({
      name: text(300),
      organisation: z.string().max(300).optional(),
      email: z.email().optional(),
      phone: z.string().max(60).optional(),
      address: z.string().max(500).optional(),
    })
    .strict(),
]);
export interface Requester {
  readonly name: string;
  readonly organisation?: string | undefined;
  readonly email?: string | undefined;
  readonly phone?: string | undefined;
  readonly address?: string | undefined;
}

export const matterSchema = z
  .object({
    court: text(300).nullable().optional(),
    case_number: text(120).nullable().optional(),
    filed_at: dateTime.nullable().optional(),
    pending: z.boolean().nullable().optional(),
  })
  .strict();
export type Matter = z.output<typeof matterSchema>;

export const informationRequestSchema = z
  .object({
    kind: z.enum(legalProcesses, {
      error: `kind must be one of: ${legalProcesses.join(', ')}`,
    }),
    requester: requesterSchema,
    /** The legal authority the requester invokes (rule, statute, the court's order). */
    authority: z.string().trim().max(500).optional(),
    matter: matterSchema.nullable().optional(),
    asks: z.array(text(1000)).min(1, 'asks must name at least one item of information'),
    estimated_hours: z.number().nonnegative().max(10_000).default(1),
    /** When the requester wants an answer. */
    deadline: dateTime.optional(),
    /** The customer the request concerns (registry reference), when known. */
    customer: z.string().trim().max(100).optional(),
    /** An order that forbids telling the customer (a nondisclosure order, 18 U.S.C. 2705(b)). */
    nondisclosure_order: z.string().trim().max(1000).optional(),
  })
  .strict();
export type InformationRequest = z.output<typeof informationRequestSchema>;
export type InformationRequestInput = z.input<typeof informationRequestSchema>;

/** Zod issues as one readable line each: `matter.filed_at: expected a date …`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(request)'}: ${i.message}`)
    .join('; ');
}
