import { readFile } from 'node:fs/promises';
import type { IntakeEvent } from './event.js';
import { type IntakeLimits, parseReport } from './parse-report.js';
import type { Channel, ParsedReport, ParseError } from './report.js';

// PLACEHOLDER until the streamed parser lands (branch stream15): the types and a whole-file fallback.

export type ReportHead = Omit<ParsedReport, 'events' | 'errors' | 'status'>;
export interface ReportChunk {
  readonly head: ReportHead;
  readonly events: IntakeEvent[];
  readonly errors: ParseError[];
}
export interface StreamReportInput {
  readonly path: string;
  readonly fileName?: string | undefined;
  readonly contentType?: string | undefined;
  readonly channel: Channel;
  readonly receivedAt: Date;
  readonly evidenceSha256: string;
  readonly limits?: IntakeLimits | undefined;
  readonly eventsPerChunk?: number | undefined;
}

export async function* streamReport(input: StreamReportInput): AsyncGenerator<ReportChunk> {
  const bytes = new Uint8Array(await readFile(input.path));
  const { events, errors, status: _s, ...head } = await parseReport({ ...input, bytes });
  const n = input.eventsPerChunk ?? 10_000;
  if (events.length === 0) yield { head, events: [], errors };
  for (let i = 0; i < events.length; i += n) {
    yield { head, events: events.slice(i, i + n), errors: i === 0 ? errors : [] };
  }
}

export function statusOf(events: number, errors: number): ParsedReport['status'] {
  return events === 0 ? (errors > 0 ? 'unparsed' : 'parsed') : errors > 0 ? 'partial' : 'parsed';
}

export type ReportStreamer = (input: StreamReportInput) => AsyncIterable<ReportChunk>;
