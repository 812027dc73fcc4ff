import type { Kysely } from 'kysely';
import type { TestAuthorisations } from '../../judgement/test-authorisation.js';
import type { RegistrySnapshot } from '../../registry/registry-snapshot.js';
import type { Database } from '../../store/schema.js';
import type { EventVerdict } from '../../store/tables/cases.table.js';
import type { AckPolicy } from '../notices/ack-decision.js';
import type { EnforcementDeps, InTransactionDeps } from './case-transition.js';
import type { TriageRouteOptions } from './triage-route.js';

/** What the report pipeline (process-report.ts, event-batch.ts) is given, and what it says of each event. */

export interface PipelineDeps extends EnforcementDeps {
  /** The current registry snapshot (RegistrySnapshotHolder's `current`). */
  readonly snapshot: () => RegistrySnapshot;
  /** Acknowledgement loop guards (our own addresses and domains); checked again by the adapter. */
  readonly ackPolicy?: AckPolicy;
  /** Raw evidence, to keep a customer reply's text on its case and read where it was addressed. */
  readonly evidence?: { get(sha256: string): Promise<Uint8Array> };
  /**
   * Recorded vulnerability-test consents (compliance/test-consent-repository.ts `loadTestConsentSet`), read
   * the first time an event of a class a test produces needs them: in the report's transaction, or outside
   * any for a segment judged ahead (event-judging.ts). Absent: no event is ever authorised.
   */
  readonly authorisations?: (db: Kysely<Database>) => Promise<TestAuthorisations>;
  /** What goes to triage instead of a case (confidence threshold) and how far in the future an event's
   * time may lie past its report's receipt (default 10 minutes). */
  readonly triage?: (TriageRouteOptions & { readonly futureToleranceMs?: number | undefined }) | undefined;
  /**
   * The desk secret reply tokens derive from (notices/reply-token.ts). Without it no reply authenticates:
   * every reply is kept as a third-party message.
   */
  readonly replySecret?: Uint8Array;
}

/** The pipeline's dependencies inside a caller's transaction (`processReportIn`): no `db`. */
export type ReportDeps = InTransactionDeps & Omit<PipelineDeps, keyof EnforcementDeps>;

export type EventOutcome =
  | { readonly index: number; readonly verdict: 'duplicate'; readonly caseRef: string | null }
  | {
      readonly index: number;
      readonly verdict: 'violation';
      readonly caseRef: string;
      readonly opened: boolean;
      readonly clause: string;
      readonly customer: string;
      readonly service: string;
    }
  | { readonly index: number; readonly verdict: Exclude<EventVerdict, 'violation'>; readonly reason: string };
