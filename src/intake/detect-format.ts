import { type ArchiveKind, archiveKind } from './mail/archive-extractor.js';
import type { MailFormatParser } from './mail/mail-format-parser.js';
import type { FormatParser, ParserInput } from './parser.js';
import { arfMailParser, arfParser } from './parsers/arf-parser.js';
import { dmcaParser } from './parsers/dmca-parser.js';
import { freeTextParser } from './parsers/free-text-parser.js';
import { intelmqParser } from './parsers/intelmq-parser.js';
import { shadowserverParser } from './parsers/shadowserver/shadowserver-parser.js';
import { spamcopMailParser, spamcopParser } from './parsers/spamcop-parser.js';
import { xArfMailParser, xArfParser } from './parsers/x-arf-yaml-parser.js';
import { xarfMailParser, xarfParser } from './parsers/xarf-json-parser.js';

/**
 * Which parser reads an input. Detection is data, not an if/else chain: every parser scores the input
 * (`detect`, 0..1, from the name and the first bytes) and the best score wins. A new format is one entry in
 * a list below.
 *
 * Order matters only for ties (earlier wins): machine formats before the human ones.
 */

/** Every file-level parser. */
export const fileParsers: readonly FormatParser[] = [
  xarfParser,
  intelmqParser,
  shadowserverParser,
  arfParser,
  xArfParser,
  spamcopParser,
  dmcaParser,
  freeTextParser,
];

/** Machine formats carried in mail, asked in turn once a mail is parsed. */
export const mailParsers: readonly MailFormatParser[] = [
  arfMailParser,
  xarfMailParser,
  xArfMailParser,
  spamcopMailParser,
];

/** Machine formats an attachment may be in (a Shadowserver CSV, IntelMQ JSON lines, an XARF JSON file). */
export const attachmentParsers: readonly FormatParser[] = [shadowserverParser, intelmqParser, xarfParser];

/**
 * Below this a parser's claim is ignored; the best claim at or above it wins. Low on purpose: the free-text
 * parser claims any readable text at 0.2 (the format of last resort), and only binary nobody claims is
 * `unknown`.
 */
export const MIN_SCORE = 0.1;
/** Mail-level machine formats must be surer than this (else the mail is read as a human complaint). */
export const MIN_MAIL_SCORE = 0.5;

export interface Scored<P> {
  readonly parser: P;
  readonly score: number;
}

/** Every file parser's score for the input, best first (ties keep list order). */
export function rankFileParsers(
  input: ParserInput,
  parsers: readonly FormatParser[] = fileParsers,
): Scored<FormatParser>[] {
  return parsers
    .map((parser, i) => ({ parser, score: safeScore(() => parser.detect(input)), i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map(({ parser, score }) => ({ parser, score }));
}

const MAIL_FIELDS =
  /^(?:From|To|Cc|Subject|Date|Received|Return-Path|Message-ID|MIME-Version|Content-Type|Delivered-To|Reply-To|X-[A-Za-z-]+|DKIM-Signature|Authentication-Results|ARC-[A-Za-z-]+):/i;

/**
 * How much the input looks like an RFC 5322 message: a declared `message/rfc822`, an `.eml`/`.msg` name, or
 * a first block of lines that are mostly mail header fields (From:, Received:, Subject: …).
 */
export function mailLikelihood(input: Pick<ParserInput, 'bytes' | 'fileName' | 'contentType'>): number {
  const type = input.contentType?.toLowerCase() ?? '';
  if (type.startsWith('message/rfc822') || type.startsWith('message/global')) return 1;
  const head = Buffer.from(
    input.bytes.buffer,
    input.bytes.byteOffset,
    Math.min(input.bytes.byteLength, 8192),
  ).toString('latin1');
  const lines = head.split(/\r?\n/);
  let fields = 0;
  let known = 0;
  let i = lines[0]?.startsWith('From ') ? 1 : 0; // mbox separator
  for (; i < lines.length && i < 60; i++) {
    const line = lines[i]!;
    if (line === '') break;
    if (/^[ \t]/.test(line)) continue;
    if (!/^[!-9;-~]+:/.test(line)) return 0;
    fields++;
    if (MAIL_FIELDS.test(line)) known++;
  }
  const named = /\.(eml|msg|mbox)$/i.test(input.fileName ?? '');
  if (known >= 2 && fields >= 2) return named ? 1 : 0.9;
  if (known >= 1 && named) return 0.8;
  return 0;
}

export type Detection =
  | { readonly kind: 'archive'; readonly archive: ArchiveKind; readonly score: 1 }
  | { readonly kind: 'mail'; readonly score: number }
  | { readonly kind: 'file'; readonly parser: FormatParser; readonly score: number }
  | { readonly kind: 'unknown'; readonly score: 0 };

/** What an input is: an archive to unpack, a mail to open, a file for one parser, or nothing we know. */
export function detectFormat(input: ParserInput): Detection {
  const archive = archiveKind(input.bytes);
  if (archive) return { kind: 'archive', archive, score: 1 };
  const mail = mailLikelihood(input);
  if (mail >= MIN_MAIL_SCORE) return { kind: 'mail', score: mail };
  const best = rankFileParsers(input)[0];
  if (best && best.score >= MIN_SCORE) return { kind: 'file', parser: best.parser, score: best.score };
  return { kind: 'unknown', score: 0 };
}

/** A detector that throws must not take the intake down: it just does not claim the input. */
function safeScore(score: () => number): number {
  try {
    const s = score();
    return Number.isFinite(s) ? Math.max(0, Math.min(1, s)) : 0;
  } catch {
    return 0;
  }
}

export { safeScore as scoreSafely };
