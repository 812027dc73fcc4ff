import type { ParserOutput } from '../parser.js';
import type { MailMessage } from './mail-message.js';

/**
 * A machine format carried in mail (ARF, X-ARF, XARF attached, Spamcop). `parseReport` parses a mail once and
 * asks each of these, from a list, how sure it is (`detectMail`, 0..1, headers and part types only); the best
 * one above its threshold parses. Each also exists as a file-level `FormatParser` that parses the bytes as a
 * mail first, so `aupdesk parse` can take a saved `.eml` directly.
 */
export interface MailFormatParser {
  readonly format: ParserOutput['format'];
  detectMail(mail: MailMessage): number;
  parseMail(mail: MailMessage, context: { readonly receivedAt: Date }): ParserOutput;
}
