import { createHash } from 'node:crypto';
import { canonicalJsonOf } from '../audit/canonical-json.js';
import type { IntakeEvent } from './event.js';

/**
 * The dedupe key of an event: sha256 over the evidence hash and the event as canonical JSON (RFC 8785 key
 * order), so the same bytes parsed twice give the same key and two reporters' complaints about one spam run
 * (different evidence) do not. A streamed report's parsing thread computes it for each event it hands out
 * (`ReportChunk.fingerprints`), so the main thread does not: a twentieth of its work on a feed report.
 */
export function eventFingerprint(evidenceSha256: string, event: IntakeEvent): string {
  return createHash('sha256')
    .update(`${evidenceSha256}\n${canonicalJsonOf(event)}`)
    .digest('hex');
}
