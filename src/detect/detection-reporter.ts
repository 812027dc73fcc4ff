import type { Detection } from './detection.js';
import { detectionEventLine } from './detection-event.js';

/**
 * Where detections go: each is checked against the recorded pen-test authorisations, then handed to the
 * desk's intake as an IntelMQ line on the `detection` channel (detection-event.ts). Both are interfaces
 * declared here, at detect's level, and implemented above it: compliance/ keeps the authorisations
 * (level 8) and intake's `acceptReport` stores the evidence and the inbox row (the composition root in
 * server/ and cli/ wires them). Detect imports neither.
 *
 * Submission is serialised and off the flow path: the detectors call `handle` synchronously and go on;
 * the store work happens on the queue. A detection inside an authorisation is recorded as authorised
 * (logged, counted, passed to `onAuthorised`) and opens no case.
 */

export interface AuthorisationQuery {
  readonly serviceRef: string;
  readonly customerRef: string;
  readonly sourceIp: string;
  /** Destinations the detection saw (a flood's target; a scan's sampled destinations). */
  readonly targets: readonly string[];
  /** The detection's window. */
  readonly from: Date;
  readonly to: Date;
}

/** A recorded authorisation that covers a detection: its id or reference, shown to the analyst. */
export interface AuthorisationMatch {
  readonly id: string;
  readonly reference?: string | undefined;
}

/** The shape detect needs from compliance's pen-test authorisation record. */
export interface AuthorisationCheck {
  covering(query: AuthorisationQuery): Promise<AuthorisationMatch | null>;
}

/** The shape detect needs from intake: store evidence durably and queue it (intake's `acceptReport`). */
export interface DetectionIntake {
  accept(input: {
    readonly bytes: Uint8Array;
    readonly receivedAt: Date;
    readonly fileName: string;
    readonly contentType: string;
    /** `authorised`: kept as evidence and recorded, never processed into a case. */
    readonly kind: 'complaint' | 'authorised';
  }): Promise<{ readonly inboxId: string; readonly duplicate: boolean }>;
}

export interface DetectionLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type DetectionOutcome =
  | { readonly kind: 'submitted'; readonly detection: Detection; readonly inboxId: string }
  | { readonly kind: 'authorised'; readonly detection: Detection; readonly authorisation: AuthorisationMatch }
  | { readonly kind: 'failed'; readonly detection: Detection; readonly error: string };

export interface DetectionReporterDeps {
  readonly intake?: DetectionIntake | undefined;
  readonly authorisations?: AuthorisationCheck | undefined;
  readonly logger?: DetectionLogger | undefined;
  readonly onOutcome?: ((outcome: DetectionOutcome) => void) | undefined;
  /** Most detections waiting; beyond it the oldest wait and new ones are counted as dropped. */
  readonly maxQueue?: number;
}

export class DetectionReporter {
  readonly counts = { submitted: 0, authorised: 0, failed: 0, dropped: 0 };
  private readonly queue: Detection[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly deps: DetectionReporterDeps) {}

  handle(d: Detection): void {
    if (this.queue.length >= (this.deps.maxQueue ?? 10_000)) {
      this.counts.dropped++;
      return;
    }
    this.queue.push(d);
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when every detection handed in so far has been dealt with. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    for (let d = this.queue.shift(); d !== undefined; d = this.queue.shift()) {
      try {
        await this.one(d);
      } catch (error) {
        this.counts.failed++;
        const message = error instanceof Error ? error.message : String(error);
        this.deps.logger?.error(
          { detector: d.detector, source: d.sourceIp, err: message },
          'detection not recorded',
        );
        this.deps.onOutcome?.({ kind: 'failed', detection: d, error: message });
      }
    }
  }

  private async one(d: Detection): Promise<void> {
    const authorisation = await this.deps.authorisations?.covering({
      serviceRef: d.serviceRef,
      customerRef: d.customerRef,
      sourceIp: d.sourceIp,
      targets: d.targets,
      from: d.windowStart,
      to: d.detectedAt,
    });
    if (authorisation) {
      this.counts.authorised++;
      this.deps.logger?.info(
        { detector: d.detector, source: d.sourceIp, service: d.serviceRef, authorisation: authorisation.id },
        'detection inside an authorised test: no case',
      );
      await this.deps.intake?.accept(this.intakeInput(d, 'authorised', authorisation));
      this.deps.onOutcome?.({ kind: 'authorised', detection: d, authorisation });
      return;
    }
    if (!this.deps.intake) {
      this.deps.onOutcome?.({ kind: 'submitted', detection: d, inboxId: '' });
      return;
    }
    const accepted = await this.deps.intake.accept(this.intakeInput(d, 'complaint'));
    this.counts.submitted++;
    this.deps.logger?.info(
      { detector: d.detector, source: d.sourceIp, service: d.serviceRef, inbox: accepted.inboxId },
      'detection submitted',
    );
    this.deps.onOutcome?.({ kind: 'submitted', detection: d, inboxId: accepted.inboxId });
  }

  private intakeInput(d: Detection, kind: 'complaint' | 'authorised', authorisation?: AuthorisationMatch) {
    const line = detectionEventLine(d, authorisation);
    return {
      bytes: new TextEncoder().encode(line),
      receivedAt: d.detectedAt,
      fileName: `${d.detector}-${d.sourceIp.replace(/:/g, '_')}-${d.detectedAt.toISOString()}.jsonl`,
      contentType: 'application/x-ndjson',
      kind,
    } as const;
  }
}
