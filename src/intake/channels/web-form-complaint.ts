import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { z } from 'zod';

/**
 * A complaint from the public form becomes one RFC 5322 message: the reporter as `From` (absent for an
 * anonymous complaint, so the parser sees no identity), the form's fields as a plain-text body, the uploaded
 * evidence as an attachment. Stored as evidence like any mail, it goes through the same parsers (free text
 * for the description, the machine formats for an attached CSV/JSON/ARF) and keeps every byte the reporter
 * gave us in one content-addressed blob.
 */

export const abuseKinds = {
  '': 'Not sure',
  spam: 'Spam or unsolicited email',
  phishing: 'Phishing or fraud',
  malware: 'Malware distribution or command-and-control',
  scanning: 'Port scanning or brute-force login attempts',
  ddos: 'Denial-of-service attack',
  copyright: 'Copyright infringement',
  other: 'Other',
} as const;
export type AbuseKind = keyof typeof abuseKinds;

const line = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `at most ${max} characters`)
    .refine((v) => !/[\r\n\0]/.test(v), 'must be one line');

/** The form fields as posted (all strings); `requireIdentity` follows the policy's `complaints.anonymous`. */
export function complaintFormSchema(requireIdentity: boolean) {
  return z
    .object({
      name: line(200).default(''),
      organisation: line(200).default(''),
      email: z
        .string()
        .trim()
        .max(254)
        .default('')
        .refine((v) => v === '' || z.email().safeParse(v).success, 'is not an email address'),
      kind: z.enum(Object.keys(abuseKinds) as [AbuseKind, ...AbuseKind[]]).default(''),
      target: line(2000).refine(
        (v) => v !== '',
        'is required: the IP address, URL or domain the abuse came from',
      ),
      when: z
        .string()
        .trim()
        .default('')
        .refine((v) => v === '' || parseIncidentTime(v) !== undefined, 'is not a date and time'),
      description: z
        .string()
        .max(20_000, 'at most 20,000 characters')
        .refine((v) => v.trim() !== '', 'is required: tell us what happened'),
    })
    .superRefine((v, ctx) => {
      if (requireIdentity) {
        if (v.name === '')
          ctx.addIssue({
            code: 'custom',
            path: ['name'],
            message: 'is required: this provider does not act on anonymous complaints',
          });
        if (v.email === '')
          ctx.addIssue({
            code: 'custom',
            path: ['email'],
            message: 'is required: this provider does not act on anonymous complaints',
          });
      }
    });
}
export type ComplaintForm = z.infer<ReturnType<typeof complaintFormSchema>>;

export const fieldLabels: Record<string, string> = {
  name: 'Your name',
  organisation: 'Organisation',
  email: 'Email',
  kind: 'Kind of abuse',
  target: 'Offending IP address, URL or domain',
  when: 'When it happened',
  description: 'What happened',
  evidence: 'Evidence file',
};

/** `2026-11-20T10:00` (a datetime-local field, read as UTC) or any ISO 8601 time → ISO string. */
export function parseIncidentTime(value: string): string | undefined {
  const local = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?$/.exec(value);
  const iso = local ? `${local[1]}T${local[2]}${local[3] ?? ':00'}Z` : value;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return undefined;
  return new Date(t).toISOString();
}

export interface UploadedEvidence {
  readonly fileName: string;
  readonly contentType: string;
  readonly bytes: Buffer;
}

export interface ComplaintMessageInput {
  readonly form: ComplaintForm;
  readonly evidence?: UploadedEvidence | undefined;
  readonly receivedAt: Date;
  /** The desk address the form stands for (the policy's abuse contact), for `To`. */
  readonly deskAddress: string;
  readonly formUrl: string;
  /** The client's address, recorded in a trace header like a Received line would. */
  readonly remoteAddress: string;
  /** The form token: a double post of the same form yields the same Message-ID. */
  readonly formToken: string;
}

export async function composeComplaintMessage(input: ComplaintMessageInput): Promise<Buffer> {
  const { form } = input;
  const when = form.when === '' ? undefined : parseIncidentTime(form.when);
  const identified = form.email !== '';
  const body = [
    `Complaint submitted through the web form at ${input.formUrl}.`,
    '',
    `Reporter: ${form.name || '(not given)'}`,
    `Organisation: ${form.organisation || '(not given)'}`,
    `Email: ${form.email || '(not given)'}`,
    '',
    `Kind of abuse: ${abuseKinds[form.kind]}`,
    `Offending IP address, URL or domain: ${form.target}`,
    `Time of the incident: ${when ?? '(not given)'}`,
    '',
    'What happened:',
    form.description.replace(/\r\n?/g, '\n'),
    '',
  ].join('\n');
  const messageId = `<form-${createHash('sha256').update(input.formToken).digest('hex').slice(0, 32)}@aupdesk.form>`;
  const composer = new MailComposer({
    ...(identified ? { from: { name: form.name || form.organisation || '', address: form.email } } : {}),
    to: input.deskAddress,
    subject: `Abuse complaint (web form): ${form.target.slice(0, 120)}`,
    date: input.receivedAt,
    messageId,
    text: body,
    headers: {
      'X-Aupdesk-Channel': 'form',
      'X-Aupdesk-Client': input.remoteAddress,
      ...(form.organisation ? { Organization: form.organisation } : {}),
    },
    ...(input.evidence
      ? {
          attachments: [
            {
              filename: input.evidence.fileName,
              content: input.evidence.bytes,
              contentType: input.evidence.contentType,
            },
          ],
        }
      : {}),
  });
  return composer.compile().build();
}

/** A file name safe to carry in a MIME header: no path, no control characters, bounded. */
export function safeFileName(name: string | undefined): string {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  const clean = [...base]
    .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f && c !== '"')
    .join('')
    .trim()
    .slice(0, 200);
  return clean === '' || clean === '.' || clean === '..' ? 'evidence.bin' : clean;
}

/** A content type we pass on only when it looks like one (else application/octet-stream). */
export function safeContentType(type: string | undefined): string {
  return type && /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/i.test(type)
    ? type.toLowerCase()
    : 'application/octet-stream';
}
