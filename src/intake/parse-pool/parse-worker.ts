import type { MessagePort } from 'node:worker_threads';
import { type ParseReportInput, parseReport } from '../parse-report.js';
import type { ParsedReport } from '../report.js';
import { type ReportChunk, type StreamReportInput, streamReport } from '../report-stream.js';

/**
 * The body of a parsing thread (parse-pool.ts): one report in, its `ParsedReport` out, the same function the
 * main thread would call. Whatever the parser does — inflate a 240 MiB attachment, walk a million CSV rows —
 * happens here, so the HTTP and SMTP servers on the main thread keep answering.
 */
export default function parseInWorker(input: ParseReportInput): Promise<ParsedReport> {
  return parseReport(input);
}

/** A streamed report's task: the input, and the port its chunks go out on (transferred to the thread). */
export interface StreamTask {
  readonly input: StreamReportInput;
  readonly port: MessagePort;
}

/** From the thread: one chunk (the thread then waits for a request), or the end of the report. */
export type StreamMessage =
  | { readonly type: 'chunk'; readonly chunk: ReportChunk }
  | { readonly type: 'end' };
/** To the thread: produce the next chunk, or stop (the consumer has all it wants). */
export type StreamRequest = 'next' | 'stop';

/**
 * A streamed report (`streamReport`) in the thread, one chunk at a time: after posting a chunk the thread does
 * nothing until the main thread asks for the next one. The main thread asks as it takes a chunk (parse-pool.ts),
 * so the thread parses one chunk ahead of a consumer that commits each before taking more, and no further:
 * memory holds about two chunks, and a slow consumer holds the thread (and the file) back. A closed port counts
 * as `stop`.
 */
export async function stream({ input, port }: StreamTask): Promise<void> {
  const requests: StreamRequest[] = [];
  let wake: (() => void) | undefined;
  const request = (r: StreamRequest) => {
    requests.push(r);
    wake?.();
  };
  port.on('message', (message: unknown) => request(message === 'next' ? 'next' : 'stop'));
  port.on('close', () => request('stop'));
  const nextRequest = async (): Promise<StreamRequest> => {
    while (requests.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
    return requests.shift()!;
  };
  const chunks = streamReport(input);
  try {
    for (;;) {
      const next = await chunks.next();
      if (next.done) {
        port.postMessage({ type: 'end' } satisfies StreamMessage);
        return;
      }
      port.postMessage({ type: 'chunk', chunk: next.value } satisfies StreamMessage);
      if ((await nextRequest()) === 'stop') return;
    }
  } finally {
    await chunks.return(undefined);
    port.close();
  }
}
