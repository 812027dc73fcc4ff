import { AupError } from '../errors.js';
import type { LoadedPolicy, PolicyHistory } from './policy-loader.js';
import { durationMs, type PolicyDocument } from './policy-schema.js';

/**
 * Which version of a provider's AUP binds one customer at one instant.
 *
 * Rules (docs/policy-format.md, "Which version binds"):
 * 1. A version is in force from its `effective_at` (for `effective: after-notice` versions that instant is
 *    already after the notice period; the schema checks it). Versions are ordered by `effective_at`.
 * 2. A version waived for this customer never binds it: the customer stays on the version before it.
 * 3. The customer starts from its *base* version: the version it accepted (`acceptedVersion`, counted only
 *    once accepted, i.e. `acceptedAt ≤ at`, and once effective), else the version in force when it accepted
 *    (`acceptedAt` alone: sign-up under the terms then posted). With neither, the customer is bound by the
 *    version in force at `at` (continued use), and no grace period can be claimed.
 * 4. Each later version N takes over from the base at `N.effective_at + N.grace_period_previous_version`
 *    (`acceptance: continued-use`; no grace period means at once). The grace window is half-open: at exactly
 *    its end the new version binds. Taking over is judged per version, so a customer who accepted v1 is on v2
 *    once v2's grace has run out, even while v3's grace is still running ("the one in force before the
 *    change").
 * 5. A version with `acceptance: explicit` takes over only when the customer accepts it (or a later one);
 *    until then the customer stays on the version before it and the result names it as `pendingAcceptance`,
 *    so compliance can chase the acceptance. The grace period does not make an explicit version bind.
 */

export interface BindingQuery {
  /** The version the customer accepted (signed, clicked through), if known. */
  readonly acceptedVersion?: string;
  /** When it accepted (ISO 8601). Alone: the customer accepted the version in force then. */
  readonly acceptedAt?: string;
  /** Versions the provider waived for this customer. */
  readonly waivedVersions?: readonly string[];
  /** The instant the question is about (ISO 8601). */
  readonly at: string;
}

export interface BindingResult {
  readonly version: string;
  readonly document: PolicyDocument;
  /** Why this version, in one or two sentences a customer could be told. */
  readonly reason: string;
  /** The version in force for customers in general at `at` (ignoring this customer's acceptance/waivers). */
  readonly inForce: string;
  /** A newer version whose grace period is running for this customer: it binds from `graceEndsAt`. */
  readonly graceEndsAt?: string;
  readonly graceFor?: string;
  /** A newer version requiring explicit acceptance that the customer has not accepted. */
  readonly pendingAcceptance?: string;
  /** Waived versions skipped to reach this one. */
  readonly waived: readonly string[];
}

export function bindingVersion(history: PolicyHistory, query: BindingQuery): BindingResult {
  const at = parseInstant(query.at, 'at');
  const acceptedAt =
    query.acceptedAt === undefined ? undefined : parseInstant(query.acceptedAt, 'acceptedAt');
  const waivedSet = new Set(query.waivedVersions ?? []);
  for (const v of [...waivedSet, ...(query.acceptedVersion ? [query.acceptedVersion] : [])]) {
    if (!history.versions.some((p) => p.document.version === v)) {
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `${history.provider} has no version "${v}" (versions: ${history.versions.map((p) => p.document.version).join(', ')})`,
      );
    }
  }
  if (query.acceptedVersion !== undefined && waivedSet.has(query.acceptedVersion)) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `version "${query.acceptedVersion}" cannot be both accepted and waived for the same customer`,
    );
  }

  const effective = (p: LoadedPolicy): number => Date.parse(p.document.effective_at);
  const inForceAll = history.versions.filter((p) => effective(p) <= at);
  const inForceGeneral = inForceAll[inForceAll.length - 1];
  const candidates = inForceAll.filter((p) => !waivedSet.has(p.document.version));
  const waived = inForceAll.filter((p) => waivedSet.has(p.document.version)).map((p) => p.document.version);
  const latest = candidates[candidates.length - 1];
  if (!inForceGeneral || !latest) {
    const first = history.versions[0];
    throw new AupError(
      'AUP_ERR_POLICY_NO_BINDING_VERSION',
      inForceGeneral
        ? `every version of ${history.provider} in force at ${query.at} is waived for this customer`
        : `no version of ${history.provider} was in force at ${query.at}${first ? ` (the first, ${first.document.version}, takes effect ${first.document.effective_at})` : ''}`,
      { details: { provider: history.provider, at: query.at } },
    );
  }
  const waivedNote = waived.length > 0 ? ` Waived for this customer: ${waived.join(', ')}.` : '';
  const common = { inForce: inForceGeneral.document.version, waived };

  // The base version (rule 3).
  const accepted =
    query.acceptedVersion === undefined
      ? undefined
      : candidates.find((p) => p.document.version === query.acceptedVersion);
  const acceptanceCounts = acceptedAt === undefined || acceptedAt <= at;
  let baseIndex: number;
  let baseReason: string;
  if (accepted && acceptanceCounts) {
    baseIndex = candidates.indexOf(accepted);
    baseReason = `The customer accepted ${accepted.document.version}${query.acceptedAt ? ` on ${query.acceptedAt}` : ''}.`;
  } else if (acceptedAt !== undefined && acceptedAt <= at && query.acceptedVersion === undefined) {
    const atAcceptance = candidates.filter((p) => effective(p) <= acceptedAt);
    const base = atAcceptance[atAcceptance.length - 1];
    if (!base) {
      throw new AupError(
        'AUP_ERR_POLICY_NO_BINDING_VERSION',
        `no version of ${history.provider} was in force when the customer accepted (${query.acceptedAt})`,
        { details: { provider: history.provider, at: query.acceptedAt } },
      );
    }
    baseIndex = candidates.indexOf(base);
    baseReason = `The customer accepted the terms on ${query.acceptedAt}, when ${base.document.version} was in force.`;
  } else {
    const why =
      query.acceptedVersion === undefined
        ? 'No acceptance is recorded for the customer'
        : accepted === undefined
          ? `The customer's accepted version ${query.acceptedVersion} is not in force at ${query.at}`
          : `The customer accepted ${query.acceptedVersion} only on ${query.acceptedAt}, after ${query.at}`;
    return {
      ...common,
      version: latest.document.version,
      document: latest.document,
      reason: `${why}; by continued use it is bound by the version in force, ${latest.document.version} (effective ${latest.document.effective_at}).${waivedNote}`,
    };
  }

  // Later versions take over one by one (rules 4 and 5).
  let current = candidates[baseIndex] as LoadedPolicy;
  let reason = baseReason;
  let grace: { version: string; endsAt: number } | undefined;
  let pending: string | undefined;
  for (const next of candidates.slice(baseIndex + 1)) {
    const changes = next.document.terms.changes;
    const v = next.document.version;
    if (changes.acceptance === 'explicit') {
      pending = v;
      continue;
    }
    const graceMs = changes.grace_period_previous_version
      ? durationMs(changes.grace_period_previous_version)
      : 0;
    const takesOver = effective(next) + graceMs;
    if (takesOver <= at) {
      current = next;
      pending = undefined;
      grace = undefined;
      reason =
        graceMs > 0
          ? `${v} took effect ${next.document.effective_at}; the ${changes.grace_period_previous_version} grace period on the previous version ended ${iso(takesOver)}.`
          : `${v} took effect ${next.document.effective_at} and binds on posting (no grace period on the previous version).`;
    } else {
      grace ??= { version: v, endsAt: takesOver };
    }
  }

  const graceNote = grace
    ? ` ${grace.version} is in force, but the customer may keep using the service under ${current.document.version} until ${iso(grace.endsAt)} (grace period).`
    : '';
  const pendingNote = pending
    ? ` ${pending} requires explicit acceptance, which the customer has not given; it stays on ${current.document.version}.`
    : '';
  return {
    ...common,
    version: current.document.version,
    document: current.document,
    reason: `${reason}${graceNote}${pendingNote}${waivedNote}`.trim(),
    ...(grace ? { graceFor: grace.version, graceEndsAt: iso(grace.endsAt) } : {}),
    ...(pending ? { pendingAcceptance: pending } : {}),
  };
}

function parseInstant(value: string, name: string): number {
  // A date alone is midnight UTC; a date-time must carry its offset (local time would make the answer depend
  // on the machine's time zone).
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const withOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  const ms = dateOnly ? Date.parse(`${value}T00:00:00Z`) : withOffset ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `${name}: "${value}" is not a date (2024-01-31) or a date-time with offset (2024-01-31T09:00:00Z)`,
    );
  }
  return ms;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
