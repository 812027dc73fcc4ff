import type { Kysely } from 'kysely';
import { loadTestConsentSet } from '../compliance/test-consent-repository.js';
import type {
  AuthorisationCheck,
  AuthorisationMatch,
  AuthorisationQuery,
} from '../detect/detection-reporter.js';
import type { Database } from '../store/schema.js';

/**
 * The composition root's answer to detect's `AuthorisationCheck`, from compliance's record of written
 * vulnerability-test consents (Secure Packet §5): a detection is authorised when one consent of its
 * service covers every target it saw, from the start of its window to its end. A detection with no
 * target named (nothing to check a consent's targets against) is never authorised.
 *
 * The consents are read per detection: detections come once per window per source, not per flow, and a
 * consent recorded a moment ago must count at once.
 */
export function consentAuthorisations(db: Kysely<Database>): AuthorisationCheck {
  return {
    async covering(query: AuthorisationQuery): Promise<AuthorisationMatch | null> {
      if (query.targets.length === 0) return null;
      const consents = await loadTestConsentSet(db);
      const [first, ...rest] = query.targets.map((target) => [
        consents.consentFor(query.serviceRef, target, query.from),
        consents.consentFor(query.serviceRef, target, query.to),
      ]);
      const consent = first?.[0];
      if (!consent || first[1] !== consent) return null;
      for (const [atStart, atEnd] of rest) if (atStart !== consent || atEnd !== consent) return null;
      return { id: String(consent.id), reference: consent.reference };
    },
  };
}
