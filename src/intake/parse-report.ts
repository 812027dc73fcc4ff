import { isAupError } from '../errors.js';
import {
  attachmentParsers,
  detectFormat,
  MIN_MAIL_SCORE,
  MIN_SCORE,
  mailParsers,
  rankFileParsers,
  scoreSafely,
} from './detect-format.js';
import { eventSchema, type IntakeEvent } from './event.js';
import { sha256Hex } from './evidence-store.js';
import { archiveKind, extractArchive } from './mail/archive-extractor.js';
import { htmlToText } from './mail/html-text.js';
import { defaultMailLimits, type MailLimits } from './mail/mail-limits.js';
import { type MailMessage, type MailPart, parseMail } from './mail/mail-message.js';
import type { FormatParser, ParserInput, ParserOutput } from './parser.js';
import { dmcaParser } from './parsers/dmca-parser.js';
import { freeTextParser } from './parsers/free-text-parser.js';
import {
  type Channel,
  type DmcaNotice,
  type ParsedReport,
  type ParseError,
  type Reporter,
  type ReportFormat,
  type ReportHead,
  statusOf,
} from './report.js';
import { isAnonymousMailbox, isAnonymousName } from './reporter-identity.js';

/**
 * One received item → one `ParsedReport`. Never throws and never drops: whatever happens, the caller gets a
 * report (status `unparsed` with errors at worst) pointing at the evidence hash, because the bytes are already
 * in the evidence store when this runs.
 *
 * - **Archives** (zip/gzip by magic bytes) are unpacked within limits and each entry read as a file.
 * - **Mail**: machine formats first (ARF, XARF, X-ARF, SpamCop: the best `detectMail` score wins); else the
 *   attachments (plain, zipped or gzipped) go to the attachment parsers (Shadowserver CSV, IntelMQ JSON
 *   lines, XARF JSON); text attachments (logs) and the body go to the DMCA parser when the body reads like a
 *   DMCA notice, else to the free-text parser. Such a mail is format `email` (or `dmca`), or the format of
 *   the machine attachment.
 * - **Files**: the best `detect` score over all parsers (detect-format.ts).
 *
 * Every event is checked against the field dictionary here too: an event a parser built wrong becomes an
 * error at its location instead of a bad row downstream.
 */

export interface ParseReportInput {
  readonly bytes: Uint8Array;
  readonly fileName?: string | undefined;
  readonly contentType?: string | undefined;
  readonly channel: Channel;
  readonly receivedAt: Date;
  /** The evidence hash when the caller already computed it (it stored the bytes first). */
  readonly evidenceSha256?: string | undefined;
  readonly limits?: IntakeLimits | undefined;
}

export interface IntakeLimits {
  /** A non-mail input larger than this is refused (kept as evidence, reported unparsed). */
  readonly maxFileBytes: number;
  readonly mail: MailLimits;
}

export const defaultIntakeLimits: IntakeLimits = {
  maxFileBytes: 1024 * 1024 * 1024,
  mail: defaultMailLimits,
};

interface Collected {
  format: ReportFormat;
  events: IntakeEvent[];
  errors: ParseError[];
  reporter: Partial<Reporter>;
  dmca?: DmcaNotice | undefined;
  mail?: MailMessage | undefined;
}

export async function parseReport(input: ParseReportInput): Promise<ParsedReport> {
  const limits = input.limits ?? defaultIntakeLimits;
  const evidenceSha256 = input.evidenceSha256 ?? sha256Hex(input.bytes);
  let collected: Collected;
  try {
    collected = await collect(input, limits);
  } catch (error) {
    collected = {
      format: 'unknown',
      events: [],
      errors: [
        { message: `${isAupError(error) ? '' : 'internal error: '}${messageOf(error)}`, location: 'report' },
      ],
      reporter: {},
    };
  }
  return buildReport(input, evidenceSha256, collected);
}

/**
 * The report of an input whose parse could not finish (over its time or memory budget, or the parsing thread
 * died): nothing usable, `unparsed` with `reason`, pointing at the evidence that stays stored.
 */
export function unparsedReport(input: ParseReportInput, reason: string): ParsedReport {
  const evidenceSha256 = input.evidenceSha256 ?? sha256Hex(input.bytes);
  return buildReport(input, evidenceSha256, {
    format: 'unknown',
    events: [],
    errors: [{ message: reason, location: 'report' }],
    reporter: {},
  });
}

async function collect(input: ParseReportInput, limits: IntakeLimits): Promise<Collected> {
  const parserInput: ParserInput = {
    bytes: input.bytes,
    fileName: input.fileName,
    contentType: input.contentType,
    receivedAt: input.receivedAt,
  };
  const detection = detectFormat(parserInput);
  if (detection.kind === 'mail') return collectMail(input, limits);
  if (input.bytes.length > limits.maxFileBytes) return refused(oversizeMessage(input.bytes.length, limits));
  if (detection.kind === 'archive') return collectArchive(parserInput, limits, 'file');
  if (detection.kind === 'file') return fromOutput(await runParser(detection.parser, parserInput, ''));
  const empty = input.bytes.length === 0;
  return {
    format: 'unknown',
    events: [],
    errors: [{ message: empty ? 'empty input' : 'format not recognised by any parser', location: 'file' }],
    reporter: {},
  };
}

function refused(message: string): Collected {
  return { format: 'unknown', events: [], errors: [{ message, location: 'file' }], reporter: {} };
}

function oversizeMessage(size: number, limits: IntakeLimits): string {
  return `input of ${size} bytes exceeds the ${limits.maxFileBytes}-byte limit`;
}

/** What a parse of a report is about, without its bytes: what its head is made of. */
export type ReportSubject = Pick<ParseReportInput, 'fileName' | 'channel' | 'receivedAt'>;

/**
 * The report `parseReport` gives a non-mail input of `size` bytes over `limits.maxFileBytes`, for a caller that
 * knows the size without holding the bytes (a streamed report does not read such a file at all).
 */
export function oversizeReport(
  subject: ReportSubject,
  evidenceSha256: string,
  size: number,
  limits: IntakeLimits,
): ParsedReport {
  return buildReport(subject, evidenceSha256, refused(oversizeMessage(size, limits)));
}

/** Each archive entry is read as a file; locations become `<entry>:<location>`. */
async function collectArchive(
  input: ParserInput,
  limits: IntakeLimits,
  location: string,
): Promise<Collected> {
  const archive = extractArchive(input.bytes, {
    name: input.fileName,
    location,
    limits: limits.mail.archive,
  });
  const out: Collected = { format: 'unknown', events: [], errors: [...archive.errors], reporter: {} };
  for (const entry of archive.entries) {
    const entryInput: ParserInput = {
      bytes: entry.bytes,
      fileName: entry.name,
      receivedAt: input.receivedAt,
    };
    const best = rankFileParsers(entryInput)[0];
    if (!best || best.score < MIN_SCORE || archiveKind(entry.bytes)) {
      out.errors.push({
        message: `archive entry "${entry.name}": format not recognised`,
        location: clipLocation(entry.name),
      });
      continue;
    }
    merge(out, await runParser(best.parser, entryInput, entry.name));
  }
  return out;
}

async function collectMail(input: ParseReportInput, limits: IntakeLimits): Promise<Collected> {
  let mail: MailMessage;
  try {
    mail = parseMail(input.bytes, { limits: limits.mail });
  } catch (error) {
    return {
      format: 'email',
      events: [],
      errors: [{ message: messageOf(error), location: 'message' }],
      reporter: {},
    };
  }
  const ranked = mailParsers
    .map((parser) => ({ parser, score: scoreSafely(() => parser.detectMail(mail)) }))
    .sort((a, b) => b.score - a.score);
  const best = ranked[0];
  let out: Collected;
  if (best && best.score >= MIN_MAIL_SCORE) {
    out = fromOutput(best.parser.parseMail(mail, { receivedAt: input.receivedAt }));
  } else {
    out = await collectComplaintMail(mail, input.receivedAt, limits);
  }
  // Read after the parsers ran: charset problems surface only when a part's text (or the Subject) is decoded.
  void mail.subject;
  out.errors.unshift(...mail.errors);
  out.mail = mail;
  return out;
}

/** A mail without a machine format: attachments by the attachment parsers, body and text logs as complaint text. */
async function collectComplaintMail(
  mail: MailMessage,
  receivedAt: Date,
  limits: IntakeLimits,
): Promise<Collected> {
  const out: Collected = { format: 'email', events: [], errors: [], reporter: {} };
  const textInputs: { input: ParserInput; prefix: string }[] = [];
  let machine = false;
  for (const part of mail.attachments()) {
    if (part.oversize || part.message !== undefined) continue;
    for (const file of await attachmentFiles(part, limits, out.errors)) {
      const input: ParserInput = {
        bytes: file.bytes,
        fileName: file.name,
        contentType: file.contentType,
        receivedAt,
      };
      const best = rankFileParsers(input, attachmentParsers)[0];
      if (best && best.score >= 0.5) {
        machine = true;
        const result = await runParser(best.parser, input, file.prefix);
        merge(out, result);
      } else if (isTextual(file.contentType, file.name, file.bytes)) {
        textInputs.push({ input, prefix: file.prefix });
      }
    }
  }
  if (machine && out.events.length > 0) return out;

  const body = bodyText(mail);
  if (body) {
    const bodyInput: ParserInput = {
      bytes: new TextEncoder().encode(body.text),
      contentType: 'text/plain',
      receivedAt,
      reporterAddress: mail.from?.address,
      subject: mail.subject,
    };
    const dmca = scoreSafely(() => dmcaParser.detect(bodyInput)) >= 0.5;
    const result = await runParser(dmca ? dmcaParser : freeTextParser, bodyInput, body.part.path);
    if (dmca) {
      out.format = 'dmca';
      out.dmca = result.dmca;
    }
    merge(out, result, false);
  }
  for (const text of textInputs) {
    const input = { ...text.input, reporterAddress: mail.from?.address };
    merge(out, await runParser(freeTextParser, input, text.prefix), false);
  }
  return out;
}

interface AttachmentFile {
  readonly name: string | undefined;
  readonly contentType: string | undefined;
  readonly bytes: Uint8Array;
  /** Location prefix: the part path, plus `/<n>` for the n-th archive entry. */
  readonly prefix: string;
}

async function attachmentFiles(
  part: MailPart,
  limits: IntakeLimits,
  errors: ParseError[],
): Promise<AttachmentFile[]> {
  const bytes = part.bytes();
  if (!archiveKind(bytes))
    return [{ name: part.fileName, contentType: part.contentType, bytes, prefix: part.path }];
  const archive = extractArchive(bytes, {
    name: part.fileName,
    location: part.path,
    limits: limits.mail.archive,
  });
  errors.push(...archive.errors);
  return archive.entries.map((entry, i) => ({
    name: entry.name,
    contentType: undefined,
    bytes: entry.bytes,
    prefix: `${part.path}/${i + 1}`,
  }));
}

function bodyText(mail: MailMessage): { text: string; part: MailPart } | undefined {
  const plain = mail.textBody();
  if (plain) return { text: plain.text(), part: plain };
  const html = mail.htmlBody();
  if (html) return { text: htmlToText(html.text()), part: html };
  return undefined;
}

function isTextual(contentType: string | undefined, name: string | undefined, bytes: Uint8Array): boolean {
  if (contentType?.startsWith('text/')) return true;
  if (/\.(log|txt|csv|json|jsonl)$/i.test(name ?? '')) return true;
  const head = bytes.subarray(0, 512);
  return head.length > 0 && !head.includes(0);
}

/** Run a parser without letting it throw; prefix its locations with where its input sat in the mail/archive. */
async function runParser(parser: FormatParser, input: ParserInput, prefix: string): Promise<ParserOutput> {
  let output: ParserOutput;
  try {
    output = await parser.parse(input);
  } catch (error) {
    return {
      format: parser.format,
      events: [],
      errors: [
        { message: `${parser.format} parser failed: ${messageOf(error)}`, location: prefix || 'file' },
      ],
    };
  }
  if (!prefix) return output;
  return { ...output, ...locatedIn(prefix, output.events, output.errors) };
}

/**
 * Events and errors of a parser that read one part of the input (a mail part, an archive entry), their
 * locations prefixed with where that part sat: `<prefix>:<location>`, clipped to the field's 100 characters.
 */
export function locatedIn(
  prefix: string,
  events: readonly IntakeEvent[],
  errors: readonly ParseError[],
): { events: IntakeEvent[]; errors: ParseError[] } {
  return {
    events: events.map((e) => ({
      ...e,
      'raw.location': clipLocation(`${prefix}:${e['raw.location'] ?? ''}`),
    })),
    errors: errors.map((e) => ({
      ...e,
      location: clipLocation(e.location ? `${prefix}:${e.location}` : prefix),
    })),
  };
}

function fromOutput(output: ParserOutput): Collected {
  return {
    format: output.format,
    events: [...output.events],
    errors: [...output.errors],
    reporter: { ...output.reporter },
    dmca: output.dmca,
  };
}

/** Add a parser's output to a report; `adoptFormat` lets a machine attachment name the report's format. */
function merge(into: Collected, output: ParserOutput, adoptFormat = true): void {
  // Not push(...events): spread arguments overflow the stack past ~120,000 (a big gzipped feed file).
  for (const event of output.events) into.events.push(event);
  for (const error of output.errors) into.errors.push(error);
  if (adoptFormat && (into.format === 'unknown' || into.format === 'email') && output.events.length > 0)
    into.format = output.format;
  else if (adoptFormat && into.format === 'unknown') into.format = output.format;
  for (const [key, value] of Object.entries(output.reporter ?? {})) {
    const k = key as keyof Reporter;
    if (value !== undefined && into.reporter[k] === undefined)
      (into.reporter as Record<string, unknown>)[k] = value;
  }
  if (output.dmca && !into.dmca) into.dmca = output.dmca;
}

const AUTOMATED_FORMATS: ReadonlySet<ReportFormat> = new Set([
  'arf',
  'x-arf',
  'xarf',
  'shadowserver',
  'spamcop',
  'intelmq',
]);

function buildReport(subject: ReportSubject, evidenceSha256: string, c: Collected): ParsedReport {
  const { events, dropped } = checkEvents(c.events);
  const errors = [...c.errors, ...dropped];
  const {
    subject: mailSubject,
    messageId,
    inReplyTo,
    dmca,
    ...head
  } = reportHead(subject, evidenceSha256, c);
  // Built in this order, the order `aupdesk parse --json` has always printed.
  return {
    ...head,
    status: statusOf(events.length, errors.length),
    ...(mailSubject !== undefined ? { subject: mailSubject } : {}),
    ...(messageId !== undefined ? { messageId } : {}),
    ...(inReplyTo !== undefined ? { inReplyTo } : {}),
    events,
    errors,
    ...(dmca !== undefined ? { dmca } : {}),
  };
}

/**
 * Every event checked against the field dictionary: an event a parser built wrong is dropped and becomes an
 * error at its location instead of a bad row downstream. The errors come after the parser's own in a report.
 */
export function checkEvents(candidates: readonly IntakeEvent[]): {
  events: IntakeEvent[];
  dropped: ParseError[];
} {
  const events: IntakeEvent[] = [];
  const dropped: ParseError[] = [];
  for (const event of candidates) {
    const checked = eventSchema.safeParse(event);
    if (checked.success) events.push(event);
    else {
      const issue = checked.error.issues[0];
      dropped.push({
        message: `event dropped: ${issue?.path.join('.') || 'event'}: ${issue?.message ?? 'invalid'}`,
        location: event['raw.location'] ?? 'report',
        ...(event.raw ? { raw: event.raw } : {}),
      });
    }
  }
  return { events, dropped };
}

/** What a report says besides its events: the parts a parser and the mail around it tell about the input. */
export interface ReportHeadParts {
  readonly format: ReportFormat;
  readonly reporter: Partial<Reporter>;
  readonly dmca?: DmcaNotice | undefined;
  readonly mail?: MailMessage | undefined;
}

/** A report's head: who reported (the reporter rules below), what the input was, and the mail's threading. */
export function reportHead(subject: ReportSubject, evidenceSha256: string, c: ReportHeadParts): ReportHead {
  const mail = c.mail;
  const from = mail?.from;
  const name = clip(c.reporter.name ?? from?.name, 300);
  const organisation = clip(c.reporter.organisation, 300);
  const email = clip(c.reporter.email ?? from?.address, 320);
  const automated =
    c.reporter.automated === true ||
    AUTOMATED_FORMATS.has(c.format) ||
    subject.channel === 'feed' ||
    subject.channel === 'detection' ||
    mail?.autoSubmitted !== undefined;
  // Anonymous: no identity at all; or a person who said they decline to be identified (the parser read it
  // in their words); or a human complaint from a mailbox nobody answers (`anonymous@`, `noreply@`) with no
  // name or organisation to it. Machine senders use noreply addresses legitimately and are never anonymous.
  const declined = c.reporter.anonymous === true && !automated;
  const unanswerable = !automated && isAnonymousMailbox(email) && isAnonymousName(name) && !organisation;
  const reporter: Reporter = {
    ...(name ? { name } : {}),
    ...(organisation ? { organisation } : {}),
    ...(email ? { email } : {}),
    anonymous:
      subject.channel !== 'detection' && ((!name && !organisation && !email) || declined || unanswerable),
    automated,
  };
  const threading = mail ? [...new Set([...mail.inReplyTo, ...mail.references])] : [];
  return {
    ...(subject.fileName ? { file: subject.fileName } : {}),
    format: c.format,
    channel: subject.channel,
    receivedAt: subject.receivedAt.toISOString(),
    evidenceSha256,
    reporter,
    ...(mail?.subject ? { subject: mail.subject.slice(0, 1000) } : {}),
    ...(mail?.messageId ? { messageId: mail.messageId } : {}),
    ...(threading.length > 0 ? { inReplyTo: threading } : {}),
    ...(c.dmca ? { dmca: c.dmca } : {}),
  };
}

function clip(value: string | undefined, max: number): string | undefined {
  const v = value?.trim();
  return v ? v.slice(0, max) : undefined;
}

function clipLocation(location: string): string {
  return location.length <= 100 ? location : `…${location.slice(-99)}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
