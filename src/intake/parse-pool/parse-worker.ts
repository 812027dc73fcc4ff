import { type ParseReportInput, parseReport } from '../parse-report.js';
import type { ParsedReport } from '../report.js';

/**
 * The body of a parsing thread (parse-pool.ts): one report in, its `ParsedReport` out, the same function the
 * main thread would call. Whatever the parser does — inflate a 240 MiB attachment, walk a million CSV rows —
 * happens here, so the HTTP and SMTP servers on the main thread keep answering.
 */
export default function parseInWorker(input: ParseReportInput): Promise<ParsedReport> {
  return parseReport(input);
}
