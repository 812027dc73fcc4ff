import { nameScore } from './name-match.js';
import type { SdnEntry } from './sdn-csv.js';

/**
 * Screens customers against the SDN list (Secure Packet §7: services may not be used where U.S. law
 * prohibits it): each customer's name against every entry's name and aliases; a score at or above the
 * threshold is a *possible* match for an analyst to review, never a reason to act by itself. A customer's
 * country found among the entry's address countries is reported with the match (it strengthens it).
 */

export interface ScreenedCustomer {
  readonly ref: string;
  readonly name: string;
  /** ISO 3166-1 alpha-2, if known. */
  readonly country?: string | null;
}

export interface SanctionsMatch {
  readonly customer: string;
  /** The SDN name or alias that matched. */
  readonly name: string;
  /** The entry's ent_num. */
  readonly entry: number;
  readonly score: number;
  /** The entry's programs, as published (`SDGT, IRAN`). */
  readonly program: string;
  readonly via: 'name' | 'alias';
  readonly sdnName: string;
  readonly countryMatch: boolean;
}

export const DEFAULT_SANCTIONS_THRESHOLD = 0.88;

/** ISO codes to the country names OFAC writes in add.csv, for the few that differ from a plain lookup. */
const COUNTRY_NAMES: Readonly<Record<string, readonly string[]>> = {
  IR: ['iran'],
  KP: ['korea, north', 'north korea'],
  RU: ['russia'],
  SY: ['syria'],
  CU: ['cuba'],
  VE: ['venezuela'],
  BY: ['belarus'],
  AE: ['united arab emirates'],
  CN: ['china'],
  TR: ['turkey', 'turkiye'],
  GB: ['united kingdom'],
  US: ['united states'],
  DE: ['germany'],
  LB: ['lebanon'],
  IQ: ['iraq'],
  AF: ['afghanistan'],
};

export function screenCustomers(
  customers: readonly ScreenedCustomer[],
  entries: readonly SdnEntry[],
  threshold = DEFAULT_SANCTIONS_THRESHOLD,
): SanctionsMatch[] {
  const matches: SanctionsMatch[] = [];
  for (const customer of customers) {
    for (const entry of entries) {
      let best: { name: string; score: number; via: 'name' | 'alias' } = {
        name: entry.name,
        score: nameScore(customer.name, entry.name),
        via: 'name',
      };
      for (const alias of entry.aliases) {
        const score = nameScore(customer.name, alias.name);
        if (score > best.score) best = { name: alias.name, score, via: 'alias' };
      }
      if (best.score < threshold) continue;
      const names = customer.country ? (COUNTRY_NAMES[customer.country.toUpperCase()] ?? []) : [];
      matches.push({
        customer: customer.ref,
        name: best.name,
        entry: entry.entNum,
        score: Math.round(best.score * 1000) / 1000,
        program: entry.programs.join(', '),
        via: best.via,
        sdnName: entry.name,
        countryMatch: entry.countries.some((c) => names.includes(c.toLowerCase())),
      });
    }
  }
  return matches.sort((a, b) => b.score - a.score || a.customer.localeCompare(b.customer));
}
