import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { z } from 'zod';
import { AupError, isAupError } from '../../errors.js';
import { type ParseReportInput, reportHead, unparsedReport } from '../parse-report.js';
import type { ParsedReport, ReportHead } from '../report.js';
import type { ReportChunk, StreamReportInput } from '../report-stream.js';
import type { StreamMessage, StreamRequest, StreamTask } from './parse-worker.js';

/**
 * Parsing off the main thread. A report is parsed in a worker thread of a pool sized to the cores
 * (piscina), so a mail whose gzip attachment inflates to hundreds of MiB, or a feed file of a million rows,
 * never stalls the HTTP, API and SMTP servers that share the process's event loop.
 *
 * Each report gets a budget: wall time from the moment a thread takes it, and a heap size (the thread's
 * `resourceLimits`). A report that runs over either, or whose thread dies, is not retried: it comes back
 * `unparsed` with the reason, as any other input the desk cannot read (its evidence stays stored). The pool
 * replaces the thread it lost. Tasks beyond the thread count wait here, not in piscina's queue, so a report
 * waiting behind a slow one does not spend its own budget waiting.
 *
 * A big feed report can be streamed instead (`stream`, report-stream.ts): the thread hands its chunks over one at
 * a time and produces the next only when asked — one chunk ahead of the consumer — under the same memory
 * budget; its time budget counts only the time the thread works, not the time a chunk waits for the consumer.
 *
 * The thread loads `parse-worker.js` beside this file in a build; run from source (tsx, vitest), it loads
 * `parse-worker.ts` through tsx's loader.
 */

export interface ParsePoolOptions {
  /** Parsing threads (default: the cores the process may use, at least 1). */
  readonly threads?: number | undefined;
  /** Wall time one report may take in its thread (default 90 s; the inbox lease is 2 min). */
  readonly timeBudgetMs?: number | undefined;
  /** Heap one thread may grow to while parsing a report, in MiB (default 1024). */
  readonly memoryBudgetMb?: number | undefined;
}

export type ReportParser = (input: ParseReportInput) => Promise<ParsedReport>;
/**
 * Reads a report chunk by chunk (report-stream.ts): `ParsePool.stream` in a thread, or without a pool
 * `streamReport` itself on the calling thread. Iterate it to the end or break out of it: breaking stops the work.
 */
export type ReportStreamer = (input: StreamReportInput) => AsyncIterable<ReportChunk>;

const DEFAULT_TIME_BUDGET_MS = 90_000;
const DEFAULT_MEMORY_BUDGET_MB = 1024;

/** Pool settings from the environment: AUPDESK_PARSE_THREADS, AUPDESK_PARSE_TIME_BUDGET_S, AUPDESK_PARSE_MEMORY_MB. */
export function parsePoolOptionsFromEnv(env: NodeJS.ProcessEnv): ParsePoolOptions {
  const schema = z.object({
    AUPDESK_PARSE_THREADS: z.coerce.number().int().min(1).max(256).optional(),
    AUPDESK_PARSE_TIME_BUDGET_S: z.coerce.number().positive().max(86_400).optional(),
    AUPDESK_PARSE_MEMORY_MB: z.coerce.number().int().min(64).max(65_536).optional(),
  });
  const parsed = schema.safeParse({
    AUPDESK_PARSE_THREADS: env.AUPDESK_PARSE_THREADS || undefined,
    AUPDESK_PARSE_TIME_BUDGET_S: env.AUPDESK_PARSE_TIME_BUDGET_S || undefined,
    AUPDESK_PARSE_MEMORY_MB: env.AUPDESK_PARSE_MEMORY_MB || undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `${String(issue?.path[0] ?? 'parse pool setting')}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const d = parsed.data;
  return {
    threads: d.AUPDESK_PARSE_THREADS,
    timeBudgetMs:
      d.AUPDESK_PARSE_TIME_BUDGET_S === undefined ? undefined : d.AUPDESK_PARSE_TIME_BUDGET_S * 1000,
    memoryBudgetMb: d.AUPDESK_PARSE_MEMORY_MB,
  };
}

export class ParsePool {
  readonly threads: number;
  readonly timeBudgetMs: number;
  readonly memoryBudgetMb: number;
  private readonly piscina: Piscina<ParseReportInput | StreamTask, ParsedReport | undefined>;
  /** Threads for whole parses (mail, small reports): `threads` of them. */
  private readonly parseSlots: Slots;
  /**
   * One more thread for a streamed report, which holds it for as long as the pipeline takes to work the
   * report off (minutes for a million rows), mostly waiting for its consumer: were it one of the parse
   * slots, the mail behind it would wait for the whole report on a one-core host.
   */
  private readonly streamSlots = new Slots(1);
  private closed = false;

  constructor(options: ParsePoolOptions = {}) {
    this.threads = Math.max(1, options.threads ?? availableParallelism());
    this.parseSlots = new Slots(this.threads);
    this.timeBudgetMs = options.timeBudgetMs ?? DEFAULT_TIME_BUDGET_MS;
    this.memoryBudgetMb = options.memoryBudgetMb ?? DEFAULT_MEMORY_BUDGET_MB;
    const entry = workerEntry();
    this.piscina = new Piscina({
      filename: entry.filename,
      execArgv: entry.execArgv,
      // One thread stays (warmUp starts it): a mail's parse never waits for a thread to boot.
      minThreads: 1,
      maxThreads: this.threads + 1,
      // A thread that parsed a big report holds a big heap: let it go when the inbox is quiet.
      idleTimeout: 30_000,
      concurrentTasksPerWorker: 1,
      resourceLimits: { maxOldGenerationSizeMb: this.memoryBudgetMb },
      name: 'default',
    });
  }

  /**
   * Parses in a thread. Over budget or a dead thread gives an `unparsed` report with the reason; it throws
   * only once the pool is closed (AUP_ERR_PARSE_POOL_CLOSED), for a parse under way too.
   */
  readonly parse: ReportParser = async (input) => {
    if (this.closed) throw closedError();
    await this.parseSlots.acquire();
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.timeBudgetMs);
    try {
      return (await this.piscina.run(input, { signal: abort.signal })) as ParsedReport;
    } catch (error) {
      // Abandoned for shutdown: not the report's fault, so not `unparsed`; the caller leaves the row claimed.
      if (this.closed) throw closedError();
      return unparsedReport(input, this.reasonOf(error, timedOut));
    } finally {
      clearTimeout(timer);
      this.parseSlots.release();
    }
  };

  /**
   * Streams a report in a thread (`streamReport` there), one chunk at a time with backpressure: the thread makes
   * the next chunk while the consumer works on the one just handed out (one chunk ahead, no more), so a
   * consumer that commits each chunk before taking the next does not wait for the parse of it too: on a
   * feed report that wait was a tenth of each segment's time. It holds the pool's stream thread (one at a time,
   * beside the parse threads) from its first `next()` until it ends or the consumer breaks out (which stops
   * the thread's work). Over budget or a dead thread: a last chunk with
   * no events, `stopped`, and the reason as its one error (`parsing stopped: …`, located at `report`), then the
   * end; the chunks already yielded stand. Once the pool is closed it throws AUP_ERR_PARSE_POOL_CLOSED, for a stream
   * under way too.
   */
  readonly stream: ReportStreamer = (input) => this.streamInThread(input);

  private async *streamInThread(input: StreamReportInput): AsyncGenerator<ReportChunk> {
    if (this.closed) throw closedError();
    await this.streamSlots.acquire();
    const { port1, port2 } = new MessageChannel();
    const abort = new AbortController();
    const clock = new WorkClock(this.timeBudgetMs, () => abort.abort());
    // The thread stops work when its message is out: from then on the chunk waits for the consumer.
    const inbox = new StreamInbox(port1, () => clock.pause());
    let head: ReportHead | undefined;
    let ended = false;
    clock.run();
    const task: StreamTask = { input, port: port2 };
    const settled = this.piscina
      .run(task, { name: 'stream', transferList: [port2], signal: abort.signal })
      .then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ error }),
      );
    // Finishing is said by the 'end' message (it may come after the task's result): only a failure ends it
    // here, delivered through the inbox. (Not `Promise.race` with a promise that stays pending: each race
    // leaves a reaction on it holding that chunk, which kept every chunk of a report alive to its end.)
    void settled.then((s) => {
      if ('error' in s) inbox.fail(s.error);
    });
    try {
      for (;;) {
        const next = await inbox.next();
        clock.pause();
        if ('error' in next) {
          ended = true;
          // Abandoned for shutdown: not the report's fault (the caller leaves its row claimed).
          if (this.closed) throw closedError();
          yield {
            head: head ?? reportHead(input, input.evidenceSha256, { format: 'unknown', reporter: {} }),
            events: [],
            fingerprints: [],
            errors: [{ message: this.reasonOf(next.error, clock.over), location: 'report' }],
            stopped: true,
          };
          return;
        }
        if (next.type === 'end') {
          ended = true;
          return;
        }
        head = next.chunk.head;
        // The next chunk is made while this one is consumed.
        clock.run();
        port1.postMessage('next' satisfies StreamRequest);
        yield next.chunk;
        if (this.closed) throw closedError();
      }
    } finally {
      clock.pause();
      // A consumer that broke out: the thread stops; the slot is free once its task has ended.
      if (!ended) port1.postMessage('stop' satisfies StreamRequest);
      if (!this.closed) await settled;
      port1.close();
      this.streamSlots.release();
    }
  }

  /**
   * Starts a thread and loads the parsers in it (an empty input), so the first real report does not pay
   * for the thread's start-up: from source that is tsx compiling every parser, seconds on a busy machine.
   */
  async warmUp(): Promise<void> {
    try {
      await this.parse({ bytes: new Uint8Array(0), channel: 'file', receivedAt: new Date(0) });
    } catch (error) {
      // Closed before it warmed up (a desk stopped at once): nothing to warm any more.
      if (!isAupError(error, 'AUP_ERR_PARSE_POOL_CLOSED')) throw error;
    }
  }

  /** Stops the threads, abandoning parses under way (they reject with AUP_ERR_PARSE_POOL_CLOSED). */
  async close(): Promise<void> {
    this.closed = true;
    this.parseSlots.openAll();
    this.streamSlots.openAll();
    await this.piscina.destroy();
  }

  private reasonOf(error: unknown, timedOut: boolean): string {
    if (timedOut) {
      return `parsing stopped: over its time budget of ${formatSeconds(this.timeBudgetMs)} (AUPDESK_PARSE_TIME_BUDGET_S)`;
    }
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return `parsing stopped: over its memory budget of ${this.memoryBudgetMb} MiB (AUPDESK_PARSE_MEMORY_MB)`;
    }
    return `parsing stopped: the parsing thread failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Messages from a streaming thread, in order, one at a time. */
/** At most `size` holders; the rest wait in arrival order (a releasing holder hands its place over). */
class Slots {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async acquire(): Promise<void> {
    if (this.held < this.size) {
      this.held += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held -= 1;
  }

  /** Lets every waiter through (the pool is closing: they find it closed). */
  openAll(): void {
    for (const next of this.waiting.splice(0)) next();
  }
}

class StreamInbox {
  private readonly queue: Array<StreamMessage | { readonly error: unknown }> = [];
  private waiter: ((message: StreamMessage | { readonly error: unknown }) => void) | undefined;

  constructor(port: MessagePort, onMessage: () => void) {
    port.on('message', (message: StreamMessage) => {
      onMessage();
      this.deliver(message);
    });
  }

  /** The thread's task failed (over budget, out of memory, dead): the consumer learns it after what came before. */
  fail(error: unknown): void {
    this.deliver({ error });
  }

  private deliver(message: StreamMessage | { readonly error: unknown }): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter(message);
    else this.queue.push(message);
  }

  next(): Promise<StreamMessage | { readonly error: unknown }> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}

/** A time budget that runs only while the thread works: paused while a chunk waits for its consumer. */
class WorkClock {
  private used = 0;
  private since: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  over = false;

  constructor(
    private readonly budgetMs: number,
    private readonly onOver: () => void,
  ) {}

  run(): void {
    if (this.since !== undefined) return;
    this.since = performance.now();
    this.timer = setTimeout(
      () => {
        this.over = true;
        this.onOver();
      },
      Math.max(0, this.budgetMs - this.used),
    );
  }

  pause(): void {
    if (this.since === undefined) return;
    this.used += performance.now() - this.since;
    this.since = undefined;
    clearTimeout(this.timer);
  }
}

function closedError(): AupError {
  return new AupError('AUP_ERR_PARSE_POOL_CLOSED', 'the parse pool is closed (the desk is shutting down)');
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * Which file the threads run: the compiled `parse-worker.js` beside this module in dist/, or — when this
 * module is itself TypeScript run from source — `parse-worker.ts` with tsx's loader in the thread.
 */
function workerEntry(): { filename: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.ts')) {
    return { filename: pathToFileURL(here.replace(/parse-pool\.js$/, 'parse-worker.js')).href, execArgv: [] };
  }
  const source = here.replace(/parse-pool\.ts$/, 'parse-worker.ts');
  if (!existsSync(source)) throw new AupError('AUP_ERR_CONFIG_INVALID', `parse worker missing: ${source}`);
  const tsx = createRequire(import.meta.url).resolve('tsx');
  return { filename: pathToFileURL(source).href, execArgv: ['--import', pathToFileURL(tsx).href] };
}
