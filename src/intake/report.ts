import { z } from 'zod';
import { eventSchema } from './event.js';

/** Every input format aupdesk recognises. `email` is a mail that carried no machine format (a human complaint). */
export const reportFormats = [
  'arf',
  'x-arf',
  'xarf',
  'shadowserver',
  'spamcop',
  'dmca',
  'free-text',
  'intelmq',
  'email',
  'unknown',
] as const;
export type ReportFormat = (typeof reportFormats)[number];

/** How a report reached the desk. `detection` is the provider's own network (flows): never anonymous. */
export const channels = ['smtp', 'imap', 'api', 'form', 'file', 'feed', 'detection'] as const;
export type Channel = (typeof channels)[number];

export const reporterSchema = z.object({
  name: z.string().max(300).optional(),
  organisation: z.string().max(300).optional(),
  email: z.string().max(320).optional(),
  /** No identity at all: no name, no organisation, no address we could answer (a policy may reject these). */
  anonymous: z.boolean(),
  /** A machine sender (feed, FBL, `Auto-Submitted`): never sent acknowledgements. */
  automated: z.boolean(),
});
export type Reporter = z.infer<typeof reporterSchema>;

export const parseErrorSchema = z.object({
  message: z.string(),
  /** 1-based line number, or a MIME part path, where the problem is. */
  location: z.string().optional(),
  /** The offending input, clipped. */
  raw: z.string().max(4096).optional(),
});
export type ParseError = z.infer<typeof parseErrorSchema>;

/** What a DMCA notice contains, per 17 U.S.C. 512(c)(3)(A) (i)–(vi). */
export const dmcaElementsSchema = z.object({
  signature: z.boolean(),
  copyrightedWork: z.boolean(),
  infringingMaterial: z.boolean(),
  contactInformation: z.boolean(),
  goodFaithStatement: z.boolean(),
  accuracyUnderPenaltyOfPerjury: z.boolean(),
});
export const dmcaNoticeSchema = z.object({
  elements: dmcaElementsSchema,
  /** Names of the elements that are missing (empty when the notice is complete). */
  missing: z.array(z.string()),
  complete: z.boolean(),
  claimant: z.object({
    name: z.string().optional(),
    organisation: z.string().optional(),
    email: z.string().optional(),
    phone: z.string().optional(),
    address: z.string().optional(),
  }),
  /** On behalf of whom, when an agent sends it. */
  rightsHolder: z.string().optional(),
  works: z.array(z.string()),
  infringingUrls: z.array(z.string()),
  signature: z.string().optional(),
});
export type DmcaNotice = z.infer<typeof dmcaNoticeSchema>;

/**
 * One received item parsed: the unit `aupdesk parse --json` prints (one JSON object per line), and what
 * later stages consume. `evidenceSha256` points at the raw bytes in the evidence store.
 */
export const parsedReportSchema = z.object({
  file: z.string().optional(),
  format: z.enum(reportFormats),
  channel: z.enum(channels),
  receivedAt: z.iso.datetime({ offset: false }),
  evidenceSha256: z.string().regex(/^[0-9a-f]{64}$/),
  reporter: reporterSchema,
  /** `parsed`: all input understood; `partial`: some lines/parts failed (see errors); `unparsed`: nothing usable. */
  status: z.enum(['parsed', 'partial', 'unparsed']),
  subject: z.string().optional(),
  messageId: z.string().optional(),
  /** Message-IDs this mail answers (In-Reply-To, References): lets replies thread to cases. */
  inReplyTo: z.array(z.string()).optional(),
  events: z.array(eventSchema),
  errors: z.array(parseErrorSchema),
  dmca: dmcaNoticeSchema.optional(),
});
export type ParsedReport = z.infer<typeof parsedReportSchema>;

/** The fields of a report other than its events, errors and status: what a streamed report repeats on every chunk. */
export type ReportHead = Omit<ParsedReport, 'events' | 'errors' | 'status'>;

/** A report's status from how many events and errors it has (over all its chunks, when streamed). */
export function statusOf(events: number, errors: number): ParsedReport['status'] {
  if (events === 0) return errors > 0 ? 'unparsed' : 'parsed';
  return errors > 0 ? 'partial' : 'parsed';
}
