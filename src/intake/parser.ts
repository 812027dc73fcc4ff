import type { IntakeEvent } from './event.js';
import type { DmcaNotice, ParseError, Reporter, ReportFormat } from './report.js';

/**
 * The contract every format parser implements. A parser is a pure function of its input: it never touches
 * the store or the network. It yields what it understood and an error (with the raw text and where) for each
 * part it could not, so one bad line never costs the rest (IntelMQ's rule: the base owns failure handling).
 */
export interface ParserInput {
  /** The bytes of this item: a whole file, or one MIME part / attachment of a mail. */
  readonly bytes: Uint8Array;
  /** File or attachment name, when known (Shadowserver report types are named in it). */
  readonly fileName?: string | undefined;
  /** Declared content type, when known. */
  readonly contentType?: string | undefined;
  /** When the desk received it: the default for events whose source gives no time. */
  readonly receivedAt: Date;
  /**
   * The complainant's own address (a mail's From:), when known: hosts in its domain are the reporter's own
   * (their MX, their servers) and never the source of what they complain about.
   */
  readonly reporterAddress?: string | undefined;
  /** The subject of the mail a complaint came in (people put the gist there: "Spam from your network"). */
  readonly subject?: string | undefined;
}

export interface ParserOutput {
  readonly format: ReportFormat;
  readonly events: IntakeEvent[];
  readonly errors: ParseError[];
  /** What the parser learnt about who reported (the mail layer merges it with From:). */
  readonly reporter?: Partial<Reporter> | undefined;
  readonly dmca?: DmcaNotice | undefined;
}

/**
 * A file-level parser: `detect` answers how sure it is that the input is its format (0 = no, 1 = certain)
 * by looking at the name and the first bytes only; `parse` does the work.
 */
export interface FormatParser {
  readonly format: ReportFormat;
  detect(input: ParserInput): number;
  parse(input: ParserInput): ParserOutput | Promise<ParserOutput>;
}
