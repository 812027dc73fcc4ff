import { z } from 'zod';

/**
 * A notice or counter-notice submitted as fields (the /dmca form, the API) written out as the text the
 * checker reads, so every channel is judged by one reader and the evidence store keeps what the sender
 * stated, in the statute's order. Free text is kept after the fields. Fields left empty stay out: a missing
 * element is reported missing, not invented.
 */

const field = (max: number) =>
  z
    .string()
    .max(max)
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** Checkbox or statement: `on`/`true` ticks the statutory wording; other text is the sender's own words. */
const statement = z
  .union([z.boolean(), z.string().max(5000)])
  .optional()
  .transform((v) =>
    v === true || v === 'on' || v === 'true'
      ? true
      : typeof v === 'string' && v.trim() !== '' && v !== 'false'
        ? v.trim()
        : undefined,
  );

export const noticeFieldsSchema = z
  .object({
    kind: z.enum(['notice', 'counter-notice']).default('notice'),
    /** Counter-notice: the notice it answers (DMCA-000123). */
    notice_ref: field(40),
    signature: field(300),
    work: field(5000),
    /** URLs, one per line (or an array from the API). */
    material: z
      .union([z.string().max(20_000), z.array(z.string().max(2000)).max(500)])
      .optional()
      .transform((v) => (Array.isArray(v) ? v.join('\n') : v)),
    name: field(300),
    organisation: field(300),
    address: field(1000),
    phone: field(60),
    email: field(320),
    good_faith: statement,
    accuracy_authority: statement,
    mistake_statement: statement,
    jurisdiction_consent: statement,
    text: field(100_000),
  })
  .strict();
export type NoticeFields = z.output<typeof noticeFieldsSchema>;
export type NoticeFieldsInput = z.input<typeof noticeFieldsSchema>;

const GOOD_FAITH =
  'I have a good faith belief that use of the material in the manner complained of is not authorized by the copyright owner, its agent, or the law.';
const ACCURACY =
  'I state that the information in this notification is accurate, and under penalty of perjury, that I am authorized to act on behalf of the owner of an exclusive right that is allegedly infringed.';
const MISTAKE =
  'I swear, under penalty of perjury, that I have a good faith belief that the material was removed or disabled as a result of mistake or misidentification of the material to be removed or disabled.';
const CONSENT =
  'I consent to the jurisdiction of the Federal District Court for the judicial district in which my address is located, and I will accept service of process from the person who provided the notification or an agent of such person.';

export function composeNoticeText(f: NoticeFields, channel: string): string {
  const out: string[] = [];
  const counter = f.kind === 'counter-notice';
  out.push(
    counter
      ? `Counter-notification under 17 U.S.C. 512(g)(3)${f.notice_ref ? ` - ${f.notice_ref}` : ''}, submitted through the ${channel}.`
      : `Notice of claimed infringement under 17 U.S.C. 512(c)(3), submitted through the ${channel}.`,
  );
  if (!counter && f.work) out.push(`Copyrighted work: ${f.work}`);
  if (f.material) {
    out.push(
      `${counter ? 'The material that was removed, and where it appeared' : 'The infringing material is located at'}:\n${f.material
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => `  ${l}`)
        .join('\n')}`,
    );
  }
  const contact = [
    f.name ? `Name: ${f.name}` : undefined,
    f.organisation ? `Company: ${f.organisation}` : undefined,
    f.address ? `Address: ${f.address.replace(/\r?\n/g, ', ')}` : undefined,
    f.phone ? `Phone: ${f.phone}` : undefined,
    f.email ? `Email: ${f.email}` : undefined,
  ].filter((l): l is string => l !== undefined);
  if (contact.length > 0) out.push(`Contact information:\n${contact.join('\n')}`);
  const said = (v: string | true | undefined, wording: string) => (v === true ? wording : v);
  if (!counter) {
    const gf = said(f.good_faith, GOOD_FAITH);
    if (gf) out.push(gf);
    const acc = said(f.accuracy_authority, ACCURACY);
    if (acc) out.push(acc);
  } else {
    const mistake = said(f.mistake_statement, MISTAKE);
    if (mistake) out.push(mistake);
    const consent = said(f.jurisdiction_consent, CONSENT);
    if (consent) out.push(consent);
  }
  if (f.text) out.push(f.text);
  if (f.signature) out.push(`Signature: ${f.signature.replace(/^\/s\/\s*/, '/s/ ')}`);
  return `${out.join('\n\n')}\n`;
}
