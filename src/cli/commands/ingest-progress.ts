import cliProgress from 'cli-progress';

/**
 * `aupdesk ingest`'s progress on stderr. On a terminal: a bar over the bytes of the files to process, with
 * the events (report rows) worked off, their rate and the ETA. Elsewhere (a pipe, a log file, CI): a plain
 * line at most every `intervalMs` and one at the end, so a long run shows it is alive without filling
 * the log with bar redraws.
 *
 * The bar moves as files finish; a big report processed in segments moves it with each committed segment
 * (`segment`: its events, and how far through the file the parser has read), so a million-row file shows its
 * progress, rate and ETA long before it is done.
 */
export class IngestProgress {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly startedAt: number;
  private lastLine = Number.NEGATIVE_INFINITY;
  private doneBytes = 0;
  private doneFiles = 0;
  private events = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly totalBytes: number,
    private readonly totalFiles: number,
    private readonly options: { tty?: boolean; intervalMs?: number; now?: () => number } = {},
  ) {
    this.startedAt = this.now();
    const tty = options.tty ?? (stream as NodeJS.WriteStream).isTTY === true;
    if (tty) {
      this.bar = new cliProgress.SingleBar(
        {
          stream,
          format:
            'ingest [{bar}] {percentage}% | {files} | {events} events, {rate} events/s | ETA {eta_formatted} | {stage}',
          hideCursor: true,
          etaBuffer: 50,
          // Decided above (a terminal, or told so): draw even when the stream does not say it is one.
          noTTYOutput: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(1, totalBytes), 0, this.payload('storing'));
    }
  }

  /** The files are stored; processing starts now. */
  processing(): void {
    this.bar?.update(0, this.payload('processing'));
  }

  /** One file's report worked off (done, failed or unparsed), with its events (beyond those `segment` told). */
  processed(bytes: number, events: number): void {
    this.doneBytes += bytes;
    this.doneFiles += 1;
    this.events += events;
    this.draw();
  }

  /** A segment of a big report committed: `events` more worked off, `bytes` more of its file read. */
  segment(events: number, bytes = 0): void {
    this.events += events;
    this.doneBytes += bytes;
    this.draw();
  }

  private draw(): void {
    if (this.bar) {
      this.bar.update(this.doneBytes, this.payload('processing'));
      return;
    }
    const now = this.now();
    if (now - this.lastLine >= (this.options.intervalMs ?? 2_000)) {
      this.lastLine = now;
      this.stream.write(`${this.line()}\n`);
    }
  }

  stop(): void {
    if (this.bar) {
      this.bar.update(Math.max(1, this.totalBytes), this.payload('done'));
      this.bar.stop();
    } else if (this.doneFiles > 0) {
      this.stream.write(`${this.line()}\n`);
    }
  }

  /** The plain-text form: `ingest: 45% (3/10 files), 12000 events, 4000 events/s, ETA 5 s`. */
  line(): string {
    const pct = this.totalBytes > 0 ? Math.floor((this.doneBytes / this.totalBytes) * 100) : 100;
    const eta = this.etaSeconds();
    return `ingest: ${pct}% (${this.doneFiles}/${this.totalFiles} files), ${this.events} events, ${this.rate()} events/s${
      eta === undefined ? '' : `, ETA ${eta} s`
    }`;
  }

  private rate(): number {
    const seconds = (this.now() - this.startedAt) / 1000;
    return seconds > 0 ? Math.round(this.events / seconds) : 0;
  }

  private etaSeconds(): number | undefined {
    if (this.doneBytes === 0 || this.doneBytes >= this.totalBytes) return undefined;
    const elapsed = (this.now() - this.startedAt) / 1000;
    return Math.round((elapsed / this.doneBytes) * (this.totalBytes - this.doneBytes));
  }

  private payload(stage: string): Record<string, string | number> {
    return {
      stage,
      files: `${this.doneFiles}/${this.totalFiles} files`,
      events: this.events,
      rate: this.rate(),
    };
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}
