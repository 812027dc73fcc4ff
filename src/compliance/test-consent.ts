import type { AuthorisingConsent, TestAuthorisations } from '../judgement/test-authorisation.js';
import {
  formatPrefix,
  type IpAddress,
  type IpPrefix,
  maskWords,
  parseIpAddress,
  parsePrefix,
  wordMask,
} from '../registry/ip-address.js';

/**
 * A customer's vulnerability-test authorisation (Secure Packet §5, "prior written consent"): which service
 * may test which targets (addresses or prefixes, IPv4 and IPv6) from when to when, and the written consent
 * it rests on. `isAuthorised` is the pure check the desk's judgement and, later, flow detection ask: both
 * receive a `TestConsentSet` (a snapshot) and never read the store per event.
 */

export interface TestConsent {
  /** Store id; null for a consent read from a file. */
  readonly id: number | null;
  /** The service's reference in the registry (the source of the test). */
  readonly service: string;
  /** Canonical prefixes (`192.0.2.0/24`, `2001:db8::/48`; a single address is a /32 or /128). */
  readonly targets: readonly string[];
  readonly validFrom: Date;
  /** Exclusive: a test at exactly `validTo` is outside the window. */
  readonly validTo: Date;
  /** The written consent (ticket, letter, signed statement of work). */
  readonly reference: string;
  /** When the consent was withdrawn; a revoked consent authorises nothing. */
  readonly revokedAt?: Date | null;
}

interface CompiledConsent {
  readonly consent: TestConsent;
  readonly prefixes: readonly IpPrefix[];
}

/** The set of consents the desk knows, indexed by service, with the pure check. */
export class TestConsentSet implements TestAuthorisations {
  private readonly byService = new Map<string, CompiledConsent[]>();

  constructor(consents: readonly TestConsent[]) {
    for (const consent of consents) {
      const list = this.byService.get(consent.service) ?? [];
      list.push({ consent, prefixes: consent.targets.map((t) => parsePrefix(t)) });
      this.byService.set(consent.service, list);
    }
  }

  get size(): number {
    let n = 0;
    for (const list of this.byService.values()) n += list.length;
    return n;
  }

  /** The consent under which `service` may test `target` at `time`; undefined when none does. */
  consentFor(service: string, target: string, time: Date): TestConsent | undefined {
    const address = parseIpAddress(target);
    if (!address) return undefined;
    const t = time.getTime();
    for (const { consent, prefixes } of this.byService.get(service) ?? []) {
      if (consent.revokedAt && consent.revokedAt.getTime() <= t) continue;
      if (t < consent.validFrom.getTime() || t >= consent.validTo.getTime()) continue;
      if (prefixes.some((p) => prefixContains(p, address))) return consent;
    }
    return undefined;
  }

  isAuthorised(service: string, target: string, time: Date): boolean {
    return this.consentFor(service, target, time) !== undefined;
  }

  authorising(service: string, target: string, at: Date): AuthorisingConsent | undefined {
    const found = this.consentFor(service, target, at);
    return found
      ? { id: found.id, reference: found.reference, validFrom: found.validFrom, validTo: found.validTo }
      : undefined;
  }
}

/** The pure check over a list of consents: may `service` test `target` at `time`? */
export function isAuthorised(
  consents: readonly TestConsent[] | TestConsentSet,
  service: string,
  target: string,
  time: Date,
): boolean {
  const set = consents instanceof TestConsentSet ? consents : new TestConsentSet(consents);
  return set.isAuthorised(service, target, time);
}

/** A target as written (address or prefix) → canonical prefix text; throws AUP_ERR_INPUT_INVALID. */
export function canonicalTarget(text: string): string {
  return formatPrefix(parsePrefix(text));
}

function prefixContains(prefix: IpPrefix, address: IpAddress): boolean {
  if (prefix.family === 4) {
    if (address.family !== 4) return false;
    return (address.v4 & wordMask(prefix.length)) >>> 0 === prefix.v4;
  }
  if (address.family !== 6) return false;
  const masked = maskWords(address.v6, prefix.length);
  return masked.every((w, k) => w === prefix.v6[k]);
}
