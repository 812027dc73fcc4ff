/**
 * A hand-written RFC 4180 record reader for Shadowserver's CSV, tuned for their shape: every string field
 * quoted, millions of rows. It works on the decoded string with `indexOf` jumps instead of a per-character state
 * machine, so an unquoted field costs one search for the next comma and a quoted one a search for the closing
 * quote. Quoted fields may contain commas, doubled quotes and newlines (CRLF or LF); the record's line number is
 * the physical line it starts on. Measured against csv-parse in bench/intake-shadowserver.workload.ts.
 *
 * Leniency, because real files break the RFC: a quote inside an unquoted field is kept literally; text after a
 * closing quote and before the next comma is appended to the field; a quote that never closes (none follows, or
 * the next one is followed by neither a separator nor a line end, so it opens a later row's field) ends the
 * record at the end of its physical line and is reported through `onError` instead of swallowing later rows.
 *
 * Incremental use (report-stream.ts reads a file in pieces): with `final: false` the text is a prefix of the
 * whole, and the reader stops before the first record whose reading would depend on text not there yet (its
 * line has no newline yet, or a quote's closing quote — or what follows it — lies past the end). It returns
 * where that record starts and its line, so the caller appends the next piece to the rest and calls again from
 * there: every record comes out exactly as one call over the whole text would give it. `maxLookahead` bounds how
 * far a quote is searched for in that mode: a quote still unclosed that far on is taken as never closing, as at
 * the end of the text (only a broken file notices: a stray quote followed by megabytes without another quote).
 */

export interface CsvRecordSink {
  /** One record: its fields, its 1-based starting line, and [start, end) offsets of its text (no newline). */
  record(fields: string[], line: number, start: number, end: number): void;
  /** A record the reader could only recover partially (unterminated quote). */
  error(message: string, line: number, start: number, end: number): void;
}

const QUOTE = 34;
const COMMA = 44;
const CR = 13;
const LF = 10;

export interface CsvReadOptions {
  /** The line number of the text at `from` (default 1). */
  readonly line?: number | undefined;
  /** False: more text follows; stop before a record that reaches the end (default true). */
  readonly final?: boolean | undefined;
  /** With `final: false`: characters from a record's start past which an unclosed quote counts as never closing. */
  readonly maxLookahead?: number | undefined;
}

/** Where reading stopped: the offset of the first record not read (the text's length when all were) and its line. */
export interface CsvReadPosition {
  readonly next: number;
  readonly line: number;
}

export function readCsvRecords(
  text: string,
  sink: CsvRecordSink,
  from = 0,
  options: CsvReadOptions = {},
): CsvReadPosition {
  const n = text.length;
  const final = options.final ?? true;
  const maxLookahead = options.maxLookahead ?? Number.POSITIVE_INFINITY;
  let pos = from;
  let line = options.line ?? 1;
  // Position of the next quote at or after `pos` (-1 = none left): found once and reused, so a file without
  // quotes is never searched more than once for them.
  let nextQuote = text.indexOf('"', pos);
  while (pos < n) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) {
      if (!final) return { next: pos, line };
      nl = n;
    }
    let lineEnd = nl;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === CR) lineEnd--;
    if (nextQuote !== -1 && nextQuote < pos) nextQuote = text.indexOf('"', pos);
    if (nextQuote === -1 || nextQuote >= lineEnd) {
      // Fast path: no quote on this line.
      sink.record(lineEnd === pos ? [''] : text.slice(pos, lineEnd).split(','), line, pos, lineEnd);
      pos = nl + 1;
      line++;
      continue;
    }
    // Quoted path: field by field.
    const start = pos;
    const startLine = line;
    const fields: string[] = [];
    let i = pos;
    let broken = false;
    for (;;) {
      if (i < n && text.charCodeAt(i) === QUOTE) {
        let value = '';
        let j = i + 1;
        for (;;) {
          const close = text.indexOf('"', j);
          if (close === -1) {
            if (!final && n - start < maxLookahead) return { next: start, line: startLine };
            broken = true;
            break;
          }
          // Whether the quote is doubled (or what follows it) is not known yet.
          if (!final && close + 1 === n) return { next: start, line: startLine };
          if (close + 1 < n && text.charCodeAt(close + 1) === QUOTE) {
            value += text.slice(j, close + 1);
            j = close + 2;
            continue;
          }
          value += text.slice(j, close);
          j = close + 1;
          break;
        }
        if (broken) {
          // Recover: the record ends at the end of the physical line where it started.
          sink.error('unterminated quoted field', startLine, start, lineEnd);
          pos = nl + 1;
          line = startLine + 1;
          break;
        }
        // A field that spans lines must end like a field (separator, line end, end of text): otherwise its
        // "closing" quote is the opening quote of a later row, and this row's quote never closed. The row
        // ends at the end of its own physical line and the rows after it are read as rows.
        if (j > lineEnd && j < n) {
          const after = text.charCodeAt(j);
          if (after !== COMMA && after !== CR && after !== LF) {
            sink.error('unterminated quoted field', startLine, start, lineEnd);
            pos = nl + 1;
            line = startLine + 1;
            break;
          }
        }
        // Count the newlines the quoted field spanned (rare: only when it went past this line's end).
        if (j > lineEnd) {
          nl = text.indexOf('\n', j);
          if (nl === -1) {
            if (!final) return { next: start, line: startLine };
            nl = n;
          }
          for (let k = i; k < j; k++) if (text.charCodeAt(k) === LF) line++;
          lineEnd = nl;
          if (lineEnd > j && text.charCodeAt(lineEnd - 1) === CR) lineEnd--;
        }
        // Anything between the closing quote and the next separator belongs to the field (lenient).
        if (j < lineEnd && text.charCodeAt(j) !== COMMA) {
          let comma = text.indexOf(',', j);
          if (comma === -1 || comma > lineEnd) comma = lineEnd;
          value += text.slice(j, comma);
          j = comma;
        }
        fields.push(value);
        i = j;
      } else {
        let comma = text.indexOf(',', i);
        if (comma === -1 || comma > lineEnd) comma = lineEnd;
        fields.push(text.slice(i, comma));
        i = comma;
      }
      if (i >= lineEnd) {
        sink.record(fields, startLine, start, lineEnd);
        pos = nl + 1;
        line++;
        break;
      }
      i++; // skip the comma
      if (i === lineEnd) {
        fields.push('');
        sink.record(fields, startLine, start, lineEnd);
        pos = nl + 1;
        line++;
        break;
      }
    }
  }
  return { next: pos, line };
}
