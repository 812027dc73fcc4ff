import { AupError } from '../errors.js';
import { normalizeDomain } from '../registry/domain-name.js';
import { isV4Mapped, parseIPv4, parseIPv6Into, tryParsePrefix } from '../registry/ip-address.js';
import type { HeldAssignment, RegistrySnapshot } from '../registry/registry-snapshot.js';
import type { RegistryStatus, ServiceKind } from '../store/tables/registry.table.js';

/**
 * Event → the service and customer that held its address or domain *at the event's time*. Runs on the
 * in-memory snapshot only: no query per event.
 */

export type AttributionQuery =
  | { ip: string; at: Date }
  | { domain: string; at: Date }
  | { url: string; at: Date };

export interface AttributedCustomer {
  readonly id: number;
  readonly ref: string;
  readonly name: string;
  readonly emails: readonly string[];
  readonly country: string | null;
  readonly status: RegistryStatus;
}

export interface AttributedService {
  readonly id: number;
  readonly ref: string;
  readonly kind: ServiceKind;
  readonly status: RegistryStatus;
  readonly provisioningRef: string | null;
}

export interface AttributedAssignment {
  readonly id: number;
  readonly resource: string;
  readonly validFrom: Date;
  readonly validTo: Date | null;
}

/** A tenancy next to the queried moment, to explain a "not held at that time" answer. */
export interface NeighbourTenancy extends AttributedAssignment {
  readonly serviceRef: string;
  readonly customerRef: string;
}

export type NotOursReason = 'unassigned' | 'not-held-at-that-time' | 'unknown-domain';

export type Attribution =
  | {
      readonly ours: true;
      readonly customer: AttributedCustomer;
      readonly service: AttributedService;
      readonly assignment: AttributedAssignment;
    }
  | {
      readonly ours: false;
      readonly reason: NotOursReason;
      readonly detail: string;
      /** For `not-held-at-that-time`: the tenancies that ended last before and began first after `at`. */
      readonly nearest?: {
        readonly before: NeighbourTenancy | null;
        readonly after: NeighbourTenancy | null;
      };
    };

/** What a query resolves to before the lookup: an address or a normalised name. */
export type AttributionTarget =
  | { readonly kind: 'v4'; readonly v4: number; readonly text: string }
  | { readonly kind: 'v6'; readonly v6: readonly [number, number, number, number]; readonly text: string }
  | { readonly kind: 'domain'; readonly name: string };

export function attribute(snapshot: RegistrySnapshot, query: AttributionQuery): Attribution {
  const at = query.at;
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw badQuery('the time "at" is not a valid date');
  }
  const t = at.getTime();
  const target = resolveTarget(query);
  switch (target.kind) {
    case 'v4': {
      const node = snapshot.v4.cover(target.v4);
      if (node < 0) return unassigned(target.text);
      return answer(snapshot, snapshot.v4.timeline.find(node, t), () => {
        const { before, after } = snapshot.v4.timeline.neighbours(node, t);
        return notHeld(snapshot, target.text, at, before, after);
      });
    }
    case 'v6': {
      const [w0, w1, w2, w3] = target.v6;
      const node = snapshot.v6.cover(w0, w1, w2, w3);
      if (node < 0) return unassigned(target.text);
      return answer(snapshot, snapshot.v6.timeline.find(node, t), () => {
        const { before, after } = snapshot.v6.timeline.neighbours(node, t);
        return notHeld(snapshot, target.text, at, before, after);
      });
    }
    case 'domain': {
      const node = snapshot.domains.cover(target.name);
      if (node < 0) {
        return {
          ours: false,
          reason: 'unknown-domain',
          detail: `${target.name} is not a registered domain or a subdomain of one`,
        };
      }
      return answer(snapshot, snapshot.domains.timeline.find(node, t), () => {
        const { before, after } = snapshot.domains.timeline.neighbours(node, t);
        return notHeld(snapshot, target.name, at, before, after);
      });
    }
  }
}

/**
 * Parses the query into what the indexes take. IPv4-mapped IPv6 becomes IPv4; a "domain" that is an
 * address literal is treated as the address; a URL is attributed by its host (scheme optional).
 */
export function resolveTarget(query: AttributionQuery): AttributionTarget {
  if ('ip' in query) {
    const target = typeof query.ip === 'string' ? resolveAddress(query.ip.trim()) : null;
    if (!target) throw badQuery(`"${String(query.ip)}" is not an IPv4 or IPv6 address`);
    return target;
  }
  if ('domain' in query) {
    if (typeof query.domain !== 'string') throw badQuery('the domain is not a string');
    const text = query.domain.trim();
    const address = resolveAddress(text);
    if (address) return address;
    const name = normalizeDomain(text);
    if (!name) throw badQuery(`"${text}" is not a valid domain name`);
    return { kind: 'domain', name };
  }
  if ('url' in query && typeof query.url === 'string') {
    const text = query.url.trim();
    let url: URL;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
    } catch {
      throw badQuery(`"${text}" is not a URL`);
    }
    // WHATWG URL has already lower-cased, punycoded and canonicalised IPv4 forms (0x7f.1 → 127.0.0.1).
    const host = url.hostname;
    if (host === '') throw badQuery(`"${text}" has no host`);
    const address = resolveAddress(host);
    if (address) return address;
    const name = normalizeDomain(host);
    if (!name) throw badQuery(`"${host}" in "${text}" is not a valid host name`);
    return { kind: 'domain', name };
  }
  throw badQuery('a query names one of ip, domain or url');
}

const scratch = new Uint32Array(4);

function resolveAddress(text: string): AttributionTarget | null {
  const v4 = parseIPv4(text);
  if (v4 >= 0) return { kind: 'v4', v4, text };
  const bare = text.length > 2 && text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!parseIPv6Into(bare, scratch)) return null;
  if (isV4Mapped(scratch)) {
    const mapped = scratch[3]!;
    return {
      kind: 'v4',
      v4: mapped,
      text: `${mapped >>> 24}.${(mapped >>> 16) & 255}.${(mapped >>> 8) & 255}.${mapped & 255}`,
    };
  }
  return { kind: 'v6', v6: [scratch[0]!, scratch[1]!, scratch[2]!, scratch[3]!], text: bare.toLowerCase() };
}

/** An attribution to a customer (the `ours: true` branch). */
export type OursAttribution = Extract<Attribution, { readonly ours: true }>;

/**
 * A network (`198.51.100.0/24`, as a blocklist names a whole range): every service that held any part of it
 * at `at` (an assignment inside the network, or one containing it), each as its own attribution, in
 * assignment order. Empty when nobody held any of it.
 */
export function attributeNetwork(
  snapshot: RegistrySnapshot,
  query: { readonly network: string; readonly at: Date },
): OursAttribution[] {
  if (!(query.at instanceof Date) || Number.isNaN(query.at.getTime())) {
    throw badQuery('the time "at" is not a valid date');
  }
  const prefix = tryParsePrefix(query.network.trim());
  if (!prefix) throw badQuery(`"${query.network}" is not a network (address/length)`);
  return snapshot
    .heldOverlapping(prefix, query.at.getTime())
    .map((index) => answer(snapshot, index, () => unassigned(query.network)) as OursAttribution);
}

function answer(snapshot: RegistrySnapshot, index: number, otherwise: () => Attribution): Attribution {
  if (index < 0) return otherwise();
  const held = snapshot.assignment(index);
  return {
    ours: true,
    customer: {
      id: held.customer.id,
      ref: held.customer.ref,
      name: held.customer.name,
      emails: held.customer.emails,
      country: held.customer.country,
      status: held.customer.status,
    },
    service: {
      id: held.service.id,
      ref: held.service.ref,
      kind: held.service.kind,
      status: held.service.status,
      provisioningRef: held.service.provisioningRef,
    },
    assignment: { id: held.id, resource: held.resource, validFrom: held.validFrom, validTo: held.validTo },
  };
}

function unassigned(text: string): Attribution {
  return { ours: false, reason: 'unassigned', detail: `${text} is not in any assigned prefix` };
}

function notHeld(
  snapshot: RegistrySnapshot,
  text: string,
  at: Date,
  before: number,
  after: number,
): Attribution {
  const neighbour = (index: number): NeighbourTenancy | null => {
    if (index < 0) return null;
    const held: HeldAssignment = snapshot.assignment(index);
    return {
      id: held.id,
      resource: held.resource,
      validFrom: held.validFrom,
      validTo: held.validTo,
      serviceRef: held.service.ref,
      customerRef: held.customer.ref,
    };
  };
  const b = neighbour(before);
  const a = neighbour(after);
  const parts = [
    b ? `held by ${b.customerRef}/${b.serviceRef} until ${b.validTo?.toISOString()}` : null,
    a ? `held by ${a.customerRef}/${a.serviceRef} from ${a.validFrom.toISOString()}` : null,
  ].filter((p): p is string => p !== null);
  return {
    ours: false,
    reason: 'not-held-at-that-time',
    detail: `${text} is in our registry but nobody held it at ${at.toISOString()}${parts.length ? `: ${parts.join('; ')}` : ''}`,
    nearest: { before: b, after: a },
  };
}

function badQuery(message: string): AupError {
  return new AupError('AUP_ERR_ATTRIBUTION_BAD_QUERY', message);
}
